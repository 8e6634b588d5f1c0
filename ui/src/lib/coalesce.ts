// Re-fetching a list when engine events say it changed, without fetching once per event.
// A burst of events within the window becomes one fetch; events that arrive while a fetch
// runs become one follow-up after it. Nothing runs without an event (no polling).

/** How long a first event waits for the rest of its burst. */
export const COALESCE_MS = 250;

export class Coalescer {
  readonly #run: () => Promise<void>;
  readonly #delayMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  /** `run` should handle its own errors; one that escapes is dropped. */
  constructor(run: () => Promise<void>, delayMs = COALESCE_MS) {
    this.#run = run;
    this.#delayMs = delayMs;
  }

  /** Asks for a run soon. Requests until it starts share it. */
  request(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.now();
    }, this.#delayMs);
  }

  /**
   * Runs now (taking the place of a scheduled run), or, when a run is under way, once
   * more right after it. Resolves when the run that includes this request is done.
   */
  now(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Drops whatever is scheduled; later requests do nothing. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#again = false;
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      try {
        await this.#run();
      } catch {
        // The caller shows its own errors; a failed run must not stop later ones.
      }
    } while (this.#again && !this.#stopped);
  }
}
