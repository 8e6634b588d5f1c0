// The app's live view of the engine: the last `get_status` answer, kept current by engine
// events. Cheap events (bucket, sync progress) are applied directly; events that change
// what `get_status` would say (a finished sync, queue movement) trigger one re-fetch, with
// bursts coalesced, so nothing polls.
import type { StatusView, UiError, UiEvent } from "./bindings";
import { onEngineEvent } from "./events";
import { etaText, gaugeFraction, progressPercent } from "./format";
import { applyIntakeEvent } from "./intake";
import { call } from "./ipc";
import { applyReconciled } from "./reconciliation";

export interface SyncProgress {
  full: boolean;
  rows: number;
  total: number | null;
  rowsPerSec: number;
  secondsLeft: number | null;
}

export interface FinishedSync {
  full: boolean;
  rows: number;
  elapsedMs: number;
}

export interface AttentionNote {
  id: number;
  title: string;
  message: string;
}

/** Older notes beyond this are dropped: a burst of failures should not fill the page. */
export const MAX_NOTES = 3;

export class LiveStatus {
  status: StatusView | null = $state(null);
  error: UiError | null = $state(null);
  /** Whether `get_status` has answered (or failed) at least once. */
  loaded = $state(false);
  progress: SyncProgress | null = $state(null);
  lastFinished: FinishedSync | null = $state(null);
  attention: AttentionNote[] = $state([]);

  #users = 0;
  #unlisten: (() => void) | undefined;
  #fetching: Promise<void> | null = null;
  #again = false;
  #nextNote = 1;

  /** Sync progress in percent, or null while the total is unknown or nothing runs. */
  get percent(): number | null {
    return this.progress ? progressPercent(this.progress.rows, this.progress.total) : null;
  }

  get eta(): string {
    return this.progress ? etaText(this.progress.secondsLeft) : "";
  }

  /** How full the rate-limit bucket is, 0 to 1. */
  get gauge(): number {
    return gaugeFraction(this.status?.bucket ?? null);
  }

  /**
   * Starts listening (once, however many pages attach) and fetches the status. Returns
   * the function that detaches again.
   */
  attach(): () => void {
    if (this.#users++ === 0) this.#unlisten = onEngineEvent((event) => this.apply(event));
    void this.refresh();
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      if (--this.#users === 0) {
        this.#unlisten?.();
        this.#unlisten = undefined;
      }
    };
  }

  /** Fetches `get_status`; calls made while one is running share a single follow-up. */
  refresh(): Promise<void> {
    if (this.#fetching) {
      this.#again = true;
      return this.#fetching;
    }
    this.#fetching = this.#fetchUntilQuiet().finally(() => {
      this.#fetching = null;
    });
    return this.#fetching;
  }

  async #fetchUntilQuiet(): Promise<void> {
    do {
      this.#again = false;
      try {
        this.status = await call("get_status", {});
        this.error = null;
      } catch (err) {
        this.error = err as UiError;
      }
      this.loaded = true;
    } while (this.#again);
  }

  apply(event: UiEvent): void {
    switch (event.type) {
      case "syncProgress":
        this.progress = {
          full: event.full,
          rows: event.rows,
          total: event.total,
          rowsPerSec: event.rowsPerSec,
          secondsLeft: event.secondsLeft,
        };
        break;
      case "syncFinished":
        this.progress = null;
        this.lastFinished = { full: event.full, rows: event.rows, elapsedMs: event.elapsedMs };
        void this.refresh();
        break;
      case "bucket":
        if (this.status) this.status.bucket = event.bucket;
        break;
      case "queue":
        if (this.status) this.status.queue = event.queue;
        void this.refresh();
        break;
      case "attention":
        this.attention = [
          { id: this.#nextNote++, title: event.title, message: event.message },
          ...this.attention,
        ].slice(0, MAX_NOTES);
        break;
      case "job":
        // Single jobs belong to the Failures page; the queue event carries the counts.
        break;
      case "reconciled":
        // Shown at once; the status read after the pass's sync brings its exact times.
        applyReconciled(this.status, event, Date.now());
        break;
      case "newOrder":
      case "lowStock":
        // Orders have their own page; low stock is a notification.
        break;
      case "bulkProgress":
      case "bulkFinished":
        // The Bulk update page follows these itself; their stock changes arrive with the next sync.
        break;
      case "intakePath":
      case "subscription":
      case "relay":
        // Applied in place; only when intake was not in the last status is it read again.
        if (this.status && applyIntakeEvent(this.status.intake, event) === null) void this.refresh();
        break;
    }
  }

  dismiss(id: number): void {
    this.attention = this.attention.filter((note) => note.id !== id);
  }
}

/** The one instance the app shares. */
export const live = new LiveStatus();
