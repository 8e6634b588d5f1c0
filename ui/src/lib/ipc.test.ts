import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.hoisted(() => vi.fn());
vi.mock("@tauri-apps/api/core", () => ({ invoke }));

import { call, toUiError } from "./ipc";

describe("call", () => {
  beforeEach(() => {
    invoke.mockReset();
  });

  it("sends the command name and arguments and returns the result", async () => {
    const info = { productName: "Shelfsync", version: "0.1.0", engineVersion: "0.1.0" };
    invoke.mockResolvedValue(info);

    await expect(call("app_info", {})).resolves.toEqual(info);
    expect(invoke).toHaveBeenCalledWith("app_info", {});
  });

  it("sends ids as plain JSON numbers", async () => {
    invoke.mockResolvedValue(null);

    await call("retry_job", { id: 42 });
    expect(invoke).toHaveBeenCalledWith("retry_job", { id: 42 });
    expect(() => JSON.stringify(invoke.mock.calls[0]![1])).not.toThrow();
  });

  it("turns a plain string rejection into an internal error carrying that text", async () => {
    invoke.mockRejectedValue("command app_info not found");

    await expect(call("app_info", {})).rejects.toEqual({
      code: "internal",
      message: "command app_info not found",
    });
  });

  it("passes a {code, message} error through unchanged", async () => {
    invoke.mockRejectedValue({ code: "store_unreachable", message: "Shopify did not answer." });

    await expect(call("app_info", {})).rejects.toEqual({
      code: "store_unreachable",
      message: "Shopify did not answer.",
    });
  });

  it("turns a thrown Error into an internal error", async () => {
    invoke.mockRejectedValue(new TypeError("window.__TAURI_INTERNALS__ is undefined"));

    await expect(call("app_info", {})).rejects.toEqual({
      code: "internal",
      message: "TypeError: window.__TAURI_INTERNALS__ is undefined",
    });
  });
});

describe("toUiError", () => {
  it("keeps the message of an error whose code this build does not know", () => {
    expect(toUiError({ code: "rate_limited", message: "Try again in a minute." })).toEqual({
      code: "internal",
      message: "Try again in a minute.",
    });
  });

  it("drops extra fields so only the UiError shape reaches the UI", () => {
    expect(toUiError({ code: "conflict", message: "Changed in Shopify.", detail: 42 })).toEqual({
      code: "conflict",
      message: "Changed in Shopify.",
    });
  });

  it("stringifies values that are not errors at all", () => {
    expect(toUiError(undefined)).toEqual({ code: "internal", message: "undefined" });
    expect(toUiError(null)).toEqual({ code: "internal", message: "null" });
    expect(toUiError(404)).toEqual({ code: "internal", message: "404" });
    expect(toUiError({ code: "conflict" })).toEqual({
      code: "internal",
      message: "[object Object]",
    });
  });
});
