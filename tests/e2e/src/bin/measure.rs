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
//!   descendants (`WebKitWebProcess`, `WebKitNetworkProcess`), after a fixed settle time.
//!   Idle is the app with no store connected. With 50,000 variants, the app runs `--demo`
//!   with `SHELFSYNC_DEMO_PRODUCTS` sized so: measured once the first full sync has finished
//!   (dashboard), and again after the Inventory list has been scrolled to its last row, so
//!   every row has been loaded. The demo store's simulator runs inside the app's process, so
//!   its copy of the store counts against the app here (a real store's does not).
//! - **Responsiveness**: three full syncs of the same store run back to back (through the
//!   `sync_now` command the dashboard's button calls), and while they run a script on the
//!   Inventory page scrolls the windowed list by a fixed amount
//!   every animation frame and records the intervals between frames: p50, p95, max and the
//!   number of long frames (over 50 ms); the baseline is the same scrolling for 5 s just
//!   before, without a sync. The 1-minute load average is recorded beside them, since other
//!   work on the same cores shows in frame times.
//!
//! The bare window (`src-tauri/examples/bare_window.rs`) and the app are launched in turn,
//! `--runs` times each, and the medians are compared. Run it through `.ci/measure-desktop`,
//! which builds both in release and runs this inside a private session (Xvfb, D-Bus).
//!
//! Options: `--runs N` (3), `--products N` (16,667: 50,001 variants), `--settle SECONDS`
//! (10), `--scroll-px N` (pixels per frame, 400), `--app PATH`, `--bare PATH`, `--out PATH`
//! (`target/measure/desktop.json`).

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use shelfsync_e2e::{DesktopSession, workspace_root};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The goals: idle memory within 1.3× of the bare window, 50,000 variants within 2×.
const IDLE_GOAL: f64 = 1.3;
const LOADED_GOAL: f64 = 2.0;
/// A frame longer than this is a visible stutter.
const LONG_FRAME_MS: f64 = 50.0;
/// How long the list scrolls without a sync, as the baseline for the frames during one.
const QUIET_S: u64 = 5;

struct Options {
    runs: usize,
    products: usize,
    settle: Duration,
    scroll_px: u32,
    app: PathBuf,
    bare: PathBuf,
    out: PathBuf,
}

impl Options {
    fn parse() -> Result<Self> {
        let root = workspace_root();
        let mut options = Self {
            runs: 3,
            products: 16_667,
            settle: Duration::from_secs(10),
            scroll_px: 400,
            app: root.join("target/release/shelfsync-desktop"),
            bare: root.join("target/release/examples/bare_window"),
            out: root.join("target/measure/desktop.json"),
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
                "--out" => options.out = PathBuf::from(&value),
                _ => bail!("unknown option {flag}; see the module docs of measure.rs"),
            }
        }
        for binary in [&options.app, &options.bare] {
            if !binary.exists() {
                bail!(
                    "{} not found: build it with `cargo build --release -p shelfsync-desktop --bin shelfsync-desktop --example bare_window`",
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

fn pss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// PSS of a process tree: the total and each process.
fn memory(root: u32) -> Value {
    let mut total = 0;
    let mut processes = Vec::new();
    for (pid, name) in tree(root) {
        if let Some(kib) = pss_kib(pid) {
            total += kib;
            processes.push(json!({ "pid": pid, "name": name, "pss_mib": mib(kib) }));
        }
    }
    json!({ "pss_mib": mib(total), "processes": processes })
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
        eprintln!(
            "bare window, run {run}: usable after {start:.3} s, {} MiB PSS",
            mem["pss_mib"]
        );
        bare.push(json!({ "cold_start_s": round3(start), "page": page, "idle": mem }));
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

/// The app on a demo store of `--products` products: memory once synced, scrolling during a
/// second full sync, and memory once the whole list has been loaded.
async fn loaded_run(o: &Options) -> Result<Value> {
    let products = o.products.to_string();
    let l = launch(
        "measure-app-loaded",
        &o.app,
        &["--demo"],
        &[("SHELFSYNC_DEMO_PRODUCTS", &products)],
    )
    .await?;
    let start = l.time_to_visible("[data-testid=store]", 60).await?;
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
    let synced = l.settled_memory(o.settle).await;
    eprintln!("synced: {} MiB PSS", synced["pss_mib"]);

    let scrolling = scroll_during_full_sync(&l, o).await?;

    // Scroll to the end of the list until every variant has been loaded into it.
    let began = Instant::now();
    l.session
        .client
        .execute(
            "const s = document.querySelector('[data-testid=page-inventory] .scroller');\
             window.__toEnd = setInterval(() => { s.scrollTop = s.scrollHeight; }, 50);",
            vec![],
        )
        .await?;
    // The page's locale may or may not group digits ("50,001" or "50001").
    let expected = [format!("{variants} variants"), format!("{plain} variants")];
    l.session
        .wait_text_for(
            "[data-testid=page-inventory] .summary",
            |t| expected.iter().any(|e| t.trim() == e),
            600,
        )
        .await?;
    l.session
        .client
        .execute("clearInterval(window.__toEnd);", vec![])
        .await?;
    let scrolled_to_end_s = began.elapsed().as_secs_f64();
    let in_list = l.settled_memory(o.settle).await;
    eprintln!(
        "every row loaded into the list after {scrolled_to_end_s:.1} s: {} MiB PSS",
        in_list["pss_mib"]
    );
    l.close().await?;
    Ok(json!({
        "products": o.products,
        "variants": o.variants(),
        "cold_start_to_store_s": round3(start),
        "first_full_sync_s": round3(first_sync_s),
        "synced": synced,
        "scrolling": scrolling,
        "scrolled_to_end_s": round3(scrolled_to_end_s),
        "all_rows_in_list": in_list,
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
        "rows_scrolled_past": (m["top"].as_f64().unwrap_or(0.0) / 36.0).round(),
        "load_average_1min": { "before": load_before, "max_during": load_during },
    });
    eprintln!("scrolling during full syncs: {result}");
    Ok(result)
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
    let in_list = loaded["all_rows_in_list"]["pss_mib"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let loaded_max = synced.max(in_list);
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
        "| PSS, {variants} variants synced (demo store in-process) | | {synced:.0} MiB | {:.2}× | |",
        synced / bare_idle
    );
    println!(
        "| PSS, {variants} variants, all rows loaded in Inventory | | {in_list:.0} MiB | {:.2}× | |",
        in_list / bare_idle
    );
    println!(
        "| PSS with {variants} variants (larger of the two) | {bare_idle:.0} MiB | {loaded_max:.0} MiB | {loaded_ratio:.2}× | ≤ {LOADED_GOAL}×: {} |",
        goal(loaded_ratio <= LOADED_GOAL)
    );
    println!();
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

    let report = json!({
        "runs": o.runs,
        "settle_s": o.settle.as_secs(),
        "app": o.app,
        "bare": o.bare,
        "bare_window": { "launches": bare, "median_cold_start_s": bare_start, "median_idle_pss_mib": bare_idle },
        "shelfsync": { "launches": app, "median_cold_start_s": app_start, "median_idle_pss_mib": app_idle },
        "loaded": loaded,
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
