// Numbers and times as the pages show them. Kept pure so the wording is tested once.
import type { BucketView } from "./bindings";

const counts = new Intl.NumberFormat();

export function count(n: number): string {
  return counts.format(Math.round(n));
}

/** Sync progress as a whole percentage, or null while the total is unknown. */
export function progressPercent(rows: number, total: number | null): number | null {
  if (total === null || total <= 0) return null;
  return Math.min(100, Math.max(0, Math.floor((rows / total) * 100)));
}

/** "About 2 min left" style estimate from the engine's seconds-left figure. */
export function etaText(secondsLeft: number | null): string {
  if (secondsLeft === null || !Number.isFinite(secondsLeft) || secondsLeft < 0) {
    return "Estimating time left…";
  }
  if (secondsLeft < 1) return "Almost done";
  if (secondsLeft < 60) return `${Math.ceil(secondsLeft)} s left`;
  if (secondsLeft < 3600) return `About ${Math.ceil(secondsLeft / 60)} min left`;
  const hours = Math.floor(secondsLeft / 3600);
  const minutes = Math.round((secondsLeft % 3600) / 60);
  return minutes > 0 ? `About ${hours} h ${minutes} min left` : `About ${hours} h left`;
}

export function rateText(rowsPerSec: number): string {
  return `${count(rowsPerSec)} rows/s`;
}

/** How full the rate-limit bucket is, 0 to 1. */
export function gaugeFraction(bucket: BucketView | null): number {
  if (!bucket || !(bucket.maximum > 0)) return 0;
  return Math.min(1, Math.max(0, bucket.available / bucket.maximum));
}

/** Whether the bucket is low enough that requests are about to wait. */
export function gaugeLow(bucket: BucketView | null): boolean {
  return bucket !== null && bucket.maximum > 0 && gaugeFraction(bucket) < 0.2;
}

export function durationText(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds % 60)} s`;
}

/** "5 min ago" / "in 3 h": coarse on purpose, the exact time goes in a tooltip. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const diff = at - now;
  const future = diff > 0;
  const abs = Math.abs(diff) / 1000;
  let amount: string;
  // Within a few seconds either way is "just now": timestamps from the engine can sit a few
  // milliseconds ahead of the page's clock, and "in a few seconds" would misread a past event.
  if (abs < 5) return "just now";
  if (abs < 45) return future ? "in a few seconds" : "just now";
  else if (abs < 3600) amount = `${Math.round(abs / 60)} min`;
  else if (abs < 86400 * 2) amount = `${Math.round(abs / 3600)} h`;
  else amount = `${Math.round(abs / 86400)} days`;
  return future ? `in ${amount}` : `${amount} ago`;
}

export function dateTime(iso: string): string {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? iso : new Date(at).toLocaleString();
}

/** `inventory_levels` → "Inventory levels". */
export function resourceLabel(resource: string): string {
  const words = resource.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
