import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { InventoryPage, InventoryRow } from "../lib/bindings";
import { MAX_PAGES, PAGE_SIZE } from "../lib/inventory.svelte";
import { byTestId, fakeEvents, inventoryRows, settle, text } from "../lib/testing";

const call = vi.hoisted(() => vi.fn());
vi.mock("../lib/ipc", () => ({ call }));
const bus = vi.hoisted(() => ({ current: undefined as ReturnType<typeof fakeEvents> | undefined }));
vi.mock("../lib/events", () => ({
  onEngineEvent: (handler: Parameters<ReturnType<typeof fakeEvents>["onEngineEvent"]>[0]) =>
    bus.current!.onEngineEvent(handler),
}));

import Inventory from "./Inventory.svelte";

interface Request {
  query: string;
  limit: number;
  offset: number;
}

/** A store of `total` variants whose SKUs are `SKU-0`, `SKU-1`, …; a query filters by prefix. */
let catalogue: InventoryRow[];
let app: ReturnType<typeof mount> | undefined;

function requests(): Request[] {
  return call.mock.calls.filter(([cmd]) => cmd === "search_inventory").map(([, args]) => args as Request);
}

function answer({ query, limit, offset }: Request): InventoryPage {
  const matches = catalogue.filter((r) => (r.sku ?? "").startsWith(query));
  return { rows: matches.slice(offset, offset + limit), total: matches.length };
}

beforeEach(() => {
  bus.current = fakeEvents();
  catalogue = inventoryRows(0, 1000);
  call.mockReset();
  call.mockImplementation((cmd: string, args: Request) =>
    cmd === "search_inventory"
      ? Promise.resolve(answer(args))
      : Promise.reject({ code: "internal", message: `unexpected ${cmd}` }),
  );
});

afterEach(() => {
  vi.useRealTimers();
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = "";
});

async function start(): Promise<void> {
  app = mount(Inventory, { target: document.body });
  await settle();
}

function shownRows(): HTMLElement[] {
  return Array.from(document.querySelectorAll<HTMLElement>("[data-testid=inventory-row]"));
}

function placeholders(): HTMLElement[] {
  return Array.from(document.querySelectorAll<HTMLElement>("[data-testid=inventory-placeholder]"));
}

function skus(): string[] {
  return shownRows().map((r) => text(r.querySelector(".sku")));
}

/** Holds back the answers to `search_inventory` until `release` is called. */
function holdAnswers(): { release: () => Promise<void>; held: () => number } {
  const waiting: (() => void)[] = [];
  call.mockImplementation((cmd: string, args: Request) =>
    cmd === "search_inventory"
      ? new Promise((resolve) => waiting.push(() => resolve(answer(args))))
      : Promise.reject({ code: "internal", message: `unexpected ${cmd}` }),
  );
  return {
    held: () => waiting.length,
    release: async () => {
      while (waiting.length > 0) {
        waiting.shift()!();
        await settle();
      }
    },
  };
}

function scroller(): HTMLElement {
  return document.querySelector<HTMLElement>(".scroller")!;
}

async function scrollTo(px: number): Promise<void> {
  scroller().scrollTop = px;
  scroller().dispatchEvent(new Event("scroll"));
  flushSync();
  await settle();
}

async function search(value: string): Promise<void> {
  const box = byTestId("inventory-search") as HTMLInputElement;
  box.value = value;
  box.dispatchEvent(new Event("input", { bubbles: true }));
  flushSync();
  await new Promise((resolve) => setTimeout(resolve, 200));
  await settle();
}

describe("Inventory", () => {
  it("loads the first page and renders only the rows in view, not all of them", async () => {
    await start();
    expect(requests()).toEqual([{ query: "", limit: PAGE_SIZE, offset: 0 }]);
    const rows = shownRows();
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(40);
    expect(text(rows[0]!.querySelector(".sku"))).toBe("SKU-0");
    expect(placeholders()).toHaveLength(0);
  });

  it("is as long as the whole search from the first answer, and says how many variants match", async () => {
    await start();
    // One page of 200 rows loaded, and the list is as tall as all 1,000: the scrollbar is right.
    expect(document.querySelector<HTMLElement>(".spacer")!.style.height).toBe(`${1000 * 36}px`);
    expect(text(document.querySelector(".summary"))).toBe(`${(1000).toLocaleString()} variants`);
    expect(document.querySelector("[role=table]")!.getAttribute("aria-rowcount")).toBe("1001");
  });

  it("highlights low stock at the owner's threshold from Settings", async () => {
    catalogue = inventoryRows(0, 5);
    catalogue[0]!.totalAvailable = 40;
    catalogue[1]!.totalAvailable = 41;
    call.mockImplementation((cmd: string, args: Request) =>
      cmd === "search_inventory"
        ? Promise.resolve(answer(args))
        : cmd === "get_settings"
          ? Promise.resolve({ settings: { lowStockThreshold: 40 }, problem: null })
          : Promise.reject({ code: "internal", message: `unexpected ${cmd}` }),
    );
    await start();
    const [at, above] = shownRows();
    expect(at!.querySelector("[data-testid=low-stock]")).not.toBeNull();
    expect(above!.querySelector("[data-testid=low-stock]")).toBeNull();
  });

  it("shows SKU, product and variant, price, and availability, highlighting low stock", async () => {
    catalogue = [
      { variantId: 1, sku: "TEE-S", title: "Small", productTitle: "Tee", price: "19.00", totalAvailable: 5 },
      { variantId: 2, sku: "TEE-M", title: "Medium", productTitle: "Tee", price: "19.00", totalAvailable: 6 },
      { variantId: 3, sku: null, title: "Default Title", productTitle: "Gift card", price: "25.00", totalAvailable: 0 },
    ];
    await start();
    const [small, medium, gift] = shownRows();
    expect(Array.from(small!.querySelectorAll("[role=cell]"), (c) => text(c))).toEqual([
      "TEE-S",
      "Tee — Small",
      "19.00",
      "5, low stock",
    ]);
    expect(small!.querySelector("[data-testid=low-stock]")).not.toBeNull();
    expect(medium!.querySelector("[data-testid=low-stock]")).toBeNull();
    expect(text(gift!.querySelector(".title"))).toBe("Gift card");
    expect(text(gift!.querySelector(".sku"))).toBe("—");
    expect(gift!.querySelector("[data-testid=low-stock]")).not.toBeNull();
  });

  it("moves the window with the scroll position", async () => {
    await start();
    await scrollTo(36 * 100);
    expect(skus()).toContain("SKU-100");
    expect(skus()).not.toContain("SKU-0");
    expect(document.querySelector<HTMLElement>(".window")!.style.transform).toBe(`translateY(${92 * 36}px)`);
  });

  it("reuses the row elements as the list scrolls, keeping the rows in order", async () => {
    await start();
    await scrollTo(36 * 100);
    const before = new Set(shownRows());
    await scrollTo(36 * 105);
    const after = shownRows();
    expect(after.map((r) => text(r.querySelector(".sku")))).toEqual(
      Array.from({ length: after.length }, (_, i) => `SKU-${97 + i}`),
    );
    expect(after.map((r) => r.getAttribute("aria-rowindex"))).toEqual(
      Array.from({ length: after.length }, (_, i) => `${97 + i + 2}`),
    );
    // The same elements, refilled: none was created for the five rows that came into view.
    expect(after).toHaveLength(before.size);
    expect(after.every((r) => before.has(r))).toBe(true);
  });

  it("reads the scroll position once a frame, however many scroll events come", async () => {
    await start();
    const frames: FrameRequestCallback[] = [];
    const raf = vi.spyOn(window, "requestAnimationFrame").mockImplementation((cb) => frames.push(cb));
    for (const rows of [10, 20, 30, 100]) {
      scroller().scrollTop = 36 * rows;
      scroller().dispatchEvent(new Event("scroll"));
    }
    flushSync();
    expect(frames).toHaveLength(1);
    // Nothing moved before the frame.
    expect(skus()).toContain("SKU-0");
    frames[0]!(performance.now());
    flushSync();
    expect(skus()).toContain("SKU-100");
    expect(skus()).not.toContain("SKU-0");
    raf.mockRestore();
  });

  it("draws placeholders where rows are still loading, then the rows in their place", async () => {
    await start();
    const answers = holdAnswers();
    await scrollTo(36 * 500);
    // Rows 492–530 are in the DOM; their page (offset 400) is on its way.
    expect(requests().at(-1)).toEqual({ query: "", limit: PAGE_SIZE, offset: 2 * PAGE_SIZE });
    expect(shownRows()).toHaveLength(0);
    const waiting = placeholders();
    expect(waiting.length).toBeGreaterThan(10);
    expect(waiting[0]!.getAttribute("aria-rowindex")).toBe(`${492 + 2}`);
    expect(document.querySelector("[role=table]")!.getAttribute("aria-busy")).toBe("true");
    await answers.release();
    expect(placeholders()).toHaveLength(0);
    expect(skus()[0]).toBe("SKU-492");
    expect(shownRows()[0]!.getAttribute("aria-rowindex")).toBe(`${492 + 2}`);
    expect(document.querySelector("[role=table]")!.getAttribute("aria-busy")).toBe("false");
  });

  it("jumps straight to the end without loading the rows in between", async () => {
    await start();
    await scrollTo(36 * 990);
    expect(skus()).toContain("SKU-999");
    expect(requests().map((r) => r.offset)).toEqual([0, 4 * PAGE_SIZE]);
  });

  it("forgets pages far from the view, and loads them again on the way back", async () => {
    catalogue = inventoryRows(0, 3000);
    await start();
    for (let row = 0; row < 3000; row += 100) await scrollTo(36 * row);
    const asked = requests().length;
    // Every page was loaded once on the way down…
    expect(new Set(requests().map((r) => r.offset)).size).toBe(3000 / PAGE_SIZE);
    expect(asked).toBe(3000 / PAGE_SIZE);
    expect(3000 / PAGE_SIZE).toBeGreaterThan(MAX_PAGES);
    await scrollTo(0);
    // …and the first page had been dropped, so going back asks for it again.
    expect(requests().slice(asked).map((r) => r.offset)).toEqual([0]);
    expect(skus()[0]).toBe("SKU-0");
  });

  it("searches after a short pause, from offset 0 and back at the top", async () => {
    await start();
    await scrollTo(36 * 170);
    const box = byTestId("inventory-search") as HTMLInputElement;
    box.value = "SKU-1";
    box.dispatchEvent(new Event("input", { bubbles: true }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Still typing: nothing asked yet.
    expect(requests().at(-1)?.query).toBe("");
    await search("SKU-12");
    expect(requests().at(-1)).toEqual({ query: "SKU-12", limit: PAGE_SIZE, offset: 0 });
    expect(requests().filter((r) => r.query === "SKU-1")).toHaveLength(0);
    expect(scroller().scrollTop).toBe(0);
    expect(skus()[0]).toBe("SKU-12");
    // SKU-12, SKU-120…SKU-129: the list is as long as the matches.
    expect(text(document.querySelector(".summary"))).toBe("11 variants");
    expect(document.querySelector<HTMLElement>(".spacer")!.style.height).toBe(`${11 * 36}px`);
  });

  it("ignores a late answer for an earlier query", async () => {
    await start();
    let late: (page: InventoryPage) => void = () => {};
    call.mockImplementationOnce(() => new Promise((resolve) => (late = resolve)));
    await search("SKU-9");
    await search("SKU-5");
    late(answer({ query: "SKU-9", limit: PAGE_SIZE, offset: 0 }));
    await settle();
    expect(skus()[0]).toBe("SKU-5");
    expect(skus().every((s) => s.startsWith("SKU-5"))).toBe(true);
    expect(text(document.querySelector(".summary"))).toBe("111 variants");
  });

  it("says so when nothing matches the query", async () => {
    await start();
    await search("NOPE");
    expect(text(byTestId("inventory-empty"))).toContain("No SKU or title starts with “NOPE”");
    expect(shownRows()).toHaveLength(0);
    expect(placeholders()).toHaveLength(0);
  });

  it("says so when no store is connected, with a way to connect", async () => {
    call.mockRejectedValue({ code: "not_connected", message: "No store is connected." });
    await start();
    expect(text(byTestId("inventory-empty"))).toContain("No store is connected");
    expect(byTestId("inventory-empty")?.querySelector("a")?.getAttribute("href")).toBe("#/connect");
  });

  it("fetches the rows in view again after a sync finishes, keeping them in place meanwhile", async () => {
    await start();
    await scrollTo(36 * 100);
    const before = skus();
    catalogue = catalogue.map((r) => ({ ...r, totalAvailable: 2 }));
    const answers = holdAnswers();
    bus.current!.emit({ type: "syncFinished", full: false, rows: 1000, elapsedMs: 900 });
    await settle();
    expect(requests().at(-1)).toEqual({ query: "", limit: PAGE_SIZE, offset: 0 });
    expect(answers.held()).toBe(1);
    // While the new rows are on their way the old ones stay: no placeholders, nothing moves.
    expect(skus()).toEqual(before);
    expect(placeholders()).toHaveLength(0);
    await answers.release();
    expect(skus()).toEqual(before);
    expect(shownRows().every((r) => r.querySelector("[data-testid=low-stock]") !== null)).toBe(true);
  });

  it("takes the new total after a sync, so new variants make the list longer", async () => {
    await start();
    catalogue = inventoryRows(0, 1500);
    bus.current!.emit({ type: "syncFinished", full: false, rows: 500, elapsedMs: 900 });
    await settle();
    expect(text(document.querySelector(".summary"))).toBe(`${(1500).toLocaleString()} variants`);
    expect(document.querySelector<HTMLElement>(".spacer")!.style.height).toBe(`${1500 * 36}px`);
  });

  it("lets the first rows appear while the first sync is still running", async () => {
    catalogue = [];
    await start();
    expect(text(byTestId("inventory-empty"))).toContain("No variants in the local copy yet");
    catalogue = inventoryRows(0, 50);
    bus.current!.emit({ type: "syncProgress", full: true, rows: 50, total: 1000, rowsPerSec: 50, secondsLeft: 19 });
    await settle();
    expect(shownRows().length).toBeGreaterThan(0);
    expect(byTestId("inventory-empty")).toBeNull();
    expect(text(document.querySelector(".summary"))).toBe("50 variants");
  });
});
