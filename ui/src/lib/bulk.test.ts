import { describe, expect, it } from "vitest";
import type { BulkOutcomeView } from "./bindings";
import {
  applyBlocked,
  cents,
  deltaText,
  deltaTone,
  filterCounts,
  groupText,
  lineText,
  listItems,
  outcomeText,
  priceDelta,
  priceDeltaText,
  progressText,
  summaryCounts,
  type GroupHead,
  type ListItem,
} from "./bulk";
import { price, quantity, samplePlan } from "./testing";

function shape(items: ListItem[]): string[] {
  return items.map((item) => {
    switch (item.kind) {
      case "group":
        return `# ${item.title}`;
      case "problems":
        return `! ${item.count}`;
      case "problem":
        return `! row ${item.problem.row}`;
      case "line":
        return item.line.kind === "quantity" ? `q ${item.line.q.row}` : `p ${item.line.p.row}`;
    }
  });
}

describe("listItems", () => {
  it("groups rows by product in the order the file names them, problems first", () => {
    expect(shape(listItems(samplePlan(), "all"))).toEqual([
      "! 1",
      "! row 7",
      "# Linen shirt",
      "q 2",
      "q 5",
      "q 6",
      "# Canvas tote",
      "q 3",
      "# Wool scarf",
      "p 4",
    ]);
  });

  it("puts a product's stock and price rows together in file order", () => {
    const plan = samplePlan({ prices: [price(4, { productId: 1, productTitle: "Linen shirt" })] });
    expect(shape(listItems(plan, "changed"))).toEqual(["# Linen shirt", "q 2", "p 4", "q 6", "# Canvas tote", "q 3"]);
  });

  it("filters changes, large changes, and conflicts with problems", () => {
    const plan = samplePlan();
    expect(shape(listItems(plan, "changed"))).toEqual([
      "# Linen shirt",
      "q 2",
      "q 6",
      "# Canvas tote",
      "q 3",
      "# Wool scarf",
      "p 4",
    ]);
    expect(shape(listItems(plan, "large"))).toEqual(["# Linen shirt", "q 6"]);
    // Row 3's store value moved since the last sync; row 7 cannot be applied.
    expect(shape(listItems(plan, "attention"))).toEqual(["! 1", "! row 7", "# Canvas tote", "q 3"]);
    expect(filterCounts(plan)).toEqual({ all: 6, changed: 4, large: 1, attention: 2 });
  });

  it("counts what each product's shown rows do", () => {
    const heads = listItems(samplePlan(), "all").filter((i): i is GroupHead => i.kind === "group");
    expect(heads.map(groupText)).toEqual(["3 rows, +207 units", "1 row, \u22124 units", "1 row, 1 price"]);
    expect(groupText({ ...heads[0]!, added: 5, removed: 2, prices: 2 })).toBe("3 rows, +5 / \u22122 units, 2 prices");
  });

  it("gives every item a distinct key", () => {
    const items = listItems(samplePlan(), "all");
    expect(new Set(items.map((i) => i.key)).size).toBe(items.length);
  });

  it("lays out 50,000 rows quickly", () => {
    const quantities = Array.from({ length: 50_000 }, (_, i) =>
      quantity(i + 2, { productId: Math.floor(i / 3), productTitle: `Product ${Math.floor(i / 3)}`, delta: (i % 7) - 3 }),
    );
    const plan = samplePlan({ quantities, prices: [], problems: [] });
    const started = performance.now();
    const items = listItems(plan, "changed");
    const elapsed = performance.now() - started;
    expect(items.filter((i) => i.kind === "line")).toHaveLength(quantities.filter((q) => q.delta !== 0).length);
    expect(elapsed).toBeLessThan(1000);
  });
});

describe("deltas", () => {
  it("are signed with a real minus, and coloured up, down or neither", () => {
    expect(deltaText(7)).toBe("+7");
    expect(deltaText(-1200)).toBe("\u22121,200");
    expect(deltaText(0)).toBe("No change");
    expect([deltaTone(3), deltaTone(-3), deltaTone(0)]).toEqual(["up", "down", "same"]);
  });

  it("of prices are worked out in cents", () => {
    expect(cents("12.5")).toBe(1250);
    expect(cents("0.07")).toBe(7);
    expect(cents("12")).toBe(1200);
    expect(cents("$12")).toBeNull();
    expect(priceDelta("12.00", "14.50")).toBe(250);
    expect(priceDelta("0.10", "0.07")).toBe(-3);
    expect(priceDeltaText(250)).toBe("+2.50");
    expect(priceDeltaText(-3)).toBe("\u22120.03");
    expect(priceDeltaText(0)).toBe("No change");
    expect(priceDeltaText(null)).toBe("");
  });

  it("are worded per row, with the store's own change since the sync", () => {
    const plan = samplePlan();
    expect(lineText({ kind: "quantity", q: plan.quantities[0]! })).toEqual({
      sku: "SKU-2",
      where: "Small · Main Street",
      field: "Available",
      before: "10",
      after: "17",
      delta: "+7",
      tone: "up",
      note: "",
    });
    const moved = lineText({ kind: "quantity", q: plan.quantities[1]! });
    expect(moved.where).toBe("Main Street");
    expect(moved.delta).toBe("\u22124");
    expect(moved.tone).toBe("down");
    expect(moved.note).toBe("Changed in the store since the last sync (Shelfsync had 7).");
    expect(lineText({ kind: "quantity", q: plan.quantities[3]! }).field).toBe("On hand");
    const p = lineText({ kind: "price", p: price(4, { beforeCompareAt: "20.00", afterCompareAt: null }) });
    expect([p.field, p.before, p.after, p.delta, p.tone]).toEqual(["Price", "12.00", "14.50", "+2.50", "up"]);
    expect(p.note).toBe("Compare-at price 20.00 → none.");
    const compareOnly = lineText({
      kind: "price",
      p: price(4, { afterPrice: "12.00", beforeCompareAt: null, afterCompareAt: "15.00" }),
    });
    expect(compareOnly.delta).toBe("Compare-at only");
  });
});

describe("applyBlocked", () => {
  it("refuses problems unless they are skipped, and a plan that changes nothing", () => {
    const plan = samplePlan();
    expect(applyBlocked(plan, false)).toContain("One row has a problem");
    expect(applyBlocked(plan, true)).toBeNull();
    expect(applyBlocked(samplePlan({ problems: [] }), false)).toBeNull();
    const still = samplePlan({ problems: [], summary: { ...plan.summary, quantityChanges: 0, priceChanges: 0 } });
    expect(applyBlocked(still, false)).toBe("Nothing to change: every row already matches the store.");
  });
});

describe("progressText", () => {
  it("says how far, how fast and how long", () => {
    const p = progressText({ id: 1, reversing: false, done: 250, total: 600, rate: 125, secondsLeft: 2.8 }, "apply");
    expect(p).toEqual({
      percent: 41,
      rows: "250 of 600 rows",
      rate: "125 rows/s",
      eta: "3 s left",
      phase: "Sending the changes to Shopify",
    });
    const done = progressText({ id: 1, reversing: true, done: 600, total: 600, rate: 300, secondsLeft: 0 }, "apply");
    expect([done.percent, done.eta, done.phase]).toEqual([100, "Done", "Putting the earlier values back"]);
  });

  it("waits for the first chunk without a number", () => {
    const p = progressText(null, "undo");
    expect(p.percent).toBeNull();
    expect(p.rows).toBe("Starting…");
    expect(p.phase).toBe("Putting the earlier values back");
  });
});

describe("outcomeText", () => {
  const outcome = (overrides: Partial<BulkOutcomeView>): BulkOutcomeView => ({
    id: 1,
    state: "applied",
    mode: "all-or-nothing",
    applied: 599,
    reversed: 0,
    skipped: [],
    stoppedBy: null,
    notReversed: [],
    ...overrides,
  });

  it("says how the update ended", () => {
    expect(outcomeText(outcome({}))).toBe("599 rows changed in the store.");
    expect(
      outcomeText(
        outcome({
          mode: "skip-conflicts",
          skipped: [{ row: 2, sku: "A", location: "Main", field: "available", expected: "3", current: "2", reason: "sold" }],
        }),
      ),
    ).toBe("599 rows changed in the store; 1 row skipped because the store had changed them.");
    expect(outcomeText(outcome({ state: "rolled-back", applied: 0, reversed: 250 }))).toBe(
      "Nothing from this file was kept: the 250 rows already sent were put back.",
    );
    expect(outcomeText(outcome({ state: "undone", reversed: 1 }))).toBe("1 row put back as it was before this file.");
  });

  it("counts a summary's changes in words", () => {
    expect(summaryCounts({ quantityChanges: 600, priceChanges: 1 })).toBe("600 stock changes, 1 price change");
    expect(summaryCounts({ quantityChanges: 0, priceChanges: 0 })).toBe("No changes");
  });
});
