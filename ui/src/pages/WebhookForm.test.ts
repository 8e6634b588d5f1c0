import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { WebhookSecrets, WebhookSettings, WebhookSettingsView } from "../lib/bindings";
import { byTestId, settle, text } from "../lib/testing";

const call = vi.hoisted(() => vi.fn());
vi.mock("../lib/ipc", () => ({ call }));

import WebhookForm from "./WebhookForm.svelte";

function sampleView(overrides: Partial<WebhookSettingsView> = {}): WebhookSettingsView {
  return {
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
    needsSigningSecret: true,
    listeningOn: null,
    relayQueue: null,
    problem: null,
    demo: false,
    ...overrides,
  };
}

let app: ReturnType<typeof mount> | undefined;
let view: WebhookSettingsView;
/** What `save_webhook_settings` answers; by default it saves and reports intake running. */
let saveResult: ((settings: WebhookSettings, secrets: WebhookSecrets) => Promise<unknown>) | undefined;

beforeEach(() => {
  view = sampleView();
  saveResult = undefined;
  call.mockReset();
  call.mockImplementation((cmd: string, args: { settings?: WebhookSettings; secrets?: WebhookSecrets }) => {
    if (cmd === "get_webhook_settings") return Promise.resolve(structuredClone(view));
    if (cmd === "save_webhook_settings") {
      if (saveResult) return saveResult(args.settings!, args.secrets!);
      view = {
        ...view,
        settings: { ...args.settings! },
        signingSecretSaved: view.signingSecretSaved || args.secrets!.signingSecret !== null,
        listeningOn: args.settings!.listen ? `127.0.0.1:${args.settings!.port}` : null,
      };
      return Promise.resolve(structuredClone(view));
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
  app = mount(WebhookForm, { target: document.body });
  await settle();
}

function input(id: string): HTMLInputElement {
  const el = byTestId(id);
  if (!(el instanceof HTMLInputElement)) throw new Error(`no input ${id}`);
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
  byTestId("save-webhooks")!.closest("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  await settle();
}

function saves(): { settings: WebhookSettings; secrets: WebhookSecrets }[] {
  return call.mock.calls.filter(([cmd]) => cmd === "save_webhook_settings").map(([, args]) => args);
}

describe("Webhook settings", () => {
  it("says the listener is loopback only and labels every field", async () => {
    await start();
    expect(text(byTestId("settings-webhooks"))).toContain("127.0.0.1 only");
    expect(input("webhook-port").value).toBe("8787");
    for (const id of [
      "webhook-listen",
      "webhook-port",
      "webhook-public-url",
      "webhook-signing-secret",
      "relay-queue-url",
      "relay-region",
      "relay-event-source",
      "relay-access-key-id",
      "relay-secret-access-key",
    ]) {
      const el = input(id);
      expect(text(document.querySelector(`label[for="${el.id}"]`)), id).not.toBe("");
      expect(el.disabled, id).toBe(false);
    }
    expect(input("webhook-signing-secret").type).toBe("password");
    expect(input("relay-secret-access-key").type).toBe("password");
    expect(text(byTestId("webhooks-running"))).toBe("Webhooks are not being received.");
    expect((byTestId("save-webhooks") as HTMLButtonElement).disabled).toBe(true);
  });

  it("saves the tunnel, sends the signing key once, then shows only that it is saved", async () => {
    await start();
    toggle("webhook-listen");
    type("webhook-port", "9100");
    type("webhook-public-url", " https://abc.ngrok.app/webhooks ");
    type("webhook-signing-secret", "shpss_0123");
    await save();
    expect(saves()).toEqual([
      {
        settings: {
          listen: true,
          port: 9100,
          publicUrl: "https://abc.ngrok.app/webhooks",
          relayQueueUrl: null,
          relayRegion: null,
          relayEventSource: null,
        },
        secrets: { signingSecret: "shpss_0123", relayAccessKeyId: null, relaySecretAccessKey: null },
      },
    ]);
    expect(text(byTestId("webhooks-saved"))).toBe("Saved");
    expect(input("webhook-signing-secret").value).toBe("");
    expect(document.body.innerHTML).not.toContain("shpss_0123");
    expect(text(byTestId("signing-secret-saved"))).toBe("Saved in the keychain.");
    expect(text(byTestId("webhooks-running"))).toContain("127.0.0.1:9100");
    expect((byTestId("save-webhooks") as HTMLButtonElement).disabled).toBe(true);
  });

  it("shows a refused value at the field it is about and keeps what was typed", async () => {
    const message =
      "The tunnel address must start with https:// (Shopify only delivers to https). Copy the public address your tunnel tool shows.";
    saveResult = () => Promise.reject({ code: "invalid_input", message, field: "publicUrl" });
    await start();
    toggle("webhook-listen");
    type("webhook-public-url", "http://abc.ngrok.app");
    await save();
    const error = byTestId("webhook-error-publicUrl");
    expect(text(error)).toBe(message);
    expect(error?.getAttribute("role")).toBe("alert");
    const field = input("webhook-public-url");
    expect(field.getAttribute("aria-invalid")).toBe("true");
    expect(field.getAttribute("aria-describedby")).toContain("webhook-error-publicUrl");
    expect(field.value).toBe("http://abc.ngrok.app");
    expect(byTestId("webhook-error-port")).toBeNull();
    expect(byTestId("webhooks-error")).toBeNull();
    expect(byTestId("webhooks-saved")).toBeNull();
  });

  it("checks the port before sending", async () => {
    await start();
    toggle("webhook-listen");
    type("webhook-port", "");
    await save();
    expect(saves()).toEqual([]);
    expect(text(byTestId("webhook-error-port"))).toMatch(/1024 to 65535/);
  });

  it("shows a port in use at the port, and the relay key problem at the key", async () => {
    saveResult = () =>
      Promise.reject({
        code: "invalid_input",
        message: "Saved, but webhooks are not being received: Shelfsync could not listen on 127.0.0.1:8787: address in use. Choose another port.",
        field: "port",
      });
    await start();
    toggle("webhook-listen");
    await save();
    expect(text(byTestId("webhook-error-port"))).toContain("Choose another port");

    saveResult = () =>
      Promise.reject({
        code: "invalid_input",
        message: "Enter both the access key id and the secret access key: they are saved together.",
        field: "relayAccessKey",
      });
    type("relay-queue-url", "https://sqs.us-east-2.amazonaws.com/1/shop");
    type("relay-access-key-id", "AKIA1");
    await save();
    expect(byTestId("webhook-error-port")).toBeNull();
    expect(text(byTestId("webhook-error-relayAccessKey"))).toContain("Enter both");
    expect(saves().at(-1)!.secrets).toEqual({ signingSecret: null, relayAccessKeyId: "AKIA1", relaySecretAccessKey: null });
  });

  it("shows why intake did not start at the field, and a problem about no field below the form", async () => {
    view = sampleView({
      settings: { ...sampleView().settings, listen: true },
      problem: { code: "invalid_input", message: "Give the app's API secret key (it starts with shpss_).", field: "signingSecret" },
    });
    await start();
    expect(text(byTestId("webhook-error-signingSecret"))).toContain("shpss_");
    saveResult = () => Promise.reject({ code: "internal", message: "Could not save settings.json: disk full" });
    type("webhook-signing-secret", "shpss_1");
    await save();
    expect(byTestId("webhook-error-signingSecret")).toBeNull();
    expect(text(byTestId("webhooks-error"))).toBe("Could not save settings.json: disk full");
  });

  it("says the demo store has its own webhooks and shows saved relay keys without their values", async () => {
    view = sampleView({ demo: true, relayKeySaved: true, relayQueue: "https://sqs.us-east-2.amazonaws.com/1/shop" });
    await start();
    expect(byTestId("webhooks-demo")).not.toBeNull();
    expect(text(byTestId("relay-key-saved"))).toBe("Saved in the keychain.");
    expect(input("relay-access-key-id").value).toBe("");
    expect(input("relay-access-key-id").placeholder).toContain("saved");
    expect(text(byTestId("webhooks-running"))).toBe("Reading the relay queue.");
  });
});

describe("Send test webhook", () => {
  function running(): void {
    view = sampleView({
      settings: { ...sampleView().settings, listen: true, publicUrl: "https://abc.ngrok.app/webhooks" },
      listeningOn: "127.0.0.1:8787",
      relayQueue: "https://sqs.us-east-2.amazonaws.com/1/shop",
    });
  }

  function tests(): number {
    return call.mock.calls.filter(([cmd]) => cmd === "send_test_webhook").length;
  }

  it("is offered only while webhooks are received", async () => {
    await start();
    expect(byTestId("send-test-webhook")).toBeNull();
    if (app) unmount(app);
    document.body.innerHTML = "";
    running();
    await start();
    expect(text(byTestId("send-test-webhook"))).toBe("Send test webhook");
    expect(byTestId("send-test-webhook")!.closest("form")).toBeNull();
  });

  it("says per path whether the test arrived, how fast, or what to check", async () => {
    running();
    await start();
    let answer: (value: unknown) => void = () => {};
    const other = call.getMockImplementation()!;
    call.mockImplementation((cmd: string, args: unknown) =>
      cmd === "send_test_webhook" ? new Promise((resolve) => (answer = resolve)) : other(cmd, args),
    );
    byTestId("send-test-webhook")!.click();
    await settle();
    expect(text(byTestId("send-test-webhook"))).toBe("Sending…");
    expect((byTestId("send-test-webhook") as HTMLButtonElement).disabled).toBe(true);
    byTestId("send-test-webhook")!.click();
    expect(tests()).toBe(1);
    answer({
      deliveries: [
        { path: "listener", address: "https://abc.ngrok.app/webhooks", sent: true, arrived: true, afterMs: 140, detail: null },
        {
          path: "relay",
          address: "arn:aws:events:us-east-2::event-source/aws.partner/shopify.com/1/shop",
          sent: false,
          arrived: false,
          afterMs: null,
          detail: "Only Shopify can put events on the EventBridge bus.",
        },
      ],
    });
    await settle();
    const listener = byTestId("test-delivery-listener")!;
    expect(text(listener)).toContain("Listener (tunnel): Arrived in 140 ms.");
    expect(text(listener)).toContain("https://abc.ngrok.app/webhooks");
    expect(listener.classList.contains("good")).toBe(true);
    const relay = byTestId("test-delivery-relay")!;
    expect(text(relay)).toContain("Cloud relay (SQS): Only Shopify can put events on the EventBridge bus.");
    expect(relay.classList.contains("bad")).toBe(false);
    expect(text(byTestId("send-test-webhook"))).toBe("Send test webhook");
  });

  it("marks a test that was sent but never arrived", async () => {
    running();
    await start();
    const other = call.getMockImplementation()!;
    call.mockImplementation((cmd: string, args: unknown) =>
      cmd === "send_test_webhook"
        ? Promise.resolve({
            deliveries: [
              {
                path: "listener",
                address: "https://abc.ngrok.app/webhooks",
                sent: true,
                arrived: false,
                afterMs: null,
                detail: "Nothing arrived within 25 s. Check that the tunnel is running.",
              },
            ],
          })
        : other(cmd, args),
    );
    byTestId("send-test-webhook")!.click();
    await settle();
    const listener = byTestId("test-delivery-listener")!;
    expect(text(listener)).toContain("Nothing arrived within 25 s.");
    expect(listener.classList.contains("bad")).toBe(true);
  });

  it("shows why no test could be sent", async () => {
    running();
    await start();
    const other = call.getMockImplementation()!;
    call.mockImplementation((cmd: string, args: unknown) =>
      cmd === "send_test_webhook"
        ? Promise.reject({ code: "invalid_input", message: "Intake runs without a tunnel address.", field: "publicUrl" })
        : other(cmd, args),
    );
    byTestId("send-test-webhook")!.click();
    await settle();
    expect(text(byTestId("webhook-test-error"))).toBe("The test was not sent: Intake runs without a tunnel address.");
  });
});
