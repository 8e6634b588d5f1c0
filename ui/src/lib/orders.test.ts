import { describe, expect, it } from "vitest";
import type { UiEvent } from "./bindings";
import {
  effectExplained,
  effectWords,
  lineTitle,
  moneyText,
  ordersErrorText,
  ordersSummary,
  refreshesOrders,
  statusArg,
} from "./orders";

const effect = (committed: number, shipped: number, backInStock: number) => ({ committed, shipped, backInStock });

describe("effectWords", () => {
  it.each([
    [effect(2, 0, 0), ["2 committed"]],
    [effect(0, 1, 0), ["1 shipped"]],
    [effect(0, 0, 1), ["1 back in stock"]],
    [effect(1, 1, 0), ["1 committed", "1 shipped"]],
    [effect(0, 1, 2), ["1 shipped", "2 back in stock"]],
    [effect(0, 0, 0), []],
  ])("%o reads %o", (line, words) => {
    expect(effectWords(line)).toEqual(words);
  });

  it("explains the words in a sentence", () => {
    expect(effectExplained(effect(2, 1, 0))).toBe("2 held as committed stock until shipped; 1 shipped.");
    expect(effectExplained(effect(0, 0, 3))).toBe("3 returned to available stock.");
    expect(effectExplained(effect(0, 0, 0))).toBe("No effect on stock.");
  });
});

describe("lineTitle and moneyText", () => {
  it("names the variant unless it is the product's only one", () => {
    expect(lineTitle({ title: "Blue Mug", variantTitle: "Small" })).toBe("Blue Mug — Small");
    expect(lineTitle({ title: "Gift Card", variantTitle: null })).toBe("Gift Card");
  });

  it("formats money in its currency and keeps what it cannot format", () => {
    const expected = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD" }).format(36);
    expect(moneyText("36.00", "USD")).toBe(expected);
    expect(moneyText("36.00", "NOT A CURRENCY")).toBe("36.00 NOT A CURRENCY");
    expect(moneyText("n/a", "USD")).toBe("n/a USD");
  });
});

describe("refreshesOrders", () => {
  const job = (kind: string, state: string): UiEvent => ({ type: "job", id: 1, kind, state, attempts: 1, lastError: null });

  it("is true for new orders and for order-bearing jobs that finished", () => {
    expect(
      refreshesOrders({ type: "newOrder", id: 1, name: "#1001", totalPrice: "1.00", currencyCode: "USD", units: 1, firstLine: null }),
    ).toBe(true);
    expect(refreshesOrders(job("webhook.process", "done"))).toBe(true);
    expect(refreshesOrders(job("stock.refresh", "done"))).toBe(true);
    expect(refreshesOrders(job("sync.incremental", "done"))).toBe(true);
    expect(refreshesOrders(job("sync.full", "done"))).toBe(true);
    expect(refreshesOrders({ type: "syncFinished", full: false, rows: 1, elapsedMs: 1 })).toBe(true);
  });

  it("is false for jobs still running, failed ones, other kinds and unrelated events", () => {
    expect(refreshesOrders(job("webhook.process", "running"))).toBe(false);
    expect(refreshesOrders(job("sync.incremental", "failed"))).toBe(false);
    expect(refreshesOrders(job("bulk.update", "done"))).toBe(false);
    expect(refreshesOrders({ type: "bucket", bucket: { maximum: 1, available: 1, restoreRate: 1, throttled: 0, answered: 0 } })).toBe(false);
  });
});

describe("wording", () => {
  it("sends no status for All", () => {
    expect(statusArg("all")).toBeNull();
    expect(statusArg("cancelled")).toBe("cancelled");
  });

  it("counts the orders shown, and says when the limit cut the list", () => {
    expect(ordersSummary(1, "all", 100)).toBe("1 order");
    expect(ordersSummary(3, "open", 100)).toBe("3 open orders");
    expect(ordersSummary(100, "all", 100)).toBe("The latest 100 orders");
  });

  it("says what to do for each kind of error", () => {
    expect(ordersErrorText({ code: "store_unreachable", message: "timed out" })).toMatch(/internet connection/);
    expect(ordersErrorText({ code: "credentials", message: "refused" })).toMatch(/Connect the store again/);
    expect(ordersErrorText({ code: "keychain", message: "locked" })).toMatch(/Unlock it/);
    expect(ordersErrorText({ code: "internal", message: "database is locked." })).toBe(
      "The orders could not be read: database is locked. Try Refresh; if it keeps failing, restart Shelfsync.",
    );
  });
});
