// The one way the UI hears from the Rust side: engine events on `ENGINE_EVENT`, typed as
// the generated `UiEvent`. Pages subscribe here instead of calling Tauri directly, so tests
// can replace this module.
import { listen } from "@tauri-apps/api/event";
import { ENGINE_EVENT, type UiEvent } from "./bindings";

export type EngineEventHandler = (event: UiEvent) => void;

/**
 * Calls `handler` for every engine event until the returned function is called.
 * Subscribing is asynchronous in Tauri; stopping before it completes still unsubscribes.
 */
export function onEngineEvent(handler: EngineEventHandler): () => void {
  let stopped = false;
  let unlisten: (() => void) | undefined;
  listen<UiEvent>(ENGINE_EVENT, (event) => {
    if (!stopped) handler(event.payload);
  }).then(
    (stop) => {
      if (stopped) stop();
      else unlisten = stop;
    },
    (err: unknown) => {
      // Outside the desktop window (a plain browser) there is no event channel; the pages
      // still work from their commands, only without live updates.
      console.warn("engine events are not available:", err);
    },
  );
  return () => {
    stopped = true;
    unlisten?.();
    unlisten = undefined;
  };
}
