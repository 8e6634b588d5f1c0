//! The desktop app's measurement, in one run: cold start, memory and scrolling
//! responsiveness of the release app, beside a bare Tauri window measured the same way.
//!
//! What is measured, and how:
//! - **Cold start to a usable window**: from the app process's start (its start time in
//!   `/proc/<pid>/stat`) to the moment WebDriver first sees the page's first meaningful
//!   element laid out: the dashboard's store summary or its "connect a store" prompt, which
//!   both need a round trip to Rust; for the bare window its heading. "Cold" means a new
//!   process with empty data and config directories; the OS file cache is warm after the
//!   first launch. The element is polled every 20 ms, so a figure can be up to 20 ms late.
//! - **Memory**: PSS (`/proc/<pid>/smaps_rollup`) summed over the app process and all its
//!   descendants (`WebKitWebProcess`, `WebKitNetworkProcess`), after a fixed settle time,
//!   with its anonymous and file-backed parts. Idle is the app with no store connected. With
//!   50,000 variants, the store is the simulator (`shopify-sim`) in a process of its own,
//!   shaped like the demo store (`--products` × 3 variants × 3 locations) and connected
//!   through the `connect_store` command the Connect page uses, since a real store is on
//!   Shopify's servers, not in the app: measured once the first full sync has finished
//!   (dashboard), and again after the Inventory list has been scrolled through to its last
//!   row, 100 rows a step, each step waiting until the row at the top of the view has loaded,
//!   so every page of rows has been loaded once (the list keeps only the pages near the view).
//!   The simulator's own PSS is recorded apart. For comparison, the app is also launched on
//!   its demo store of the same size (`--demo`, whose simulator runs inside the app's
//!   process) and measured once synced; and the bare window is measured again after
//!   scrolling its plain list (below), which pages in WebKit's own scrolling and painting.
//! - **Responsiveness**: three full syncs of the same store run back to back (through the
//!   `sync_now` command the dashboard's button calls), and while they run a script on the
//!   Inventory page scrolls the windowed list by a fixed amount
//!   every animation frame and records the intervals between frames: p50, p95, max and the
//!   number of long frames (over 50 ms); the baseline is the same scrolling for 5 s just
//!   before, without a sync. The 1-minute load average is recorded beside them, since other
//!   work on the same cores shows in frame times. As the webview's own floor, the bare window
//!   scrolls a plain list of 2,000 static rows of the same shape the same way for 5 s, after
//!   its idle memory has been taken (so it does not change that figure).
//!
//! The bare window (`src-tauri/examples/bare_window.rs`) and the app are launched in turn,
//! `--runs` times each, and the medians are compared. Run it through `.ci/measure-desktop`,
//! which builds them in release and runs this inside a private session (Xvfb, D-Bus).
//!
//! Options: `--runs N` (3), `--products N` (16,667: 50,001 variants), `--settle SECONDS`
//! (10), `--scroll-px N` (pixels per frame, 400), `--app PATH`, `--bare PATH`, `--sim PATH`
//! (all three under `release/` in cargo's target directory), `--out PATH`
//! (`measure/desktop.json` in cargo's target directory, `CARGO_TARGET_DIR` or `target/`).

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use shelfsync_e2e::{DesktopSession, target_dir};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The goals: idle memory within 1.3× of the bare window, 50,000 variants within 2×.
const IDLE_GOAL: f64 = 1.3;
const LOADED_GOAL: f64 = 2.0;
/// A frame longer than this is a visible stutter.
const LONG_FRAME_MS: f64 = 50.0;
/// How long the list scrolls without a sync, as the baseline for the frames during one.
const QUIET_S: u64 = 5;
/// The Inventory list's row height (`ROW_HEIGHT` in `ui/src/pages/Inventory.svelte`).
const ROW_HEIGHT_PX: u32 = 36;

struct Options {
    runs: usize,
    products: usize,
    settle: Duration,
    scroll_px: u32,
    app: PathBuf,
    bare: PathBuf,
    sim: PathBuf,
    out: PathBuf,
}

impl Options {
    fn parse() -> Result<Self> {
        let target = target_dir();
        let mut options = Self {
            runs: 3,
            products: 16_667,
            settle: Duration::from_secs(10),
            scroll_px: 400,
            app: target.join("release/shelfsync-desktop"),
            bare: target.join("release/examples/bare_window"),
            sim: target.join("release/shopify-sim"),
            out: target.join("measure/desktop.json"),
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .with_context(|| format!("{flag} takes a number, not {value:?}"))
            };
            match flag.as_str() {
                "--runs" => options.runs = usize::try_from(number()?.max(1))?,
                "--products" => options.products = usize::try_from(number()?.max(1))?,
                "--settle" => options.settle = Duration::from_secs(number()?),
                "--scroll-px" => options.scroll_px = u32::try_from(number()?.max(1))?,
                "--app" => options.app = PathBuf::from(&value),
                "--bare" => options.bare = PathBuf::from(&value),
                "--sim" => options.sim = PathBuf::from(&value),
                "--out" => options.out = PathBuf::from(&value),
                _ => bail!("unknown option {flag}; see the module docs of measure.rs"),
            }
        }
        for binary in [&options.app, &options.bare, &options.sim] {
            if !binary.exists() {
                bail!(
                    "{} not found: build it with `cargo build --release -p shelfsync-desktop \
                     --bin shelfsync-desktop --example bare_window` and \
                     `cargo build --release -p shopify-sim --bin shopify-sim`",
                    binary.display()
                );
            }
        }
        Ok(options)
    }

    fn variants(&self) -> usize {
        self.products * 3
    }
}

// ---- processes -------------------------------------------------------------------------

/// Seconds since boot, on the clock `/proc/<pid>/stat` start times use.
fn uptime() -> Result<f64> {
    let text = std::fs::read_to_string("/proc/uptime")?;
    text.split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .context("unreadable /proc/uptime")
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// A process's parent, name and start time (in clock ticks since boot).
struct Stat {
    ppid: u32,
    name: String,
    start_ticks: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name is in parentheses and may hold spaces; the fields after it are plain.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text[open + 1..close].to_string();
    let rest: Vec<&str> = text[close + 2..].split_whitespace().collect();
    // After the name: state (field 3), ppid (4), … starttime (22).
    Some(Stat {
        ppid: rest.get(1)?.parse().ok()?,
        name,
        start_ticks: rest.get(19)?.parse().ok()?,
    })
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `root` and every process below it.
fn tree(root: u32) -> Vec<(u32, String)> {
    let stats: HashMap<u32, Stat> = all_pids()
        .into_iter()
        .filter_map(|p| stat(p).map(|s| (p, s)))
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        let mut children: Vec<u32> = stats
            .iter()
            .filter(|(_, s)| s.ppid == parent)
            .map(|(p, _)| *p)
            .collect();
        children.sort_unstable();
        found.extend(children);
        i += 1;
    }
    found
        .into_iter()
        .filter_map(|p| stats.get(&p).map(|s| (p, s.name.clone())))
        .collect()
}

/// A process's PSS in KiB, and its anonymous and file-backed parts (the latter mostly
/// shared libraries, whose pages are shared with, and so divided among, every process on the
/// machine that maps them: other WebKit processes running meanwhile lower this figure).
#[derive(Default, Clone, Copy)]
struct Pss {
    total: u64,
    anon: u64,
    file: u64,
}

fn pss(pid: u32) -> Option<Pss> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Pss {
        total: field("Pss:")?,
        anon: field("Pss_Anon:").unwrap_or(0),
        file: field("Pss_File:").unwrap_or(0),
    })
}

/// PSS of a process tree: the total and each process, each split into anonymous and file.
fn memory(root: u32) -> Value {
    let mut total = Pss::default();
    let mut processes = Vec::new();
    for (pid, name) in tree(root) {
        if let Some(p) = pss(pid) {
            total.total += p.total;
            total.anon += p.anon;
            total.file += p.file;
            processes.push(json!({
                "pid": pid,
                "name": name,
                "pss_mib": mib(p.total),
                "pss_anon_mib": mib(p.anon),
                "pss_file_mib": mib(p.file),
            }));
        }
    }
    json!({
        "pss_mib": mib(total.total),
        "pss_anon_mib": mib(total.anon),
        "pss_file_mib": mib(total.file),
        "processes": processes,
    })
}

fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

/// The app the session's WebKitWebDriver started: its child running `binary`.
async fn app_pid(session: &DesktopSession, binary: &Path) -> Result<u32> {
    let name = binary.file_name().context("binary has a file name")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for (pid, _) in tree(session.driver_pid()).into_iter().skip(1) {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            if exe.file_name() == Some(name) {
                return Ok(pid);
            }
        }
        if Instant::now() > deadline {
            bail!("no {} process under the WebDriver", binary.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- one launch ------------------------------------------------------------------------

struct Launch {
    session: DesktopSession,
    pid: u32,
    /// When the process started, in seconds since boot.
    started: f64,
}

async fn launch(name: &str, binary: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Launch> {
    let session = DesktopSession::start_binary(name, binary, args, env).await?;
    let pid = app_pid(&session, binary).await?;
    let started = stat(pid).context("app process vanished")?.start_ticks as f64 / clock_ticks();
    Ok(Launch {
        session,
        pid,
        started,
    })
}

impl Launch {
    /// Seconds from the process's start until `css` is laid out (has a size) on the page.
    async fn time_to_visible(&self, css: &str, seconds: u64) -> Result<f64> {
        let script = format!(
            "const e = document.querySelector({});\
             if (!e) return false; const r = e.getBoundingClientRect();\
             return r.width > 0 && r.height > 0;",
            serde_json::to_string(css)?
        );
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if self.session.client.execute(&script, vec![]).await? == Value::Bool(true) {
                return Ok(uptime()? - self.started);
            }
            if Instant::now() > deadline {
                bail!("{css} never became visible");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// When the page started loading and first painted, in seconds from the process start.
    async fn page_timings(&self) -> Result<Value> {
        let page = self
            .session
            .client
            .execute(
                "const p = performance.getEntriesByName('first-contentful-paint')[0];\
                 return { origin: performance.timeOrigin, fcp: p ? p.startTime : null };",
                vec![],
            )
            .await?;
        let now_epoch = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
        let start_epoch = now_epoch - (uptime()? - self.started);
        let origin = page["origin"].as_f64().unwrap_or(0.0) / 1000.0 - start_epoch;
        let fcp = page["fcp"].as_f64().map(|ms| round3(origin + ms / 1000.0));
        Ok(json!({ "navigation_start_s": round3(origin), "first_contentful_paint_s": fcp }))
    }

    async fn settled_memory(&self, settle: Duration) -> Value {
        tokio::time::sleep(settle).await;
        memory(self.pid)
    }

    async fn click(&self, css: &str) -> Result<()> {
        self.session.find(css).await?.click().await?;
        Ok(())
    }

    async fn close(self) -> Result<()> {
        self.session.close().await
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---- the phases ------------------------------------------------------------------------

const APP_USABLE: &str = "[data-testid=no-store], [data-testid=store]";

/// Cold start and idle memory of the bare window and of the app (no store), in turn.
async fn idle_runs(o: &Options) -> Result<(Vec<Value>, Vec<Value>)> {
    let (mut bare, mut app) = (Vec::new(), Vec::new());
    for run in 1..=o.runs {
        let l = launch(&format!("measure-bare-{run}"), &o.bare, &[], &[]).await?;
        let start = l.time_to_visible("#ready", 30).await?;
        let page = l.page_timings().await?;
        let mem = l.settled_memory(o.settle).await;
        let scrolling = plain_list_frames(&l, o).await?;
        let after_list = l.settled_memory(o.settle).await;
        eprintln!(
            "bare window, run {run}: usable after {start:.3} s, {} MiB PSS; a plain list scrolls at \
             p50 {} ms, p95 {} ms a frame, and leaves it at {} MiB PSS",
            mem["pss_mib"],
            scrolling["frame_p50_ms"],
            scrolling["frame_p95_ms"],
            after_list["pss_mib"]
        );
        bare.push(json!({
            "cold_start_s": round3(start),
            "page": page,
            "idle": mem,
            "plain_list_scrolling": scrolling,
            "after_plain_list": after_list,
        }));
        l.close().await?;

        let l = launch(&format!("measure-app-{run}"), &o.app, &[], &[]).await?;
        let start = l.time_to_visible(APP_USABLE, 30).await?;
        let page = l.page_timings().await?;
        let mem = l.settled_memory(o.settle).await;
        eprintln!(
            "app, run {run}: usable after {start:.3} s, {} MiB PSS",
            mem["pss_mib"]
        );
        app.push(json!({ "cold_start_s": round3(start), "page": page, "idle": mem }));
        l.close().await?;
    }
    Ok((bare, app))
}

/// The simulator as the store, in a process of its own, as a real store is on Shopify's
/// servers: the demo store's shape (`--products` × 3 variants × 3 locations, seed 7, the Plus
/// plan's API budget), with an admin token. Stopped on drop.
struct StoreProcess {
    child: Child,
    /// Kept open: the simulator's stdout stays a pipe with a reader.
    _stdout: BufReader<ChildStdout>,
    base_url: String,
    token: String,
}

impl StoreProcess {
    const TOKEN: &str = "shpat_measure";

    fn start(o: &Options) -> Result<Self> {
        let products = o.products.to_string();
        let mut child = Command::new(&o.sim)
            .args(["--port", "0", "--seed", "7", "--products", &products])
            .args([
                "--variants-per-product",
                "3",
                "--locations",
                "3",
                "--plan",
                "plus",
            ])
            .args(["--admin-token", Self::TOKEN])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("start the simulator {}", o.sim.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().context("the simulator's stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let info: Value = serde_json::from_str(&line)
            .with_context(|| format!("the simulator's start line: {line:?}"))?;
        let base_url = info["base_url"]
            .as_str()
            .context("no base_url in the simulator's start line")?
            .to_string();
        Ok(Self {
            child,
            _stdout: stdout,
            base_url,
            token: Self::TOKEN.to_string(),
        })
    }

    fn memory(&self) -> Value {
        memory(self.child.id())
    }
}

impl Drop for StoreProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the dashboard says the first full sync finished with all `--products` × 3
/// variants in the local copy; returns the seconds waited.
async fn wait_first_sync(l: &Launch, o: &Options) -> Result<f64> {
    let variants = thousands(o.variants());
    let plain = o.variants().to_string();
    let began = Instant::now();
    l.session
        .wait_text_for("[data-testid=sync-finished]", |t| !t.trim().is_empty(), 600)
        .await?;
    l.session
        .wait_text_for(
            "[data-testid=cache-counts]",
            |t| t.contains(&variants) || t.contains(&plain),
            120,
        )
        .await?;
    let first_sync_s = began.elapsed().as_secs_f64();
    eprintln!("first full sync of {variants} variants seen finished after {first_sync_s:.1} s");
    Ok(first_sync_s)
}

/// The app connected to a store of `--products` products in its own process
/// ([`StoreProcess`]): memory once synced, scrolling during full syncs, and memory once the
/// list has been scrolled through to its last row.
async fn loaded_run(o: &Options) -> Result<Value> {
    let store = StoreProcess::start(o)?;
    let l = launch("measure-app-loaded", &o.app, &[], &[]).await?;
    l.time_to_visible("[data-testid=no-store]", 60).await?;
    // What the Connect page's form sends, with the store's admin token.
    let refused = l
        .session
        .client
        .execute_async(
            "const [address, token] = arguments;\
             const done = arguments[arguments.length - 1];\
             window.__TAURI_INTERNALS__\
               .invoke('connect_store', { request: { address, clientId: null }, secret: token })\
               .then(() => done(null), (e) => done(e));",
            vec![json!(store.base_url), json!(store.token)],
        )
        .await?;
    if !refused.is_null() {
        bail!(
            "the app did not connect to the simulator at {}: {refused}",
            store.base_url
        );
    }
    l.time_to_visible("[data-testid=store]", 60).await?;
    let first_sync_s = wait_first_sync(&l, o).await?;
    let synced = l.settled_memory(o.settle).await;
    eprintln!("synced: {} MiB PSS", synced["pss_mib"]);

    let scrolling = scroll_during_full_sync(&l, o).await?;
    // Apart from the table: what the syncs and that scrolling left, before the scroll
    // through the list, so growth can be told apart between the two.
    let after_syncs = l.settled_memory(o.settle).await;
    eprintln!(
        "after the syncs and the scrolling during them: {} MiB PSS",
        after_syncs["pss_mib"]
    );

    // Scroll through the whole list to its last row, a step at a time, each step waiting
    // until the row at the top of the view has loaded: every page of rows is loaded once on
    // the way, as when the owner scrolls to the bottom.
    let began = Instant::now();
    let through = scroll_through_list(&l, o.variants()).await?;
    let scrolled_through_s = began.elapsed().as_secs_f64();
    let scrolled = l.settled_memory(o.settle).await;
    eprintln!(
        "scrolled through the list to its last row ({} steps) after {scrolled_through_s:.1} s: {} MiB PSS",
        through["steps"], scrolled["pss_mib"]
    );
    l.close().await?;
    let store_memory = store.memory();
    eprintln!(
        "the store's own process: {} MiB PSS",
        store_memory["pss_mib"]
    );
    drop(store);
    Ok(json!({
        "products": o.products,
        "variants": o.variants(),
        "store": "the simulator in its own process (not counted)",
        "store_process": store_memory,
        "first_full_sync_s": round3(first_sync_s),
        "synced": synced,
        "scrolling": scrolling,
        "after_syncs": after_syncs,
        "scrolled_through_s": round3(scrolled_through_s),
        "scroll_through": through,
        "scrolled_through_list": scrolled,
    }))
}

/// For comparison, the app on its demo store of the same size, whose simulator runs inside
/// the app's process: memory once the first full sync has finished.
async fn demo_run(o: &Options) -> Result<Value> {
    let products = o.products.to_string();
    let l = launch(
        "measure-app-demo",
        &o.app,
        &["--demo"],
        &[("SHELFSYNC_DEMO_PRODUCTS", &products)],
    )
    .await?;
    let start = l.time_to_visible("[data-testid=store]", 60).await?;
    let first_sync_s = wait_first_sync(&l, o).await?;
    let synced = l.settled_memory(o.settle).await;
    eprintln!(
        "demo store (simulator in the app's process), synced: {} MiB PSS",
        synced["pss_mib"]
    );
    l.close().await?;
    Ok(json!({
        "cold_start_to_store_s": round3(start),
        "first_full_sync_s": round3(first_sync_s),
        "synced": synced,
    }))
}

/// Opens the Inventory page, scrolls it by a fixed amount every animation frame, and while
/// it scrolls runs `SYNCS` full syncs back to back (through the app's `sync_now` command,
/// which the dashboard's "Full sync" button calls), recording the intervals between frames
/// from the first sync's start to the last one's end. The ends come from the app's own
/// `engine-event`s, listened to on the page the way the UI listens.
async fn scroll_during_full_sync(l: &Launch, o: &Options) -> Result<Value> {
    const SYNCS: u32 = 3;
    const QUIET_MS: u64 = QUIET_S * 1000;
    l.click("[data-testid=nav-inventory]").await?;
    l.session.find("[data-testid=inventory-row]").await?;
    let load_before = load_average();
    l.session
        .client
        .execute(
            "const [px, syncs, quietMs] = arguments;\
             const tauri = window.__TAURI_INTERNALS__;\
             const s = document.querySelector('[data-testid=page-inventory] .scroller');\
             const m = { quiet: [], intervals: [], top: 0, syncs: [], startedAt: null, finishedAt: null };\
             window.__measure = m;\
             let syncStart = 0;\
             const startSync = () => { syncStart = performance.now(); return tauri.invoke('sync_now', { full: true }); };\
             const handler = tauri.transformCallback((e) => {\
               const ev = e.payload;\
               if (ev.type !== 'syncFinished' || !ev.full || m.finishedAt !== null) return;\
               m.syncs.push(performance.now() - syncStart);\
               if (m.syncs.length < syncs) startSync(); else m.finishedAt = performance.now();\
             });\
             let last = 0;\
             const step = (t) => {\
               if (m.finishedAt !== null) return;\
               if (last) (m.startedAt === null ? m.quiet : m.intervals).push(t - last);\
               last = t;\
               s.scrollTop += px;\
               m.top = Math.max(m.top, s.scrollTop);\
               requestAnimationFrame(step);\
             };\
             requestAnimationFrame(step);\
             return tauri.invoke('plugin:event|listen', { event: 'engine-event', target: { kind: 'Any' }, handler })\
               .then(() => setTimeout(() => { m.startedAt = performance.now(); startSync(); }, quietMs));",
            vec![json!(o.scroll_px), json!(SYNCS), json!(QUIET_MS)],
        )
        .await?;
    let deadline = Instant::now() + Duration::from_secs(900);
    // The highest 1-minute load average seen while scrolling.
    let mut load_during: Option<f64> = None;
    let m = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        load_during = match (load_during, load_average()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let m = l
            .session
            .client
            .execute("return window.__measure;", vec![])
            .await?;
        if !m["finishedAt"].is_null() {
            break m;
        }
        if Instant::now() > deadline {
            bail!("{SYNCS} full syncs did not finish within 15 minutes");
        }
    };
    let intervals = sorted_ms(&m["intervals"]);
    let quiet = sorted_ms(&m["quiet"]);
    let long = intervals.iter().filter(|&&ms| ms > LONG_FRAME_MS).count();
    let syncs_s: Vec<f64> = m["syncs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_f64)
                .map(|ms| round3(ms / 1000.0))
                .collect()
        })
        .unwrap_or_default();
    let scrolled_ms =
        m["finishedAt"].as_f64().unwrap_or(f64::NAN) - m["startedAt"].as_f64().unwrap_or(f64::NAN);
    let result = json!({
        "scroll_px_per_frame": o.scroll_px,
        "full_syncs_s": syncs_s,
        "scrolled_during_syncs_s": round3(scrolled_ms / 1000.0),
        "frames": intervals.len(),
        "frame_p50_ms": round3(percentile(&intervals, 50.0)),
        "frame_p95_ms": round3(percentile(&intervals, 95.0)),
        "frame_max_ms": round3(intervals.last().copied().unwrap_or(f64::NAN)),
        "long_frames": long,
        "without_sync": {
            "frames": quiet.len(),
            "frame_p50_ms": round3(percentile(&quiet, 50.0)),
            "frame_p95_ms": round3(percentile(&quiet, 95.0)),
            "frame_max_ms": round3(quiet.last().copied().unwrap_or(f64::NAN)),
            "long_frames": quiet.iter().filter(|&&ms| ms > LONG_FRAME_MS).count(),
        },
        "rows_scrolled_past": (m["top"].as_f64().unwrap_or(0.0) / f64::from(ROW_HEIGHT_PX)).round(),
        "load_average_1min": { "before": load_before, "max_during": load_during },
    });
    eprintln!("scrolling during full syncs: {result}");
    Ok(result)
}

/// Scrolls the Inventory list from where it is to its last row, `STEP_ROWS` rows a step. A
/// step waits until the row at the top of the view is a loaded row (not a placeholder), so
/// with steps shorter than a page every page of the list is loaded once on the way. Checks
/// first that the list counts all `variants`, and at the end that the last row is loaded.
async fn scroll_through_list(l: &Launch, variants: usize) -> Result<Value> {
    const STEP_ROWS: u32 = 100;
    // The page's locale may or may not group digits ("50,001" or "50001").
    let expected = [
        format!("{} variants", thousands(variants)),
        format!("{variants} variants"),
    ];
    l.session
        .wait_text_for(
            "[data-testid=page-inventory] .summary",
            |t| expected.iter().any(|e| t.trim() == e),
            120,
        )
        .await?;
    l.session
        .client
        .execute(
            "const [rowHeight, stepRows, total] = arguments;\
             const s = document.querySelector('[data-testid=page-inventory] .scroller');\
             const m = { steps: 0, waited_frames: 0, done: false, last_sku: null };\
             window.__through = m;\
             const row = (i) => s.querySelector(`[aria-rowindex=\"${i + 2}\"]`);\
             const loaded = (i) => row(i)?.dataset.testid === 'inventory-row';\
             const step = () => {\
               const top = Math.floor(s.scrollTop / rowHeight);\
               const atEnd = s.scrollTop + s.clientHeight >= s.scrollHeight - 1;\
               if (!loaded(top) || (atEnd && !loaded(total - 1))) {\
                 m.waited_frames++; requestAnimationFrame(step); return;\
               }\
               if (atEnd) { m.done = true; m.last_sku = row(total - 1).querySelector('.sku').textContent; return; }\
               s.scrollTop += stepRows * rowHeight;\
               m.steps++;\
               requestAnimationFrame(step);\
             };\
             requestAnimationFrame(step);",
            vec![json!(ROW_HEIGHT_PX), json!(STEP_ROWS), json!(variants)],
        )
        .await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let m = l
            .session
            .client
            .execute("return window.__through;", vec![])
            .await?;
        if m["done"] == Value::Bool(true) {
            return Ok(json!({
                "step_rows": STEP_ROWS,
                "steps": m["steps"],
                "frames_waiting_for_rows": m["waited_frames"],
                "last_row_sku": m["last_sku"],
            }));
        }
        if Instant::now() > deadline {
            bail!("the list was not scrolled to its last row within 10 minutes: {m}");
        }
    }
}

/// The webview's own cost of scrolling a list, as a baseline for the app's frame times: in
/// the bare window, a plain list of 2,000 static rows shaped like the Inventory's (four cells,
/// 36 px, in a scroller of the same height) is scrolled by `--scroll-px` every animation frame
/// for `QUIET_S` seconds, with no script work beyond setting the scroll position. Elements and
/// styles are made through the DOM and CSSOM, which the page's CSP allows.
async fn plain_list_frames(l: &Launch, o: &Options) -> Result<Value> {
    let intervals = l
        .session
        .client
        .execute_async(
            "const [px, ms, rows, rowHeight] = arguments;\
             const done = arguments[arguments.length - 1];\
             const s = document.createElement('div');\
             Object.assign(s.style, { height: 'clamp(16rem, calc(100vh - 17rem), 60rem)',\
               overflowY: 'auto', contain: 'strict', font: '14px sans-serif', border: '1px solid #d8dde3' });\
             for (let i = 0; i < rows; i++) {\
               const row = document.createElement('div');\
               Object.assign(row.style, { display: 'grid', gap: '12px', alignItems: 'center',\
                 gridTemplateColumns: 'minmax(7rem, 1.1fr) minmax(0, 3fr) minmax(5rem, 0.7fr) minmax(6rem, 0.7fr)',\
                 height: rowHeight + 'px', padding: '0 16px', borderBottom: '1px solid #d8dde3' });\
               for (const text of ['SKU-' + i, 'Product ' + i + ' — Medium', '19.00', String(i % 50)]) {\
                 const cell = document.createElement('span'); cell.textContent = text; row.append(cell);\
               }\
               s.append(row);\
             }\
             document.body.append(s);\
             const intervals = []; let last = 0; let first = 0;\
             const step = (t) => {\
               if (last) intervals.push(t - last); else first = t;\
               last = t;\
               s.scrollTop = (s.scrollTop + px) % Math.max(1, s.scrollHeight - s.clientHeight);\
               if (t - first < ms) requestAnimationFrame(step); else done(intervals);\
             };\
             requestAnimationFrame(step);",
            vec![
                json!(o.scroll_px),
                json!(QUIET_S * 1000),
                json!(2000),
                json!(ROW_HEIGHT_PX),
            ],
        )
        .await?;
    let sorted = sorted_ms(&intervals);
    Ok(json!({
        "frames": sorted.len(),
        "frame_p50_ms": round3(percentile(&sorted, 50.0)),
        "frame_p95_ms": round3(percentile(&sorted, 95.0)),
        "frame_max_ms": round3(sorted.last().copied().unwrap_or(f64::NAN)),
        "long_frames": sorted.iter().filter(|&&ms| ms > LONG_FRAME_MS).count(),
        "load_average_1min": load_average(),
    }))
}

/// Frame intervals from the page, sorted.
fn sorted_ms(list: &Value) -> Vec<f64> {
    let mut v: Vec<f64> = list
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    v.sort_by(f64::total_cmp);
    v
}

/// The machine's 1-minute load average: other work on these cores shows in the frame times.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

// ---- report ----------------------------------------------------------------------------

fn goal(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    let o = Options::parse()?;
    let (bare, app) = idle_runs(&o).await?;
    let loaded = loaded_run(&o).await?;
    let demo = demo_run(&o).await?;

    let pick = |runs: &[Value], key: &str, field: &str| -> f64 {
        let values: Vec<f64> = runs
            .iter()
            .filter_map(|r| r[key][field].as_f64().or_else(|| r[key].as_f64()))
            .collect();
        median(&values)
    };
    let bare_start = pick(&bare, "cold_start_s", "");
    let app_start = pick(&app, "cold_start_s", "");
    let bare_idle = pick(&bare, "idle", "pss_mib");
    let app_idle = pick(&app, "idle", "pss_mib");
    let synced = loaded["synced"]["pss_mib"].as_f64().unwrap_or(f64::NAN);
    let in_list = loaded["scrolled_through_list"]["pss_mib"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let loaded_max = synced.max(in_list);
    let demo_synced = demo["synced"]["pss_mib"].as_f64().unwrap_or(f64::NAN);
    let bare_after_list = pick(&bare, "after_plain_list", "pss_mib");
    let plain_p50 = pick(&bare, "plain_list_scrolling", "frame_p50_ms");
    let plain_p95 = pick(&bare, "plain_list_scrolling", "frame_p95_ms");
    let idle_ratio = app_idle / bare_idle;
    let loaded_ratio = loaded_max / bare_idle;
    let s = &loaded["scrolling"];
    let variants = thousands(o.variants());

    println!();
    println!(
        "Shelfsync desktop, release build: median of {} launches each, settle {} s",
        o.runs,
        o.settle.as_secs()
    );
    println!("| what | bare window | Shelfsync | ratio | goal |");
    println!("| --- | ---: | ---: | ---: | --- |");
    println!(
        "| cold start to a usable window | {bare_start:.2} s | {app_start:.2} s | {:.2}× | — |",
        app_start / bare_start
    );
    println!(
        "| PSS idle (no store) | {bare_idle:.0} MiB | {app_idle:.0} MiB | {idle_ratio:.2}× | ≤ {IDLE_GOAL}×: {} |",
        goal(idle_ratio <= IDLE_GOAL)
    );
    println!(
        "| PSS, {variants} variants synced (store in its own process, not counted) | | {synced:.0} MiB | {:.2}× | |",
        synced / bare_idle
    );
    println!(
        "| PSS, {variants} variants, Inventory scrolled through to its last row | | {in_list:.0} MiB | {:.2}× | |",
        in_list / bare_idle
    );
    println!(
        "| PSS with {variants} variants (larger of the two) | {bare_idle:.0} MiB | {loaded_max:.0} MiB | {loaded_ratio:.2}× | ≤ {LOADED_GOAL}×: {} |",
        goal(loaded_ratio <= LOADED_GOAL)
    );
    println!(
        "| for comparison: PSS, {variants} variants synced, demo store inside the app's process | | {demo_synced:.0} MiB | {:.2}× | |",
        demo_synced / bare_idle
    );
    println!(
        "| for comparison: the bare window after scrolling a plain list (below) | {bare_after_list:.0} MiB | | {:.2}× | |",
        bare_after_list / bare_idle
    );
    println!();
    println!(
        "The store's own process (the simulator, not counted above): {} MiB PSS",
        loaded["store_process"]["pss_mib"]
    );
    println!(
        "Scrolling Inventory by {} px a frame during full syncs of {variants} variants (syncs {} s, \
         scrolled for {} s, {} frames, load average {}): frame interval p50 {} ms, p95 {} ms, \
         max {} ms; {} long frames (> {LONG_FRAME_MS} ms)",
        s["scroll_px_per_frame"],
        s["full_syncs_s"],
        s["scrolled_during_syncs_s"],
        s["frames"],
        s["load_average_1min"]["max_during"],
        s["frame_p50_ms"],
        s["frame_p95_ms"],
        s["frame_max_ms"],
        s["long_frames"],
    );
    let q = &s["without_sync"];
    println!(
        "The same scrolling for {} s just before, without a sync ({} frames): p50 {} ms, p95 {} ms, \
         max {} ms; {} long frames",
        QUIET_S,
        q["frames"],
        q["frame_p50_ms"],
        q["frame_p95_ms"],
        q["frame_max_ms"],
        q["long_frames"],
    );
    println!(
        "Baseline, the bare window scrolling a plain list of 2,000 static rows the same way for \
         {QUIET_S} s (median of {} launches): p50 {plain_p50} ms, p95 {plain_p95} ms",
        o.runs,
    );

    let report = json!({
        "runs": o.runs,
        "settle_s": o.settle.as_secs(),
        "app": o.app,
        "bare": o.bare,
        "bare_window": {
            "launches": bare,
            "median_cold_start_s": bare_start,
            "median_idle_pss_mib": bare_idle,
            "median_plain_list_frame_p50_ms": plain_p50,
            "median_plain_list_frame_p95_ms": plain_p95,
            "median_pss_after_plain_list_mib": bare_after_list,
        },
        "shelfsync": { "launches": app, "median_cold_start_s": app_start, "median_idle_pss_mib": app_idle },
        "loaded": loaded,
        "demo_store_in_process": demo,
        "ratios": {
            "cold_start": app_start / bare_start,
            "idle_pss": idle_ratio,
            "loaded_pss": loaded_ratio,
        },
        "goals": {
            "idle_pss_within": IDLE_GOAL,
            "idle_met": idle_ratio <= IDLE_GOAL,
            "loaded_pss_within": LOADED_GOAL,
            "loaded_met": loaded_ratio <= LOADED_GOAL,
        },
    });
    if let Some(dir) = o.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&o.out, serde_json::to_string_pretty(&report)?)?;
    println!("JSON: {}", o.out.display());
    Ok(())
}
