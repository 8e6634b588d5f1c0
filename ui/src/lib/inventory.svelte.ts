// The rows of one inventory search, kept sparsely: the list knows how many variants match
// (every answer carries the total), so it is as tall as the whole search from the first
// answer, but only the pages of rows near the view are held in memory. A store with 50,000
// variants would otherwise end with all of them in the webview once the owner had scrolled
// to the bottom. Pages are fetched as the view reaches them, at most a few at a time and
// the ones in view first, so a fast scroll does not queue requests for rows already passed;
// pages far from the view are dropped and fetched again when the view comes back. A new
// query starts again, and answers that arrive for an earlier query are dropped, so fast
// typing never shows the wrong rows.
import type { InventoryPage, InventoryRow, UiError } from "./bindings";
import { call } from "./ipc";

export const PAGE_SIZE = 200;
/** Pages kept in memory at most: the view and a few pages either side of it. */
export const MAX_PAGES = 6;
/** Requests on their way at most; more pages wait, and those the view leaves are skipped. */
export const MAX_IN_FLIGHT = 2;
/** Rows beyond the view whose pages are fetched ahead, so scrolling on rarely meets a gap. */
export const PREFETCH_ROWS = 60;

export class InventoryPager {
  query = $state("");
  /** How many variants match the query in all, from the latest answer. */
  total = $state(0);
  /** Whether the first answer for the current query has arrived. */
  loaded = $state(false);
  error: UiError | null = $state(null);
  /**
   * Changes whenever pages arrive or are dropped. Views that read rows through `row()`
   * depend on it; the pages themselves are plain arrays in a plain Map, not reactive state,
   * so holding them costs only the rows.
   */
  version = $state(0);
  /** Whether a page the view needs is on its way. */
  loading = $state(false);

  // Plain collections on purpose: `version` is the one signal that they changed, so a
  // page arriving costs one update rather than one per entry read.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #pages = new Map<number, InventoryRow[]>();
  /** Pages fetched before the last refresh: shown until their new rows arrive. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #stale = new Set<number>();
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #inFlight = new Set<number>();
  /** The pages the view needs (`first` to `last`) and the ones fetched ahead of it. */
  #want = { first: 0, last: 0, aheadFirst: 0, aheadLast: 0 };
  #generation = 0;

  /** Starts over with `query`: nothing loaded, the first page asked for. */
  search(query: string): Promise<void> {
    this.#generation++;
    this.query = query;
    this.total = 0;
    this.loaded = false;
    this.error = null;
    this.#pages.clear();
    this.#stale.clear();
    this.#inFlight.clear();
    this.#want = { first: 0, last: 0, aheadFirst: 0, aheadLast: 0 };
    this.version++;
    return this.#pump();
  }

  /** Row `index` of the search, or `undefined` while its page is not loaded. */
  row(index: number): InventoryRow | undefined {
    void this.version;
    return this.#pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /** The indexes of the pages held in memory, in order (for tests and diagnostics). */
  get pagesHeld(): number[] {
    void this.version;
    return [...this.#pages.keys()].sort((a, b) => a - b);
  }

  /**
   * The view shows rows `start` to `end` (exclusive): fetches the pages holding them (and
   * the rows just beyond) that are not loaded, and drops pages far from them.
   */
  show(start: number, end: number): Promise<void> {
    this.#aim(start, end);
    this.#evict();
    return this.#pump();
  }

  /**
   * Fetches again the pages holding rows `start` to `end` (exclusive), e.g. after a sync,
   * and the total with them. Their rows stay on screen until the new ones arrive; other
   * pages still held are fetched again when the view comes back to them.
   */
  async refresh(start: number, end: number): Promise<void> {
    if (this.error) return this.search(this.query);
    for (const page of this.#pages.keys()) this.#stale.add(page);
    this.#aim(start, end);
    // Also when nothing was there (an empty list during a first sync): this is not a new
    // search, so the empty state stays up until rows actually arrive.
    const generation = this.#generation;
    const pages: Promise<void>[] = [];
    for (let page = this.#want.first; page <= this.#want.last; page++) {
      if (this.#inFlight.has(page)) continue;
      pages.push(this.#fetch(page, generation, { keepOnError: true }));
    }
    await Promise.all(pages);
  }

  #aim(start: number, end: number): void {
    const first = Math.floor(Math.max(0, start) / PAGE_SIZE);
    const last = Math.floor(Math.max(start, end - 1) / PAGE_SIZE);
    this.#want = {
      first,
      last,
      aheadFirst: Math.floor(Math.max(0, start - PREFETCH_ROWS) / PAGE_SIZE),
      aheadLast: Math.floor(Math.max(start, end - 1 + PREFETCH_ROWS) / PAGE_SIZE),
    };
  }

  /** The highest page index the search has: -1 when it has none, 0 until the first answer. */
  #lastPage(): number {
    return this.loaded ? Math.ceil(this.total / PAGE_SIZE) - 1 : 0;
  }

  /** How far `page` is from the pages the view needs, in pages (0 when in view). */
  #distance(page: number): number {
    const { first, last } = this.#want;
    return page < first ? first - page : page > last ? page - last : 0;
  }

  /** Drops the pages farthest from the view while more than `MAX_PAGES` are held. */
  #evict(): void {
    if (this.#pages.size <= MAX_PAGES) return;
    const byDistance = [...this.#pages.keys()].sort((a, b) => this.#distance(b) - this.#distance(a));
    for (const page of byDistance) {
      if (this.#pages.size <= MAX_PAGES || this.#distance(page) === 0) break;
      this.#pages.delete(page);
      this.#stale.delete(page);
    }
    this.version++;
  }

  /** Starts fetching wanted pages, the ones in view first, while there is room in flight. */
  #pump(): Promise<void> {
    if (this.error) return Promise.resolve();
    const generation = this.#generation;
    const { first, last, aheadFirst, aheadLast } = this.#want;
    const lastPage = this.#lastPage();
    const order: number[] = [];
    for (let page = first; page <= Math.min(last, lastPage); page++) order.push(page);
    for (let page = last + 1; page <= Math.min(aheadLast, lastPage); page++) order.push(page);
    for (let page = first - 1; page >= aheadFirst; page--) order.push(page);
    const started: Promise<void>[] = [];
    for (const page of order) {
      if (this.#inFlight.size >= MAX_IN_FLIGHT) break;
      if (this.#inFlight.has(page) || (this.#pages.has(page) && !this.#stale.has(page))) continue;
      started.push(this.#fetch(page, generation, { keepOnError: this.loaded }));
    }
    this.#updateLoading();
    return Promise.all(started).then(() => undefined);
  }

  async #fetch(page: number, generation: number, { keepOnError }: { keepOnError: boolean }): Promise<void> {
    this.#inFlight.add(page);
    this.#updateLoading();
    let answer: InventoryPage;
    try {
      answer = await call("search_inventory", {
        query: this.query.trim(),
        limit: PAGE_SIZE,
        offset: page * PAGE_SIZE,
      });
    } catch (err) {
      if (generation !== this.#generation) return;
      this.#inFlight.delete(page);
      if (!keepOnError) {
        this.error = err as UiError;
        this.loaded = true;
      }
      // Otherwise the rows already shown stay; the next scroll or refresh asks again.
      this.#updateLoading();
      return;
    }
    if (generation !== this.#generation) return;
    this.#inFlight.delete(page);
    this.total = answer.total;
    this.loaded = true;
    // Keep the page only if the view still wants it (it may have moved on meanwhile) and
    // drop the pages the new total leaves beyond the end.
    const { aheadFirst, aheadLast } = this.#want;
    if (page >= aheadFirst && page <= aheadLast && answer.rows.length > 0) {
      this.#pages.set(page, answer.rows);
    } else {
      this.#pages.delete(page);
    }
    this.#stale.delete(page);
    const lastPage = this.#lastPage();
    for (const held of this.#pages.keys()) if (held > lastPage) this.#pages.delete(held);
    this.version++;
    this.#evict();
    await this.#pump();
  }

  #updateLoading(): void {
    const { first, last } = this.#want;
    let loading = false;
    for (const page of this.#inFlight) if (page >= first && page <= last) loading = true;
    if (this.loading !== loading) this.loading = loading;
  }
}
