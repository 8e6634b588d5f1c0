// The Orders page's list: the latest orders for one status filter, read again when engine
// events say orders may have changed (a new order, a webhook applied, a sync or a stock read
// finishing), bursts coalesced into one read, so nothing polls. An answer for a filter that
// is no longer chosen is dropped, and orders that appear while the list is open are marked
// as new.
import { SvelteSet } from "svelte/reactivity";
import type { OrderView, UiError } from "./bindings";
import { Coalescer } from "./coalesce";
import { onEngineEvent } from "./events";
import { call } from "./ipc";
import { refreshesOrders, statusArg, type OrderFilter } from "./orders";

/** How many of the latest orders are read. */
export const ORDERS_LIMIT = 100;

export class OrdersList {
  filter: OrderFilter = $state("all");
  /** Raw: an answer replaces the list as a whole. */
  orders: OrderView[] = $state.raw([]);
  /** Whether the current filter's list has answered (or failed) at least once. */
  loaded = $state(false);
  loading = $state(false);
  error: UiError | null = $state(null);
  /** Orders that appeared while the list was open, by id. */
  readonly fresh = new SvelteSet<number>();

  readonly #refetch = new Coalescer(() => this.#load());
  /** The filter of the last answer shown, and every order id it held. */
  #shown: { filter: OrderFilter; ids: number[] } | null = null;

  /** Reads the list and follows engine events until the returned function is called. */
  attach(): () => void {
    const stop = onEngineEvent((event) => {
      if (refreshesOrders(event)) this.#refetch.request();
    });
    void this.#refetch.now();
    return () => {
      stop();
      this.#refetch.stop();
    };
  }

  /** Shows another status; the list is read again for it. */
  choose(filter: OrderFilter): Promise<void> {
    if (filter === this.filter) return Promise.resolve();
    this.filter = filter;
    this.loaded = false;
    this.error = null;
    return this.#refetch.now();
  }

  /** Reads the list now (the Refresh button). */
  refresh(): Promise<void> {
    return this.#refetch.now();
  }

  async #load(): Promise<void> {
    const filter = this.filter;
    this.loading = true;
    try {
      const orders = await call("recent_orders", { status: statusArg(filter), limit: ORDERS_LIMIT });
      if (filter !== this.filter) return;
      const before = this.#shown;
      if (before && before.filter === filter) {
        for (const order of orders) if (!before.ids.includes(order.id)) this.fresh.add(order.id);
      }
      this.#shown = { filter, ids: orders.map((o) => o.id) };
      this.orders = orders;
      this.error = null;
    } catch (err) {
      if (filter !== this.filter) return;
      this.error = err as UiError;
    } finally {
      if (filter === this.filter) {
        this.loaded = true;
        this.loading = false;
      }
    }
  }
}
