import { describe, expect, it } from "vitest";
import { changeSubject, changeText, matches, sourceLabel } from "./activity";
import type { ActivityView } from "./bindings";

function entry(overrides: Partial<ActivityView> = {}): ActivityView {
  return {
    id: 1,
    at: "2026-11-24T12:00:00Z",
    source: "poll",
    entity: "inventory_level",
    entityId: "12345@3",
    field: "available",
    before: "10",
    after: "8",
    ...overrides,
  };
}

describe("sourceLabel", () => {
  it("names each source, with the person as You", () => {
    expect(["poll", "webhook", "user", "retry", "import", "reconciliation"].map(sourceLabel)).toEqual([
      "Poll",
      "Webhook",
      "You",
      "Retry",
      "Import",
      "Reconciliation",
    ]);
  });

  it("shows a source this build does not know as it is", () => {
    expect(sourceLabel("bulk_update")).toBe("Bulk update");
  });
});

describe("changeText", () => {
  it("says which quantity changed at which location for which item", () => {
    expect(changeText(entry())).toBe("Available at location 3 for item 12345: 10 → 8");
    expect(changeText(entry({ field: "on_hand", before: "4", after: "0" }))).toBe(
      "On hand at location 3 for item 12345: 4 → 0",
    );
  });

  it("does not invent a location when a level id has none", () => {
    expect(changeSubject(entry({ entityId: "777" }))).toBe("Available of stock level 777");
  });

  it("words variant, product and job changes", () => {
    expect(changeText(entry({ entity: "variant", entityId: "55", field: "price", before: "9.99", after: "12.50" }))).toBe(
      "Price of variant 55: 9.99 → 12.50",
    );
    expect(changeText(entry({ entity: "variant", entityId: "55", field: "compare_at_price", before: null, after: "15.00" }))).toBe(
      "Compare-at price of variant 55: — → 15.00",
    );
    expect(changeText(entry({ entity: "product", entityId: "9", field: "deleted", before: "Blue tee", after: null }))).toBe(
      "Product 9 deleted: Blue tee → —",
    );
    expect(changeText(entry({ entity: "job", entityId: "12", field: "state", before: "failed", after: "pending" }))).toBe(
      "Job 12: failed → pending",
    );
  });

  it("falls back to plain words for an entity it does not know", () => {
    expect(changeText(entry({ entity: "order_line", entityId: "3", field: "fulfilled_qty", before: "0", after: "1" }))).toBe(
      "Fulfilled qty of order line 3: 0 → 1",
    );
  });
});

describe("matches", () => {
  it("filters by source", () => {
    expect(matches(entry({ source: "webhook" }), { source: "webhook", text: "" })).toBe(true);
    expect(matches(entry({ source: "poll" }), { source: "webhook", text: "" })).toBe(false);
    expect(matches(entry({ source: "poll" }), { source: "", text: "" })).toBe(true);
  });

  it("finds every word of the text anywhere in the change, ignoring case", () => {
    expect(matches(entry(), { source: "", text: "ITEM 12345" })).toBe(true);
    expect(matches(entry(), { source: "", text: "location 3 available" })).toBe(true);
    expect(matches(entry({ source: "user" }), { source: "", text: "you" })).toBe(true);
    expect(matches(entry(), { source: "", text: "price" })).toBe(false);
    expect(matches(entry(), { source: "", text: "   " })).toBe(true);
  });
});
