import { beforeEach, describe, expect, it, vi } from "vitest";
import { ENGINE_EVENT, type UiEvent } from "./bindings";

const listen = vi.hoisted(() => vi.fn());
vi.mock("@tauri-apps/api/event", () => ({ listen }));

import { onEngineEvent } from "./events";

type Callback = (event: { payload: UiEvent }) => void;

const QUEUE: UiEvent = { type: "queue", queue: { pending: 1, running: 0, done: 2, failed: 0 } };

describe("onEngineEvent", () => {
  let callback: Callback | undefined;
  let unlisten: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    callback = undefined;
    unlisten = vi.fn();
    listen.mockReset();
    listen.mockImplementation((_name: string, cb: Callback) => {
      callback = cb;
      return Promise.resolve(unlisten);
    });
  });

  it("listens on the engine channel and hands over the payload", () => {
    const handler = vi.fn();
    onEngineEvent(handler);
    expect(listen).toHaveBeenCalledWith(ENGINE_EVENT, expect.any(Function));
    callback?.({ payload: QUEUE });
    expect(handler).toHaveBeenCalledWith(QUEUE);
  });

  it("unsubscribes when stopped", async () => {
    const stop = onEngineEvent(vi.fn());
    await Promise.resolve();
    stop();
    expect(unlisten).toHaveBeenCalledTimes(1);
  });

  it("unsubscribes even when stopped before listening completed, and drops late events", async () => {
    const handler = vi.fn();
    const stop = onEngineEvent(handler);
    stop();
    callback?.({ payload: QUEUE });
    await Promise.resolve();
    await Promise.resolve();
    expect(unlisten).toHaveBeenCalledTimes(1);
    expect(handler).not.toHaveBeenCalled();
  });

  it("does not throw where there is no event channel", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    listen.mockRejectedValue(new TypeError("no Tauri here"));
    const stop = onEngineEvent(vi.fn());
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(() => stop()).not.toThrow();
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });
});
