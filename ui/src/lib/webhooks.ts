// The Webhooks form's copy of the settings and its checks. Text fields are kept as typed
// (blank means "not set"); the Rust side validates and names the field it refused.
import type { TestDeliveryView, WebhookSecrets, WebhookSettings } from "./bindings";

export type WebhookDraft = {
  listen: boolean;
  port: number | null;
  publicUrl: string;
  relayQueueUrl: string;
  relayRegion: string;
  relayEventSource: string;
};

/** The keys typed into the form; they are sent once and never shown again. */
export type SecretsDraft = { signingSecret: string; relayAccessKeyId: string; relaySecretAccessKey: string };

export const NO_SECRETS: SecretsDraft = { signingSecret: "", relayAccessKeyId: "", relaySecretAccessKey: "" };

export function toDraft(w: WebhookSettings): WebhookDraft {
  return {
    listen: w.listen,
    port: w.port,
    publicUrl: w.publicUrl ?? "",
    relayQueueUrl: w.relayQueueUrl ?? "",
    relayRegion: w.relayRegion ?? "",
    relayEventSource: w.relayEventSource ?? "",
  };
}

export function sameDraft(a: WebhookDraft, b: WebhookDraft): boolean {
  return (Object.keys(a) as (keyof WebhookDraft)[]).every((key) => a[key] === b[key]);
}

export function anySecret(s: SecretsDraft): boolean {
  return s.signingSecret.trim() !== "" || s.relayAccessKeyId.trim() !== "" || s.relaySecretAccessKey.trim() !== "";
}

const text = (value: string): string | null => (value.trim() === "" ? null : value.trim());

/** What the form's fields mean, for the field a problem is shown at. */
export type WebhookFieldName =
  | "listen"
  | "port"
  | "publicUrl"
  | "signingSecret"
  | "relayQueueUrl"
  | "relayRegion"
  | "relayEventSource"
  | "relayAccessKey";

/**
 * The draft as settings and secrets to send, or the field to fix first when the port is not a
 * port number at all. Everything else is checked by the Rust side.
 */
export function toRequest(
  draft: WebhookDraft,
  secrets: SecretsDraft,
): { settings: WebhookSettings; secrets: WebhookSecrets } | { field: WebhookFieldName; problem: string } {
  const port = draft.port;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    return { field: "port", problem: "Enter the port as a whole number from 1024 to 65535." };
  }
  return {
    settings: {
      listen: draft.listen,
      port,
      publicUrl: text(draft.publicUrl),
      relayQueueUrl: text(draft.relayQueueUrl),
      relayRegion: text(draft.relayRegion),
      relayEventSource: text(draft.relayEventSource),
    },
    secrets: {
      signingSecret: text(secrets.signingSecret),
      relayAccessKeyId: text(secrets.relayAccessKeyId),
      relaySecretAccessKey: text(secrets.relaySecretAccessKey),
    },
  };
}

/** "140 ms", "2.5 s". */
function elapsed(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** One path's test result in words: whether it arrived, how fast, or what to check. */
export function deliveryText(d: TestDeliveryView): string {
  if (d.arrived) return d.afterMs === null ? "Arrived." : `Arrived in ${elapsed(d.afterMs)}.`;
  if (!d.sent) return d.detail ?? "No test event could be sent this way.";
  return d.detail ?? "Sent, but it did not arrive in time.";
}
