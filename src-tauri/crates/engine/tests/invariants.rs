//! Architectural invariants that a compiler would not catch.

use std::process::Command;

/// The headless crates must never pull in Tauri (or anything windowing), directly or
/// through another crate: the engine is a library that a CLI, a daemon and tests run
/// without a display.
#[test]
fn headless_crates_do_not_depend_on_tauri() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for krate in ["shelfsync-engine", "shelfsync-store"] {
        let out = Command::new(&cargo)
            .args([
                "tree",
                "-p",
                krate,
                "-e",
                "normal,build",
                "--prefix",
                "none",
                "--offline",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run cargo tree");
        assert!(
            out.status.success(),
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tree = String::from_utf8_lossy(&out.stdout);
        assert!(
            tree.lines().count() > 1,
            "empty dependency tree for {krate}"
        );
        let offenders: Vec<&str> = tree
            .lines()
            .filter(|l| {
                ["tauri", "wry ", "tao ", "webkit2gtk"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .collect();
        assert!(
            offenders.is_empty(),
            "{krate} depends on windowing crates: {offenders:?}"
        );
    }
}
