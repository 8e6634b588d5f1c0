// This file is generated from the Rust types by `cargo test -p shelfsync-desktop` (bindings test). Do not edit.

export type AppInfo = { productName: string, version: string, engineVersion: string, };

export type ErrorCode = "not_connected" | "credentials" | "keychain" | "store_unreachable" | "invalid_input" | "conflict" | "internal";

export type UiError = { code: ErrorCode, message: string, };

export type Commands = { app_info: { args: Record<string, never>, result: AppInfo }, };
