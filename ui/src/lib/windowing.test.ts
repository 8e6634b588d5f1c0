import { describe, expect, it } from "vitest";
import { rowWindow } from "./windowing";

const base = { rowHeight: 36, overscan: 0, viewportHeight: 360, total: 50_000 };

describe("rowWindow", () => {
  it("renders exactly the rows in view at the top, without overscan", () => {
    expect(rowWindow({ ...base, scrollTop: 0 })).toEqual({ start: 0, end: 10, offsetY: 0 });
  });

  it("counts rows cut off at either edge as visible", () => {
    // 18px down: row 0 is half visible, and row 10 peeks in at the bottom.
    expect(rowWindow({ ...base, scrollTop: 18 })).toEqual({ start: 0, end: 11, offsetY: 0 });
  });

  it("moves with the scroll offset and places the first rendered row", () => {
    const w = rowWindow({ ...base, scrollTop: 36 * 1000 });
    expect(w).toEqual({ start: 1000, end: 1010, offsetY: 36_000 });
  });

  it("adds overscan on both sides, clamped at the top", () => {
    expect(rowWindow({ ...base, overscan: 5, scrollTop: 36 * 2 })).toEqual({
      start: 0,
      end: 17,
      offsetY: 0,
    });
    expect(rowWindow({ ...base, overscan: 5, scrollTop: 36 * 100 })).toEqual({
      start: 95,
      end: 115,
      offsetY: 95 * 36,
    });
  });

  it("clamps at the bottom, also when scrolled past the end", () => {
    expect(rowWindow({ ...base, overscan: 5, total: 100, scrollTop: 36 * 95 })).toEqual({
      start: 90,
      end: 100,
      offsetY: 90 * 36,
    });
    const past = rowWindow({ ...base, overscan: 2, total: 100, scrollTop: 36 * 500 });
    expect(past.end).toBe(100);
    expect(past.start).toBe(97);
  });

  it("renders every row of a list shorter than the view", () => {
    expect(rowWindow({ ...base, overscan: 8, total: 3, scrollTop: 0 })).toEqual({
      start: 0,
      end: 3,
      offsetY: 0,
    });
  });

  it("renders nothing for an empty list or a nonsense row height", () => {
    expect(rowWindow({ ...base, total: 0, scrollTop: 0 })).toEqual({ start: 0, end: 0, offsetY: 0 });
    expect(rowWindow({ ...base, rowHeight: 0, scrollTop: 0 })).toEqual({ start: 0, end: 0, offsetY: 0 });
  });

  it("treats a negative scroll (elastic overscroll) as the top", () => {
    expect(rowWindow({ ...base, scrollTop: -50 })).toEqual({ start: 0, end: 10, offsetY: 0 });
  });

  it("still renders the row under the top edge with a zero-height view", () => {
    expect(rowWindow({ ...base, viewportHeight: 0, scrollTop: 36 * 7 })).toEqual({
      start: 7,
      end: 8,
      offsetY: 252,
    });
  });

  it("keeps the DOM small however long the list is", () => {
    const w = rowWindow({ ...base, overscan: 8, total: 1_000_000, scrollTop: 36 * 500_000 });
    expect(w.end - w.start).toBeLessThanOrEqual(10 + 1 + 16);
  });
});
