import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Settings, SettingsView, StatusView, WebhookSettingsView } from "../lib/bindings";
import { byTestId, sampleStatus, settle, text } from "../lib/testing";

const call = vi.hoisted(() => vi.fn());
vi.mock("../lib/ipc", () => ({ call }));
vi.mock("../lib/events", () => ({ onEngineEvent: () => () => {} }));

import { live } from "../lib/live.svelte";
import SettingsPage from "./Settings.svelte";

const SAVED: Settings = {
  pollIntervalSecs: 120,
  lowStockThreshold: 7,
  notifyFailedJobs: true,
  notifyReconnect: false,
  notifySyncFinished: true,
  notifySubscriptionLost: true,
  notifyRelayUnreachable: true,
  notifyNewOrders: true,
  notifyLowStock: false,
  notifyBulkUpdates: true,
  startAtLogin: false,
};

const WEBHOOKS: WebhookSettingsView = {
  settings: {
    listen: false,
    port: 8787,
    publicUrl: null,
    relayQueueUrl: null,
    relayRegion: null,
    relayEventSource: null,
  },
  signingSecretSaved: false,
  relayKeySaved: false,
  needsSigningSecret: false,
  listeningOn: null,
  relayQueue: null,
  problem: null,
  demo: true,
};

let app: ReturnType<typeof mount> | undefined;
let view: SettingsView;
let status: StatusView;
/** What `save_settings` answers; by default it saves and echoes what it was given. */
let saveResult: ((settings: Settings) => Promise<unknown>) | undefined;

beforeEach(() => {
  view = { settings: { ...SAVED }, problem: null };
  status = sampleStatus();
  saveResult = undefined;
  call.mockReset();
  call.mockImplementation((cmd: string, args: { settings?: Settings }) => {
    if (cmd === "get_settings") return Promise.resolve(structuredClone(view));
    if (cmd === "get_status") return Promise.resolve(structuredClone(status));
    if (cmd === "get_webhook_settings") return Promise.resolve(structuredClone(WEBHOOKS));
    if (cmd === "sku_thresholds") return Promise.resolve([]);
    if (cmd === "save_settings") {
      if (saveResult) return saveResult(args.settings!);
      view = { settings: { ...args.settings! }, problem: null };
      return Promise.resolve({ ...args.settings! });
    }
    return Promise.reject({ code: "internal", message: `unexpected ${cmd}` });
  });
  // The shared status store outlives a page; each test starts from a fresh window.
  live.status = null;
  live.error = null;
  live.loaded = false;
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = "";
});

async function start(): Promise<void> {
  app = mount(SettingsPage, { target: document.body });
  await settle();
}

function input(id: string): HTMLInputElement {
  const el = byTestId(id);
  if (!(el instanceof HTMLInputElement)) throw new Error(`no input ${id}`);
  return el;
}

function saveButton(): HTMLButtonElement {
  const el = byTestId("save-settings");
  if (!(el instanceof HTMLButtonElement)) throw new Error("no save button");
  return el;
}

function type(id: string, value: string): void {
  const el = input(id);
  el.value = value;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  flushSync();
}

function toggle(id: string): void {
  input(id).click();
  flushSync();
}

async function save(): Promise<void> {
  // Submitting the form is what both the button and Enter in a field do.
  saveButton().closest("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  await settle();
}

function saves(): Settings[] {
  return call.mock.calls.filter(([cmd]) => cmd === "save_settings").map(([, args]) => args.settings);
}

describe("Settings", () => {
  it("loads and shows the saved values", async () => {
    await start();
    expect(call).toHaveBeenCalledWith("get_settings", {});
    expect(byTestId("page-settings")).not.toBeNull();
    expect(input("poll-interval").value).toBe("120");
    expect(text(byTestId("poll-interval-text"))).toBe("(2 min)");
    expect(input("low-stock-threshold").value).toBe("7");
    expect(input("notify-failed-jobs").checked).toBe(true);
    expect(input("notify-reconnect").checked).toBe(false);
    expect(input("notify-sync-finished").checked).toBe(true);
    expect(input("start-at-login").checked).toBe(false);
    expect(byTestId("settings-problem")).toBeNull();
    expect(byTestId("settings-error")).toBeNull();
  });

  it("labels every control and explains each notification", async () => {
    await start();
    for (const id of [
      "poll-interval",
      "low-stock-threshold",
      "notify-failed-jobs",
      "notify-reconnect",
      "notify-sync-finished",
      "notify-subscription-lost",
      "notify-relay-unreachable",
      "notify-new-orders",
      "notify-low-stock",
      "notify-bulk-updates",
      "start-at-login",
    ]) {
      const el = input(id);
      const label = document.querySelector(`label[for="${el.id}"]`);
      expect(text(label), id).not.toBe("");
      expect(el.tabIndex, id).not.toBe(-1);
      expect(el.disabled, id).toBe(false);
      const hint = document.getElementById(el.getAttribute("aria-describedby") ?? "");
      expect(text(hint), id).not.toBe("");
    }
    expect(text(byTestId("page-settings"))).toMatch(/combined/i);
    expect(text(byTestId("settings-webhooks"))).toMatch(/SQS/);
    // Per-SKU lines are saved on their own, outside the settings form.
    expect(byTestId("settings-sku-lines")!.closest("form")).toBeNull();
    expect(text(byTestId("settings-sku-lines"))).toContain("No SKU has a line of its own yet.");
    // The webhook form has its own Save: the settings' Save does not send it.
    expect(byTestId("settings-webhooks")!.querySelector('[data-testid="save-webhooks"]')).not.toBeNull();
  });

  it("keeps Save disabled until something changed, and again when the change is undone", async () => {
    await start();
    expect(saveButton().disabled).toBe(true);
    toggle("start-at-login");
    expect(saveButton().disabled).toBe(false);
    toggle("start-at-login");
    expect(saveButton().disabled).toBe(true);
    type("low-stock-threshold", "8");
    expect(saveButton().disabled).toBe(false);
    type("low-stock-threshold", "7");
    expect(saveButton().disabled).toBe(true);
    // Save does nothing while it is disabled, even when the form is submitted with Enter.
    await save();
    expect(saves()).toEqual([]);
  });

  it("saves exactly the edited settings, with the interval in seconds, then says Saved", async () => {
    await start();
    type("poll-interval", "900");
    expect(text(byTestId("poll-interval-text"))).toBe("(15 min)");
    type("low-stock-threshold", "3");
    toggle("notify-reconnect");
    toggle("notify-sync-finished");
    toggle("start-at-login");
    expect(byTestId("settings-saved")).toBeNull();
    await save();
    expect(saves()).toEqual([
      {
        pollIntervalSecs: 900,
        lowStockThreshold: 3,
        notifyFailedJobs: true,
        notifyReconnect: true,
        notifySyncFinished: false,
        notifySubscriptionLost: true,
        notifyRelayUnreachable: true,
        notifyNewOrders: true,
        notifyLowStock: false,
        notifyBulkUpdates: true,
        startAtLogin: true,
      },
    ]);
    expect(typeof saves()[0]!.pollIntervalSecs).toBe("number");
    expect(text(byTestId("settings-saved"))).toBe("Saved");
    expect(saveButton().disabled).toBe(true);
    expect(byTestId("settings-error")).toBeNull();
    // The next edit takes the confirmation away and enables Save again.
    type("poll-interval", "60");
    expect(byTestId("settings-saved")).toBeNull();
    expect(saveButton().disabled).toBe(false);
  });

  it("switches the webhook notifications off one kind at a time", async () => {
    await start();
    expect(input("notify-subscription-lost").checked).toBe(true);
    expect(input("notify-relay-unreachable").checked).toBe(true);
    toggle("notify-relay-unreachable");
    await save();
    expect(saves()).toEqual([{ ...SAVED, notifyRelayUnreachable: false }]);
    expect(call.mock.calls.some(([cmd]) => cmd === "save_webhook_settings")).toBe(false);
  });

  it("switches new-order and low-stock notifications on and off on their own", async () => {
    await start();
    expect(input("notify-new-orders").checked).toBe(true);
    expect(input("notify-low-stock").checked).toBe(false);
    toggle("notify-new-orders");
    toggle("notify-low-stock");
    await save();
    expect(saves()).toEqual([{ ...SAVED, notifyNewOrders: false, notifyLowStock: true }]);
  });

  it("switches bulk update notifications off", async () => {
    await start();
    expect(input("notify-bulk-updates").checked).toBe(true);
    toggle("notify-bulk-updates");
    await save();
    expect(saves()).toEqual([{ ...SAVED, notifyBulkUpdates: false }]);
  });

  it("shows the values the back end saved", async () => {
    saveResult = (settings) => Promise.resolve({ ...settings, lowStockThreshold: 4 });
    await start();
    type("low-stock-threshold", "3");
    await save();
    expect(saves()).toEqual([{ ...SAVED, lowStockThreshold: 3 }]);
    expect(input("low-stock-threshold").value).toBe("4");
    expect(text(byTestId("settings-saved"))).toBe("Saved");
    expect(saveButton().disabled).toBe(true);
  });

  it("shows the invalid_input message from the back end and keeps the typed value", async () => {
    const message = "The sync interval must be between 10 seconds and 1 hour (got 5 s).";
    saveResult = () => Promise.reject({ code: "invalid_input", message });
    await start();
    type("poll-interval", "5");
    toggle("notify-failed-jobs");
    await save();
    expect(saves()).toEqual([{ ...SAVED, pollIntervalSecs: 5, notifyFailedJobs: false }]);
    const error = byTestId("settings-error");
    expect(error?.getAttribute("role")).toBe("alert");
    expect(text(error)).toBe(message);
    expect(input("poll-interval").value).toBe("5");
    expect(input("notify-failed-jobs").checked).toBe(false);
    expect(byTestId("settings-saved")).toBeNull();
    expect(saveButton().disabled).toBe(false);

    // Corrected and saved again: the error goes.
    saveResult = undefined;
    type("poll-interval", "10");
    await save();
    expect(byTestId("settings-error")).toBeNull();
    expect(saves().at(-1)).toEqual({ ...SAVED, pollIntervalSecs: 10, notifyFailedJobs: false });
    expect(text(byTestId("settings-saved"))).toBe("Saved");
  });

  it("words other failures as not saved", async () => {
    saveResult = () => Promise.reject({ code: "internal", message: "Could not save settings.json: disk full" });
    await start();
    toggle("start-at-login");
    await save();
    expect(text(byTestId("settings-error"))).toBe("The settings were not saved: Could not save settings.json: disk full");
    expect(input("start-at-login").checked).toBe(true);
  });

  it("asks for a whole number instead of sending an empty or fractional field", async () => {
    await start();
    type("poll-interval", "");
    await save();
    expect(saves()).toEqual([]);
    expect(text(byTestId("settings-error"))).toMatch(/whole number of seconds/);
    type("poll-interval", "30");
    type("low-stock-threshold", "2.5");
    await save();
    expect(saves()).toEqual([]);
    expect(text(byTestId("settings-error"))).toMatch(/low-stock threshold as a whole number/);
    expect(input("low-stock-threshold").value).toBe("2.5");
  });

  it("shows a problem reading the settings file as a warning above the form, and lets the defaults be saved", async () => {
    view = {
      settings: { ...SAVED },
      problem: "/home/me/.config/shelfsync/settings.json could not be read (expected value at line 1); Shelfsync is using the defaults until you save.",
    };
    await start();
    const banner = byTestId("settings-problem");
    expect(text(banner)).toContain("settings.json could not be read (expected value at line 1)");
    expect(banner!.compareDocumentPosition(document.querySelector("form")!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    // Nothing was edited, but saving is what replaces the damaged file.
    expect(saveButton().disabled).toBe(false);
    await save();
    expect(saves()).toEqual([SAVED]);
    expect(byTestId("settings-problem")).toBeNull();
    expect(saveButton().disabled).toBe(true);
  });

  it("says when the settings could not be read and tries again", async () => {
    const answer = call.getMockImplementation()!;
    call.mockImplementation((cmd: string, args: unknown) =>
      cmd === "get_settings" ? Promise.reject({ code: "internal", message: "locked" }) : answer(cmd, args),
    );
    await start();
    expect(text(byTestId("settings-load-error"))).toContain("locked");
    expect(byTestId("save-settings")).toBeNull();
    call.mockImplementation(answer);
    byTestId("settings-load-error")!.querySelector("button")!.click();
    await settle();
    expect(byTestId("settings-load-error")).toBeNull();
    expect(input("poll-interval").value).toBe("120");
  });

  it("says No store connected and links to Connect", async () => {
    status = { store: null, tokenExpiresAt: null, bucket: null, cache: null, queue: null, lastSyncs: [] };
    await start();
    expect(text(byTestId("no-store"))).toContain("No store connected");
    expect(byTestId("change-store")?.getAttribute("href")).toBe("#/connect");
    expect(byTestId("store-auth")).toBeNull();
  });

  it("shows the connected demo store and how it signs in", async () => {
    await start();
    const store = text(byTestId("settings-store"));
    expect(store).toContain("Demo Outfitters");
    expect(store).toContain("http://127.0.0.1:4321");
    expect(text(byTestId("store-auth"))).toBe("Signs in with client ID and secret");
    expect(byTestId("store-demo")).not.toBeNull();
    expect(byTestId("no-store")).toBeNull();
    expect(byTestId("change-store")?.getAttribute("href")).toBe("#/connect");
  });

  it("shows a real store that signs in with an admin token, without the demo note", async () => {
    status = sampleStatus({
      store: { address: "acme.myshopify.com", name: "Acme", auth: "admin_token", demo: false },
    });
    await start();
    expect(text(byTestId("settings-store"))).toContain("acme.myshopify.com");
    expect(text(byTestId("store-auth"))).toBe("Signs in with admin token");
    expect(byTestId("store-demo")).toBeNull();
  });
});
