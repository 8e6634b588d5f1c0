//! A bare Tauri window: one window showing a trivial page, and nothing else (no tray,
//! plugins, commands or engine).
//!
//! It is the baseline the desktop measurement (`tests/e2e/src/bin/measure.rs`) compares
//! Shelfsync with. Being an example of the app's own crate, it is built with the same Tauri
//! version and features and the same release profile, and runs on the same WebKitGTK
//! webview, so what it costs is what any Tauri window costs here, and what the app costs
//! beyond it is what Shelfsync adds. Its window has the app's size, since the webview's
//! memory grows with the surface it paints.

fn main() {
    let context = tauri::generate_context!("examples/bare_window/tauri.conf.json");
    if let Err(err) = tauri::Builder::default().run(context) {
        eprintln!("the bare window could not start: {err}");
        std::process::exit(1);
    }
}
