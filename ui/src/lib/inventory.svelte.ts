// Pages of `search_inventory` results for one query at a time. Rows are appended as the
// list scrolls; a new query starts again at offset 0, and answers that arrive for an
// earlier query are dropped so fast typing never shows the wrong rows.
import type { InventoryRow, UiError } from "./bindings";
import { call } from "./ipc";

export const PAGE_SIZE = 200;

export class InventoryPager {
  query = $state("");
  /** Raw, not deeply reactive: 50,000 proxied rows would cost memory and time for nothing. */
  rows: InventoryRow[] = $state.raw([]);
  /** The last page came back short, so there is nothing more to load. */
  done = $state(false);
  loading = $state(false);
  /** Whether the first page for the current query has answered. */
  loaded = $state(false);
  error: UiError | null = $state(null);

  #generation = 0;

  /** Starts over with `query`, from offset 0. */
  search(query: string): Promise<void> {
    this.#generation++;
    this.query = query;
    this.rows = [];
    this.done = false;
    this.loading = false;
    this.loaded = false;
    this.error = null;
    return this.loadMore();
  }

  /** Loads the page after the rows already loaded, unless one is on its way or none is left. */
  async loadMore(): Promise<void> {
    if (this.done || this.loading || this.error) return;
    const generation = this.#generation;
    const offset = this.rows.length;
    this.loading = true;
    try {
      const page = await this.#fetch(offset);
      if (generation !== this.#generation) return;
      // A refresh may have reshaped the end of the list meanwhile; then this page is not
      // the continuation any more, and the next scroll asks again.
      if (this.rows.length === offset) {
        this.rows = offset === 0 ? page : this.rows.concat(page);
        this.done = page.length < PAGE_SIZE;
      }
      this.loaded = true;
      this.loading = false;
    } catch (err) {
      if (generation !== this.#generation) return;
      this.error = err as UiError;
      this.loaded = true;
      this.loading = false;
    }
  }

  /**
   * Fetches again the pages holding rows `start` to `end` (exclusive), e.g. after a sync,
   * and puts them in place. With nothing loaded yet it loads the first page.
   */
  async refresh(start: number, end: number): Promise<void> {
    if (this.error) return this.search(this.query);
    if (this.rows.length === 0) {
      // Not a new search: the empty state stays up until rows actually arrive.
      this.done = false;
      return this.loadMore();
    }
    const generation = this.#generation;
    const first = Math.floor(Math.max(0, start) / PAGE_SIZE);
    const last = Math.floor(Math.max(start, end - 1) / PAGE_SIZE);
    const offsets: number[] = [];
    for (let page = first; page <= last; page++) offsets.push(page * PAGE_SIZE);
    await Promise.all(
      offsets.map(async (offset) => {
        let page: InventoryRow[];
        try {
          page = await this.#fetch(offset);
        } catch {
          // The rows already shown stay; the next refresh tries again.
          return;
        }
        if (generation !== this.#generation || offset > this.rows.length) return;
        const isLast = offset + PAGE_SIZE >= this.rows.length;
        if (isLast) {
          this.rows = this.rows.slice(0, offset).concat(page);
          this.done = page.length < PAGE_SIZE;
        } else {
          const rows = this.rows.slice();
          rows.splice(offset, Math.min(PAGE_SIZE, page.length), ...page);
          this.rows = rows;
        }
      }),
    );
  }

  #fetch(offset: number): Promise<InventoryRow[]> {
    return call("search_inventory", { query: this.query.trim(), limit: PAGE_SIZE, offset });
  }
}
