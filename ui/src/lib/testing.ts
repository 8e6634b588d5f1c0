// Shared test helpers: sample answers and a stand-in for the engine event channel.
import { flushSync } from "svelte";
import type { InventoryRow, StatusView, UiEvent } from "./bindings";

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
