// A bulk update's plan, progress and outcome in words and rows. Pure, so the grouping,
// filtering and wording are tested once and the Bulk update page only lays them out.
//
// The diff is one flat list of same-height items (product headings, changed rows, problems)
// so that the page can window it like the inventory list: a 50,000-row file puts only the
// rows in view in the DOM. Building the list is one pass over the plan per filter.
import type {
  BulkOutcomeView,
  BulkPlanView,
  BulkStateView,
  BulkSummaryView,
  ConflictView,
  PriceRowView,
  ProblemView,
  QuantityRowView,
} from "./bindings";
import { count, etaText, progressPercent, rateText } from "./format";

/** Which rows of the diff are shown. */
export const FILTERS = ["all", "changed", "large", "attention"] as const;
export type Filter = (typeof FILTERS)[number];

export const FILTER_LABELS: Record<Filter, string> = {
  all: "All rows",
  changed: "Changes only",
  large: "Large changes",
  attention: "Conflicts & problems",
};

/** One row of the file that matched a variant. */
export type DiffLine = { kind: "quantity"; q: QuantityRowView } | { kind: "price"; p: PriceRowView };

/** A product and what the shown rows do to it. */
export interface GroupHead {
  kind: "group";
  key: string;
  productId: number;
  title: string;
  /** Rows shown under it. */
  rows: number;
  /** Units its shown stock rows add and remove (a positive number). */
  added: number;
  removed: number;
  prices: number;
}

export type ListItem =
  | GroupHead
  | { kind: "line"; key: string; line: DiffLine }
  | { kind: "problems"; key: string; count: number }
  | { kind: "problem"; key: string; problem: ProblemView };

export function lineRow(line: DiffLine): number {
  return line.kind === "quantity" ? line.q.row : line.p.row;
}

/** Whether the row writes anything. */
export function changes(line: DiffLine): boolean {
  return line.kind === "quantity" ? line.q.delta !== 0 : line.p.changes;
}

/** The store's value moved since Shelfsync's last sync: someone sold or edited it. */
export function changedInStore(line: DiffLine): boolean {
  return line.kind === "quantity" && line.q.cached !== null;
}

export function passes(line: DiffLine, filter: Filter): boolean {
  switch (filter) {
    case "all":
      return true;
    case "changed":
      return changes(line);
    case "large":
      return changes(line) && (line.kind === "quantity" ? line.q.large : line.p.large);
    case "attention":
      return changedInStore(line);
  }
}

interface Bucket {
  productId: number;
  title: string;
  first: number;
  lines: DiffLine[];
}

/**
 * The plan's rows grouped by product, products in the order the file first names them and
 * rows in file order, each product with its heading; problems first where the filter shows
 * them.
 */
export function listItems(plan: BulkPlanView, filter: Filter): ListItem[] {
  const buckets = new Map<number, Bucket>();
  const add = (productId: number, title: string, line: DiffLine) => {
    if (!passes(line, filter)) return;
    let bucket = buckets.get(productId);
    if (!bucket) {
      bucket = { productId, title, first: lineRow(line), lines: [] };
      buckets.set(productId, bucket);
    }
    bucket.first = Math.min(bucket.first, lineRow(line));
    bucket.lines.push(line);
  };
  for (const q of plan.quantities) add(q.productId, q.productTitle, { kind: "quantity", q });
  for (const p of plan.prices) add(p.productId, p.productTitle, { kind: "price", p });

  const items: ListItem[] = [];
  if ((filter === "all" || filter === "attention") && plan.problems.length > 0) {
    items.push({ kind: "problems", key: "problems", count: plan.problems.length });
    plan.problems.forEach((problem, i) => items.push({ kind: "problem", key: `problem-${i}`, problem }));
  }
  const ordered = [...buckets.values()].sort((a, b) => a.first - b.first);
  for (const bucket of ordered) {
    // Stock rows and price rows of one product arrive separately; file order puts them together.
    if (bucket.lines.length > 1) bucket.lines.sort((a, b) => lineRow(a) - lineRow(b));
    let added = 0;
    let removed = 0;
    let prices = 0;
    for (const line of bucket.lines) {
      if (line.kind === "quantity") {
        if (line.q.delta > 0) added += line.q.delta;
        else removed -= line.q.delta;
      } else if (line.p.changes) {
        prices++;
      }
    }
    items.push({
      kind: "group",
      key: `product-${bucket.productId}`,
      productId: bucket.productId,
      title: bucket.title,
      rows: bucket.lines.length,
      added,
      removed,
      prices,
    });
    for (const line of bucket.lines) {
      const key = line.kind === "quantity" ? `q-${line.q.row}-${line.q.variantId}-${line.q.location}-${line.q.field}` : `p-${line.p.row}`;
      items.push({ kind: "line", key, line });
    }
  }
  return items;
}

/** How many rows each filter shows, for the filter buttons. */
export function filterCounts(plan: BulkPlanView): Record<Filter, number> {
  const counts: Record<Filter, number> = { all: 0, changed: 0, large: 0, attention: plan.problems.length };
  const tally = (line: DiffLine) => {
    counts.all++;
    if (passes(line, "changed")) counts.changed++;
    if (passes(line, "large")) counts.large++;
    if (passes(line, "attention")) counts.attention++;
  };
  for (const q of plan.quantities) tally({ kind: "quantity", q });
  for (const p of plan.prices) tally({ kind: "price", p });
  counts.all += plan.problems.length;
  return counts;
}

/** A change in units, signed: "+7", "−1,200" (a real minus sign), "No change". */
export function deltaText(delta: number): string {
  if (delta > 0) return `+${count(delta)}`;
  if (delta < 0) return `\u2212${count(-delta)}`;
  return "No change";
}

export type Tone = "up" | "down" | "same";

/** Green for more, red for less. */
export function deltaTone(delta: number): Tone {
  return delta > 0 ? "up" : delta < 0 ? "down" : "same";
}

/** "12.50" → 1250; anything that is not an amount gives null. */
export function cents(text: string | null): number | null {
  if (text === null) return null;
  const match = /^\s*(-?)(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!match) return null;
  const whole = Number(match[2]);
  const fraction = Number((match[3] ?? "0").padEnd(2, "0"));
  const value = whole * 100 + fraction;
  return match[1] === "-" ? -value : value;
}

/** The price difference in cents, or null when either side is not an amount. */
export function priceDelta(before: string, after: string): number | null {
  const b = cents(before);
  const a = cents(after);
  return a === null || b === null ? null : a - b;
}

/** A price difference: "+2.50", "−1.00", "No change". */
export function priceDeltaText(deltaCents: number | null): string {
  if (deltaCents === null) return "";
  if (deltaCents === 0) return "No change";
  const abs = Math.abs(deltaCents);
  const text = `${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
  return deltaCents > 0 ? `+${text}` : `\u2212${text}`;
}

const FIELD_LABELS: Record<string, string> = {
  available: "Available",
  on_hand: "On hand",
  price: "Price",
};

/** `on_hand` → "On hand". */
export function fieldLabel(field: string): string {
  return FIELD_LABELS[field] ?? field.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

/** What a row changes, for the diff: the field, before, after and the difference. */
export interface LineText {
  sku: string;
  /** Variant and location: "Blue · Main Street". */
  where: string;
  field: string;
  before: string;
  after: string;
  delta: string;
  tone: Tone;
  /** A note under the values: the compare-at price, or the store's value moving since the sync. */
  note: string;
}

export function lineText(line: DiffLine): LineText {
  if (line.kind === "quantity") {
    const { q } = line;
    return {
      sku: q.sku,
      where: [q.variantTitle, q.location].filter((part) => part !== "").join(" · "),
      field: fieldLabel(q.field),
      before: count(q.before),
      after: count(q.after),
      delta: deltaText(q.delta),
      tone: deltaTone(q.delta),
      note:
        q.cached === null
          ? ""
          : `Changed in the store since the last sync (Shelfsync had ${count(q.cached)}).`,
    };
  }
  const { p } = line;
  const delta = priceDelta(p.beforePrice, p.afterPrice);
  const compareChanges = p.beforeCompareAt !== p.afterCompareAt;
  return {
    sku: p.sku,
    where: p.variantTitle,
    field: "Price",
    before: p.beforePrice,
    after: p.afterPrice,
    delta: delta === 0 && compareChanges ? "Compare-at only" : priceDeltaText(delta),
    tone: deltaTone(delta ?? 0),
    note: compareChanges ? `Compare-at price ${p.beforeCompareAt ?? "none"} → ${p.afterCompareAt ?? "none"}.` : "",
  };
}

/** "Linen shirt: 3 rows, +12 / −4 units, 1 price". */
export function groupText(group: GroupHead): string {
  const parts = [group.rows === 1 ? "1 row" : `${count(group.rows)} rows`];
  if (group.added > 0 || group.removed > 0) {
    const units = [group.added > 0 ? `+${count(group.added)}` : "", group.removed > 0 ? `\u2212${count(group.removed)}` : ""]
      .filter((t) => t !== "")
      .join(" / ");
    parts.push(`${units} units`);
  }
  if (group.prices > 0) parts.push(group.prices === 1 ? "1 price" : `${count(group.prices)} prices`);
  return parts.join(", ");
}

/** "Row 5, column Quantity" or "Row 5". */
export function problemPlace(problem: ProblemView): string {
  return problem.column ? `Row ${problem.row}, column ${problem.column}` : `Row ${problem.row}`;
}

/** How many rows applying the plan would write. */
export function changeCount(plan: BulkPlanView): number {
  return plan.summary.quantityChanges + plan.summary.priceChanges;
}

/** Why the plan cannot be applied as chosen, or null when it can. */
export function applyBlocked(plan: BulkPlanView, skipProblems: boolean): string | null {
  if (changeCount(plan) === 0) return "Nothing to change: every row already matches the store.";
  if (plan.problems.length > 0 && !skipProblems) {
    return plan.problems.length === 1
      ? "One row has a problem. Fix the file and choose it again, or skip that row."
      : `${count(plan.problems.length)} rows have problems. Fix the file and choose it again, or skip those rows.`;
  }
  return null;
}

/** Whether the plan changes any price (prices are checked best effort only). */
export function hasPriceChanges(plan: BulkPlanView): boolean {
  return plan.summary.priceChanges > 0;
}

/** How far an update is, from its `bulkProgress` events. */
export interface BulkProgress {
  id: number;
  reversing: boolean;
  done: number;
  total: number;
  rate: number;
  secondsLeft: number | null;
}

export interface ProgressText {
  /** 0–100, or null before the first chunk. */
  percent: number | null;
  /** "250 of 600 rows". */
  rows: string;
  rate: string;
  eta: string;
  /** "Sending changes" or "Putting values back". */
  phase: string;
}

export function progressText(progress: BulkProgress | null, what: "apply" | "undo" | "recover"): ProgressText {
  const reversing = progress?.reversing ?? what === "undo";
  const phase = reversing ? "Putting the earlier values back" : "Sending the changes to Shopify";
  if (!progress) {
    return { percent: null, rows: "Starting…", rate: "", eta: "Estimating time left…", phase };
  }
  const finished = progress.total > 0 && progress.done >= progress.total;
  return {
    percent: progress.total === 0 ? 100 : progressPercent(progress.done, progress.total),
    rows: `${count(progress.done)} of ${count(progress.total)} rows`,
    rate: rateText(progress.rate),
    eta: finished ? "Done" : etaText(progress.secondsLeft),
    phase,
  };
}

const STATE_LABELS: Record<BulkStateView, string> = {
  applying: "Being applied",
  applied: "Applied",
  "rolling-back": "Being rolled back",
  "rolled-back": "Rolled back",
  undoing: "Being undone",
  undone: "Undone",
};

export function stateLabel(state: BulkStateView): string {
  return STATE_LABELS[state];
}

/** An update a crash stopped: "Stopped while applying". */
export function interruptedLabel(state: BulkStateView): string {
  switch (state) {
    case "applying":
      return "Stopped while applying";
    case "rolling-back":
      return "Stopped while rolling back";
    case "undoing":
      return "Stopped while undoing";
    default:
      return stateLabel(state);
  }
}

/** How an update ended, in one sentence. */
export function outcomeText(outcome: BulkOutcomeView): string {
  const rows = (n: number) => (n === 1 ? "1 row" : `${count(n)} rows`);
  switch (outcome.state) {
    case "applied": {
      const skipped = outcome.skipped.length;
      return skipped > 0
        ? `${rows(outcome.applied)} changed in the store; ${rows(skipped)} skipped because the store had changed them.`
        : `${rows(outcome.applied)} changed in the store.`;
    }
    case "rolled-back":
      return outcome.reversed > 0
        ? `Nothing from this file was kept: the ${rows(outcome.reversed)} already sent were put back.`
        : "Nothing from this file was kept.";
    case "undone":
      return outcome.reversed === 1
        ? "1 row put back as it was before this file."
        : `${count(outcome.reversed)} rows put back as they were before this file.`;
    default:
      return "It stopped midway; it is saved and can be rolled back or finished.";
  }
}

/** "SKU-1 at Main Street, available" for a conflict row. */
export function conflictWhere(c: ConflictView): string {
  return [c.location, fieldLabel(c.field)].filter((part) => part).join(", ");
}

/** "Roll back" / "Finish" choices make sense only for an apply that stopped. */
export function canFinish(update: BulkSummaryView): boolean {
  return update.state === "applying";
}

/** "600 stock changes, 2 price changes". */
export function summaryCounts(update: Pick<BulkSummaryView, "quantityChanges" | "priceChanges">): string {
  const parts: string[] = [];
  if (update.quantityChanges > 0) {
    parts.push(update.quantityChanges === 1 ? "1 stock change" : `${count(update.quantityChanges)} stock changes`);
  }
  if (update.priceChanges > 0) {
    parts.push(update.priceChanges === 1 ? "1 price change" : `${count(update.priceChanges)} price changes`);
  }
  return parts.length > 0 ? parts.join(", ") : "No changes";
}

/** "All or nothing" / "Skip conflicting rows". */
export function modeLabel(mode: BulkSummaryView["mode"]): string {
  return mode === "all-or-nothing" ? "All or nothing" : "Skip conflicting rows";
}
