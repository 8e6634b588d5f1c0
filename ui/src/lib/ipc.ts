// The one way the UI talks to the Rust side. Command names, arguments and results
// are checked against the generated `Commands` map, and every failure reaches the
// UI as a `UiError`, so pages only ever handle one error shape.
import { invoke } from "@tauri-apps/api/core";
import type { Commands, ErrorCode, UiError } from "./bindings";

// `satisfies` makes the compiler flag this list when the Rust side adds or drops a code.
const ERROR_CODES = {
  not_connected: true,
  credentials: true,
  keychain: true,
  store_unreachable: true,
  invalid_input: true,
  conflict: true,
  internal: true,
} as const satisfies Record<ErrorCode, true>;

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

/** Turns whatever a failed `invoke` rejected with into a `UiError`. */
export function toUiError(err: unknown): UiError {
  if (typeof err === "object" && err !== null && !(err instanceof Error)) {
    const { code, message, field } = err as { code?: unknown; message?: unknown; field?: unknown };
    if (typeof message === "string") {
      // A code this build does not know yet still shows its message.
      const error: UiError = { code: isErrorCode(code) ? code : "internal", message };
      if (typeof field === "string") error.field = field;
      return error;
    }
  }
  return { code: "internal", message: String(err) };
}

/** Runs a typed command; rejects with a `UiError`. */
export async function call<K extends keyof Commands>(
  cmd: K,
  args: Commands[K]["args"],
): Promise<Commands[K]["result"]> {
  try {
    return await invoke<Commands[K]["result"]>(cmd, args as Record<string, unknown>);
  } catch (err) {
    throw toUiError(err);
  }
}
