import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SkuThresholdView } from "../lib/bindings";
import { byTestId, settle, text } from "../lib/testing";

const call = vi.hoisted(() => vi.fn());
vi.mock("../lib/ipc", () => ({ call }));

import SkuThresholds from "./SkuThresholds.svelte";

/** The lines the store keeps, by SKU. */
let kept: SkuThresholdView[];
let app: ReturnType<typeof mount> | undefined;

function sets(): { sku: string; threshold: number | null }[] {
  return call.mock.calls.filter(([cmd]) => cmd === "set_sku_threshold").map(([, args]) => args);
}

function rows(): string[][] {
  return Array.from(document.querySelectorAll("[data-testid=sku-line]"), (tr) =>
    Array.from(tr.querySelectorAll("th, td"), (cell) => text(cell)),
  );
}

function type(id: string, value: string): void {
  const el = byTestId(id) as HTMLInputElement;
  el.value = value;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  flushSync();
}

async function submit(): Promise<void> {
  byTestId("add-sku-line")!.closest("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  await settle();
}

beforeEach(() => {
  kept = [
    { sku: "MUG-BLUE-S", threshold: 2 },
    { sku: "TEE-RED-M", threshold: 50 },
  ];
  call.mockReset();
  call.mockImplementation((cmd: string, args: { sku: string; threshold: number | null }) => {
    if (cmd === "sku_thresholds") return Promise.resolve(structuredClone(kept));
    if (cmd === "set_sku_threshold") {
      kept = kept.filter((l) => l.sku !== args.sku);
      if (args.threshold !== null) kept = [...kept, { sku: args.sku, threshold: args.threshold }].sort((a, b) => a.sku.localeCompare(b.sku));
      return Promise.resolve(structuredClone(kept));
    }
    return Promise.reject({ code: "internal", message: `unexpected ${cmd}` });
  });
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = "";
});

async function start(): Promise<void> {
  app = mount(SkuThresholds, { target: document.body });
  await settle();
}

describe("Low stock per SKU", () => {
  it("lists the SKUs with a line of their own", async () => {
    await start();
    expect(rows()).toEqual([
      ["MUG-BLUE-S", "2", "Remove"],
      ["TEE-RED-M", "50", "Remove"],
    ]);
    const remove = document.querySelector("[data-testid=remove-sku-line]")!;
    expect(remove.getAttribute("aria-label")).toBe("Remove the line for MUG-BLUE-S");
  });

  it("adds a line, trimmed, and clears the form for the next one", async () => {
    await start();
    type("sku-line-sku", "  CAP-GRN ");
    type("sku-line-threshold", "7");
    expect(text(byTestId("add-sku-line"))).toBe("Add line");
    await submit();
    expect(sets()).toEqual([{ sku: "CAP-GRN", threshold: 7 }]);
    expect(rows().map((r) => r[0])).toEqual(["CAP-GRN", "MUG-BLUE-S", "TEE-RED-M"]);
    expect(text(byTestId("sku-line-done"))).toBe("CAP-GRN has its own line: low at 7 or below.");
    expect((byTestId("sku-line-sku") as HTMLInputElement).value).toBe("");
    expect(document.activeElement).toBe(byTestId("sku-line-sku"));
  });

  it("changes the line of a SKU already listed", async () => {
    await start();
    type("sku-line-sku", "TEE-RED-M");
    expect(text(byTestId("add-sku-line"))).toBe("Change line");
    type("sku-line-threshold", "20");
    await submit();
    expect(rows()).toEqual([
      ["MUG-BLUE-S", "2", "Remove"],
      ["TEE-RED-M", "20", "Remove"],
    ]);
    expect(text(byTestId("sku-line-done"))).toBe("TEE-RED-M is now low at 20 or below.");
  });

  it("removes a line, so the SKU uses the global line again, and keeps focus in the list", async () => {
    await start();
    (document.querySelector("[data-testid=remove-sku-line]") as HTMLButtonElement).click();
    await settle();
    expect(sets()).toEqual([{ sku: "MUG-BLUE-S", threshold: null }]);
    expect(rows()).toEqual([["TEE-RED-M", "50", "Remove"]]);
    expect(text(byTestId("sku-line-done"))).toBe("MUG-BLUE-S uses the global line again.");
    expect(document.activeElement?.getAttribute("aria-label")).toBe("Remove the line for TEE-RED-M");
    (document.querySelector("[data-testid=remove-sku-line]") as HTMLButtonElement).click();
    await settle();
    expect(text(byTestId("sku-lines-empty"))).toContain("No SKU has a line of its own yet.");
    expect(document.activeElement).toBe(byTestId("sku-line-sku"));
  });

  it("asks for a SKU and a whole number before sending anything", async () => {
    await start();
    type("sku-line-threshold", "3");
    await submit();
    expect(sets()).toEqual([]);
    expect(text(byTestId("sku-line-error"))).toMatch(/Enter the SKU/);
    expect(byTestId("sku-line-sku")!.getAttribute("aria-invalid")).toBe("true");
    expect(byTestId("sku-line-sku")!.getAttribute("aria-describedby")).toContain("sku-line-error");
    type("sku-line-sku", "CAP-GRN");
    type("sku-line-threshold", "2.5");
    await submit();
    expect(sets()).toEqual([]);
    expect(text(byTestId("sku-line-error"))).toMatch(/whole number/);
    expect(byTestId("sku-line-threshold")!.getAttribute("aria-invalid")).toBe("true");
  });

  it("shows what the back end refused, at its field", async () => {
    await start();
    call.mockImplementation((cmd: string) =>
      cmd === "set_sku_threshold"
        ? Promise.reject({ code: "invalid_input", message: "A SKU has at most 255 characters in Shopify.", field: "sku" })
        : Promise.resolve(structuredClone(kept)),
    );
    type("sku-line-sku", "X");
    type("sku-line-threshold", "1");
    await submit();
    expect(text(byTestId("sku-line-error"))).toBe("A SKU has at most 255 characters in Shopify.");
    expect(byTestId("sku-line-sku")!.getAttribute("aria-invalid")).toBe("true");
    expect((byTestId("sku-line-sku") as HTMLInputElement).value).toBe("X");
  });

  it("says to connect a store first when none is connected", async () => {
    call.mockRejectedValue({ code: "not_connected", message: "No store is connected." });
    await start();
    expect(byTestId("sku-lines-not-connected")?.querySelector("a")?.getAttribute("href")).toBe("#/connect");
    expect(byTestId("add-sku-line")).toBeNull();
  });

  it("says when the lines could not be read, and tries again", async () => {
    const answer = call.getMockImplementation()!;
    call.mockRejectedValue({ code: "internal", message: "database is locked" });
    await start();
    expect(text(byTestId("sku-lines-load-error"))).toContain("database is locked");
    call.mockImplementation(answer);
    byTestId("sku-lines-load-error")!.querySelector("button")!.click();
    await settle();
    expect(rows()).toHaveLength(2);
  });
});
