import { mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { OrderStatusView, OrderView } from "../lib/bindings";
import { COALESCE_MS } from "../lib/coalesce";
import { byTestId, fakeEvents, settle, text } from "../lib/testing";

const call = vi.hoisted(() => vi.fn());
vi.mock("../lib/ipc", () => ({ call }));
const bus = vi.hoisted(() => ({ current: undefined as ReturnType<typeof fakeEvents> | undefined }));
vi.mock("../lib/events", () => ({
  onEngineEvent: (handler: Parameters<ReturnType<typeof fakeEvents>["onEngineEvent"]>[0]) =>
    bus.current!.onEngineEvent(handler),
}));

import Orders from "./Orders.svelte";

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

function order(id: number, status: OrderStatusView, minutes: number, lines: OrderView["lines"]): OrderView {
  return {
    id,
    name: `#${id}`,
    createdAt: minutesAgo(minutes),
    status,
    totalPrice: "36.00",
    currencyCode: "USD",
    financialStatus: "PAID",
    lines,
  };
}

function line(id: number, title: string, quantity: number, committed: number, shipped: number, backInStock: number) {
  return {
    id,
    variantId: id + 100,
    sku: `SKU-${id}`,
    title,
    variantTitle: id % 2 === 0 ? "Small" : null,
    quantity,
    committed,
    shipped,
    backInStock,
    price: "12.00",
  };
}

/** The store's orders, newest first, as the back end keeps them. */
let store: OrderView[];
let app: ReturnType<typeof mount> | undefined;

function reads(): { status: OrderStatusView | null; limit: number }[] {
  return call.mock.calls.filter(([cmd]) => cmd === "recent_orders").map(([, args]) => args);
}

function cards(): HTMLElement[] {
  return Array.from(document.querySelectorAll<HTMLElement>("[data-testid=order]"));
}

function names(): string[] {
  return cards().map((c) => text(c.querySelector("[data-testid=order-name]")));
}

function card(name: string): HTMLElement {
  const found = cards().find((c) => text(c.querySelector("[data-testid=order-name]")) === name);
  if (!found) throw new Error(`no order ${name} in ${names().join(", ")}`);
  return found;
}

function effects(el: HTMLElement): string[] {
  return Array.from(el.querySelectorAll("[data-testid=order-line]"), (li) => {
    const effect = li.querySelector("[data-testid=order-line-effect]")!;
    // What is seen, without the sentence kept for screen readers.
    const seen = Array.from(effect.childNodes)
      .filter((n) => !(n instanceof HTMLElement && n.classList.contains("visually-hidden")))
      .map((n) => n.textContent ?? "")
      .join("");
    return seen.replace(/\s+/g, " ").trim();
  });
}

async function start(): Promise<void> {
  app = mount(Orders, { target: document.body });
  await settle();
}

async function choose(filter: string): Promise<void> {
  const radio = byTestId(`orders-filter-${filter}`) as HTMLInputElement;
  radio.click();
  await settle();
}

/** Lets a coalesced re-read run. */
async function afterBurst(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, COALESCE_MS + 50));
  await settle();
}

beforeEach(() => {
  bus.current = fakeEvents();
  store = [
    order(1003, "open", 2, [line(1, "Blue Mug", 2, 2, 0, 0), line(2, "Tea Towel", 2, 1, 1, 0)]),
    order(1002, "fulfilled", 30, [line(3, "Linen Apron", 1, 0, 1, 0)]),
    order(1001, "cancelled", 90, [line(4, "Blue Mug", 3, 0, 1, 2)]),
  ];
  call.mockReset();
  call.mockImplementation((cmd: string, args: { status: OrderStatusView | null; limit: number }) => {
    if (cmd !== "recent_orders") return Promise.reject({ code: "internal", message: `unexpected ${cmd}` });
    const shown = store.filter((o) => args.status === null || o.status === args.status).slice(0, args.limit);
    return Promise.resolve(structuredClone(shown));
  });
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = "";
});

describe("Orders", () => {
  it("shows the latest orders, newest first, with time, total and status", async () => {
    await start();
    expect(reads()).toEqual([{ status: null, limit: 100 }]);
    expect(names()).toEqual(["#1003", "#1002", "#1001"]);
    const newest = card("#1003");
    expect(text(newest.querySelector("[data-testid=order-status]"))).toBe("Open");
    expect(text(newest.querySelector("[data-testid=order-time]"))).toBe("2 min ago");
    expect(newest.querySelector("time")?.getAttribute("title")).toBe(new Date(store[0]!.createdAt).toLocaleString());
    const total = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD" }).format(36);
    expect(text(newest.querySelector("[data-testid=order-total]"))).toBe(total);
    expect(text(card("#1001").querySelector("[data-testid=order-status]"))).toBe("Cancelled");
    expect(text(byTestId("orders-summary"))).toBe("3 orders");
    expect(byTestId("order-new")).toBeNull();
  });

  it("says what each line did to stock in plain words", async () => {
    await start();
    const open = card("#1003");
    expect(text(open.querySelector("[data-testid=order-line]"))).toContain("2 × Blue Mug");
    expect(text(open.querySelectorAll("[data-testid=order-line]")[1])).toContain("Tea Towel — Small");
    expect(text(open.querySelectorAll("[data-testid=order-line]")[1])).toContain("SKU-2");
    expect(effects(open)).toEqual(["2 committed", "1 committed · 1 shipped"]);
    expect(effects(card("#1002"))).toEqual(["1 shipped"]);
    expect(effects(card("#1001"))).toEqual(["1 shipped · 2 back in stock"]);
    // The same effect as a sentence, for a tooltip and for screen readers.
    const effect = card("#1001").querySelector("[data-testid=order-line-effect]")!;
    expect(effect.getAttribute("title")).toBe("1 shipped; 2 returned to available stock.");
    expect(text(effect.querySelector(".visually-hidden"))).toContain("2 returned to available stock");
  });

  it("filters by status and reads the list for that status", async () => {
    await start();
    await choose("open");
    expect(reads().at(-1)).toEqual({ status: "open", limit: 100 });
    expect(names()).toEqual(["#1003"]);
    expect(text(byTestId("orders-summary"))).toBe("1 open order");
    expect((byTestId("orders-filter-open") as HTMLInputElement).checked).toBe(true);
    await choose("cancelled");
    expect(names()).toEqual(["#1001"]);
    await choose("fulfilled");
    expect(names()).toEqual(["#1002"]);
    await choose("all");
    expect(names()).toEqual(["#1003", "#1002", "#1001"]);
    expect(reads().map((r) => r.status)).toEqual([null, "open", "cancelled", "fulfilled", null]);
  });

  it("offers every filter as a labelled radio button reachable from the keyboard", async () => {
    await start();
    const radios = Array.from(document.querySelectorAll<HTMLInputElement>("[data-testid=orders-filter] input[type=radio]"));
    expect(radios.map((r) => text(r.closest("label")))).toEqual(["All", "Open", "Fulfilled", "Cancelled"]);
    expect(new Set(radios.map((r) => r.name)).size).toBe(1);
    expect(radios.every((r) => r.tabIndex !== -1 && !r.disabled)).toBe(true);
    expect(text(byTestId("orders-filter")!.querySelector("legend"))).toBe("Show orders");
  });

  it("drops an answer for a filter no longer chosen", async () => {
    await start();
    let answerOpen: (value: OrderView[]) => void = () => {};
    const answer = call.getMockImplementation()!;
    call.mockImplementation((cmd: string, args: { status: OrderStatusView | null; limit: number }) =>
      args.status === "open" ? new Promise((resolve) => (answerOpen = resolve)) : answer(cmd, args),
    );
    const radio = byTestId("orders-filter-open") as HTMLInputElement;
    radio.click();
    await settle();
    await choose("cancelled");
    answerOpen([structuredClone(store[0]!)]);
    await settle();
    expect(names()).toEqual(["#1001"]);
    expect((byTestId("orders-filter-cancelled") as HTMLInputElement).checked).toBe(true);
  });

  it("shows a new order live, once for a burst of events, and marks it as new", async () => {
    await start();
    store = [order(1004, "open", 0, [line(5, "Blue Mug", 1, 1, 0, 0)]), ...store];
    bus.current!.emit({ type: "newOrder", id: 1004, name: "#1004", totalPrice: "12.00", currencyCode: "USD", units: 1, firstLine: "Blue Mug" });
    bus.current!.emit({ type: "job", id: 9, kind: "webhook.process", state: "done", attempts: 1, lastError: null });
    bus.current!.emit({ type: "job", id: 10, kind: "stock.refresh", state: "done", attempts: 1, lastError: null });
    expect(reads()).toHaveLength(1);
    await afterBurst();
    expect(reads()).toHaveLength(2);
    expect(names()).toEqual(["#1004", "#1003", "#1002", "#1001"]);
    expect(text(card("#1004").querySelector("[data-testid=order-new]"))).toBe("New");
    expect(card("#1003").querySelector("[data-testid=order-new]")).toBeNull();
    expect(text(card("#1004").querySelector("[data-testid=order-time]"))).toBe("just now");
  });

  it("reads again when a sync or a webhook finishes, but not for work still running", async () => {
    await start();
    bus.current!.emit({ type: "job", id: 9, kind: "webhook.process", state: "running", attempts: 1, lastError: null });
    bus.current!.emit({ type: "bucket", bucket: { maximum: 1000, available: 900, restoreRate: 50, throttled: 0, answered: 3 } });
    await afterBurst();
    expect(reads()).toHaveLength(1);
    // An order fulfilled in Shopify: a sync brings the change.
    store[0] = { ...store[0]!, status: "fulfilled", lines: store[0]!.lines.map((l) => ({ ...l, committed: 0, shipped: l.quantity })) };
    bus.current!.emit({ type: "job", id: 11, kind: "sync.incremental", state: "done", attempts: 1, lastError: null });
    await afterBurst();
    expect(reads()).toHaveLength(2);
    expect(text(card("#1003").querySelector("[data-testid=order-status]"))).toBe("Fulfilled");
    expect(effects(card("#1003"))).toEqual(["2 shipped", "2 shipped"]);
  });

  it("says when there are no orders yet, and when none has the chosen status", async () => {
    store = [];
    await start();
    expect(text(byTestId("orders-empty"))).toContain("No orders yet.");
    expect(text(byTestId("orders-summary"))).toBe("");
    store = [order(1002, "fulfilled", 30, [line(3, "Linen Apron", 1, 0, 1, 0)])];
    await choose("open");
    expect(text(byTestId("orders-empty"))).toContain("No open orders among the latest 100.");
    byTestId("orders-empty")!.querySelector("button")!.click();
    await settle();
    expect(names()).toEqual(["#1002"]);
    expect((byTestId("orders-filter-all") as HTMLInputElement).checked).toBe(true);
  });

  it("shows an error with what to do, and tries again", async () => {
    call.mockRejectedValue({ code: "store_unreachable", message: "Shopify did not answer" });
    await start();
    const error = byTestId("orders-error")!;
    expect(error.getAttribute("role")).toBe("alert");
    expect(text(error)).toContain("The store could not be reached (Shopify did not answer). Check your internet connection");
    expect(cards()).toHaveLength(0);
    call.mockResolvedValue(structuredClone(store));
    error.querySelector("button")!.click();
    await settle();
    expect(byTestId("orders-error")).toBeNull();
    expect(names()).toEqual(["#1003", "#1002", "#1001"]);
  });

  it("keeps the orders shown when a later read fails, with the error above them", async () => {
    await start();
    call.mockRejectedValue({ code: "internal", message: "database is locked." });
    byTestId("orders-refresh")!.click();
    await settle();
    expect(text(byTestId("orders-error"))).toContain("database is locked.");
    expect(names()).toEqual(["#1003", "#1002", "#1001"]);
  });

  it("links to Connect when no store is connected", async () => {
    call.mockRejectedValue({ code: "not_connected", message: "No store is connected." });
    await start();
    expect(byTestId("orders-not-connected")?.querySelector("a")?.getAttribute("href")).toBe("#/connect");
    expect(byTestId("orders-error")).toBeNull();
  });

  it("stops listening when the page closes", async () => {
    await start();
    expect(bus.current!.handlers.size).toBe(1);
    unmount(app!);
    app = undefined;
    expect(bus.current!.handlers.size).toBe(0);
    bus.current!.emit({ type: "newOrder", id: 1, name: "#1", totalPrice: "1.00", currencyCode: "USD", units: 1, firstLine: null });
    await afterBurst();
    expect(reads()).toHaveLength(1);
  });
});
