import { describe, expect, it } from "vitest";
import type { Settings } from "./bindings";
import { authText, intervalText, isWhole, MAX_WHOLE, sameSettings, toSettings } from "./settings";

const BASE: Settings = {
  pollIntervalSecs: 60,
  lowStockThreshold: 5,
  notifyFailedJobs: true,
  notifyReconnect: true,
  notifySyncFinished: true,
  notifySubscriptionLost: true,
  notifyRelayUnreachable: true,
  notifyNewOrders: true,
  notifyLowStock: true,
  notifyBulkUpdates: true,
  startAtLogin: false,
};

describe("intervalText", () => {
  it.each([
    [0, "0 s"],
    [10, "10 s"],
    [60, "1 min"],
    [90, "1 min 30 s"],
    [900, "15 min"],
    [3600, "1 h"],
    [3725, "1 h 2 min 5 s"],
  ])("%i s reads %s", (secs, expected) => {
    expect(intervalText(secs)).toBe(expected);
  });

  it("says nothing for a value that is not a duration", () => {
    expect(intervalText(Number.NaN)).toBe("");
    expect(intervalText(-5)).toBe("");
  });
});

describe("sameSettings", () => {
  it("compares every field", () => {
    expect(sameSettings(BASE, { ...BASE })).toBe(true);
    for (const key of Object.keys(BASE) as (keyof Settings)[]) {
      const other = { ...BASE, [key]: typeof BASE[key] === "boolean" ? !BASE[key] : 999 };
      expect(sameSettings(BASE, other), key).toBe(false);
    }
    expect(sameSettings(BASE, { ...BASE, pollIntervalSecs: null })).toBe(false);
  });
});

describe("isWhole and toSettings", () => {
  it("accepts whole numbers the back end can read", () => {
    expect(isWhole(0)).toBe(true);
    expect(isWhole(MAX_WHOLE)).toBe(true);
    for (const bad of [null, undefined, -1, 1.5, Number.NaN, MAX_WHOLE + 1]) expect(isWhole(bad), String(bad)).toBe(false);
  });

  it("passes out-of-range values through for the back end to refuse", () => {
    expect(toSettings({ ...BASE, pollIntervalSecs: 5 })).toEqual({ settings: { ...BASE, pollIntervalSecs: 5 } });
  });

  it("names the field to fix", () => {
    expect(toSettings({ ...BASE, pollIntervalSecs: null })).toEqual({ problem: expect.stringMatching(/seconds/) });
    expect(toSettings({ ...BASE, lowStockThreshold: 1.5 })).toEqual({ problem: expect.stringMatching(/low-stock/) });
  });
});

describe("authText", () => {
  it("names how the store signs in", () => {
    expect(authText("client_credentials")).toBe("client ID and secret");
    expect(authText("admin_token")).toBe("admin token");
    expect(authText("something_new")).toBe("something new");
  });
});
