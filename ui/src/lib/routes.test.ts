import { describe, expect, it } from "vitest";
import { DEFAULT_PAGE, PAGES, hashFor, labelFor, pageFromHash } from "./routes";

describe("routes", () => {
  it("has the eight pages, in sidebar order", () => {
    expect(PAGES.map((p) => p.id)).toEqual([
      "connect",
      "dashboard",
      "failures",
      "inventory",
      "orders",
      "bulk-update",
      "activity",
      "settings",
    ]);
  });

  it.each(PAGES.map((p) => p.id))("reads back the address of %s", (id) => {
    expect(pageFromHash(hashFor(id))).toBe(id);
  });

  it("uses #/<page> addresses", () => {
    expect(hashFor("bulk-update")).toBe("#/bulk-update");
  });

  it("falls back to the dashboard for empty or unknown addresses", () => {
    expect(DEFAULT_PAGE).toBe("dashboard");
    for (const hash of ["", "#", "#/", "#/nope", "#/orders/123", "orders-x", "#/constructor"]) {
      expect(pageFromHash(hash)).toBe("dashboard");
    }
  });

  it("tolerates a missing slash, a trailing slash and capitals", () => {
    expect(pageFromHash("#orders")).toBe("orders");
    expect(pageFromHash("#/orders/")).toBe("orders");
    expect(pageFromHash("#/Settings")).toBe("settings");
  });

  it("labels pages as the sidebar shows them", () => {
    expect(labelFor("bulk-update")).toBe("Bulk update");
  });
});
