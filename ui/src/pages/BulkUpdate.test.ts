import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BulkOutcomeView, BulkSummaryView, UndoPreviewView } from "../lib/bindings";
import type { DropHandler } from "../lib/drop";
import { byTestId, fakeEvents, samplePlan, settle, text } from "../lib/testing";

const call = vi.hoisted(() => vi.fn());
vi.mock("../lib/ipc", () => ({ call }));
const bus = vi.hoisted(() => ({ current: undefined as ReturnType<typeof fakeEvents> | undefined }));
vi.mock("../lib/events", () => ({
  onEngineEvent: (handler: Parameters<ReturnType<typeof fakeEvents>["onEngineEvent"]>[0]) =>
    bus.current!.onEngineEvent(handler),
}));
const drops = vi.hoisted(() => ({ handler: undefined as ((e: Parameters<DropHandler>[0]) => void) | undefined }));
vi.mock("../lib/drop", () => ({
  onFileDrop: (handler: DropHandler) => {
    drops.handler = handler;
    return () => (drops.handler = undefined);
  },
}));

import { bulkSession } from "../lib/bulk.svelte";
import BulkUpdate from "./BulkUpdate.svelte";

const applied: BulkOutcomeView = {
  id: 9,
  state: "applied",
  mode: "all-or-nothing",
  applied: 4,
  reversed: 0,
  skipped: [],
  stoppedBy: null,
  notReversed: [],
};

let unfinished: BulkSummaryView[];
/** Answers by command; a function gets the arguments. */
let answers: Record<string, unknown>;
let app: ReturnType<typeof mount> | undefined;

function calls(cmd: string): unknown[] {
  return call.mock.calls.filter(([c]) => c === cmd).map(([, args]) => args);
}

beforeEach(() => {
  // The page's session lives in a module: each test starts with a fresh one.
  bulkSession.reset();
  bus.current = fakeEvents();
  unfinished = [];
  answers = {
    plan_bulk_update: samplePlan({ handle: 4 }),
    apply_bulk_update: applied,
  };
  call.mockReset();
  call.mockImplementation((cmd: string, args: unknown) => {
    if (cmd === "unfinished_bulk_updates") return Promise.resolve(structuredClone(unfinished));
    const answer = answers[cmd];
    if (answer === undefined) return Promise.reject({ code: "internal", message: `unexpected ${cmd}` });
    if (typeof answer === "function") return (answer as (a: unknown) => Promise<unknown>)(args);
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve(structuredClone(answer));
  });
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = "";
});

async function start(): Promise<void> {
  app = mount(BulkUpdate, { target: document.body });
  await settle();
}

function click(testid: string): void {
  const el = byTestId(testid) as HTMLButtonElement | null;
  expect(el, testid).not.toBeNull();
  el!.click();
  flushSync();
}

async function preview(path = "/tmp/stock.csv"): Promise<void> {
  const input = byTestId("bulk-path") as HTMLInputElement;
  input.value = path;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  flushSync();
  (byTestId("bulk-chooser") as HTMLFormElement).requestSubmit();
  await settle();
}

function lines(): HTMLElement[] {
  return Array.from(document.querySelectorAll<HTMLElement>("[data-testid=bulk-line]"));
}

function line(sku: string): HTMLElement | undefined {
  return lines().find((l) => l.dataset.sku === sku);
}

describe("Bulk update", () => {
  it("previews a typed path: counts on top, problems by row and column, the diff by product", async () => {
    await start();
    expect(calls("unfinished_bulk_updates")).toHaveLength(1);
    expect((byTestId("bulk-preview") as HTMLButtonElement).disabled).toBe(true);
    await preview(" /tmp/stock.csv ");
    expect(calls("plan_bulk_update")).toEqual([{ path: " /tmp/stock.csv " }]);
    expect(text(byTestId("bulk-count-stock"))).toBe("3 +207 −4 units");
    expect(text(byTestId("bulk-count-prices"))).toBe("1");
    expect(text(byTestId("bulk-count-problems"))).toBe("1");
    expect(text(byTestId("bulk-count-store"))).toBe("1");
    expect(text(byTestId("bulk-problem"))).toBe("Row 7, column Quantity: “ten” is not a whole number.");
    expect(text(byTestId("bulk-price-note"))).toContain("The price check is best effort.");
    const groups = Array.from(document.querySelectorAll("[data-testid=bulk-group]"), (g) => text(g));
    expect(groups).toEqual(["Linen shirt 3 rows, +207 units", "Canvas tote 1 row, −4 units", "Wool scarf 1 row, 1 price"]);
    const up = line("SKU-2")!;
    expect(text(up)).toContain("10 → 17");
    expect(up.querySelector("[data-testid=bulk-delta]")!.className).toContain("up");
    expect(text(up.querySelector("[data-testid=bulk-delta]"))).toBe("+7");
    const down = line("SKU-3")!;
    expect(down.querySelector("[data-testid=bulk-delta]")!.className).toContain("down");
    expect(text(down)).toContain("Changed in the store since the last sync (Shelfsync had 7).");
    expect(text(line("SKU-4"))).toContain("12.00 → 14.50");
  });

  it("filters the diff", async () => {
    await start();
    await preview();
    expect(text(byTestId("bulk-filter-large"))).toBe("Large changes 1");
    click("bulk-filter-large");
    expect(lines().map((l) => l.dataset.sku)).toEqual(["SKU-6"]);
    expect(byTestId("bulk-filter-large")!.getAttribute("aria-pressed")).toBe("true");
    click("bulk-filter-attention");
    expect(lines().map((l) => l.dataset.sku)).toEqual(["SKU-3"]);
    expect(document.querySelectorAll("[data-testid=bulk-problem-row]")).toHaveLength(1);
    click("bulk-filter-changed");
    expect(lines().map((l) => l.dataset.sku)).toEqual(["SKU-2", "SKU-6", "SKU-3", "SKU-4"]);
  });

  it("applies only with the problem rows skipped, sends the plan's handle, and follows the progress", async () => {
    let finish: (o: BulkOutcomeView) => void = () => {};
    answers.apply_bulk_update = () => new Promise<BulkOutcomeView>((resolve) => (finish = resolve));
    await start();
    await preview();
    const apply = byTestId("bulk-apply") as HTMLButtonElement;
    expect(apply.disabled).toBe(true);
    expect(text(byTestId("bulk-blocked"))).toContain("One row has a problem");
    click("bulk-skip-problems");
    expect(apply.disabled).toBe(false);
    click("bulk-mode-skip");
    expect(text(apply)).toBe("Apply 4 changes (skip conflicting rows)");
    apply.click();
    await settle();
    expect(calls("apply_bulk_update")).toEqual([{ handle: 4, mode: "skip-conflicts", skipProblems: true }]);
    expect(byTestId("bulk-running")).not.toBeNull();
    expect(text(byTestId("bulk-progress-rows"))).toBe("Starting…");
    bus.current!.emit({ type: "bulkProgress", id: 9, reversing: false, done: 2, total: 4, rate: 40, secondsLeft: 0.05 });
    expect(text(byTestId("bulk-progress-rows"))).toBe("2 of 4 rows");
    expect(byTestId("bulk-progress-bar")!.getAttribute("aria-valuenow")).toBe("50");
    expect(text(byTestId("bulk-progress-rate"))).toBe("40 rows/s");
    expect(text(byTestId("bulk-progress-eta"))).toBe("Almost done");
    bus.current!.emit({ type: "bulkProgress", id: 9, reversing: false, done: 4, total: 4, rate: 40, secondsLeft: 0 });
    finish({
      ...applied,
      mode: "skip-conflicts",
      applied: 3,
      skipped: [
        { row: 3, sku: "SKU-3", location: "Main Street", field: "available", expected: "5", current: "4", reason: "changed since the plan" },
      ],
    });
    await settle();
    expect(text(byTestId("bulk-result-state"))).toBe("Applied");
    expect(text(byTestId("bulk-result-text"))).toBe(
      "3 rows changed in the store; 1 row skipped because the store had changed them.",
    );
    expect(byTestId("bulk-final-progress-bar")!.getAttribute("aria-valuenow")).toBe("100");
    expect(text(byTestId("bulk-final-progress-rows"))).toBe("4 of 4 rows");
    const skipped = byTestId("bulk-skipped-row")!;
    expect(text(skipped)).toContain("SKU-3");
    expect(text(skipped)).toContain("Main Street, Available");
    expect(text(skipped)).toContain("4");
  });

  it("shows what an undo would do before it undoes", async () => {
    const undoPreview: UndoPreviewView = {
      id: 9,
      reverse: [
        { row: 2, sku: "SKU-2", location: "Main Street", field: "available", applied: "17", current: "16", afterUndo: "9" },
      ],
      leave: [
        {
          row: 3,
          sku: "SKU-3",
          location: "Main Street",
          field: "available",
          expected: "1",
          current: "0",
          reason: "reversing would take stock below zero",
        },
      ],
    };
    answers.bulk_undo_preview = undoPreview;
    answers.undo_bulk_update = { ...applied, state: "undone", reversed: 1 };
    answers.plan_bulk_update = samplePlan({ handle: 4, problems: [] });
    await start();
    await preview();
    click("bulk-apply");
    await settle();
    click("bulk-undo");
    await settle();
    expect(calls("bulk_undo_preview")).toEqual([{ id: 9 }]);
    expect(calls("undo_bulk_update")).toEqual([]);
    const cells = Array.from(byTestId("bulk-undo-row")!.querySelectorAll("td"), (td) => text(td));
    expect(cells).toEqual(["2", "SKU-2", "Main Street, Available", "16", "9"]);
    expect(text(byTestId("bulk-undo-leave-row"))).toContain("reversing would take stock below zero");
    click("bulk-undo-confirm");
    await settle();
    expect(calls("undo_bulk_update")).toEqual([{ id: 9 }]);
    expect(text(byTestId("bulk-result-state"))).toBe("Undone");
    expect(text(byTestId("bulk-result-text"))).toBe("1 row put back as it was before this file.");
    expect(byTestId("bulk-undo")).toBeNull();
  });

  it("offers an update a crash stopped first, rolling it back by default", async () => {
    unfinished = [
      {
        id: 5,
        fileName: "monday.csv",
        mode: "all-or-nothing",
        state: "applying",
        unfinished: true,
        quantityChanges: 600,
        priceChanges: 0,
        createdAt: new Date(Date.now() - 3_600_000).toISOString(),
        finishedAt: null,
        outcome: null,
      },
    ];
    answers.recover_bulk_update = { ...applied, id: 5, state: "rolled-back", applied: 0, reversed: 250, stoppedBy: "the update was interrupted and rolled back" };
    await start();
    const card = byTestId("bulk-unfinished")!;
    expect(text(card)).toContain("monday.csv, started 1 h ago: stopped while applying. 600 stock changes.");
    expect(byTestId("bulk-chooser")).toBeNull();
    const rollBack = byTestId("bulk-roll-back") as HTMLButtonElement;
    expect(rollBack.className).toContain("primary");
    expect(text(byTestId("bulk-finish"))).toBe("Finish");
    unfinished = [];
    rollBack.click();
    await settle();
    expect(calls("recover_bulk_update")).toEqual([{ id: 5, choice: "roll-back" }]);
    expect(text(byTestId("bulk-result-state"))).toBe("Rolled back");
    expect(text(byTestId("bulk-stopped-by"))).toBe("Why it stopped: the update was interrupted and rolled back.");
    click("bulk-start-over");
    expect(byTestId("bulk-chooser")).not.toBeNull();
  });

  it("previews a file dropped on the window", async () => {
    await start();
    drops.handler!({ type: "over" });
    flushSync();
    expect(byTestId("bulk-chooser")!.className).toContain("dragging");
    drops.handler!({ type: "drop", paths: ["/home/me/stock.csv"] });
    await settle();
    expect(calls("plan_bulk_update")).toEqual([{ path: "/home/me/stock.csv" }]);
    expect((byTestId("bulk-path") as HTMLInputElement).value).toBe("/home/me/stock.csv");
    expect(byTestId("bulk-plan")).not.toBeNull();
  });

  it("says what went wrong, and where to connect when no store is", async () => {
    answers.plan_bulk_update = () =>
      Promise.reject({ code: "not_connected", message: "No store is connected." });
    await start();
    await preview();
    expect(text(byTestId("bulk-error"))).toBe("No store is connected. Connect a store or try the demo");
    expect(byTestId("bulk-error")!.querySelector("a")!.getAttribute("href")).toBe("#/connect");
    expect(byTestId("bulk-plan")).toBeNull();
  });

  it("keeps the plan when the apply is refused for the file's sake, and drops it otherwise", async () => {
    answers.plan_bulk_update = samplePlan({ handle: 4, problems: [] });
    answers.apply_bulk_update = () =>
      Promise.reject({ code: "store_unreachable", message: "The bulk update stopped because Shopify could not be reached." });
    await start();
    await preview();
    click("bulk-apply");
    await settle();
    expect(text(byTestId("bulk-error"))).toContain("could not be reached");
    expect(byTestId("bulk-plan")).toBeNull();
    expect(calls("unfinished_bulk_updates")).toHaveLength(2);
  });

  it("takes events that arrive after the answer only to complete the bar", async () => {
    answers.plan_bulk_update = samplePlan({ handle: 4, problems: [] });
    await start();
    await preview();
    click("bulk-apply");
    await settle();
    expect(text(byTestId("bulk-result-state"))).toBe("Applied");
    bus.current!.emit({ type: "bulkProgress", id: 9, reversing: false, done: 4, total: 4, rate: 80, secondsLeft: 0 });
    expect(byTestId("bulk-running")).toBeNull();
    expect(byTestId("bulk-final-progress-bar")!.getAttribute("aria-valuenow")).toBe("100");
    bus.current!.emit({ type: "bulkFinished", fileName: "stock.csv", outcome: applied });
    click("bulk-start-over");
    bus.current!.emit({ type: "bulkFinished", fileName: "stock.csv", outcome: applied });
    await settle();
    expect(byTestId("bulk-result")).toBeNull();
    expect(byTestId("bulk-chooser")).not.toBeNull();
  });

  it("shows an update that was already running when the page opened, then its end", async () => {
    await start();
    bus.current!.emit({ type: "bulkProgress", id: 12, reversing: false, done: 250, total: 1000, rate: 500, secondsLeft: 1.5 });
    expect(text(byTestId("bulk-progress-rows"))).toBe("250 of 1,000 rows");
    expect(byTestId("bulk-chooser")).toBeNull();
    bus.current!.emit({ type: "bulkFinished", fileName: "big.csv", outcome: { ...applied, id: 12, applied: 1000 } });
    await settle();
    expect(text(byTestId("bulk-result"))).toContain("big.csv");
    expect(text(byTestId("bulk-result-text"))).toBe("1,000 rows changed in the store.");
  });
});
