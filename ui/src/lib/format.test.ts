import { describe, expect, it } from "vitest";
import {
  durationText,
  etaText,
  gaugeFraction,
  gaugeLow,
  progressPercent,
  relativeTime,
  resourceLabel,
} from "./format";

const bucket = (available: number, maximum: number) => ({
  available,
  maximum,
  restoreRate: 100,
  throttled: 0,
  answered: 0,
});

describe("progressPercent", () => {
  it("gives a whole percentage, rounded down so 100 means finished", () => {
    expect(progressPercent(0, 50_000)).toBe(0);
    expect(progressPercent(12_345, 50_000)).toBe(24);
    expect(progressPercent(49_999, 50_000)).toBe(99);
    expect(progressPercent(50_000, 50_000)).toBe(100);
  });

  it("is unknown without a total, and never leaves 0–100", () => {
    expect(progressPercent(10, null)).toBeNull();
    expect(progressPercent(10, 0)).toBeNull();
    expect(progressPercent(60, 50)).toBe(100);
  });
});

describe("etaText", () => {
  it.each([
    [null, "Estimating time left…"],
    [Number.NaN, "Estimating time left…"],
    [0.4, "Almost done"],
    [1.2, "2 s left"],
    [59, "59 s left"],
    [61, "About 2 min left"],
    [3599, "About 60 min left"],
    [3600, "About 1 h left"],
    [5400, "About 1 h 30 min left"],
  ])("%s seconds → %s", (seconds, text) => {
    expect(etaText(seconds)).toBe(text);
  });
});

describe("gaugeFraction", () => {
  it("is available over maximum", () => {
    expect(gaugeFraction(bucket(500, 2000))).toBe(0.25);
    expect(gaugeFraction(bucket(2000, 2000))).toBe(1);
  });

  it("stays within 0–1 and is empty without a bucket", () => {
    expect(gaugeFraction(bucket(-5, 2000))).toBe(0);
    expect(gaugeFraction(bucket(2100, 2000))).toBe(1);
    expect(gaugeFraction(bucket(10, 0))).toBe(0);
    expect(gaugeFraction(null)).toBe(0);
  });

  it("marks a bucket under a fifth full as low", () => {
    expect(gaugeLow(bucket(399, 2000))).toBe(true);
    expect(gaugeLow(bucket(400, 2000))).toBe(false);
    expect(gaugeLow(null)).toBe(false);
  });
});

describe("relativeTime", () => {
  const now = Date.parse("2026-11-24T12:00:00Z");
  it("says how long ago or how far ahead, coarsely", () => {
    expect(relativeTime("2026-11-24T11:59:50Z", now)).toBe("just now");
    expect(relativeTime("2026-11-24T11:55:00Z", now)).toBe("5 min ago");
    expect(relativeTime("2026-11-24T15:00:00Z", now)).toBe("in 3 h");
    expect(relativeTime("2026-11-20T12:00:00Z", now)).toBe("4 days ago");
  });

  it("shows text it cannot read as it is", () => {
    expect(relativeTime("soon", now)).toBe("soon");
  });
});

describe("labels", () => {
  it("turns resource names and durations into words", () => {
    expect(resourceLabel("inventory_levels")).toBe("Inventory levels");
    expect(durationText(2_500)).toBe("2.5 s");
    expect(durationText(42_000)).toBe("42 s");
    expect(durationText(125_000)).toBe("2 min 5 s");
  });
});
