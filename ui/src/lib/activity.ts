// The audit log in words: where a change came from and what it changed. Pure, so the
// wording is tested once and the Activity page only lays it out.
import type { ActivityView } from "./bindings";

export const SOURCES = ["poll", "webhook", "user", "retry", "import", "reconciliation"] as const;
export type Source = (typeof SOURCES)[number];

const SOURCE_LABELS: Record<Source, string> = {
  poll: "Poll",
  webhook: "Webhook",
  user: "You",
  retry: "Retry",
  import: "Import",
  reconciliation: "Reconciliation",
};

export function isSource(value: string): value is Source {
  return (SOURCES as readonly string[]).includes(value);
}

/** "Poll", "You", …; a source this build does not know yet is shown as it is, capitalised. */
export function sourceLabel(source: string): string {
  return isSource(source) ? SOURCE_LABELS[source] : capitalise(source.replace(/_/g, " "));
}

const FIELD_LABELS: Record<string, string> = {
  available: "Available",
  on_hand: "On hand",
  committed: "Committed",
  incoming: "Incoming",
  reserved: "Reserved",
  damaged: "Damaged",
  safety_stock: "Safety stock",
  quality_control: "Quality control",
  title: "Title",
  sku: "SKU",
  price: "Price",
  compare_at_price: "Compare-at price",
  status: "Status",
  state: "State",
};

export function fieldLabel(field: string): string {
  return FIELD_LABELS[field] ?? capitalise(field.replace(/_/g, " "));
}

/** What changed, without the values: "Available at location 3 for item 12345". */
export function changeSubject(entry: Pick<ActivityView, "entity" | "entityId" | "field">): string {
  const { entity, entityId: id, field } = entry;
  const what = fieldLabel(field);
  switch (entity) {
    case "inventory_level": {
      // Levels are keyed `item@location`.
      const at = id.lastIndexOf("@");
      if (at > 0 && at < id.length - 1) {
        return `${what} at location ${id.slice(at + 1)} for item ${id.slice(0, at)}`;
      }
      return `${what} of stock level ${id}`;
    }
    case "variant":
      return `${what} of variant ${id}`;
    case "product":
      return field === "deleted" ? `Product ${id} deleted` : `${what} of product ${id}`;
    case "job":
      return field === "state" ? `Job ${id}` : `${what} of job ${id}`;
    default:
      return `${what} of ${entity.replace(/_/g, " ")} ${id}`;
  }
}

/** A value as shown; a missing one (a first value, a deletion) is a dash. */
export function valueText(value: string | null): string {
  return value === null || value === "" ? "—" : value;
}

/** The whole change in one line: "Available at location 3 for item 12345: 10 → 8". */
export function changeText(entry: ActivityView): string {
  return `${changeSubject(entry)}: ${valueText(entry.before)} → ${valueText(entry.after)}`;
}

export interface ActivityFilter {
  /** A source, or "" for all of them. */
  source: string;
  /** Words to look for in the change, its source or its ids; case does not matter. */
  text: string;
}

/** What a text filter is matched against, lower-cased. */
export function searchText(entry: ActivityView): string {
  return [changeText(entry), sourceLabel(entry.source), entry.source, entry.entity, entry.field]
    .join(" ")
    .toLowerCase();
}

/** Whether `entry` passes `filter`. Every word of the text must appear somewhere. */
export function matches(entry: ActivityView, filter: ActivityFilter, haystack = searchText(entry)): boolean {
  if (filter.source !== "" && entry.source !== filter.source) return false;
  const words = filter.text.toLowerCase().split(/\s+/).filter((w) => w !== "");
  return words.every((word) => haystack.includes(word));
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
