// Orders in words: status badges, money, what a line did to stock, which engine events mean
// the list is out of date, and what to do when it cannot be read. Pure, so the wording is
// tested once and the Orders page only lays it out.
import type { OrderLineView, OrderStatusView, UiError, UiEvent } from "./bindings";
import { count } from "./format";

/** The filter's choices, in the order they are offered; "all" sends no status. */
export const FILTERS = ["all", "open", "fulfilled", "cancelled"] as const;
export type OrderFilter = (typeof FILTERS)[number];

const STATUS_LABELS: Record<OrderStatusView, string> = {
  open: "Open",
  fulfilled: "Fulfilled",
  cancelled: "Cancelled",
};

export function statusLabel(status: OrderStatusView): string {
  return STATUS_LABELS[status] ?? status;
}

export function filterLabel(filter: OrderFilter): string {
  return filter === "all" ? "All" : statusLabel(filter);
}

/** The `status` argument of `recent_orders` for a filter. */
export function statusArg(filter: OrderFilter): OrderStatusView | null {
  return filter === "all" ? null : filter;
}

/** `36.00`, `USD` → "$36.00" in the reader's locale; an unknown currency keeps its code. */
export function moneyText(amount: string, currency: string): string {
  const value = Number(amount);
  if (!Number.isFinite(value)) return `${amount} ${currency}`.trim();
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(value);
  } catch {
    return `${amount} ${currency}`.trim();
  }
}

/** "Blue Mug — Small", or the product's title alone for its only variant. */
export function lineTitle(line: Pick<OrderLineView, "title" | "variantTitle">): string {
  return line.variantTitle ? `${line.title} — ${line.variantTitle}` : line.title;
}

/**
 * What a line did to stock, in plain words: "2 committed" (sold, waiting to ship),
 * "1 shipped", "1 back in stock" (cancelled or removed from the order).
 */
export function effectWords(line: Pick<OrderLineView, "committed" | "shipped" | "backInStock">): string[] {
  const words: string[] = [];
  if (line.committed > 0) words.push(`${count(line.committed)} committed`);
  if (line.shipped > 0) words.push(`${count(line.shipped)} shipped`);
  if (line.backInStock > 0) words.push(`${count(line.backInStock)} back in stock`);
  return words;
}

/** A sentence that explains the effect words, for a tooltip or a screen reader. */
export function effectExplained(line: Pick<OrderLineView, "committed" | "shipped" | "backInStock">): string {
  const parts: string[] = [];
  if (line.committed > 0) parts.push(`${count(line.committed)} held as committed stock until shipped`);
  if (line.shipped > 0) parts.push(`${count(line.shipped)} shipped`);
  if (line.backInStock > 0) parts.push(`${count(line.backInStock)} returned to available stock`);
  return parts.length > 0 ? `${parts.join("; ")}.` : "No effect on stock.";
}

/** Job kinds whose finishing can add or change an order. */
function changesOrders(kind: string): boolean {
  return kind === "webhook.process" || kind === "stock.refresh" || kind.startsWith("sync.");
}

/**
 * Whether `event` means the order list may be out of date: a new order, or a job that
 * brings orders in (a webhook applied, a sync, a stock read after an order) finishing.
 */
export function refreshesOrders(event: UiEvent): boolean {
  switch (event.type) {
    case "newOrder":
    case "syncFinished":
      return true;
    case "job":
      return event.state === "done" && changesOrders(event.kind);
    default:
      return false;
  }
}

/** Why the orders could not be read, and what to do about it. */
export function ordersErrorText(error: UiError): string {
  switch (error.code) {
    case "not_connected":
      return "No store is connected. Connect your store or try the demo store to see its orders.";
    case "store_unreachable":
      return `The store could not be reached (${error.message}). Check your internet connection; the list refreshes on its own once the store answers.`;
    case "credentials":
      return `Shopify no longer accepts Shelfsync's sign-in (${error.message}). Connect the store again.`;
    case "keychain":
      return `The keychain could not be read (${error.message}). Unlock it, then refresh.`;
    default:
      return `The orders could not be read: ${error.message} Try Refresh; if it keeps failing, restart Shelfsync.`;
  }
}

/** "12 orders", "1 open order", "the latest 100 orders". */
export function ordersSummary(n: number, filter: OrderFilter, limit: number): string {
  const kind = filter === "all" ? "" : `${filter} `;
  const noun = n === 1 ? "order" : "orders";
  return n >= limit ? `The latest ${count(n)} ${kind}${noun}` : `${count(n)} ${kind}${noun}`;
}
