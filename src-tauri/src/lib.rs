//! The Shelfsync desktop app: a thin adapter between the engine and a window.
//!
//! Everything a store owner relies on lives in `shelfsync-engine`; this crate only turns
//! engine calls into Tauri commands, engine events into UI events, and engine state into
//! the tray and OS notifications. Keep logic out of here: if it can be tested without a
//! window, it belongs in the engine.

pub mod bindings;
pub mod commands;
pub mod error;
pub mod state;
mod tray;
pub mod views;

use tauri::Manager;

/// Builds and runs the app until the last window closes or the tray's Quit is chosen.
pub fn run() {
    init_tracing();
    let result = tauri::Builder::default()
        // Must be first: a second launch hands its arguments to the running instance and
        // exits, so two engines never sync the same store against each other.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(commands::handler())
        .setup(|app| {
            tray::install(app.handle())?;
            let data_dir = app.path().app_data_dir()?;
            let state = state::AppState::new(app.handle().clone(), data_dir);
            app.manage(state);
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<state::AppState>().resume_saved().await;
            });
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(err) = result {
        tracing::error!(%err, "Shelfsync could not start");
        eprintln!("Shelfsync could not start: {err}");
        std::process::exit(1);
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("SHELFSYNC_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
