import { beforeEach, describe, expect, it, vi } from "vitest";
import type { InventoryPage } from "./bindings";

const call = vi.hoisted(() => vi.fn());
vi.mock("./ipc", () => ({ call }));

import { InventoryPager, MAX_IN_FLIGHT, MAX_PAGES, PAGE_SIZE } from "./inventory.svelte";
import { inventoryRows as rows } from "./testing";

interface Pending {
  args: { query: string; limit: number; offset: number };
  resolve: (page: InventoryPage) => void;
  reject: (err: unknown) => void;
}

let pending: Pending[];

beforeEach(() => {
  pending = [];
  call.mockReset();
  call.mockImplementation(
    (_cmd: string, args: Pending["args"]) =>
      new Promise<InventoryPage>((resolve, reject) => pending.push({ args, resolve, reject })),
  );
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** The offsets asked for, in order. */
const offsets = () => pending.map((p) => p.args.offset);

/** Answers the request for `offset` with the rows of a `total`-variant catalogue. */
async function answer(offset: number, total: number, tag = "SKU"): Promise<void> {
  const request = pending.find((p) => p.args.offset === offset && !("done" in p));
  if (!request) throw new Error(`no request for offset ${offset}; asked: ${offsets().join(", ")}`);
  Object.assign(request, { done: true });
  request.resolve({ rows: rows(offset, Math.max(0, Math.min(PAGE_SIZE, total - offset)), tag), total });
  await tick();
}

/** Answers every request still open, and those their answers lead to. */
async function drain(total: number): Promise<void> {
  for (let open = pending.filter((p) => !("done" in p)); open.length > 0; open = pending.filter((p) => !("done" in p))) {
    for (const p of open) await answer(p.args.offset, total);
  }
}

/** A pager on a catalogue of `total` variants with its first page loaded. */
async function loaded(total: number): Promise<InventoryPager> {
  const pager = new InventoryPager();
  void pager.search("");
  await answer(0, total);
  return pager;
}

describe("InventoryPager", () => {
  it("knows how many variants match once the first page answers, before their rows are loaded", async () => {
    const pager = new InventoryPager();
    void pager.search("tee");
    expect(call).toHaveBeenLastCalledWith("search_inventory", { query: "tee", limit: PAGE_SIZE, offset: 0 });
    expect(pager.loaded).toBe(false);
    await answer(0, 50_001);
    expect(pager.loaded).toBe(true);
    expect(pager.total).toBe(50_001);
    expect(pager.row(0)?.sku).toBe("SKU-0");
    expect(pager.row(PAGE_SIZE - 1)?.sku).toBe(`SKU-${PAGE_SIZE - 1}`);
    // Beyond the first page: not loaded yet, drawn as a placeholder.
    expect(pager.row(PAGE_SIZE)).toBeUndefined();
    expect(pager.row(50_000)).toBeUndefined();
  });

  it("fetches the pages the view reaches, those in view before those ahead of it", async () => {
    const pager = await loaded(50_001);
    // Rows 1,150–1,180 in view: page 5 holds them, page 6 is fetched ahead (60 rows on).
    void pager.show(1150, 1180);
    expect(offsets().slice(1)).toEqual([5 * PAGE_SIZE, 6 * PAGE_SIZE]);
    expect(pager.loading).toBe(true);
    await answer(5 * PAGE_SIZE, 50_001);
    expect(pager.loading).toBe(false);
    expect(pager.row(1150)?.sku).toBe("SKU-1150");
    await answer(6 * PAGE_SIZE, 50_001);
    expect(pager.row(1300)?.sku).toBe("SKU-1300");
    // Everything wanted is there: showing the same rows again asks for nothing.
    void pager.show(1150, 1180);
    expect(pending).toHaveLength(3);
  });

  it("has only a few requests on their way, and skips pages the view has left meanwhile", async () => {
    const pager = await loaded(50_001);
    void pager.show(2080, 2110);
    void pager.show(4080, 4110);
    void pager.show(40_080, 40_110);
    // The first two moves filled the requests allowed; the view is now far from both.
    expect(pending.length - 1).toBe(MAX_IN_FLIGHT);
    await answer(2000, 50_001);
    // Its rows arrived after the view moved on: not kept, and the view's page comes next.
    expect(pager.row(2000)).toBeUndefined();
    expect(offsets().at(-1)).toBe(40_000);
    await answer(4000, 50_001);
    await answer(40_000, 50_001);
    expect(pager.row(40_000)?.sku).toBe("SKU-40000");
    expect(pager.row(4080)).toBeUndefined();
    // Nothing between the pages the view stopped at was asked for.
    expect(offsets()).toEqual([0, 2000, 4000, 40_000]);
  });

  it("keeps a bounded number of pages however far the list is scrolled, and fetches a dropped page again", async () => {
    const total = 50_001;
    const pager = await loaded(total);
    const held: number[] = [];
    // Scroll from the top to the last row, 30 rows in view, 150 rows a step.
    for (let top = 0; top < total; top += 150) {
      const end = Math.min(total, top + 30);
      void pager.show(top, end);
      for (const p of pending.filter((p) => !("done" in p))) await answer(p.args.offset, total);
      expect(pager.row(top)?.sku).toBe(`SKU-${top}`);
      held.push(pager.pagesHeld.length);
    }
    expect(Math.max(...held)).toBeLessThanOrEqual(MAX_PAGES);
    expect(pager.pagesHeld).not.toContain(0);
    expect(pager.row(0)).toBeUndefined();
    await drain(total);

    // Back at the top: the first page is asked for again and its rows come back.
    const asked = pending.length;
    void pager.show(0, 30);
    expect(pending[asked]?.args.offset).toBe(0);
    await answer(0, total);
    expect(pager.row(0)?.sku).toBe("SKU-0");
    expect(pager.pagesHeld.length).toBeLessThanOrEqual(MAX_PAGES);
  });

  it("resets for a new query and ignores the old query's late answer", async () => {
    const pager = new InventoryPager();
    void pager.search("a");
    await answer(0, 1000, "A");
    void pager.show(300, 330);
    expect(offsets().at(-1)).toBe(PAGE_SIZE);

    void pager.search("ab");
    expect(pending.at(-1)!.args).toEqual({ query: "ab", limit: PAGE_SIZE, offset: 0 });
    expect(pager.total).toBe(0);
    expect(pager.row(0)).toBeUndefined();

    // The new query answers first, then the stale page of the old one arrives.
    pending.at(-1)!.resolve({ rows: rows(0, 3, "AB"), total: 3 });
    await tick();
    pending[1]!.resolve({ rows: rows(PAGE_SIZE, PAGE_SIZE, "A"), total: 1000 });
    await tick();
    expect(pager.total).toBe(3);
    expect([0, 1, 2].map((i) => pager.row(i)?.sku)).toEqual(["AB-0", "AB-1", "AB-2"]);
    expect(pager.row(PAGE_SIZE)).toBeUndefined();
    expect(pager.pagesHeld).toEqual([0]);
  });

  it("ignores an old query's first page arriving before the new query's", async () => {
    const pager = new InventoryPager();
    void pager.search("a");
    void pager.search("ab");
    pending[0]!.resolve({ rows: rows(0, PAGE_SIZE, "A"), total: 900 });
    await tick();
    expect(pager.loaded).toBe(false);
    expect(pager.total).toBe(0);
    pending[1]!.resolve({ rows: rows(0, 2, "AB"), total: 2 });
    await tick();
    expect(pager.total).toBe(2);
    expect(pager.row(1)?.sku).toBe("AB-1");
  });

  it("ignores an old query's error too", async () => {
    const pager = new InventoryPager();
    void pager.search("x");
    void pager.search("xy");
    pending[0]!.reject({ code: "internal", message: "boom" });
    pending[1]!.resolve({ rows: rows(0, 1), total: 1 });
    await tick();
    expect(pager.error).toBeNull();
    expect(pager.total).toBe(1);
  });

  it("records an error on the first page and stops asking until a new search", async () => {
    const pager = new InventoryPager();
    void pager.search("");
    pending[0]!.reject({ code: "not_connected", message: "No store is connected." });
    await tick();
    expect(pager.error?.code).toBe("not_connected");
    await pager.show(0, 30);
    expect(call).toHaveBeenCalledTimes(1);
  });

  it("keeps what is shown when a later page fails, and asks again on the next move", async () => {
    const pager = await loaded(1000);
    void pager.show(460, 490);
    expect(offsets().at(-1)).toBe(2 * PAGE_SIZE);
    pending.at(-1)!.reject({ code: "internal", message: "busy" });
    await tick();
    expect(pager.error).toBeNull();
    expect(pager.row(0)?.sku).toBe("SKU-0");
    void pager.show(461, 491);
    expect(offsets().at(-1)).toBe(2 * PAGE_SIZE);
  });

  it("asks for nothing more once a search answers that nothing matches", async () => {
    const pager = new InventoryPager();
    void pager.search("nope");
    pending[0]!.resolve({ rows: [], total: 0 });
    await tick();
    await pager.show(0, 0);
    await tick();
    expect(pager.loaded).toBe(true);
    expect(pager.total).toBe(0);
    expect(call).toHaveBeenCalledTimes(1);
  });

  it("sends the query without surrounding spaces", () => {
    const pager = new InventoryPager();
    void pager.search("  tee ");
    expect(pending[0]!.args.query).toBe("tee");
  });

  it("refreshes only the pages in view, in place, and takes the new total", async () => {
    const pager = await loaded(1000);
    void pager.show(190, 206);
    await answer(PAGE_SIZE, 1000);
    expect(pager.pagesHeld).toEqual([0, 1]);

    void pager.refresh(190, 206);
    expect(offsets().slice(2)).toEqual([0, PAGE_SIZE]);
    // Until the new rows arrive, the old ones stay where they are: no placeholders.
    expect(pager.row(190)?.totalAvailable).toBe(10);
    pending[2]!.resolve({ rows: rows(0, PAGE_SIZE).map((r) => ({ ...r, totalAvailable: 1 })), total: 1200 });
    pending[3]!.resolve({ rows: rows(PAGE_SIZE, PAGE_SIZE), total: 1200 });
    await tick();
    expect(pager.total).toBe(1200);
    expect(pager.row(190)?.totalAvailable).toBe(1);
    expect(pager.row(190)?.sku).toBe("SKU-190");
    expect(pending).toHaveLength(4);
  });

  it("after a refresh, fetches a page held out of view again when the view returns to it", async () => {
    const pager = await loaded(1000);
    void pager.show(0, 30);
    void pager.show(660, 690);
    await answer(3 * PAGE_SIZE, 1000);
    expect(pager.pagesHeld).toEqual([0, 3]);

    void pager.refresh(660, 690);
    await answer(3 * PAGE_SIZE, 1000);
    const asked = pending.length;
    void pager.show(0, 30);
    // Page 0 is still shown while its fresh rows are on their way.
    expect(pending[asked]?.args.offset).toBe(0);
    expect(pager.row(0)?.sku).toBe("SKU-0");
  });

  it("drops pages beyond the end when the total shrinks", async () => {
    const pager = await loaded(1000);
    void pager.show(660, 690);
    await answer(3 * PAGE_SIZE, 1000);
    expect(pager.pagesHeld).toEqual([0, 3]);
    void pager.refresh(0, 30);
    pending.at(-1)!.resolve({ rows: rows(0, PAGE_SIZE), total: 250 });
    await tick();
    expect(pager.total).toBe(250);
    expect(pager.pagesHeld).toEqual([0]);
  });

  it("loads the first page on refresh when nothing was there, without clearing the state", async () => {
    const pager = new InventoryPager();
    void pager.search("");
    pending[0]!.resolve({ rows: [], total: 0 });
    await tick();
    expect(pager.loaded).toBe(true);
    expect(pager.total).toBe(0);

    void pager.refresh(0, 10);
    expect(pager.loaded).toBe(true);
    expect(pending[1]!.args.offset).toBe(0);
    pending[1]!.resolve({ rows: rows(0, 5), total: 5 });
    await tick();
    expect(pager.total).toBe(5);
    expect(pager.row(4)?.sku).toBe("SKU-4");
  });
});
