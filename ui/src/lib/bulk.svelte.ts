// Where the owner is in a bulk update: choosing a file, looking at its plan, watching it
// apply, reading the result, undoing it; or, first of all, deciding about an update a crash
// stopped midway. Kept outside the page so that leaving the page during a long apply and
// coming back shows the same update, not an empty form.
//
// The plan itself stays in the app: the page gets a view of it and a handle, and applying
// sends the handle back, so what is applied is exactly what was shown.
import type {
  BulkModeView,
  BulkOutcomeView,
  BulkPlanView,
  BulkSummaryView,
  RecoveryView,
  UiError,
  UiEvent,
  UndoPreviewView,
} from "./bindings";
import type { BulkProgress } from "./bulk";
import { onEngineEvent } from "./events";
import { call } from "./ipc";

export type RunKind = "apply" | "undo" | "recover";

/** What the page shows, the first that holds. */
export type Stage = "running" | "recover" | "result" | "planning" | "preview" | "pick";

export class BulkSession {
  /** The file path as typed, pasted or dropped. */
  path = $state("");
  plan: BulkPlanView | null = $state.raw(null);
  planning = $state(false);
  /** The last thing that went wrong, shown where the owner is. */
  error: UiError | null = $state(null);
  mode: BulkModeView = $state("all-or-nothing");
  skipProblems = $state(false);
  /** What is running now, if anything. */
  running: RunKind | null = $state(null);
  progress: BulkProgress | null = $state(null);
  outcome: BulkOutcomeView | null = $state.raw(null);
  /** The file of the update the progress and outcome are about. */
  fileName = $state("");
  undoPreview: UndoPreviewView | null = $state.raw(null);
  loadingUndo = $state(false);
  /** Updates a crash or a lost connection stopped midway, oldest first. */
  unfinished: BulkSummaryView[] = $state.raw([]);
  unfinishedLoaded = $state(false);

  /** A command of ours is awaiting its answer (its result, not the event, ends the run). */
  #awaiting = false;
  // Plain sets on purpose: nothing on screen reads them.
  /** Updates whose run ended here (by a command's answer or a finished event). */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #ended = new Set<number>();
  /** Endings already shown (id and state), so a late event does not show one again. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #endings = new Set<string>();
  #planGeneration = 0;
  #users = 0;
  #unlisten: (() => void) | undefined;

  get stage(): Stage {
    if (this.running) return "running";
    if (this.waiting.length > 0) return "recover";
    if (this.outcome) return "result";
    if (this.planning) return "planning";
    if (this.plan) return "preview";
    return "pick";
  }

  /** Unfinished updates to decide about: not the one running now. */
  get waiting(): BulkSummaryView[] {
    const runningId = this.running ? this.progress?.id : undefined;
    return this.unfinished.filter((u) => u.id !== runningId);
  }

  /** Follows bulk update events while a page is attached. Returns the function that detaches. */
  attach(): () => void {
    if (this.#users++ === 0) this.#unlisten = onEngineEvent((event) => this.apply(event));
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

  apply(event: UiEvent): void {
    if (event.type === "bulkProgress") {
      const progress: BulkProgress = {
        id: event.id,
        reversing: event.reversing,
        done: event.done,
        total: event.total,
        rate: event.rate,
        secondsLeft: event.secondsLeft,
      };
      if (this.running) {
        this.progress = progress;
      } else if (this.#ended.has(event.id)) {
        // Events travel apart from a command's answer and can arrive after it: a late one
        // only completes the bar of the result on screen.
        if (this.outcome?.id === event.id) this.progress = progress;
      } else {
        // An update started before the page was (re)loaded still shows as running.
        this.progress = progress;
        this.running = event.reversing ? "undo" : "apply";
      }
    } else if (event.type === "bulkFinished") {
      const key = outcomeKey(event.outcome);
      if (this.#awaiting || this.#endings.has(key)) return;
      this.#remember(event.outcome);
      this.running = null;
      this.outcome = event.outcome;
      this.fileName = event.fileName;
      void this.loadUnfinished();
    }
  }

  #remember(outcome: BulkOutcomeView): void {
    this.#ended.add(outcome.id);
    this.#endings.add(outcomeKey(outcome));
  }

  async loadUnfinished(): Promise<void> {
    try {
      this.unfinished = await call("unfinished_bulk_updates", {});
    } catch {
      // Not connected, or the journal cannot be read: the page still lets a file be chosen,
      // and planning it says what is wrong.
      this.unfinished = [];
    } finally {
      this.unfinishedLoaded = true;
    }
  }

  /** Reads the file and shows what it would change; nothing is written. */
  async preview(path: string = this.path): Promise<void> {
    const generation = ++this.#planGeneration;
    this.path = path;
    this.planning = true;
    this.error = null;
    this.plan = null;
    this.outcome = null;
    this.undoPreview = null;
    this.progress = null;
    this.skipProblems = false;
    this.mode = "all-or-nothing";
    try {
      const plan = await call("plan_bulk_update", { path });
      if (generation === this.#planGeneration) this.plan = plan;
    } catch (err) {
      if (generation === this.#planGeneration) this.error = err as UiError;
    } finally {
      if (generation === this.#planGeneration) this.planning = false;
    }
  }

  /** Applies the plan on screen, as chosen. */
  async applyPlan(): Promise<void> {
    const plan = this.plan;
    if (!plan || this.running) return;
    this.error = null;
    this.fileName = plan.fileName;
    const outcome = await this.#run("apply", () =>
      call("apply_bulk_update", { handle: plan.handle, mode: this.mode, skipProblems: this.skipProblems }),
    );
    // Read again: the command may have set it meanwhile.
    const failure = this.error as UiError | null;
    if (outcome) {
      this.plan = null;
    } else if (failure?.code !== "invalid_input") {
      // Refused for the file's sake, the same plan can be applied with other choices; after
      // any other failure it may be partly written, and the journal (offered above) has it.
      this.plan = null;
    }
  }

  /** Reads what undoing the shown outcome would do. */
  async showUndo(): Promise<void> {
    const outcome = this.outcome;
    if (!outcome) return;
    this.loadingUndo = true;
    this.error = null;
    try {
      this.undoPreview = await call("bulk_undo_preview", { id: outcome.id });
    } catch (err) {
      this.error = err as UiError;
    } finally {
      this.loadingUndo = false;
    }
  }

  cancelUndo(): void {
    this.undoPreview = null;
  }

  async undo(): Promise<void> {
    const preview = this.undoPreview;
    if (!preview || this.running) return;
    this.error = null;
    await this.#run("undo", () => call("undo_bulk_update", { id: preview.id }));
    this.undoPreview = null;
  }

  /** Rolls back or finishes an update a crash stopped. */
  async recover(update: BulkSummaryView, choice: RecoveryView): Promise<void> {
    if (this.running) return;
    this.error = null;
    this.plan = null;
    this.undoPreview = null;
    this.fileName = update.fileName;
    await this.#run("recover", () => call("recover_bulk_update", { id: update.id, choice }));
  }

  /** Forgets everything: a fresh session (for tests; the app keeps one for its life). */
  reset(): void {
    this.startOver();
    this.path = "";
    this.mode = "all-or-nothing";
    this.skipProblems = false;
    this.running = null;
    this.fileName = "";
    this.loadingUndo = false;
    this.unfinished = [];
    this.unfinishedLoaded = false;
    this.#awaiting = false;
    this.#ended.clear();
    this.#endings.clear();
  }

  /** Back to choosing a file. */
  startOver(): void {
    this.#planGeneration++;
    this.plan = null;
    this.planning = false;
    this.outcome = null;
    this.undoPreview = null;
    this.progress = null;
    this.error = null;
  }

  async #run(kind: RunKind, command: () => Promise<BulkOutcomeView>): Promise<BulkOutcomeView | null> {
    this.running = kind;
    this.progress = null;
    this.#awaiting = true;
    try {
      const outcome = await command();
      this.#remember(outcome);
      this.outcome = outcome;
      return outcome;
    } catch (err) {
      this.error = err as UiError;
      return null;
    } finally {
      this.#awaiting = false;
      this.running = null;
      // A failure midway leaves an unfinished update to decide about; success clears one.
      await this.loadUnfinished();
    }
  }
}

function outcomeKey(outcome: BulkOutcomeView): string {
  return `${outcome.id}:${outcome.state}`;
}

/** The one session the app shares. */
export const bulkSession = new BulkSession();
