import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { InventoryRow } from "../lib/bindings";
import { PAGE_SIZE } from "../lib/inventory.svelte";
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

function answer({ query, limit, offset }: Request): InventoryRow[] {
  return catalogue.filter((r) => (r.sku ?? "").startsWith(query)).slice(offset, offset + limit);
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
    // The spacer is as tall as all the loaded rows, so the scrollbar is right.
    expect(document.querySelector<HTMLElement>(".spacer")!.style.height).toBe(`${PAGE_SIZE * 36}px`);
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
    const skus = shownRows().map((r) => text(r.querySelector(".sku")));
    expect(skus).toContain("SKU-100");
    expect(skus).not.toContain("SKU-0");
    expect(document.querySelector<HTMLElement>(".window")!.style.transform).toBe(`translateY(${92 * 36}px)`);
  });

  it("asks for the next offset when scrolled near the end of the loaded rows", async () => {
    await start();
    await scrollTo(36 * 50);
    expect(requests()).toHaveLength(1);
    await scrollTo(36 * 170);
    expect(requests().map((r) => r.offset)).toEqual([0, PAGE_SIZE]);
    expect(document.querySelector<HTMLElement>(".spacer")!.style.height).toBe(`${2 * PAGE_SIZE * 36}px`);
  });

  it("stops asking once a short page shows the end was reached", async () => {
    catalogue = inventoryRows(0, PAGE_SIZE + 20);
    await start();
    await scrollTo(36 * 170);
    await scrollTo(36 * 215);
    await scrollTo(36 * 220);
    expect(requests().map((r) => r.offset)).toEqual([0, PAGE_SIZE]);
    expect(text(document.querySelector(".summary"))).toBe("220 variants");
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
    expect(text(shownRows()[0]!.querySelector(".sku"))).toBe("SKU-12");
  });

  it("ignores a late answer for an earlier query", async () => {
    await start();
    let late: (rows: InventoryRow[]) => void = () => {};
    call.mockImplementationOnce(() => new Promise((resolve) => (late = resolve)));
    await search("SKU-9");
    await search("SKU-5");
    late(answer({ query: "SKU-9", limit: PAGE_SIZE, offset: 0 }));
    await settle();
    const skus = shownRows().map((r) => text(r.querySelector(".sku")));
    expect(skus[0]).toBe("SKU-5");
    expect(skus.every((s) => s.startsWith("SKU-5"))).toBe(true);
  });

  it("says so when nothing matches the query", async () => {
    await start();
    await search("NOPE");
    expect(text(byTestId("inventory-empty"))).toContain("No SKU or title starts with “NOPE”");
    expect(shownRows()).toHaveLength(0);
  });

  it("says so when no store is connected, with a way to connect", async () => {
    call.mockRejectedValue({ code: "not_connected", message: "No store is connected." });
    await start();
    expect(text(byTestId("inventory-empty"))).toContain("No store is connected");
    expect(byTestId("inventory-empty")?.querySelector("a")?.getAttribute("href")).toBe("#/connect");
  });

  it("fetches the rows in view again after a sync finishes", async () => {
    await start();
    await scrollTo(36 * 100);
    catalogue = catalogue.map((r) => ({ ...r, totalAvailable: 2 }));
    bus.current!.emit({ type: "syncFinished", full: false, rows: 1000, elapsedMs: 900 });
    await settle();
    expect(requests().at(-1)).toEqual({ query: "", limit: PAGE_SIZE, offset: 0 });
    expect(shownRows().every((r) => r.querySelector("[data-testid=low-stock]") !== null)).toBe(true);
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
  });
});
