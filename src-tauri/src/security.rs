//! Checks of what the webview may do: the content security policy and the capabilities in
//! `tauri.conf.json` allow only what the UI uses. The UI talks to Rust through `invoke` (the
//! app's own commands, which need no permission while the app defines no command manifest)
//! and listens to events (engine events, and the drag-drop of a file); everything else — the
//! tray, notifications, the window's state, start at login — is done from Rust, which
//! capabilities do not gate.

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn config() -> serde_json::Value {
        let text = std::fs::read_to_string(root().join("tauri.conf.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn directives(csp: &str) -> Vec<(String, Vec<String>)> {
        csp.split(';')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| {
                let mut parts = d.split_whitespace().map(str::to_owned);
                (parts.next().unwrap(), parts.collect())
            })
            .collect()
    }

    #[test]
    fn both_copies_of_the_tauri_config_are_the_same() {
        let top = std::fs::read(root().join("tauri.conf.json")).unwrap();
        let app = std::fs::read(root().join("src-tauri/tauri.conf.json")).unwrap();
        assert!(
            top == app,
            "tauri.conf.json and src-tauri/tauri.conf.json differ"
        );
    }

    #[test]
    fn the_csp_loads_only_the_apps_own_files_and_talks_only_to_ipc() {
        let config = config();
        let csp = config["app"]["security"]["csp"]
            .as_str()
            .expect("a CSP is set");
        let directives = directives(csp);
        let get = |name: &str| {
            directives
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.iter().map(String::as_str).collect::<Vec<_>>())
                .unwrap_or_else(|| panic!("the CSP has no {name}"))
        };
        assert_eq!(get("default-src"), ["'self'"]);
        assert_eq!(get("script-src"), ["'self'"]);
        assert_eq!(get("connect-src"), ["ipc:", "http://ipc.localhost"]);
        for name in ["object-src", "base-uri", "form-action", "frame-ancestors"] {
            assert_eq!(get(name), ["'none'"], "{name}");
        }
        for (name, sources) in &directives {
            for s in sources {
                assert!(
                    !matches!(
                        s.as_str(),
                        "*" | "'unsafe-inline'" | "'unsafe-eval'" | "https:" | "http:"
                    ),
                    "{name} allows {s}"
                );
            }
        }
    }

    /// Every `@tauri-apps/*` module and name the UI imports.
    fn ui_imports(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                ui_imports(&path, found);
                continue;
            }
            let is_source = path.extension().is_some_and(|e| e == "ts" || e == "svelte");
            let is_test = path.to_string_lossy().contains(".test.");
            if !is_source || is_test {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                let line = line.trim();
                if let Some((names, module)) = line
                    .strip_prefix("import {")
                    .and_then(|rest| rest.split_once("} from \"@tauri-apps/"))
                {
                    let module = module.trim_end_matches(['"', ';']);
                    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                        found.insert(format!("{module}:{name}"));
                    }
                } else {
                    assert!(
                        !line.contains("@tauri-apps/"),
                        "{}: an import of Tauri's API this check does not read: {line}",
                        path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn the_window_may_only_listen_to_events_which_is_all_the_ui_uses() {
        let mut imports = BTreeSet::new();
        ui_imports(&root().join("ui/src"), &mut imports);
        // Should the UI start using more of Tauri's API, its permission goes in the
        // capability below and here.
        assert_eq!(
            imports.into_iter().collect::<Vec<_>>(),
            [
                "api/core:invoke",
                "api/event:listen",
                "api/webview:getCurrentWebview"
            ],
            "the UI uses more of Tauri than the capability allows"
        );
        let config = config();
        let capabilities = config["app"]["security"]["capabilities"]
            .as_array()
            .unwrap();
        assert_eq!(capabilities.len(), 1);
        assert_eq!(capabilities[0]["windows"], serde_json::json!(["main"]));
        assert_eq!(
            capabilities[0]["permissions"],
            serde_json::json!(["core:event:allow-listen", "core:event:allow-unlisten"]),
            "listening to engine events and to a dropped file is all the window may do"
        );
        assert!(
            !root().join("src-tauri/capabilities").exists(),
            "capabilities live in tauri.conf.json only"
        );
    }
}
