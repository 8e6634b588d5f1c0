//! The Shelfsync desktop app: a thin adapter between the engine and a window.
//!
//! Everything a store owner relies on lives in `shelfsync-engine`; this crate only turns
//! engine calls into Tauri commands, engine events into UI events, and engine state into
//! the tray and OS notifications. Keep logic out of here: if it can be tested without a
//! window, it belongs in the engine.

pub mod bindings;
pub mod bulk;
pub mod commands;
pub mod error;
pub mod intake;
pub mod orders;
mod security;
pub mod settings;
pub mod state;
pub mod tray;
pub mod views;

use tauri::Manager;

/// Keeps the log file writer flushing for the life of the app.
struct LogGuard {
    _writer: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Builds and runs the app until the last window closes or the tray's Quit is chosen.
pub fn run() {
    let result = tauri::Builder::default()
        // Must be first: a second launch hands its arguments to the running instance and
        // exits, so two engines never sync the same store against each other.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            tray::show_main_window(app);
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        // Remembers the window's size and position between runs.
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .invoke_handler(commands::handler())
        // Closing the window hides it: syncing goes on, and the tray brings it back.
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event
                && window.label() == "main"
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .setup(|app| {
            let guard = init_tracing(app.path().app_log_dir().ok().as_deref());
            app.manage(LogGuard { _writer: guard });
            let tray = tray::Tray::install(app.handle())?;
            app.manage(tray);
            let data_dir = app.path().app_data_dir()?;
            let config_dir = app.path().app_config_dir()?;
            let state = state::AppState::new(app.handle().clone(), data_dir, config_dir);
            app.manage(state);
            // `--demo` opens straight onto the demo store (the README's first command).
            let demo = std::env::args().any(|a| a == "--demo");
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let state = handle.state::<state::AppState>();
                if demo {
                    if let Err(err) = state.open_demo().await {
                        tracing::error!(error = %err, "the demo store did not start");
                    }
                } else {
                    state.resume_saved().await;
                }
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

/// Logs go to stderr and to a daily rolling file in the OS log directory
/// (`SHELFSYNC_LOG` takes an `EnvFilter` directive, default `info`). Nothing logged carries
/// a secret: secrets are `Secret` values, whose `Debug` and `Display` are redacted.
fn init_tracing(
    log_dir: Option<&std::path::Path>,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, fmt};
    let filter =
        EnvFilter::try_from_env("SHELFSYNC_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let (file_layer, guard) = match log_dir.map(|d| (d, std::fs::create_dir_all(d))) {
        Some((dir, Ok(()))) => {
            let appender = tracing_appender::rolling::daily(dir, "shelfsync.log");
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (
                Some(fmt::layer().with_ansi(false).with_writer(writer)),
                Some(guard),
            )
        }
        _ => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(file_layer)
        .try_init();
    guard
}
