//! A harness for driving the built Shelfsync app in its real webview.
//!
//! Each [`DesktopSession`] gets its own private D-Bus session bus (so single-instance,
//! the tray menu and notifications of parallel tests never see each other), its own
//! `WebKitWebDriver` on a free port, and its own XDG directories. The app is the binary
//! named by `SHELFSYNC_APP_BIN` (default: `debug/shelfsync-desktop` in cargo's target
//! directory, `CARGO_TARGET_DIR` or `target/`), built with `--features tauri/custom-protocol`
//! so it serves the built UI instead of a dev server.
//!
//! The tests need a display (`DISPLAY`, e.g. Xvfb) and Debian's `WebKitWebDriver`;
//! `.ci/test` provides both. Talking to WebKitWebDriver directly (not through
//! `tauri-driver`) is deliberate: the proxy dropped connections here.

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root, from this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

/// Where cargo puts what it builds: `CARGO_TARGET_DIR` when set (relative to the workspace
/// root if relative, as cargo reads it from there), else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}

/// The app binary under test.
pub fn app_binary() -> PathBuf {
    std::env::var_os("SHELFSYNC_APP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug/shelfsync-desktop"))
}

/// Where screenshots and logs of the end-to-end tests go (kept as CI artifacts).
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("SHELFSYNC_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("artifacts"))
        .join("e2e");
    std::fs::create_dir_all(&dir).expect("create artifacts dir");
    dir
}

/// A private D-Bus session bus, ended on drop.
pub struct SessionBus {
    child: Child,
    pub address: String,
}

impl SessionBus {
    pub fn start() -> Result<Self> {
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("start dbus-daemon (package dbus)")?;
        let stdout = child.stdout.take().context("dbus-daemon stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let address = line.trim().to_string();
        if address.is_empty() {
            bail!("dbus-daemon printed no address");
        }
        Ok(Self { child, address })
    }

    /// Starts GNOME Keyring's Secret Service on this bus, unlocked, keeping its files under
    /// `home` (so each test has its own keyring), and waits until it owns its bus name.
    pub fn start_keyring(&self, home: &Path) -> Result<()> {
        let runtime = home.join("run");
        std::fs::create_dir_all(&runtime)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))?;
        }
        let mut child = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("HOME", home)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start gnome-keyring-daemon (package gnome-keyring)")?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            stdin.write_all(b"shelfsync-e2e-keyring")?;
        }
        let status = child.wait()?;
        if !status.success() {
            bail!("gnome-keyring-daemon failed: {status}");
        }
        // Without this wait a client can race the daemon and auto-start a second, locked one.
        self.gdbus(&["wait", "--timeout", "10", "org.freedesktop.secrets"])?;
        Ok(())
    }

    /// Runs `gdbus` against this bus and returns its stdout.
    pub fn gdbus(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("gdbus")
            .arg(args[0])
            .args(["--address", &self.address])
            .args(&args[1..])
            .output()
            .context("run gdbus (package libglib2.0-bin)")?;
        if !out.status.success() {
            bail!(
                "gdbus {:?} failed: {}",
                args,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The app running in its webview, driven over WebDriver.
pub struct DesktopSession {
    pub client: Client,
    pub bus: SessionBus,
    driver: Child,
    pub home: tempfile::TempDir,
    name: String,
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl DesktopSession {
    /// Starts the app for the test `name` with extra environment variables.
    pub async fn start(name: &str, env: &[(&str, &str)]) -> Result<Self> {
        Self::start_binary(name, &app_binary(), &[], env).await
    }

    /// Starts `app` (the Shelfsync binary, or another Tauri app such as the bare window the
    /// measurement compares with) with command-line arguments and extra environment variables.
    pub async fn start_binary(
        name: &str,
        app: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        if std::env::var_os("DISPLAY").is_none() {
            bail!("no DISPLAY: run the end-to-end tests through .ci/test (Xvfb)");
        }
        if !app.exists() {
            bail!(
                "app binary {} not found: build it with `cargo build -p shelfsync-desktop --features tauri/custom-protocol`",
                app.display()
            );
        }
        let bus = SessionBus::start()?;
        let home = tempfile::tempdir()?;
        bus.start_keyring(home.path())?;
        let port = free_port()?;
        let log = std::fs::File::create(artifacts_dir().join(format!("{name}.driver.log")))?;
        let mut cmd = Command::new("WebKitWebDriver");
        cmd.arg(format!("--port={port}"))
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("XDG_RUNTIME_DIR", home.path().join("run"))
            .stdout(log.try_clone()?)
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let driver = cmd
            .spawn()
            .context("start WebKitWebDriver (package webkit2gtk-driver)")?;

        let caps: serde_json::Map<String, serde_json::Value> =
            serde_json::from_value(serde_json::json!({
                "webkitgtk:browserOptions": { "binary": app, "args": args }
            }))?;
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(err) if Instant::now() < deadline => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => return Err(anyhow!("WebDriver session did not start: {err}")),
            }
        };
        let session = Self {
            client,
            bus,
            driver,
            home,
            name: name.to_string(),
        };
        session.wait_ready().await?;
        Ok(session)
    }

    /// The process id of this session's `WebKitWebDriver`; the app is its child.
    pub fn driver_pid(&self) -> u32 {
        self.driver.id()
    }

    async fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = self
                .client
                .execute("return document.readyState", vec![])
                .await?;
            if state == "complete" {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("page never finished loading (readyState {state})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for an element matching a CSS selector.
    pub async fn find(&self, css: &str) -> Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("element {css} never appeared"))
    }

    /// Waits until the element's text satisfies `pred`, and returns that text.
    pub async fn wait_text(&self, css: &str, pred: impl Fn(&str) -> bool) -> Result<String> {
        self.wait_text_for(css, pred, 15).await
    }

    /// Waits until `check` returns true, polling for up to 30 s.
    pub async fn wait_for<F, Fut>(&self, check: F) -> Result<()>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if check().await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("condition not met within 30 s")
    }

    /// Like [`DesktopSession::wait_text`], with a timeout in seconds.
    pub async fn wait_text_for(
        &self,
        css: &str,
        pred: impl Fn(&str) -> bool,
        seconds: u64,
    ) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                last = el.text().await.unwrap_or_default();
                if pred(&last) {
                    return Ok(last);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("text of {css} never matched; last seen: {last:?}")
    }

    /// Saves a screenshot of the window as `artifacts/e2e/<test>-<label>.png`, after two
    /// animation frames so the picture shows the latest DOM, not the previous frame.
    pub async fn screenshot(&self, label: &str) -> Result<PathBuf> {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await?;
        let png = self.client.screenshot().await?;
        let path = artifacts_dir().join(format!("{}-{label}.png", self.name));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// The bus name and object path of the app's tray menu (`com.canonical.dbusmenu`), as a
    /// desktop's tray host finds it.
    pub fn tray_menu(&self) -> Result<(String, String)> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let names = self.bus.gdbus(&[
                "call",
                "--dest",
                "org.freedesktop.DBus",
                "--object-path",
                "/org/freedesktop/DBus",
                "--method",
                "org.freedesktop.DBus.ListNames",
            ])?;
            for name in names
                .split(['\'', ','])
                .map(str::trim)
                .filter(|n| n.starts_with(":1."))
            {
                let Ok(tree) = self.bus.gdbus(&[
                    "introspect",
                    "--dest",
                    name,
                    "--object-path",
                    "/",
                    "-r",
                    "-p",
                ]) else {
                    continue;
                };
                if let Some(path) = tree
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("node "))
                    .map(|p| p.trim_end_matches(" {").trim().to_string())
                    .find(|p| {
                        p.starts_with("/org/ayatana/NotificationItem/") && p.ends_with("/Menu")
                    })
                {
                    return Ok((name.to_string(), path));
                }
            }
            if Instant::now() > deadline {
                bail!("no tray menu on the session bus; names: {names}");
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The tray menu's items as (id, label) pairs, in order.
    pub fn tray_items(&self) -> Result<Vec<(i32, String)>> {
        let (owner, path) = self.tray_menu()?;
        let layout = self.bus.gdbus(&[
            "call",
            "--dest",
            &owner,
            "--object-path",
            &path,
            "--method",
            "com.canonical.dbusmenu.GetLayout",
            "--",
            "0",
            "-1",
            "['label']",
        ])?;
        // Items look like `<(7, {'label': <'Pause syncing'>}, @av [])>`.
        let mut items = Vec::new();
        for part in layout.split("<(").skip(1) {
            let Some((id, rest)) = part.split_once(", {") else {
                continue;
            };
            let Ok(id) = id.trim().parse::<i32>() else {
                continue;
            };
            if let Some(label) = rest
                .split_once("'label': <'")
                .and_then(|(_, l)| l.split_once("'>"))
                .map(|(l, _)| l.to_string())
            {
                items.push((id, label));
            }
        }
        Ok(items)
    }

    /// Clicks the tray menu item with this label, as a tray host would.
    pub fn click_tray(&self, label: &str) -> Result<()> {
        let (owner, path) = self.tray_menu()?;
        let items = self.tray_items()?;
        let Some((id, _)) = items.iter().find(|(_, l)| l == label) else {
            bail!("no tray item {label:?} in {items:?}");
        };
        self.bus.gdbus(&[
            "call",
            "--dest",
            &owner,
            "--object-path",
            &path,
            "--method",
            "com.canonical.dbusmenu.Event",
            "--",
            &id.to_string(),
            "clicked",
            "<\"\">",
            "0",
        ])?;
        Ok(())
    }

    /// Waits until a tray item with `label` exists.
    pub async fn wait_tray_item(&self, label: &str, seconds: u64) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let items = self.tray_items()?;
            if items.iter().any(|(_, l)| l == label) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("tray never showed {label:?}; it shows {items:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Records the desktop notifications the app sends on its session bus (the
    /// `org.freedesktop.Notifications.Notify` calls), from now on.
    pub fn watch_notifications(&self) -> Result<NotificationLog> {
        let file = tempfile::NamedTempFile::new()?;
        let child = Command::new("dbus-monitor")
            .args([
                "--address",
                &self.bus.address,
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(file.reopen()?)
            .stderr(Stdio::null())
            .spawn()
            .context("start dbus-monitor (package dbus-bin)")?;
        // Give the monitor a moment to register its match rule.
        std::thread::sleep(Duration::from_millis(300));
        Ok(NotificationLog { child, file })
    }

    /// Ends the WebDriver session (closing the app) and the driver.
    pub async fn close(mut self) -> Result<()> {
        let result = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        result.map_err(|e| anyhow!("closing the session: {e}"))
    }
}

impl Drop for DesktopSession {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Notifications seen on a session bus by `dbus-monitor`.
pub struct NotificationLog {
    child: Child,
    file: tempfile::NamedTempFile,
}

impl NotificationLog {
    /// Waits until a notification with this title (its summary) was sent.
    pub async fn wait_for_title(&self, title: &str, seconds: u64) -> Result<()> {
        let needle = format!("string \"{title}\"");
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let seen = std::fs::read_to_string(self.file.path()).unwrap_or_default();
            if seen.contains(&needle) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("no notification titled {title:?}; the bus saw:\n{seen}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for NotificationLog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
