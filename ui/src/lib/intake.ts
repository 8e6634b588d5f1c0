// Webhook intake as the dashboard shows it: the `intake` part of the status, kept current by
// intake events (per-path counters, subscriptions lost and restored, the relay's state)
// without asking the Rust side again. Pure functions, so the rules are tested once.
import type { IntakeView, PathView, UiEvent } from "./bindings";

export type IntakeEvent = Extract<UiEvent, { type: "intakePath" | "subscription" | "relay" }>;

export function isIntakeEvent(event: UiEvent): event is IntakeEvent {
  return event.type === "intakePath" || event.type === "subscription" || event.type === "relay";
}

/** The two ways in, in the order the panel lists them. */
export const PATHS = ["listener", "relay"] as const;

export function pathLabel(path: string): string {
  switch (path) {
    case "listener":
      return "Listener (tunnel)";
    case "relay":
      return "Cloud relay (SQS)";
    default:
      return path;
  }
}

/** Requests refused for any reason. */
export function refused(stats: PathView): number {
  return stats.refusedForged + stats.refusedMalformed + stats.refusedOversized;
}

/** `INVENTORY_LEVELS_UPDATE` → "Inventory levels update". */
export function topicLabel(topic: string): string {
  const words = topic.toLowerCase().replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * `intake` after `event`. Returns the same object changed in place (the status is Svelte
 * state, so changing it re-renders), or `null` when the event cannot be applied without the
 * full picture (intake was not running when the status was read): the caller re-fetches.
 */
export function applyIntakeEvent(intake: IntakeView | null | undefined, event: IntakeEvent): IntakeView | null {
  if (!intake) return null;
  switch (event.type) {
    case "intakePath": {
      const at = intake.paths.findIndex((p) => p.path === event.stats.path);
      if (at >= 0) intake.paths[at] = event.stats;
      else intake.paths.push(event.stats);
      return intake;
    }
    case "subscription": {
      const sub = intake.subscriptions.find((s) => s.topic === event.topic && s.uri === event.uri);
      if (event.change === "registered") {
        if (sub) sub.present = true;
        else intake.subscriptions.push({ topic: event.topic, uri: event.uri, present: true, restored: 0 });
      } else if (event.change === "lost") {
        if (sub) sub.present = false;
        else intake.subscriptions.push({ topic: event.topic, uri: event.uri, present: false, restored: 0 });
      } else if (event.change === "restored") {
        if (sub) {
          sub.present = true;
          sub.restored += 1;
        } else {
          intake.subscriptions.push({ topic: event.topic, uri: event.uri, present: true, restored: 1 });
        }
      }
      return intake;
    }
    case "relay":
      if (!intake.relay) return null;
      intake.relay.reachable = event.reachable;
      intake.relay.error = event.error;
      return intake;
  }
}

/** Whether intake runs at all (a listener or a relay). */
export function intakeRunning(intake: IntakeView | null | undefined): boolean {
  return !!intake && (intake.listeningOn !== null || intake.relay !== null);
}
