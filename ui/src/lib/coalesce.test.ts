import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { COALESCE_MS, Coalescer } from "./coalesce";

/** A run that stays pending until the test finishes it. */
function controlledRun() {
  const finishers: Array<() => void> = [];
  const run = vi.fn(() => new Promise<void>((resolve) => finishers.push(resolve)));
  return {
    run,
    finish: async () => {
      finishers.shift()?.();
      await vi.advanceTimersByTimeAsync(0);
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("Coalescer", () => {
  it("turns a burst of requests into one run after the window", async () => {
    const run = vi.fn(() => Promise.resolve());
    const c = new Coalescer(run);
    for (let i = 0; i < 20; i++) c.request();
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(COALESCE_MS);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(COALESCE_MS * 10);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it("does nothing on its own: no request, no run", async () => {
    const run = vi.fn(() => Promise.resolve());
    new Coalescer(run);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(run).not.toHaveBeenCalled();
  });

  it("runs once more after a run when requests came in during it", async () => {
    const { run, finish } = controlledRun();
    const c = new Coalescer(run);
    c.request();
    await vi.advanceTimersByTimeAsync(COALESCE_MS);
    expect(run).toHaveBeenCalledTimes(1);
    c.request();
    c.request();
    c.request();
    await finish();
    expect(run).toHaveBeenCalledTimes(2);
    await finish();
    expect(run).toHaveBeenCalledTimes(2);
  });

  it("runs at once on now(), replacing a scheduled run", async () => {
    const run = vi.fn(() => Promise.resolve());
    const c = new Coalescer(run);
    c.request();
    await c.now();
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(COALESCE_MS * 2);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it("keeps going after a run that throws", async () => {
    const run = vi.fn(() => Promise.reject(new Error("boom")));
    const c = new Coalescer(run);
    await c.now();
    await c.now();
    expect(run).toHaveBeenCalledTimes(2);
  });

  it("runs nothing after stop()", async () => {
    const run = vi.fn(() => Promise.resolve());
    const c = new Coalescer(run);
    c.request();
    c.stop();
    c.request();
    await c.now();
    await vi.advanceTimersByTimeAsync(COALESCE_MS * 2);
    expect(run).not.toHaveBeenCalled();
  });
});
