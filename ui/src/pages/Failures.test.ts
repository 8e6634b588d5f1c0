import { mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { FailedJobView, UiError } from "../lib/bindings";
import { COALESCE_MS } from "../lib/coalesce";
import { byTestId, fakeEvents, settle, text } from "../lib/testing";

const call = vi.hoisted(() => vi.fn());
vi.mock("../lib/ipc", () => ({ call }));
const bus = vi.hoisted(() => ({ current: undefined as ReturnType<typeof fakeEvents> | undefined }));
vi.mock("../lib/events", () => ({
  onEngineEvent: (handler: Parameters<ReturnType<typeof fakeEvents>["onEngineEvent"]>[0]) =>
    bus.current!.onEngineEvent(handler),
}));

import Failures from "./Failures.svelte";

function job(id: number, overrides: Partial<FailedJobView> = {}): FailedJobView {
  return {
    id,
    what: "Incremental sync",
    error: "Shopify did not answer in time.",
    attempts: 5,
    failedAt: new Date(Date.now() - 10 * 60_000).toISOString(),
    ...overrides,
  };
}

/** The back end's failed jobs; retrying or discarding one takes it off. */
let failed: FailedJobView[];
/** Set to make a command fail with this error. */
let refuse: Partial<Record<string, UiError>>;
let app: ReturnType<typeof mount> | undefined;

function calls(cmd: string): unknown[] {
  return call.mock.calls.filter(([c]) => c === cmd).map(([, args]) => args);
}

beforeEach(() => {
  bus.current = fakeEvents();
  failed = [
    job(12),
    job(13, { what: "Full sync", error: "The store's token was refused.", attempts: 1 }),
    job(14, { what: "sync.products" }),
  ];
  refuse = {};
  call.mockReset();
  call.mockImplementation((cmd: string, args: { id?: number }) => {
    const error = refuse[cmd];
    if (error) return Promise.reject(error);
    switch (cmd) {
      case "list_failed_jobs":
        return Promise.resolve(structuredClone(failed));
      case "retry_job":
      case "discard_job":
        failed = failed.filter((j) => j.id !== args.id);
        return Promise.resolve(null);
      case "retry_all_jobs": {
        const n = failed.length;
        failed = [];
        return Promise.resolve(n);
      }
      default:
        return Promise.reject({ code: "internal", message: `unexpected ${cmd}` });
    }
  });
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = "";
});

async function start(): Promise<void> {
  app = mount(Failures, { target: document.body });
  await settle();
}

function rows(): HTMLElement[] {
  return Array.from(document.querySelectorAll<HTMLElement>("[data-testid=failed-job]"));
}

function row(id: number): HTMLElement | undefined {
  return rows().find((r) => r.dataset.jobId === String(id));
}

function inRow(id: number, testId: string): HTMLElement {
  const el = row(id)?.querySelector<HTMLElement>(`[data-testid=${testId}]`);
  if (!el) throw new Error(`no ${testId} in row ${id}`);
  return el;
}

async function click(el: HTMLElement | null): Promise<void> {
  el!.click();
  await settle();
}

describe("Failures", () => {
  it("lists each failed job with what it was, why, its attempts and when", async () => {
    await start();
    expect(calls("list_failed_jobs")).toEqual([{}]);
    expect(rows()).toHaveLength(3);
    const first = row(12)!;
    expect(text(first)).toContain("Incremental sync");
    expect(text(inRow(12, "job-reason"))).toBe("Shopify did not answer in time.");
    expect(text(first)).toContain("5 attempts · failed 10 min ago");
    const time = first.querySelector("time")!;
    expect(time.getAttribute("datetime")).toBe(failed[0]!.failedAt);
    expect(time.getAttribute("title")).toBe(new Date(failed[0]!.failedAt).toLocaleString());
    expect(text(row(13))).toContain("1 attempt ·");
    // A bare job kind reads as words.
    expect(text(row(14))).toContain("Sync products");
    expect(inRow(12, "retry-job").tagName).toBe("BUTTON");
    expect(inRow(12, "discard-job").tagName).toBe("BUTTON");
    expect(text(byTestId("failed-count"))).toBe("3 jobs failed");
  });

  it("says nothing needs you when no job failed", async () => {
    failed = [];
    await start();
    expect(text(byTestId("failures-empty"))).toBe("Nothing needs you: every job finished.");
    expect(byTestId("retry-all")).toBeNull();
  });

  it("retries one job by its id; the row goes and a confirmation says it was queued again", async () => {
    await start();
    await click(inRow(13, "retry-job"));
    expect(calls("retry_job")).toEqual([{ id: 13 }]);
    expect(calls("list_failed_jobs")).toHaveLength(2);
    expect(rows().map((r) => r.dataset.jobId)).toEqual(["12", "14"]);
    expect(text(byTestId("failures-notice"))).toBe("“Full sync” was queued again.");
    expect(byTestId("failures-notice")!.closest("[role=status]")).not.toBeNull();
  });

  it("shows a job again if the refetch says it is still failed", async () => {
    await start();
    // The back end accepts the retry, but the job fails again straight away.
    call.mockImplementation((cmd: string) =>
      Promise.resolve(cmd === "list_failed_jobs" ? structuredClone(failed) : null),
    );
    await click(inRow(12, "retry-job"));
    expect(row(12)).toBeDefined();
  });

  it("retries the selected jobs, once each, and leaves the others", async () => {
    await start();
    expect((byTestId("retry-selected") as HTMLButtonElement).disabled).toBe(true);
    await click(inRow(12, "select-job"));
    await click(inRow(14, "select-job"));
    expect(text(byTestId("retry-selected"))).toBe("Retry selected (2)");
    await click(byTestId("retry-selected"));
    expect(calls("retry_job")).toEqual([{ id: 12 }, { id: 14 }]);
    expect(rows().map((r) => r.dataset.jobId)).toEqual(["13"]);
    expect(text(byTestId("failures-notice"))).toBe("2 jobs were queued again.");
    expect((byTestId("retry-selected") as HTMLButtonElement).disabled).toBe(true);
  });

  it("selects all and none from the header box, which shows a partial selection", async () => {
    await start();
    const all = byTestId("select-all-jobs") as HTMLInputElement;
    await click(inRow(13, "select-job"));
    expect(all.checked).toBe(false);
    expect(all.indeterminate).toBe(true);
    await click(all);
    expect(rows().every((r) => r.querySelector<HTMLInputElement>("[data-testid=select-job]")!.checked)).toBe(true);
    expect(all.checked).toBe(true);
    expect(all.indeterminate).toBe(false);
    await click(all);
    expect(rows().some((r) => r.querySelector<HTMLInputElement>("[data-testid=select-job]")!.checked)).toBe(false);
  });

  it("labels each checkbox with its job, so the list works by keyboard and screen reader", async () => {
    await start();
    const box = inRow(12, "select-job") as HTMLInputElement;
    expect(box.type).toBe("checkbox");
    expect(text(document.querySelector(`label[for="${box.id}"]`))).toBe("Incremental sync");
  });

  it("retries all jobs in one command", async () => {
    await start();
    await click(byTestId("retry-all"));
    expect(calls("retry_all_jobs")).toEqual([{}]);
    expect(calls("retry_job")).toEqual([]);
    expect(text(byTestId("failures-notice"))).toBe("3 jobs were queued again.");
    expect(text(byTestId("failures-empty"))).toBe("Nothing needs you: every job finished.");
  });

  it("discards only after the confirm step, and Keep backs out", async () => {
    await start();
    await click(inRow(12, "discard-job"));
    expect(calls("discard_job")).toEqual([]);
    expect(text(inRow(12, "discard-confirm"))).toContain("This cannot be undone.");
    expect(document.activeElement).toBe(inRow(12, "cancel-discard"));

    await click(inRow(12, "cancel-discard"));
    expect(row(12)!.querySelector("[data-testid=discard-confirm]")).toBeNull();
    expect(document.activeElement).toBe(inRow(12, "discard-job"));
    expect(calls("discard_job")).toEqual([]);

    await click(inRow(12, "discard-job"));
    await click(inRow(12, "confirm-discard"));
    expect(calls("discard_job")).toEqual([{ id: 12 }]);
    expect(row(12)).toBeUndefined();
    expect(text(byTestId("failures-notice"))).toBe("“Incremental sync” was discarded.");
  });

  it("backs out of discarding with Escape", async () => {
    await start();
    await click(inRow(13, "discard-job"));
    inRow(13, "cancel-discard").dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await settle();
    expect(row(13)!.querySelector("[data-testid=discard-confirm]")).toBeNull();
    expect(calls("discard_job")).toEqual([]);
  });

  it("shows in the row why a retry or a discard failed, and keeps the job", async () => {
    await start();
    refuse.retry_job = { code: "internal", message: "Job 12 is running, so it cannot be retried." };
    await click(inRow(12, "retry-job"));
    expect(text(inRow(12, "job-action-error"))).toBe("Could not retry this job: Job 12 is running, so it cannot be retried.");
    expect(inRow(12, "job-action-error").getAttribute("role")).toBe("alert");
    expect(byTestId("failures-notice")).toBeNull();

    refuse.discard_job = { code: "store_unreachable", message: "timeout" };
    await click(inRow(13, "discard-job"));
    await click(inRow(13, "confirm-discard"));
    expect(text(inRow(13, "job-action-error"))).toContain("the store could not be reached");
    expect(rows()).toHaveLength(3);
  });

  it("shows why retry all failed, in plain words", async () => {
    await start();
    refuse.retry_all_jobs = { code: "not_connected", message: "No store is connected." };
    await click(byTestId("retry-all"));
    expect(text(byTestId("failures-action-error"))).toBe("Could not retry the failed jobs: no store is connected.");
    expect(rows()).toHaveLength(3);
  });

  it("retries the rest of a selection when one fails, and says which did not go", async () => {
    await start();
    await click(inRow(12, "select-job"));
    await click(inRow(13, "select-job"));
    const normal = call.getMockImplementation()!;
    call.mockImplementation((cmd: string, args: { id?: number }) =>
      cmd === "retry_job" && args.id === 12
        ? Promise.reject({ code: "internal", message: "Job 12 is running." })
        : normal(cmd, args),
    );
    await click(byTestId("retry-selected"));
    expect(calls("retry_job")).toEqual([{ id: 12 }, { id: 13 }]);
    expect(rows().map((r) => r.dataset.jobId)).toEqual(["12", "14"]);
    expect(text(inRow(12, "job-action-error"))).toContain("Job 12 is running.");
    expect(text(byTestId("failures-action-error"))).toContain("1 job could not be retried");
    expect(text(byTestId("failures-notice"))).toBe("1 job was queued again.");
  });

  it("shows why the list could not be read", async () => {
    refuse.list_failed_jobs = { code: "internal", message: "database is locked" };
    await start();
    expect(text(byTestId("failures-error"))).toBe("The failed jobs could not be read: database is locked");
    expect(byTestId("failures-empty")).toBeNull();
  });

  it("re-reads the list once for a burst of queue and job events, not once per event", async () => {
    await start();
    expect(calls("list_failed_jobs")).toHaveLength(1);
    failed = [...failed, job(20, { what: "Full sync", error: "Shopify refused the request." })];
    for (let i = 0; i < 5; i++) {
      bus.current!.emit({ type: "queue", queue: { pending: 0, running: 1, done: i, failed: 4 } });
      bus.current!.emit({ type: "job", id: 20, kind: "sync.full", state: "failed", attempts: 5, lastError: "x" });
    }
    // Nothing is fetched on the spot: the burst is gathered first.
    expect(calls("list_failed_jobs")).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, COALESCE_MS + 50));
    await settle();
    expect(calls("list_failed_jobs")).toHaveLength(2);
    expect(row(20)).toBeDefined();
    expect(text(row(20))).toContain("Shopify refused the request.");
  });

  it("ignores events that do not concern the queue", async () => {
    await start();
    bus.current!.emit({ type: "bucket", bucket: { maximum: 2000, available: 10, restoreRate: 100, throttled: 1, answered: 1 } });
    bus.current!.emit({ type: "syncProgress", full: false, rows: 1, total: 2, rowsPerSec: 1, secondsLeft: 1 });
    await new Promise((resolve) => setTimeout(resolve, COALESCE_MS + 50));
    expect(calls("list_failed_jobs")).toHaveLength(1);
  });

  it("stops listening when the page closes", async () => {
    await start();
    expect(bus.current!.handlers.size).toBe(1);
    unmount(app!);
    app = undefined;
    expect(bus.current!.handlers.size).toBe(0);
  });
});
