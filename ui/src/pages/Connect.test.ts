import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { byTestId, sampleStatus, settle, text } from "../lib/testing";

const call = vi.hoisted(() => vi.fn());
vi.mock("../lib/ipc", () => ({ call }));
vi.mock("../lib/events", () => ({ onEngineEvent: () => () => {} }));

import Connect from "./Connect.svelte";

const STORE = { address: "acme.myshopify.com", name: "Acme", auth: "client_credentials", demo: false };

let app: ReturnType<typeof mount> | undefined;
let connectResult: Promise<unknown>;

beforeEach(() => {
  history.replaceState(null, "", "#/connect");
  connectResult = Promise.resolve(STORE);
  call.mockReset();
  call.mockImplementation((cmd: string) => {
    if (cmd === "connect_store") return connectResult;
    if (cmd === "start_demo") return Promise.resolve({ ...STORE, demo: true });
    if (cmd === "get_status") return Promise.resolve(sampleStatus());
    return Promise.reject({ code: "internal", message: `unexpected ${cmd}` });
  });
  app = mount(Connect, { target: document.body });
  flushSync();
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = "";
});

function field(name: string): HTMLInputElement {
  const el = document.querySelector<HTMLInputElement>(`input[name="${name}"]`);
  if (!el) throw new Error(`no ${name} field`);
  return el;
}

function type(name: string, value: string): void {
  const el = field(name);
  el.value = value;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  flushSync();
}

function choose(value: "client_credentials" | "admin_token"): void {
  const radio = document.querySelector<HTMLInputElement>(`input[name="auth"][value="${value}"]`);
  radio!.click();
  flushSync();
}

async function submit(): Promise<void> {
  document.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  await settle();
}

describe("Connect", () => {
  it("offers the address with its placeholder, a password field and the keychain promise", () => {
    expect(field("address").placeholder).toBe("your-store.myshopify.com");
    expect(field("secret").type).toBe("password");
    expect(text(byTestId("page-connect"))).toMatch(/keychain/i);
  });

  it("sends the client ID with the client-credentials option", async () => {
    type("address", " acme.myshopify.com ");
    type("clientId", "abc123");
    type("secret", "shh");
    await submit();
    expect(call).toHaveBeenCalledWith("connect_store", {
      request: { address: "acme.myshopify.com", clientId: "abc123" },
      secret: "shh",
    });
  });

  it("sends no client ID with an admin token, even if one was typed before", async () => {
    type("address", "acme.myshopify.com");
    type("clientId", "abc123");
    choose("admin_token");
    expect(document.querySelector('input[name="clientId"]')).toBeNull();
    type("secret", "shpat_123");
    await submit();
    expect(call).toHaveBeenCalledWith("connect_store", {
      request: { address: "acme.myshopify.com", clientId: null },
      secret: "shpat_123",
    });
  });

  it("clears the secret and goes to the dashboard after connecting", async () => {
    type("address", "acme.myshopify.com");
    type("clientId", "abc123");
    type("secret", "shh");
    await submit();
    expect(field("secret").value).toBe("");
    expect(window.location.hash).toBe("#/dashboard");
    expect(byTestId("connect-error")).toBeNull();
  });

  it.each([
    ["credentials", "Shopify said no.", /check the client id and secret/i],
    ["keychain", "The keyring is locked.", /keychain: The keyring is locked\./],
    ["store_unreachable", "connection refused", /check the address and your internet connection/i],
    ["invalid_input", "The address must end in .myshopify.com.", /correct the form: The address must end in \.myshopify\.com\./],
    ["internal", "Something broke.", /Connecting failed: Something broke\./],
  ] as const)("explains a %s error and clears the secret", async (code, message, expected) => {
    connectResult = Promise.reject({ code, message });
    type("address", "acme.myshopify.com");
    type("clientId", "abc123");
    type("secret", "shh");
    await submit();
    const error = byTestId("connect-error");
    expect(error?.getAttribute("role")).toBe("alert");
    expect(text(error)).toMatch(expected);
    expect(field("secret").value).toBe("");
    expect(field("address").value).toBe("acme.myshopify.com");
    expect(window.location.hash).toBe("#/connect");
  });

  it("words a refused admin token in terms of the token", async () => {
    connectResult = Promise.reject({ code: "credentials", message: "401" });
    choose("admin_token");
    type("address", "acme.myshopify.com");
    type("secret", "shpat_bad");
    await submit();
    expect(text(byTestId("connect-error"))).toMatch(/check that you copied the whole admin api access token/i);
  });

  it("starts the demo store and opens the dashboard", async () => {
    byTestId("try-demo")!.click();
    await settle();
    expect(call).toHaveBeenCalledWith("start_demo", {});
    expect(call).not.toHaveBeenCalledWith("connect_store", expect.anything());
    expect(window.location.hash).toBe("#/dashboard");
  });

  it("shows why the demo did not start and stays on the page", async () => {
    call.mockImplementation(() => Promise.reject({ code: "internal", message: "port in use" }));
    byTestId("try-demo")!.click();
    await settle();
    expect(text(byTestId("demo-error"))).toContain("port in use");
    expect(window.location.hash).toBe("#/connect");
  });
});
