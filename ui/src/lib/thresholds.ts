// Per-SKU low-stock lines as the Settings page edits them. The SKU is matched exactly as it is
// in Shopify; the Rust side checks again and names the field it refused.
import type { SkuThresholdView } from "./bindings";

/** The largest line the Rust side accepts (the global line's limit too). */
export const MAX_LINE = 1_000_000;

export type LineField = "sku" | "threshold";

/** What to send for the typed line, or the field to fix first. */
export function checkLine(
  sku: string,
  threshold: number | null | undefined,
): { sku: string; threshold: number } | { field: LineField; problem: string } {
  const trimmed = sku.trim();
  if (trimmed === "") return { field: "sku", problem: "Enter the SKU exactly as it is in Shopify." };
  if (typeof threshold !== "number" || !Number.isInteger(threshold) || threshold < 0) {
    return { field: "threshold", problem: "Enter the line as a whole number (0 or more)." };
  }
  if (threshold > MAX_LINE) return { field: "threshold", problem: "The line must be at most 1,000,000." };
  return { sku: trimmed, threshold };
}

/** The line already kept for `sku`, if there is one (SKUs match exactly, after trimming). */
export function existingLine(lines: SkuThresholdView[], sku: string): SkuThresholdView | undefined {
  const trimmed = sku.trim();
  return lines.find((l) => l.sku === trimmed);
}
