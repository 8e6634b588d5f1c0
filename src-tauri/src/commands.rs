//! Tauri commands: each one calls the engine and maps its errors to [`UiError`].
//!
//! The list in [`ui_commands!`] is the single source for both the invoke handler and the
//! TypeScript `Commands` map in `ui/src/lib/bindings.ts`, so a command cannot be
//! registered without a typed signature in the UI, or the other way round.

use crate::error::UiError;
use serde::Serialize;
use tauri::AppHandle;
use ts_rs::TS;

/// Who is running: shown in the UI's status line.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub product_name: String,
    pub version: String,
    pub engine_version: String,
}

#[tauri::command]
pub fn app_info(app: AppHandle) -> Result<AppInfo, UiError> {
    let info = app.package_info();
    Ok(AppInfo {
        product_name: info.name.clone(),
        version: info.version.to_string(),
        engine_version: shelfsync_engine::VERSION.to_string(),
    })
}

/// One command's TypeScript signature: name, arguments (`name: Type` pairs as the UI
/// passes them, camelCase) and result type.
pub struct CommandSignature {
    pub name: &'static str,
    pub args: Vec<(&'static str, String)>,
    pub result: String,
}

macro_rules! ui_commands {
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        /// The invoke handler for every command the UI may call.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        /// The signatures of those same commands, for the TypeScript bindings.
        pub fn signatures() -> Vec<CommandSignature> {
            vec![$(CommandSignature {
                name: stringify!($name),
                args: vec![$((stringify!($arg), <$ty as ts_rs::TS>::name(&ts_rs::Config::default()))),*],
                result: <$ret as ts_rs::TS>::name(&ts_rs::Config::default()),
            }),*]
        }
    };
}

ui_commands! {
    fn app_info() -> AppInfo;
}
