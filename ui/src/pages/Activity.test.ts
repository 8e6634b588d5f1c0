import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ActivityView, BulkSummaryView } from "../lib/bindings";
import { COALESCE_MS } from "../lib/coalesce";
import { byTestId, fakeEvents, settle, text } from "../lib/testing";

const call = vi.hoisted(() => vi.fn());
vi.mock("../lib/ipc", () => ({ call }));
const bus = vi.hoisted(() => ({ current: undefined as ReturnType<typeof fakeEvents> | undefined }));
vi.mock("../lib/events", () => ({
  onEngineEvent: (handler: Parameters<ReturnType<typeof fakeEvents>["onEngineEvent"]>[0]) =>
    bus.current!.onEngineEvent(handler),
}));

import Activity from "./Activity.svelte";

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

/** The log as the back end gives it: newest first. */
let log: ActivityView[];
let bulk: BulkSummaryView[];
let app: ReturnType<typeof mount> | undefined;

function calls(cmd: string): unknown[] {
  return call.mock.calls.filter(([c]) => c === cmd).map(([, args]) => args);
}

beforeEach(() => {
  bus.current = fakeEvents();
  log = [
    { id: 4, at: minutesAgo(2), source: "user", entity: "job", entityId: "12", field: "state", before: "failed", after: "pending" },
    { id: 3, at: minutesAgo(5), source: "webhook", entity: "inventory_level", entityId: "12345@3", field: "available", before: "10", after: "8" },
    { id: 2, at: minutesAgo(90), source: "poll", entity: "variant", entityId: "555", field: "price", before: "9.99", after: "12.50" },
    { id: 1, at: minutesAgo(200), source: "reconciliation", entity: "inventory_level", entityId: "777@4", field: "on_hand", before: "3", after: "0" },
  ];
  bulk = [];
  call.mockReset();
  call.mockImplementation((cmd: string) =>
    cmd === "recent_activity"
      ? Promise.resolve(structuredClone(log))
      : cmd === "list_bulk_updates"
        ? Promise.resolve(structuredClone(bulk))
        : Promise.reject({ code: "internal", message: `unexpected ${cmd}` }),
  );
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = "";
});

async function start(): Promise<void> {
  app = mount(Activity, { target: document.body });
  await settle();
}

function rows(): HTMLElement[] {
  return Array.from(document.querySelectorAll<HTMLElement>("[data-testid=activity-row]"));
}

function cells(row: HTMLElement | undefined): string[] {
  return Array.from(row?.querySelectorAll("td") ?? [], (td) => text(td));
}

async function chooseSource(value: string): Promise<void> {
  const select = byTestId("activity-source-filter") as HTMLSelectElement;
  select.value = value;
  select.dispatchEvent(new Event("change", { bubbles: true }));
  flushSync();
  await settle();
}

async function typeFilter(value: string): Promise<void> {
  const box = byTestId("activity-text-filter") as HTMLInputElement;
  box.value = value;
  box.dispatchEvent(new Event("input", { bubbles: true }));
  flushSync();
  await settle();
}

describe("Activity", () => {
  it("reads the latest 500 changes and shows them newest first", async () => {
    await start();
    expect(calls("recent_activity")).toEqual([{ limit: 500 }]);
    expect(rows()).toHaveLength(4);
    expect(text(rows()[0])).toContain("Job 12: failed → pending");
    expect(text(rows()[3])).toContain("On hand at location 4 for item 777: 3 → 0");
  });

  it("says in words what changed, with its source as a label and the time two ways", async () => {
    await start();
    const row = rows()[1]!;
    expect(cells(row)).toEqual(["5 min ago", "Webhook", "Available at location 3 for item 12345:", "10 → 8"]);
    expect(text(row)).toContain("Available at location 3 for item 12345: 10 → 8");
    const time = row.querySelector("time")!;
    expect(time.getAttribute("title")).toBe(new Date(log[1]!.at).toLocaleString());
    expect(time.getAttribute("datetime")).toBe(log[1]!.at);
    expect(rows().map((r) => text(r.querySelector("[data-testid=activity-source]")))).toEqual([
      "You",
      "Webhook",
      "Poll",
      "Reconciliation",
    ]);
    expect(text(rows()[2])).toContain("Price of variant 555: 9.99 → 12.50");
  });

  it("narrows the rows to one source", async () => {
    await start();
    const options = Array.from((byTestId("activity-source-filter") as HTMLSelectElement).options, (o) => o.text);
    expect(options).toEqual(["All sources", "Poll", "Webhook", "You", "Retry", "Import", "Reconciliation"]);
    await chooseSource("webhook");
    expect(rows()).toHaveLength(1);
    expect(text(rows()[0])).toContain("Available at location 3 for item 12345");
    expect(text(byTestId("activity-summary"))).toBe("1 of 4 changes match");
    await chooseSource("");
    expect(rows()).toHaveLength(4);
  });

  it("narrows the rows by text, together with the source filter", async () => {
    await start();
    await typeFilter("location");
    expect(rows().map((r) => text(r.querySelector("[data-testid=activity-source]")))).toEqual([
      "Webhook",
      "Reconciliation",
    ]);
    await typeFilter("ITEM 777");
    expect(rows()).toHaveLength(1);
    await chooseSource("webhook");
    expect(rows()).toHaveLength(0);
    expect(text(byTestId("activity-no-match"))).toContain("No change matches these filters.");
    byTestId("activity-no-match")!.querySelector("button")!.click();
    await settle();
    expect(rows()).toHaveLength(4);
    expect((byTestId("activity-text-filter") as HTMLInputElement).value).toBe("");
    expect((byTestId("activity-source-filter") as HTMLSelectElement).value).toBe("");
  });

  it("reads the log again once after a burst of finished syncs", async () => {
    await start();
    log = [
      { id: 5, at: minutesAgo(0), source: "poll", entity: "product", entityId: "9", field: "title", before: "Tee", after: "Blue tee" },
      ...log,
    ];
    for (let i = 0; i < 3; i++) bus.current!.emit({ type: "syncFinished", full: false, rows: 10, elapsedMs: 100 });
    bus.current!.emit({ type: "queue", queue: { pending: 0, running: 0, done: 1, failed: 0 } });
    expect(calls("recent_activity")).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, COALESCE_MS + 50));
    await settle();
    expect(calls("recent_activity")).toHaveLength(2);
    expect(rows()).toHaveLength(5);
    expect(text(rows()[0])).toContain("Title of product 9: Tee → Blue tee");
  });

  it("keeps the filters when the log is read again", async () => {
    await start();
    await chooseSource("poll");
    byTestId("activity-refresh")!.click();
    await settle();
    expect(calls("recent_activity")).toHaveLength(2);
    expect(rows()).toHaveLength(1);
  });

  it("shows why the log could not be read", async () => {
    call.mockRejectedValue({ code: "internal", message: "database is locked" });
    await start();
    expect(text(byTestId("activity-error"))).toBe("The activity log could not be read: database is locked");
    expect(rows()).toHaveLength(0);
  });

  it("says when nothing has been recorded yet", async () => {
    log = [];
    await start();
    expect(text(byTestId("activity-empty"))).toContain("No changes recorded yet.");
  });

  it("stops listening when the page closes", async () => {
    await start();
    expect(bus.current!.handlers.size).toBe(1);
    unmount(app!);
    app = undefined;
    expect(bus.current!.handlers.size).toBe(0);
  });

  describe("bulk updates", () => {
    const update = (overrides: Partial<BulkSummaryView>): BulkSummaryView => ({
      id: 1,
      fileName: "stock.csv",
      mode: "all-or-nothing",
      state: "applied",
      unfinished: false,
      quantityChanges: 600,
      priceChanges: 2,
      createdAt: minutesAgo(10),
      finishedAt: minutesAgo(9),
      outcome: {
        id: 1,
        state: "applied",
        mode: "all-or-nothing",
        applied: 602,
        reversed: 0,
        skipped: [],
        stoppedBy: null,
        notReversed: [],
      },
      ...overrides,
    });

    function bulkRows(): HTMLElement[] {
      return Array.from(document.querySelectorAll<HTMLElement>("[data-testid=activity-bulk-row]"));
    }

    it("lists each one with its state and counts", async () => {
      bulk = [
        update({ id: 3, fileName: "prices.csv", mode: "skip-conflicts", quantityChanges: 0, priceChanges: 1 }),
        update({
          id: 2,
          state: "rolled-back",
          outcome: {
            id: 2,
            state: "rolled-back",
            mode: "all-or-nothing",
            applied: 0,
            reversed: 250,
            skipped: [],
            stoppedBy: "SKU-1 changed",
            notReversed: [
              { row: 2, sku: "SKU-1", location: "Main", field: "available", expected: "10", current: "0", reason: "sold" },
            ],
          },
        }),
        update({ id: 1, state: "applying", unfinished: true, outcome: null, finishedAt: null }),
      ];
      await start();
      expect(calls("list_bulk_updates")).toEqual([{ limit: 20 }]);
      const [prices, rolled, stopped] = bulkRows();
      expect(text(prices)).toContain("prices.csv");
      expect(text(prices)).toContain("Skip conflicting rows");
      expect(text(prices)).toContain("1 price change");
      expect(text(prices?.querySelector("[data-testid=activity-bulk-state]"))).toBe("Applied");
      expect(text(rolled?.querySelector("[data-testid=activity-bulk-state]"))).toBe("Rolled back");
      expect(text(rolled?.querySelector("[data-testid=activity-bulk-result]"))).toBe("250 put back, 1 not put back");
      expect(text(rolled)).toContain("600 stock changes, 2 price changes");
      // Nothing runs it any more: a crash stopped it, and the Bulk update page decides.
      expect(text(stopped?.querySelector("[data-testid=activity-bulk-state]"))).toBe("Stopped while applying");
      expect(stopped?.querySelector("a")?.getAttribute("href")).toBe("#/bulk-update");
    });

    it("reads them again when one finishes, and shows no section without any", async () => {
      await start();
      expect(byTestId("activity-bulk")).toBeNull();
      bulk = [update({})];
      bus.current!.emit({
        type: "bulkFinished",
        fileName: "stock.csv",
        outcome: update({}).outcome!,
      });
      await new Promise((resolve) => setTimeout(resolve, COALESCE_MS + 50));
      await settle();
      expect(calls("list_bulk_updates")).toHaveLength(2);
      expect(bulkRows()).toHaveLength(1);
      expect(text(bulkRows()[0]?.querySelector("[data-testid=activity-bulk-result]"))).toBe("602 applied");
    });
  });
});
