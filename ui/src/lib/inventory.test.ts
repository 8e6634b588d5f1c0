import { beforeEach, describe, expect, it, vi } from "vitest";
import type { InventoryRow } from "./bindings";

const call = vi.hoisted(() => vi.fn());
vi.mock("./ipc", () => ({ call }));

import { InventoryPager, PAGE_SIZE } from "./inventory.svelte";
import { inventoryRows as rows } from "./testing";

interface Pending {
  args: { query: string; limit: number; offset: number };
  resolve: (rows: InventoryRow[]) => void;
  reject: (err: unknown) => void;
}

let pending: Pending[];

beforeEach(() => {
  pending = [];
  call.mockReset();
  call.mockImplementation(
    (_cmd: string, args: Pending["args"]) =>
      new Promise<InventoryRow[]>((resolve, reject) => pending.push({ args, resolve, reject })),
  );
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("InventoryPager", () => {
  it("asks for the first page of a query at offset 0, then the next offset", async () => {
    const pager = new InventoryPager();
    void pager.search("tee");
    expect(call).toHaveBeenLastCalledWith("search_inventory", { query: "tee", limit: PAGE_SIZE, offset: 0 });
    pending[0]!.resolve(rows(0, PAGE_SIZE));
    await tick();
    expect(pager.rows).toHaveLength(PAGE_SIZE);
    expect(pager.done).toBe(false);

    void pager.loadMore();
    expect(call).toHaveBeenLastCalledWith("search_inventory", { query: "tee", limit: PAGE_SIZE, offset: PAGE_SIZE });
    pending[1]!.resolve(rows(PAGE_SIZE, 50));
    await tick();
    expect(pager.rows).toHaveLength(PAGE_SIZE + 50);
    expect(pager.rows[PAGE_SIZE]?.sku).toBe(`SKU-${PAGE_SIZE}`);
    expect(pager.done).toBe(true);

    // A short page was the last one: nothing more is asked for.
    await pager.loadMore();
    expect(call).toHaveBeenCalledTimes(2);
  });

  it("does not ask for the same page twice while it is on its way", () => {
    const pager = new InventoryPager();
    void pager.search("");
    void pager.loadMore();
    void pager.loadMore();
    expect(call).toHaveBeenCalledTimes(1);
  });

  it("resets to offset 0 for a new query and ignores the old query's late answer", async () => {
    const pager = new InventoryPager();
    void pager.search("a");
    pending[0]!.resolve(rows(0, PAGE_SIZE, "A"));
    await tick();
    void pager.loadMore();
    expect(pending[1]!.args.offset).toBe(PAGE_SIZE);

    void pager.search("ab");
    expect(pending[2]!.args).toEqual({ query: "ab", limit: PAGE_SIZE, offset: 0 });
    expect(pager.rows).toHaveLength(0);

    // The new query answers first, then the stale page of the old one arrives.
    pending[2]!.resolve(rows(0, 3, "AB"));
    await tick();
    pending[1]!.resolve(rows(PAGE_SIZE, PAGE_SIZE, "A"));
    await tick();
    expect(pager.rows.map((r) => r.sku)).toEqual(["AB-0", "AB-1", "AB-2"]);
    expect(pager.done).toBe(true);
  });

  it("ignores an old query's first page arriving before the new query's", async () => {
    const pager = new InventoryPager();
    void pager.search("a");
    void pager.search("ab");
    pending[0]!.resolve(rows(0, PAGE_SIZE, "A"));
    await tick();
    expect(pager.rows).toHaveLength(0);
    expect(pager.loaded).toBe(false);
    pending[1]!.resolve(rows(0, 2, "AB"));
    await tick();
    expect(pager.rows.map((r) => r.sku)).toEqual(["AB-0", "AB-1"]);
  });

  it("ignores an old query's error too", async () => {
    const pager = new InventoryPager();
    void pager.search("x");
    void pager.search("xy");
    pending[0]!.reject({ code: "internal", message: "boom" });
    pending[1]!.resolve(rows(0, 1));
    await tick();
    expect(pager.error).toBeNull();
    expect(pager.rows).toHaveLength(1);
  });

  it("records an error and stops paging until a new search", async () => {
    const pager = new InventoryPager();
    void pager.search("");
    pending[0]!.reject({ code: "not_connected", message: "No store is connected." });
    await tick();
    expect(pager.error?.code).toBe("not_connected");
    await pager.loadMore();
    expect(call).toHaveBeenCalledTimes(1);
  });

  it("sends the query without surrounding spaces", () => {
    const pager = new InventoryPager();
    void pager.search("  tee ");
    expect(pending[0]!.args.query).toBe("tee");
  });

  it("refreshes the pages in view in place, and the last page may grow", async () => {
    const pager = new InventoryPager();
    void pager.search("");
    pending[0]!.resolve(rows(0, PAGE_SIZE));
    await tick();
    void pager.loadMore();
    pending[1]!.resolve(rows(PAGE_SIZE, 10));
    await tick();
    expect(pager.done).toBe(true);

    // Rows 190–205 are in view: both pages are fetched again.
    void pager.refresh(190, 206);
    expect(pending.slice(2).map((p) => p.args.offset)).toEqual([0, PAGE_SIZE]);
    const changed = rows(0, PAGE_SIZE).map((r) => ({ ...r, totalAvailable: 1 }));
    pending[2]!.resolve(changed);
    pending[3]!.resolve(rows(PAGE_SIZE, PAGE_SIZE));
    await tick();
    expect(pager.rows).toHaveLength(2 * PAGE_SIZE);
    expect(pager.rows[0]?.totalAvailable).toBe(1);
    expect(pager.done).toBe(false);
  });

  it("loads the first page on refresh when nothing was there, without clearing the state", async () => {
    const pager = new InventoryPager();
    void pager.search("");
    pending[0]!.resolve([]);
    await tick();
    expect(pager.loaded).toBe(true);
    expect(pager.done).toBe(true);

    void pager.refresh(0, 10);
    expect(pager.loaded).toBe(true);
    expect(pending[1]!.args.offset).toBe(0);
    pending[1]!.resolve(rows(0, 5));
    await tick();
    expect(pager.rows).toHaveLength(5);
  });
});
