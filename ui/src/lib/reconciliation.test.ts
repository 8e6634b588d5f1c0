import { describe, expect, it } from "vitest";
import { applyReconciled, missedText, passText, reasonText } from "./reconciliation";
import { sampleStatus } from "./testing";

describe("reconciliation wording", () => {
  it("says how many changes webhooks missed in the last day", () => {
    expect(missedText(0)).toBe("Webhooks missed no changes in the last day.");
    expect(missedText(1)).toBe("Webhooks missed 1 change in the last day.");
    expect(missedText(3)).toBe("Webhooks missed 3 changes in the last day.");
    expect(missedText(12_000)).toBe(`Webhooks missed ${(12_000).toLocaleString()} changes in the last day.`);
  });

  it("says why a pass ran", () => {
    expect(reasonText("manual")).toBe("you asked");
    expect(reasonText("wake")).toBe("after the computer woke");
    expect(reasonText("subscription")).toBe("after a lost webhook subscription");
    expect(reasonText("new_reason")).toBe("new reason");
  });

  it("says what a pass checked and repaired", () => {
    expect(passText(1, 0)).toBe("1 change checked, 0 repaired");
    expect(passText(120, 3)).toBe("120 changes checked, 3 repaired");
  });
});

describe("applyReconciled", () => {
  it("puts the pass and the day's figure into the status", () => {
    const status = sampleStatus();
    const at = Date.parse("2026-11-24T12:00:00Z");
    applyReconciled(status, { type: "reconciled", reason: "manual", checked: 40, repaired: 2, repairedLastDay: 5 }, at);
    expect(status.reconciliation).toEqual({
      last: {
        startedAt: "2026-11-24T12:00:00.000Z",
        finishedAt: "2026-11-24T12:00:00.000Z",
        reason: "manual",
        checked: 40,
        repaired: 2,
      },
      repairedLastDay: 5,
    });
  });

  it("does nothing without a status", () => {
    expect(applyReconciled(null, { type: "reconciled", reason: "start", checked: 1, repaired: 0, repairedLastDay: 0 }, 0)).toBeNull();
  });
});
