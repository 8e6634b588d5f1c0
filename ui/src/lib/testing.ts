// Shared test helpers: sample answers and a stand-in for the engine event channel.
import { flushSync } from "svelte";
import type { BulkPlanView, InventoryRow, PriceRowView, QuantityRowView, StatusView, UiEvent } from "./bindings";

/** A connected demo store mid-way through its life. */
export function sampleStatus(overrides: Partial<StatusView> = {}): StatusView {
  return {
    store: {
      address: "http://127.0.0.1:4321",
      name: "Demo Outfitters",
      auth: "client_credentials",
      demo: true,
    },
    tokenExpiresAt: new Date(Date.now() + 3 * 3600_000).toISOString(),
    bucket: { maximum: 2000, available: 1500, restoreRate: 100, throttled: 3, answered: 120 },
    cache: { locations: 2, products: 900, variants: 4321, levels: 8642, orders: 17 },
    queue: { pending: 4, running: 1, done: 250, failed: 2 },
    lastSyncs: [
      {
        resource: "inventory_levels",
        coversUntil: "2026-11-24T11:58:00Z",
        syncedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
      },
    ],
    ...overrides,
  };
}

/** Collects the handlers given to `onEngineEvent` and lets a test fire events at them. */
export function fakeEvents() {
  const handlers = new Set<(event: UiEvent) => void>();
  return {
    handlers,
    onEngineEvent(handler: (event: UiEvent) => void): () => void {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    emit(event: UiEvent): void {
      for (const handler of handlers) handler(event);
      flushSync();
    },
  };
}

/** Lets pending promise callbacks run and Svelte apply what they changed. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  flushSync();
}

export function byTestId(id: string): HTMLElement | null {
  return document.querySelector(`[data-testid="${id}"]`);
}

export function text(el: Element | null | undefined): string {
  return (el?.textContent ?? "").replace(/\s+/g, " ").trim();
}

/** `n` inventory rows starting at `from`, tagged so a test can tell pages and queries apart. */
export function inventoryRows(from: number, n: number, tag = "SKU"): InventoryRow[] {
  return Array.from({ length: n }, (_, i) => ({
    variantId: from + i + 1,
    sku: `${tag}-${from + i}`,
    title: "Default Title",
    productTitle: `Product ${from + i}`,
    price: "9.99",
    totalAvailable: 10,
  }));
}

/** A stock row of a bulk update plan: 10 → 17 available of a small linen shirt. */
export function quantity(row: number, overrides: Partial<QuantityRowView> = {}): QuantityRowView {
  return {
    row,
    sku: `SKU-${row}`,
    productId: 1,
    productTitle: "Linen shirt",
    variantId: 100 + row,
    variantTitle: "Small",
    location: "Main Street",
    field: "available",
    before: 10,
    after: 17,
    delta: 7,
    cached: null,
    large: false,
    ...overrides,
  };
}

/** A price row of a bulk update plan: a wool scarf from 12.00 to 14.50. */
export function price(row: number, overrides: Partial<PriceRowView> = {}): PriceRowView {
  return {
    row,
    sku: `SKU-${row}`,
    productId: 2,
    productTitle: "Wool scarf",
    variantId: 200 + row,
    variantTitle: "",
    beforePrice: "12.00",
    afterPrice: "14.50",
    beforeCompareAt: null,
    afterCompareAt: null,
    changes: true,
    large: false,
    ...overrides,
  };
}

/**
 * A plan with a bit of everything: stock up and down, one row already as in the file, a large
 * change, a row the store changed since the sync, a price, and a problem.
 */
export function samplePlan(overrides: Partial<BulkPlanView> = {}): BulkPlanView {
  return {
    handle: 1,
    fileName: "stock.csv",
    format: "plain-quantity",
    readAt: new Date().toISOString(),
    largePercent: 50,
    largeUnits: 100,
    summary: {
      fileRows: 5,
      quantityChanges: 3,
      priceChanges: 1,
      unchanged: 1,
      large: 1,
      problems: 1,
      changedInStore: 1,
      unitsAdded: 207,
      unitsRemoved: 4,
      requests: 2,
    },
    quantities: [
      quantity(2),
      quantity(3, { productId: 3, productTitle: "Canvas tote", variantTitle: "", before: 5, after: 1, delta: -4, cached: 7 }),
      quantity(5, { before: 4, after: 4, delta: 0 }),
      quantity(6, { before: 0, after: 200, delta: 200, large: true, field: "on_hand" }),
    ],
    prices: [price(4)],
    problems: [{ row: 7, column: "Quantity", kind: "not-a-number", message: "“ten” is not a whole number." }],
    ...overrides,
  };
}
