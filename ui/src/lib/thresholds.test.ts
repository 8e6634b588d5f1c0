import { describe, expect, it } from "vitest";
import { checkLine, existingLine, MAX_LINE } from "./thresholds";

describe("checkLine", () => {
  it("sends the trimmed SKU and a whole number", () => {
    expect(checkLine(" MUG ", 0)).toEqual({ sku: "MUG", threshold: 0 });
    expect(checkLine("MUG", MAX_LINE)).toEqual({ sku: "MUG", threshold: MAX_LINE });
  });

  it("names the field to fix", () => {
    expect(checkLine("  ", 3)).toMatchObject({ field: "sku" });
    for (const bad of [null, undefined, -1, 1.5, Number.NaN]) expect(checkLine("MUG", bad), String(bad)).toMatchObject({ field: "threshold" });
    expect(checkLine("MUG", MAX_LINE + 1)).toEqual({ field: "threshold", problem: "The line must be at most 1,000,000." });
  });
});

describe("existingLine", () => {
  it("matches the SKU exactly, after trimming", () => {
    const lines = [{ sku: "MUG", threshold: 2 }];
    expect(existingLine(lines, " MUG ")).toEqual({ sku: "MUG", threshold: 2 });
    expect(existingLine(lines, "mug")).toBeUndefined();
  });
});
