// Files dropped on the window. Tauri hands the page their paths (a web page would only get
// their contents), which is what the engine plans from. Pages subscribe here instead of
// calling Tauri directly, so tests can replace this module.
import { getCurrentWebview } from "@tauri-apps/api/webview";

export type DropHandler = (event: { type: "over" } | { type: "drop"; paths: string[] } | { type: "leave" }) => void;

/**
 * Calls `handler` while files are dragged over the window and when they are dropped, until
 * the returned function is called. Outside the desktop window it does nothing.
 */
export function onFileDrop(handler: DropHandler): () => void {
  let stopped = false;
  let unlisten: (() => void) | undefined;
  try {
    getCurrentWebview()
      .onDragDropEvent(({ payload }) => {
        if (stopped) return;
        if (payload.type === "drop") handler({ type: "drop", paths: payload.paths });
        else if (payload.type === "leave") handler({ type: "leave" });
        else handler({ type: "over" });
      })
      .then(
        (stop) => {
          if (stopped) stop();
          else unlisten = stop;
        },
        (err: unknown) => console.warn("dropping files is not available:", err),
      );
  } catch (err) {
    console.warn("dropping files is not available:", err);
  }
  return () => {
    stopped = true;
    unlisten?.();
    unlisten = undefined;
  };
}
