import { mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { StatusView } from "../lib/bindings";
import { byTestId, fakeEvents, sampleStatus, settle, text } from "../lib/testing";

const call = vi.hoisted(() => vi.fn());
vi.mock("../lib/ipc", () => ({ call }));
const bus = vi.hoisted(() => ({ current: undefined as ReturnType<typeof fakeEvents> | undefined }));
vi.mock("../lib/events", () => ({
  onEngineEvent: (handler: Parameters<ReturnType<typeof fakeEvents>["onEngineEvent"]>[0]) =>
    bus.current!.onEngineEvent(handler),
}));

import { live } from "../lib/live.svelte";
import Dashboard from "./Dashboard.svelte";

let app: ReturnType<typeof mount> | undefined;
let status: StatusView;

/** A definition list's terms and values, e.g. `{ Pending: "4" }`. */
function terms(id: string): Record<string, string> {
  const dts = Array.from(byTestId(id)?.querySelectorAll("dt") ?? []);
  return Object.fromEntries(dts.map((dt) => [text(dt), text(dt.nextElementSibling)]));
}

async function start(): Promise<void> {
  app = mount(Dashboard, { target: document.body });
  await settle();
}

beforeEach(() => {
  bus.current = fakeEvents();
  status = sampleStatus();
  call.mockReset();
  call.mockImplementation((cmd: string) => {
    if (cmd === "get_status") return Promise.resolve(structuredClone(status));
    if (cmd === "sync_now") return Promise.resolve(null);
    return Promise.reject({ code: "internal", message: `unexpected ${cmd}` });
  });
  // The shared store outlives a page; each test starts from a fresh window.
  live.status = null;
  live.loaded = false;
  live.progress = null;
  live.lastFinished = null;
  live.attention = [];
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = "";
});

describe("Dashboard", () => {
  it("says when no store is connected and links to Connect", async () => {
    status = { store: null, tokenExpiresAt: null, bucket: null, cache: null, queue: null, lastSyncs: [] };
    await start();
    expect(text(byTestId("no-store"))).toContain("No store is connected");
    expect(byTestId("go-connect")?.getAttribute("href")).toBe("#/connect");
    expect(byTestId("bucket-gauge")).toBeNull();
  });

  it("shows the store, the cache, the queue, the token and the last syncs from get_status", async () => {
    await start();
    expect(call).toHaveBeenCalledWith("get_status", {});
    const store = text(byTestId("store"));
    expect(store).toContain("Demo Outfitters");
    expect(store).toContain("http://127.0.0.1:4321");
    expect(text(byTestId("demo-badge"))).toBe("demo");
    expect(terms("cache-counts")).toEqual({
      Variants: (4321).toLocaleString(),
      "Stock levels": (8642).toLocaleString(),
      Locations: "2",
    });
    expect(terms("queue-counts")).toEqual({ Pending: "4", Running: "1", Done: "250", Failed: "2" });
    expect(byTestId("queue-counts")?.querySelector("a")?.getAttribute("href")).toBe("#/failures");
    expect(text(byTestId("token-expiry"))).toBe("Expires in 3 h");
    expect(text(byTestId("last-syncs"))).toContain("Inventory levels");
    expect(text(byTestId("last-syncs"))).toContain("5 min ago");
    expect(byTestId("sync-progress")).toBeNull();
  });

  it("says a sync that finished since the page's clock last moved happened just now", async () => {
    status = sampleStatus({
      lastSyncs: [
        { resource: "orders", coversUntil: "2026-11-24T11:58:00Z", syncedAt: new Date(Date.now() + 20_000).toISOString() },
      ],
    });
    await start();
    expect(text(byTestId("last-syncs"))).toContain("just now");
    expect(text(byTestId("last-syncs"))).not.toContain("in a few seconds");
  });

  it("shows no demo badge for a real store and an admin token that does not expire", async () => {
    status = sampleStatus({
      store: { address: "acme.myshopify.com", name: "Acme", auth: "admin_token", demo: false },
      tokenExpiresAt: null,
    });
    await start();
    expect(byTestId("demo-badge")).toBeNull();
    expect(text(byTestId("token-expiry"))).toBe("Does not expire");
  });

  it("does not claim a client-credentials token never expires before there is one", async () => {
    status = sampleStatus({ tokenExpiresAt: null });
    await start();
    expect(text(byTestId("token-expiry"))).toBe("No token yet");
  });

  it("draws the rate-limit bucket as a gauge and moves it on bucket events", async () => {
    await start();
    const gauge = byTestId("bucket-gauge")!;
    expect(text(gauge)).toContain(`${(1500).toLocaleString()} / ${(2000).toLocaleString()} points available`);
    expect(text(gauge)).toContain("Refills 100 points/s");
    expect(text(gauge)).toContain("throttled 3 times");
    const meter = gauge.querySelector<HTMLElement>("[role=meter]")!;
    expect(meter.getAttribute("aria-valuenow")).toBe("1500");
    expect(meter.querySelector<HTMLElement>(".fill")!.style.width).toBe("75%");

    const calls = call.mock.calls.length;
    bus.current!.emit({
      type: "bucket",
      bucket: { maximum: 2000, available: 100, restoreRate: 100, throttled: 9, answered: 200 },
    });
    expect(meter.getAttribute("aria-valuenow")).toBe("100");
    expect(meter.querySelector<HTMLElement>(".fill")!.style.width).toBe("5%");
    expect(meter.querySelector(".fill")!.classList.contains("low")).toBe(true);
    expect(text(gauge)).toContain("throttled 9 times");
    expect(call.mock.calls.length).toBe(calls);
  });

  it("shows sync progress while a sync runs and the result when it finishes", async () => {
    await start();
    bus.current!.emit({ type: "syncProgress", full: true, rows: 12_500, total: 50_000, rowsPerSec: 2500, secondsLeft: 90 });
    const block = byTestId("sync-progress")!;
    expect(text(block)).toContain("Full sync running");
    expect(text(block)).toContain(`${(12_500).toLocaleString()} / ${(50_000).toLocaleString()} rows (25%)`);
    expect(text(byTestId("sync-rate"))).toBe(`${(2500).toLocaleString()} rows/s`);
    expect(text(byTestId("sync-eta"))).toBe("About 2 min left");
    expect(block.querySelector("[role=progressbar]")?.getAttribute("aria-valuenow")).toBe("25");

    status = sampleStatus({ cache: { locations: 2, products: 10_000, variants: 50_000, levels: 100_000, orders: 17 } });
    const before = call.mock.calls.filter(([cmd]) => cmd === "get_status").length;
    bus.current!.emit({ type: "syncFinished", full: true, rows: 50_000, elapsedMs: 20_000 });
    await settle();
    expect(byTestId("sync-progress")).toBeNull();
    expect(text(byTestId("sync-finished"))).toContain("Full sync finished");
    expect(call.mock.calls.filter(([cmd]) => cmd === "get_status").length).toBe(before + 1);
    expect(terms("cache-counts").Variants).toBe((50_000).toLocaleString());
  });

  it("updates queue counts from queue events and re-reads the status", async () => {
    await start();
    const before = call.mock.calls.length;
    bus.current!.emit({ type: "queue", queue: { pending: 0, running: 2, done: 260, failed: 0 } });
    expect(terms("queue-counts")).toEqual({ Pending: "0", Running: "2", Done: "260", Failed: "0" });
    await settle();
    expect(call.mock.calls.length).toBe(before + 1);
  });

  it("shows attention events as banners that can be dismissed", async () => {
    await start();
    bus.current!.emit({ type: "attention", title: "Re-connect the store", message: "The token was revoked." });
    const banner = byTestId("attention")!;
    expect(banner.getAttribute("role")).toBe("alert");
    expect(text(banner)).toContain("Re-connect the store The token was revoked.");
    banner.querySelector("button")!.click();
    await settle();
    expect(byTestId("attention")).toBeNull();
  });

  it("starts an incremental or a full sync from the buttons", async () => {
    await start();
    byTestId("sync-now")!.click();
    await settle();
    expect(call).toHaveBeenCalledWith("sync_now", { full: false });
    byTestId("full-sync")!.click();
    await settle();
    expect(call).toHaveBeenCalledWith("sync_now", { full: true });
  });

  it("shows why a sync did not start", async () => {
    await start();
    call.mockImplementation((cmd: string) =>
      cmd === "sync_now"
        ? Promise.reject({ code: "not_connected", message: "No store is connected." })
        : Promise.resolve(structuredClone(status)),
    );
    byTestId("sync-now")!.click();
    await settle();
    expect(text(byTestId("sync-error"))).toContain("No store is connected.");
  });

  it("stops listening when the page closes", async () => {
    await start();
    expect(bus.current!.handlers.size).toBe(1);
    unmount(app!);
    app = undefined;
    expect(bus.current!.handlers.size).toBe(0);
  });
});

describe("Dashboard: webhook intake", () => {
  const listener = {
    path: "listener",
    accepted: 41,
    duplicates: 3,
    refusedForged: 2,
    refusedMalformed: 0,
    refusedOversized: 1,
    lastEventAt: new Date(Date.now() - 2 * 60_000).toISOString(),
  };
  const subs = ["INVENTORY_LEVELS_UPDATE", "PRODUCTS_UPDATE"].map((topic) => ({
    topic,
    uri: "https://abc.tunnel.shelfsync.test/webhooks",
    present: true,
    restored: 0,
  }));

  function withIntake(): void {
    status = sampleStatus({
      intake: {
        listeningOn: "127.0.0.1:8787",
        publicUrl: "https://abc.tunnel.shelfsync.test/webhooks",
        relay: null,
        paths: [listener],
        subscriptions: structuredClone(subs),
      },
    });
  }

  function row(path: string): Record<string, string> {
    const tr = byTestId(`intake-path-${path}`);
    const cell = (id: string) => text(tr?.querySelector(`[data-testid="${id}"]`));
    return { accepted: cell("accepted"), duplicates: cell("duplicates"), refused: cell("refused"), last: cell("last-event") };
  }

  it("says webhooks are off and links to Settings when intake does not run", async () => {
    status = sampleStatus({
      intake: { listeningOn: null, publicUrl: null, relay: null, paths: [], subscriptions: [] },
    });
    await start();
    const off = byTestId("intake-off");
    expect(text(off)).toContain("Webhooks are off");
    expect(off?.querySelector("a")?.getAttribute("href")).toBe("#/settings");
    expect(byTestId("intake-paths")).toBeNull();
  });

  it("shows per path what was accepted, duplicated and refused, and when the last event came", async () => {
    withIntake();
    await start();
    const panel = byTestId("intake-panel")!;
    expect(panel.getAttribute("aria-labelledby")).toBe("intake-heading");
    expect(text(byTestId("intake-where"))).toContain("127.0.0.1:8787");
    expect(text(byTestId("intake-where"))).toContain("https://abc.tunnel.shelfsync.test/webhooks");
    expect(row("listener")).toEqual({ accepted: "41", duplicates: "3", refused: "3 (2 forged, 1 too large)", last: "2 min ago" });
    expect(byTestId("intake-path-relay")).toBeNull();
    expect(text(byTestId("subscriptions"))).toBe("All 2 subscriptions are active.");
  });

  it("moves the counters on intake events without asking the back end again", async () => {
    withIntake();
    await start();
    const reads = call.mock.calls.filter(([cmd]) => cmd === "get_status").length;
    const now = new Date().toISOString();
    bus.current!.emit({ type: "intakePath", stats: { ...listener, accepted: 42, lastEventAt: now } });
    expect(row("listener").accepted).toBe("42");
    expect(row("listener").last).toBe("just now");
    bus.current!.emit({
      type: "intakePath",
      stats: { ...listener, path: "relay", accepted: 5, duplicates: 1, refusedForged: 0, refusedOversized: 0, lastEventAt: now },
    });
    expect(row("relay")).toEqual({ accepted: "5", duplicates: "1", refused: "0", last: "just now" });
    // The page's clock moves every 30 s; an event since then is "just now", not in the future.
    const later = new Date(Date.now() + 25_000).toISOString();
    bus.current!.emit({ type: "intakePath", stats: { ...listener, accepted: 43, lastEventAt: later } });
    expect(row("listener").last).toBe("just now");
    await settle();
    expect(call.mock.calls.filter(([cmd]) => cmd === "get_status").length).toBe(reads);
  });

  it("shows a lost subscription, then that it was restored", async () => {
    withIntake();
    await start();
    const uri = "https://abc.tunnel.shelfsync.test/webhooks";
    bus.current!.emit({ type: "subscription", topic: "INVENTORY_LEVELS_UPDATE", uri, change: "lost" });
    expect(text(byTestId("subscription-lost"))).toContain("Inventory levels update: lost");
    expect(text(byTestId("subscriptions"))).not.toContain("All 2");
    bus.current!.emit({ type: "subscription", topic: "INVENTORY_LEVELS_UPDATE", uri, change: "restored" });
    expect(byTestId("subscription-lost")).toBeNull();
    expect(text(byTestId("subscription-restored"))).toContain("Inventory levels update: restored once");
    expect(text(byTestId("subscriptions"))).toContain("All 2 subscriptions are active.");
  });

  it("shows the relay reachable or unreachable from relay events", async () => {
    status = sampleStatus({
      intake: {
        listeningOn: null,
        publicUrl: null,
        relay: { queueUrl: "https://sqs.us-east-2.amazonaws.com/1/shop", region: "us-east-2", reachable: null, error: null },
        paths: [],
        subscriptions: [],
      },
    });
    await start();
    expect(text(byTestId("relay-state"))).toContain("first check");
    expect(row("relay").accepted).toBe("0");
    bus.current!.emit({ type: "relay", reachable: false, error: "connection refused", retryInMs: 5000 });
    expect(text(byTestId("relay-state"))).toContain("Cloud relay unreachable: connection refused");
    expect(byTestId("relay-state")!.classList.contains("bad")).toBe(true);
    bus.current!.emit({ type: "relay", reachable: true, error: null, retryInMs: null });
    expect(text(byTestId("relay-state"))).toBe("Cloud relay reachable");
  });

  it("reads the status again when intake starts after the page was shown", async () => {
    status = sampleStatus();
    await start();
    expect(byTestId("intake-off")).not.toBeNull();
    withIntake();
    bus.current!.emit({ type: "intakePath", stats: listener });
    await settle();
    expect(row("listener").accepted).toBe("41");
  });
});

describe("Dashboard: reconciliation", () => {
  const tenMinutesAgo = new Date(Date.now() - 10 * 60_000).toISOString();

  function withReconciliation(repairedLastDay: number): void {
    status = sampleStatus({
      intake: { listeningOn: "127.0.0.1:8787", publicUrl: null, relay: null, paths: [], subscriptions: [] },
      reconciliation: {
        last: { startedAt: tenMinutesAgo, finishedAt: tenMinutesAgo, reason: "scheduled", checked: 120, repaired: 1 },
        repairedLastDay,
      },
    });
  }

  it("says how many changes webhooks missed in the last day, and the last pass", async () => {
    withReconciliation(3);
    await start();
    const card = byTestId("reconciliation")!;
    expect(card.getAttribute("aria-labelledby")).toBe("reconciliation-heading");
    expect(text(byTestId("reconciliation-missed"))).toBe("Webhooks missed 3 changes in the last day.");
    expect(byTestId("reconciliation-missed")!.classList.contains("missed")).toBe(true);
    expect(text(byTestId("reconciliation-last"))).toBe(
      "Last pass 10 min ago (scheduled check): 120 changes checked, 1 repaired.",
    );
    expect(byTestId("reconciliation-last")!.querySelector("time")?.getAttribute("title")).toBe(
      new Date(tenMinutesAgo).toLocaleString(),
    );
  });

  it("says when nothing was missed and no pass has run", async () => {
    status = sampleStatus({ reconciliation: { last: null, repairedLastDay: 0 } });
    await start();
    expect(text(byTestId("reconciliation-missed"))).toBe("Webhooks missed no changes in the last day.");
    expect(byTestId("reconciliation-missed")!.classList.contains("missed")).toBe(false);
    expect(text(byTestId("reconciliation-last"))).toBe("No pass has run yet.");
    expect(text(byTestId("reconciliation"))).toContain("Webhooks are off");
  });

  it("moves the figure and the last pass on a reconciled event, without asking the back end", async () => {
    withReconciliation(0);
    await start();
    const reads = call.mock.calls.length;
    bus.current!.emit({ type: "reconciled", reason: "wake", checked: 42, repaired: 4, repairedLastDay: 4 });
    expect(text(byTestId("reconciliation-missed"))).toBe("Webhooks missed 4 changes in the last day.");
    expect(text(byTestId("reconciliation-last"))).toBe("Last pass just now (after the computer woke): 42 changes checked, 4 repaired.");
    await settle();
    expect(call.mock.calls.length).toBe(reads);
  });

  it("queues a pass from Reconcile now and says so until the pass reports back", async () => {
    withReconciliation(0);
    await start();
    call.mockImplementation((cmd: string) =>
      cmd === "reconcile_now" ? Promise.resolve(null) : Promise.resolve(structuredClone(status)),
    );
    byTestId("reconcile-now")!.click();
    await settle();
    expect(call).toHaveBeenCalledWith("reconcile_now", {});
    expect(text(byTestId("reconcile-queued"))).toContain("A pass is queued");
    bus.current!.emit({ type: "reconciled", reason: "manual", checked: 7, repaired: 0, repairedLastDay: 0 });
    await settle();
    expect(byTestId("reconcile-queued")).toBeNull();
    expect(text(byTestId("reconciliation-last"))).toContain("(you asked): 7 changes checked, 0 repaired.");
  });

  it("does not leave the note up when the pass reports back before the request returns", async () => {
    withReconciliation(0);
    await start();
    call.mockImplementation((cmd: string) => {
      if (cmd === "reconcile_now") {
        bus.current!.emit({ type: "reconciled", reason: "manual", checked: 3, repaired: 0, repairedLastDay: 0 });
        return new Promise((resolve) => setTimeout(() => resolve(null), 0));
      }
      return Promise.resolve(structuredClone(status));
    });
    byTestId("reconcile-now")!.click();
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await settle();
    expect(text(byTestId("reconciliation-last"))).toContain("(you asked): 3 changes checked, 0 repaired.");
    expect(byTestId("reconcile-queued")).toBeNull();
  });

  it("shows why a pass could not be queued", async () => {
    withReconciliation(0);
    await start();
    call.mockImplementation((cmd: string) =>
      cmd === "reconcile_now"
        ? Promise.reject({ code: "not_connected", message: "No store is connected." })
        : Promise.resolve(structuredClone(status)),
    );
    byTestId("reconcile-now")!.click();
    await settle();
    expect(text(byTestId("reconcile-error"))).toBe("The pass did not start: No store is connected.");
    expect(byTestId("reconcile-queued")).toBeNull();
  });

  it("keeps the webhook intake panel beside it", async () => {
    withReconciliation(0);
    await start();
    expect(byTestId("intake-panel")).not.toBeNull();
    expect(text(byTestId("intake-where"))).toContain("127.0.0.1:8787");
  });
});
