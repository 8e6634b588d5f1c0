import { flushSync, mount, unmount } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AppInfo } from "./lib/bindings";
import { PAGES } from "./lib/routes";

const call = vi.hoisted(() => vi.fn());
vi.mock("./lib/ipc", () => ({ call }));
vi.mock("./lib/events", () => ({ onEngineEvent: () => () => {} }));

import App from "./App.svelte";

const INFO: AppInfo = { productName: "Shelfsync", version: "0.3.1", engineVersion: "0.2.0" };

let app: ReturnType<typeof mount> | undefined;

function start(hash = ""): void {
  history.replaceState(null, "", hash === "" ? window.location.pathname : hash);
  app = mount(App, { target: document.body });
  flushSync();
}

function byTestId(id: string): HTMLElement | null {
  return document.querySelector(`[data-testid="${id}"]`);
}

function shownPages(): string[] {
  return Array.from(document.querySelectorAll("[data-testid^='page-']"), (el) =>
    el.getAttribute("data-testid") ?? "",
  );
}

/** Lets promise callbacks run and Svelte apply the resulting updates. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  flushSync();
}

/** Answers `app_info` with `info`; other commands as with no store connected. */
function answerWith(info: Promise<AppInfo>): void {
  call.mockImplementation((cmd: string) => {
    if (cmd === "app_info") return info;
    if (cmd === "get_status") {
      return Promise.resolve({ store: null, tokenExpiresAt: null, bucket: null, cache: null, queue: null, lastSyncs: [] });
    }
    return Promise.reject({ code: "not_connected", message: "No store is connected." });
  });
}

beforeEach(() => {
  call.mockReset();
  answerWith(Promise.resolve(INFO));
});

afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = "";
});

describe("navigation", () => {
  it("shows a nav item for every page", () => {
    start();
    for (const page of PAGES) {
      const link = byTestId(`nav-${page.id}`);
      expect(link?.tagName).toBe("A");
      expect(link?.textContent?.trim()).toBe(page.label);
    }
  });

  it("opens the dashboard when there is no address", () => {
    start();
    expect(shownPages()).toEqual(["page-dashboard"]);
    expect(byTestId("nav-dashboard")?.getAttribute("aria-current")).toBe("page");
  });

  it("opens the dashboard for an unknown address and corrects the address", () => {
    start("#/no-such-page");
    expect(shownPages()).toEqual(["page-dashboard"]);
    expect(window.location.hash).toBe("#/dashboard");
  });

  it.each(PAGES.map((p) => p.id))("opens %s from its address", (id) => {
    start(`#/${id}`);
    expect(shownPages()).toEqual([`page-${id}`]);
  });

  it("switches page when a nav item is clicked, and marks it current", async () => {
    start("#/dashboard");
    for (const page of PAGES) {
      byTestId(`nav-${page.id}`)?.click();
      await settle();
      expect(shownPages()).toEqual([`page-${page.id}`]);
      const current = Array.from(document.querySelectorAll("[aria-current='page']"));
      expect(current).toEqual([byTestId(`nav-${page.id}`)]);
      expect(document.title).toBe(`${page.label} · Shelfsync`);
    }
  });

  it("follows the address when it changes (back and forward buttons)", () => {
    start("#/orders");
    window.location.hash = "#/failures";
    window.dispatchEvent(new HashChangeEvent("hashchange"));
    flushSync();
    expect(shownPages()).toEqual(["page-failures"]);
    expect(byTestId("page-failures")?.textContent).toContain("retry all");
  });

  it("shows the failed-job count beside Failures, and none when nothing failed", async () => {
    start();
    await settle();
    expect(byTestId("nav-failures-count")).toBeNull();
    unmount(app!);
    call.mockImplementation((cmd: string) =>
      cmd === "get_status"
        ? Promise.resolve({
            store: null,
            tokenExpiresAt: null,
            bucket: null,
            cache: null,
            queue: { pending: 0, running: 0, done: 9, failed: 3 },
            lastSyncs: [],
          })
        : Promise.resolve(INFO),
    );
    start();
    await settle();
    await settle();
    expect(byTestId("nav-failures-count")?.textContent?.trim()).toBe("3");
    expect(byTestId("nav-failures")?.textContent?.replace(/\s+/g, " ").trim()).toBe("Failures 3 (3 failed jobs)");
  });

  it("moves focus between nav items with the arrow keys, Home and End", () => {
    start();
    const first = byTestId("nav-connect");
    first?.focus();
    const press = (key: string) =>
      document.activeElement?.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));

    press("ArrowDown");
    expect(document.activeElement).toBe(byTestId("nav-dashboard"));
    press("End");
    expect(document.activeElement).toBe(byTestId("nav-settings"));
    press("ArrowDown");
    expect(document.activeElement).toBe(first);
    press("ArrowUp");
    expect(document.activeElement).toBe(byTestId("nav-settings"));
    press("Home");
    expect(document.activeElement).toBe(first);
  });
});

describe("status footer", () => {
  it("asks the back end for app_info and shows the name and version", async () => {
    start();
    await settle();
    expect(call).toHaveBeenCalledWith("app_info", {});
    expect(byTestId("app-version")?.textContent?.replace(/\s+/g, " ").trim()).toBe(
      "Shelfsync 0.3.1",
    );
    expect(byTestId("app-error")).toBeNull();
  });

  it("shows nothing broken while the answer is on its way", async () => {
    answerWith(new Promise(() => {}));
    start();
    await settle();
    expect(byTestId("app-version")).toBeNull();
    expect(byTestId("app-error")).toBeNull();
    const footer = document.querySelector("footer")?.textContent ?? "";
    expect(footer).not.toMatch(/undefined|null|NaN|error/i);
  });

  it("shows the error's message when the command fails", async () => {
    answerWith(Promise.reject({ code: "internal", message: "The engine did not start." }));
    start();
    await settle();
    const banner = byTestId("app-error");
    expect(banner?.textContent).toContain("The engine did not start.");
    expect(banner?.getAttribute("role")).toBe("alert");
    expect(byTestId("app-version")).toBeNull();
  });
});
