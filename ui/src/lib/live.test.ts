import { beforeEach, describe, expect, it, vi } from "vitest";
import type { StatusView } from "./bindings";
import { fakeEvents, sampleStatus } from "./testing";

const call = vi.hoisted(() => vi.fn());
vi.mock("./ipc", () => ({ call }));
const events = vi.hoisted(() => ({ current: undefined as ReturnType<typeof fakeEvents> | undefined }));
vi.mock("./events", () => ({
  onEngineEvent: (handler: Parameters<ReturnType<typeof fakeEvents>["onEngineEvent"]>[0]) =>
    events.current!.onEngineEvent(handler),
}));

import { LiveStatus, MAX_NOTES } from "./live.svelte";

let bus: ReturnType<typeof fakeEvents>;

beforeEach(() => {
  bus = fakeEvents();
  events.current = bus;
  call.mockReset();
  call.mockResolvedValue(sampleStatus());
});

async function attached(): Promise<LiveStatus> {
  const live = new LiveStatus();
  live.attach();
  await live.refresh();
  return live;
}

describe("LiveStatus", () => {
  it("fetches the status when attached and listens once however many pages attach", async () => {
    const live = new LiveStatus();
    const a = live.attach();
    const b = live.attach();
    await live.refresh();
    expect(call).toHaveBeenCalledWith("get_status", {});
    expect(live.status?.store?.name).toBe("Demo Outfitters");
    expect(bus.handlers.size).toBe(1);
    a();
    a();
    expect(bus.handlers.size).toBe(1);
    b();
    expect(bus.handlers.size).toBe(0);
  });

  it("turns sync progress into a percentage and a time-left text", async () => {
    const live = await attached();
    expect(live.progress).toBeNull();
    bus.emit({ type: "syncProgress", full: true, rows: 12_500, total: 50_000, rowsPerSec: 2500, secondsLeft: 15 });
    expect(live.percent).toBe(25);
    expect(live.eta).toBe("15 s left");
    bus.emit({ type: "syncProgress", full: true, rows: 100, total: null, rowsPerSec: 50, secondsLeft: null });
    expect(live.percent).toBeNull();
    expect(live.eta).toBe("Estimating time left…");
  });

  it("clears progress and re-fetches the status when a sync finishes", async () => {
    const live = await attached();
    bus.emit({ type: "syncProgress", full: false, rows: 10, total: 20, rowsPerSec: 5, secondsLeft: 2 });
    call.mockClear();
    bus.emit({ type: "syncFinished", full: false, rows: 20, elapsedMs: 4000 });
    await live.refresh();
    expect(live.progress).toBeNull();
    expect(live.lastFinished).toEqual({ full: false, rows: 20, elapsedMs: 4000 });
    expect(call).toHaveBeenCalledWith("get_status", {});
  });

  it("moves the gauge from bucket events without asking the back end", async () => {
    const live = await attached();
    expect(live.gauge).toBe(0.75);
    call.mockClear();
    bus.emit({
      type: "bucket",
      bucket: { maximum: 2000, available: 200, restoreRate: 100, throttled: 4, answered: 130 },
    });
    expect(live.gauge).toBe(0.1);
    expect(live.status?.bucket?.throttled).toBe(4);
    expect(call).not.toHaveBeenCalled();
  });

  it("applies queue counts at once and re-fetches, coalescing a burst into one follow-up", async () => {
    const live = await attached();
    call.mockClear();
    let answer: (value: StatusView) => void = () => {};
    call.mockImplementation(() => new Promise((resolve) => (answer = resolve)));
    for (let i = 1; i <= 5; i++) {
      bus.emit({ type: "queue", queue: { pending: i, running: 0, done: 0, failed: 0 } });
    }
    expect(live.status?.queue?.pending).toBe(5);
    expect(call).toHaveBeenCalledTimes(1);
    answer(sampleStatus());
    await Promise.resolve();
    await Promise.resolve();
    expect(call).toHaveBeenCalledTimes(2);
    answer(sampleStatus({ queue: { pending: 0, running: 0, done: 5, failed: 0 } }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(live.status?.queue?.done).toBe(5);
    expect(call).toHaveBeenCalledTimes(2);
  });

  it("keeps attention notes, newest first, up to a limit, and dismisses one", async () => {
    const live = await attached();
    for (let i = 1; i <= MAX_NOTES + 1; i++) {
      bus.emit({ type: "attention", title: `Problem ${i}`, message: `Details ${i}` });
    }
    expect(live.attention.map((n) => n.title)).toEqual(["Problem 4", "Problem 3", "Problem 2"]);
    const [first] = live.attention;
    live.dismiss(first!.id);
    expect(live.attention.map((n) => n.title)).toEqual(["Problem 3", "Problem 2"]);
  });

  it("keeps the last good status when a re-fetch fails, and records the error", async () => {
    const live = await attached();
    call.mockRejectedValue({ code: "internal", message: "database locked" });
    await live.refresh();
    expect(live.status?.store?.name).toBe("Demo Outfitters");
    expect(live.error).toEqual({ code: "internal", message: "database locked" });
  });
});
