// Pages are addressed by the URL hash (`#/orders`): the app is served from a
// custom protocol with no server behind it, and a hash survives a reload.

export const PAGES = [
  { id: "connect", label: "Connect" },
  { id: "dashboard", label: "Dashboard" },
  { id: "failures", label: "Failures" },
  { id: "inventory", label: "Inventory" },
  { id: "orders", label: "Orders" },
  { id: "bulk-update", label: "Bulk update" },
  { id: "activity", label: "Activity" },
  { id: "settings", label: "Settings" },
] as const;

export type PageId = (typeof PAGES)[number]["id"];

/** Where an empty or unknown address lands. */
export const DEFAULT_PAGE: PageId = "dashboard";

export function isPageId(value: string): value is PageId {
  return PAGES.some((page) => page.id === value);
}

export function hashFor(page: PageId): string {
  return `#/${page}`;
}

/** Reads the page from a hash such as `#/orders`; anything else gives the default page. */
export function pageFromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, "").replace(/\/+$/, "").toLowerCase();
  return isPageId(id) ? id : DEFAULT_PAGE;
}

export function labelFor(page: PageId): string {
  return PAGES.find((p) => p.id === page)?.label ?? page;
}
