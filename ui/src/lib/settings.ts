// Wording and checks for the Settings page. Kept pure so they are tested once; the
// allowed ranges themselves belong to the Rust side, which says what it refused.
import type { Settings } from "./bindings";

/** The largest value the Rust side can read into a setting (`u32`). */
export const MAX_WHOLE = 4_294_967_295;

/** The form's copy of the settings: number fields are `null` while empty. */
export type SettingsDraft = Omit<Settings, "pollIntervalSecs" | "lowStockThreshold"> & {
  pollIntervalSecs: number | null;
  lowStockThreshold: number | null;
};

// `satisfies` makes the compiler flag this list when the Rust side adds or drops a setting.
const FIELDS = {
  pollIntervalSecs: true,
  lowStockThreshold: true,
  notifyFailedJobs: true,
  notifyReconnect: true,
  notifySyncFinished: true,
  notifySubscriptionLost: true,
  notifyRelayUnreachable: true,
  notifyNewOrders: true,
  notifyLowStock: true,
  notifyBulkUpdates: true,
  startAtLogin: true,
} as const satisfies Record<keyof Settings, true>;

const KEYS = Object.keys(FIELDS) as (keyof Settings)[];

export function sameSettings(a: SettingsDraft, b: SettingsDraft): boolean {
  return KEYS.every((key) => a[key] === b[key]);
}

/** Whether a number field holds something the Rust side can read: a whole number, 0 or more. */
export function isWhole(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_WHOLE;
}

/**
 * The draft as `Settings`, or what to fix first when a number field is empty or not a
 * whole number. Out-of-range values are sent as they are: the Rust side refuses them
 * with a message that says what is allowed.
 */
export function toSettings(draft: SettingsDraft): { settings: Settings } | { problem: string } {
  const { pollIntervalSecs, lowStockThreshold } = draft;
  if (!isWhole(pollIntervalSecs)) {
    return { problem: "Enter how often to check the store as a whole number of seconds." };
  }
  if (!isWhole(lowStockThreshold)) {
    return { problem: "Enter the low-stock threshold as a whole number (0 or more)." };
  }
  return { settings: { ...draft, pollIntervalSecs, lowStockThreshold } };
}

/** 45 → "45 s", 90 → "1 min 30 s", 3600 → "1 h". */
export function intervalText(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) return "";
  const whole = Math.round(secs);
  const h = Math.floor(whole / 3600);
  const min = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const parts = [h && `${h} h`, min && `${min} min`, s && `${s} s`].filter(Boolean);
  return parts.length > 0 ? parts.join(" ") : "0 s";
}

/** How the connected store signs in, from `StoreView.auth`. */
export function authText(auth: string): string {
  switch (auth) {
    case "client_credentials":
      return "client ID and secret";
    case "admin_token":
      return "admin token";
    default:
      return auth.replace(/_/g, " ");
  }
}
