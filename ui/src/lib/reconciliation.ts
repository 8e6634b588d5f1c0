// Reconciliation as the dashboard says it: how many changes webhooks missed over the last day
// (found by passes that compare the store with the local copy), and the last pass. Pure, so
// the wording is tested once; `applyReconciled` keeps the status current from a `reconciled`
// event without asking the Rust side again.
import type { ReconciliationView, StatusView, UiEvent } from "./bindings";
import { count } from "./format";

/** "Webhooks missed 3 changes in the last day." */
export function missedText(repairedLastDay: number): string {
  if (repairedLastDay === 0) return "Webhooks missed no changes in the last day.";
  if (repairedLastDay === 1) return "Webhooks missed 1 change in the last day.";
  return `Webhooks missed ${count(repairedLastDay)} changes in the last day.`;
}

const REASONS: Record<string, string> = {
  scheduled: "scheduled check",
  start: "when Shelfsync started",
  wake: "after the computer woke",
  subscription: "after a lost webhook subscription",
  manual: "you asked",
};

/** Why a pass ran, in words; a reason this build does not know is shown as it is. */
export function reasonText(reason: string): string {
  return REASONS[reason] ?? reason.replace(/_/g, " ");
}

/** "120 changes checked, 3 repaired". */
export function passText(checked: number, repaired: number): string {
  const changes = checked === 1 ? "1 change" : `${count(checked)} changes`;
  return `${changes} checked, ${count(repaired)} repaired`;
}

/**
 * The status after a `reconciled` event, changed in place: the day's figure and the last pass,
 * which finished at `nowMs`. The event does not say when the pass started; the status read
 * that follows the pass's sync brings the exact times. Without a status there is nothing to
 * change.
 */
export function applyReconciled(
  status: StatusView | null,
  event: Extract<UiEvent, { type: "reconciled" }>,
  nowMs: number,
): ReconciliationView | null {
  if (!status) return null;
  const at = new Date(nowMs).toISOString();
  const view: ReconciliationView = {
    last: {
      startedAt: at,
      finishedAt: at,
      reason: event.reason,
      checked: event.checked,
      repaired: event.repaired,
    },
    repairedLastDay: event.repairedLastDay,
  };
  status.reconciliation = view;
  return view;
}
