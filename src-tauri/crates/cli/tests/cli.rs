//! The `shelfsync` binary as a person or a script uses it: real processes, a simulator over
//! real HTTP on a free port, a temporary data folder, and what ends up on stdout, stderr and
//! in the exit code.
//!
//! Tests that store a secret use the real OS keychain, each under its own namespace
//! (`SHELFSYNC_KEYCHAIN_NAMESPACE`), and are ignored by a plain `cargo test`: `.ci/test`
//! runs them inside a private D-Bus session with GNOME Keyring unlocked. The others point
//! D-Bus at a socket that does not exist, so they can never touch a real keychain.

use serde_json::Value;
use shelfsync_store::{BulkCounts, BulkMode, Database, Durability, NewJob};
use shopify_sim::store::AVAILABLE;
use shopify_sim::{RunningSim, SimConfig};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const BIN: &str = env!("CARGO_BIN_EXE_shelfsync");
const NO_KEYCHAIN: (&str, &str) = ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON value ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// One user's environment: a data folder and a keychain namespace of its own.
struct User {
    dir: tempfile::TempDir,
    namespace: String,
    env: Vec<(&'static str, &'static str)>,
}

impl User {
    fn new(test: &str) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            namespace: format!("app.shelfsync.test.cli.{test}.{}", std::process::id()),
            env: Vec::new(),
        }
    }

    /// A user whose machine has no keychain service at all.
    fn without_keychain(test: &str) -> Self {
        let mut user = Self::new(test);
        user.env.push(NO_KEYCHAIN);
        user
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None).await
    }

    async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.args(args)
            .env("SHELFSYNC_DATA_DIR", self.path())
            .env("SHELFSYNC_KEYCHAIN_NAMESPACE", &self.namespace)
            .env_remove("SHELFSYNC_LOG")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start shelfsync");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(text.as_bytes()).await.unwrap();
            drop(pipe);
        }
        let out = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("shelfsync {args:?} did not finish"))
            .unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs the command on a pseudo-terminal (util-linux `script`) and types `answer` once it
    /// has had time to ask; the exit code and the transcript (stdout and stderr together), or
    /// `None` when `script` is not installed.
    async fn run_on_terminal(&self, args: &[&str], answer: &str) -> Option<(i32, String)> {
        if std::process::Command::new("script")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: util-linux `script` (a pseudo-terminal) is not installed");
            return None;
        }
        let command: Vec<String> = std::iter::once(BIN)
            .chain(args.iter().copied())
            .map(|a| format!("'{a}'"))
            .collect();
        let shell = format!(
            "(sleep 3; printf '%s\\n' '{answer}') | script -qec \"{}\" /dev/null",
            command.join(" ")
        );
        let mut cmd = tokio::process::Command::new("sh");
        cmd.args(["-c", &shell])
            .env("SHELFSYNC_DATA_DIR", self.path())
            .env("SHELFSYNC_KEYCHAIN_NAMESPACE", &self.namespace)
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .env_remove("SHELFSYNC_LOG")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = tokio::time::timeout(Duration::from_secs(180), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("shelfsync {args:?} did not finish"))
            .unwrap();
        Some((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ))
    }

    /// A saved profile for `address`, as `connect` leaves it, without touching a keychain.
    fn save_profile(&self, address: &str) {
        let profile = serde_json::json!({
            "address": address,
            "auth": { "kind": "admin_token" },
            "name": "Corner Shop",
        });
        std::fs::write(self.path().join("profile.json"), profile.to_string()).unwrap();
    }

    /// The store's database, opened the way the engine opens it.
    fn database(&self, address: &str) -> Database {
        let file = shelfsync_store::store_file_name(address).unwrap();
        Database::open(self.path().join(file)).unwrap()
    }
}

async fn sim() -> RunningSim {
    shopify_sim::start(SimConfig {
        products: 10,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Every file under `dir` (recursively) must not contain `secret`.
fn assert_not_in_files(dir: &Path, secret: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_not_in_files(&path, secret);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} contains the secret",
                path.display()
            );
        }
    }
}

/// Everything the CLI's log files under `dir` say (`logs` in the data folder when
/// `--data-dir` is given), oldest file first.
fn cli_logs(dir: &Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("logs"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("shelfsync-cli.") && n.ends_with(".log"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

/// The log has a finished Shopify request span with its operation, attempt and costs.
fn assert_request_spans_logged(logs: &str) {
    let line = logs
        .lines()
        .find(|l| l.contains("shopify.request{") && l.contains("actual_cost="))
        .unwrap_or_else(|| panic!("no finished request span with its cost in the log:\n{logs}"));
    assert!(line.contains("operation="), "{line}");
    assert!(line.contains("attempt=1"), "{line}");
    assert!(line.contains("requested_cost="), "{line}");
    assert!(line.contains("latency_ms="), "{line}");
}

/// Enqueues a job, then has the next due job run out of retries, as the supervisor leaves
/// one. Returns the failed job's id.
fn add_failed_job(db: &mut Database, error: &str) -> i64 {
    db.enqueue(&NewJob {
        kind: "inventory.set".into(),
        payload: serde_json::json!({ "sku": "MUG-1" }),
        dedupe_key: None,
        run_at: None,
    })
    .unwrap();
    let claimed = db.claim_next_job().unwrap().unwrap();
    db.mark_job_failed(claimed.id, error).unwrap();
    claimed.id
}

/// A bulk-update file is checked without a store or a keychain: a clean file exits 0 with a
/// readable summary, a file with problems exits 2 and its JSON names each row and column.
#[tokio::test]
async fn import_check_reads_a_file_without_a_store_and_reports_problems_by_row() {
    let user = User::without_keychain("import");
    let clean = user.path().join("stock.csv");
    std::fs::write(
        &clean,
        "\u{feff}Handle,Title,SKU,Location,On hand (current),On hand (new)\r\n\
         mug,Mug,MUG-S,Warehouse,10,12\r\nmug,Mug,MUG-L,Shop,3,not stocked\r\n",
    )
    .unwrap();
    let out = user
        .run(&["import", "--check", clean.to_str().unwrap()])
        .await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("Shopify inventory export"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Locations: Warehouse, Shop"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("No problems found."), "{}", out.stdout);

    let bad = user.path().join("supplier.csv");
    std::fs::write(
        &bad,
        "sku;location;quantity\nMUG-S;Warehouse;5\nMUG-S;Warehouse;-1\n",
    )
    .unwrap();
    let out = user
        .run(&["import", "--check", bad.to_str().unwrap(), "--json"])
        .await;
    out.expect_code(2);
    let report = out.json();
    assert_eq!(report["format"], "plain-quantity");
    assert_eq!(report["delimiter"], ";");
    assert_eq!(report["has_bom"], false);
    assert_eq!(
        (
            report["data_rows"].as_u64(),
            report["distinct_skus"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let problems: Vec<(u64, &str, &str)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["column"].as_str().unwrap(),
                p["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [(3, "sku", "duplicate"), (3, "quantity", "negative")]
    );
    assert!(out.stderr.contains("2 problems"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);

    // A file that is not there is a local problem, said plainly.
    let out = user
        .run(&["import", "--check", "/nonexistent/stock.csv"])
        .await;
    out.expect_code(1);
    assert!(
        out.stderr.contains("could not read /nonexistent/stock.csv"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_and_help_lists_the_exit_codes() {
    let user = User::without_keychain("usage");
    for args in [
        &["frobnicate"][..],
        &["connect"],
        &["jobs", "retry"],
        &["jobs", "retry", "3", "--all"],
        &["jobs", "discard"],
        &["inventory", "--limit", "0"],
        &["daemon", "--interval", "soon"],
        &["daemon", "--webhook-url", "https://shop-hooks.example.test"],
        &["daemon", "--webhook-port", "70000"],
        &[
            "daemon",
            "--webhook-port",
            "0",
            "--webhook-url",
            "http://127.0.0.1:9",
        ],
        &["daemon", "--relay-keys-stdin"],
        &["daemon", "--relay-region", "us-east-2"],
        &[
            "daemon",
            "--relay-queue-url",
            "http://127.0.0.1:9/123456789012/shop-events",
        ],
        &["sync", "--fast"],
        &["import", "--check"],
        // Nothing to confirm on (stdin is not a terminal) and no --yes: refused before any
        // store is opened.
        &["import", "stock.csv", "--apply"],
        &["import", "stock.csv", "--apply", "--json"],
        &["import", "stock.csv", "--yes"],
        &["import", "stock.csv", "--skip-conflicts"],
        &["import", "--check", "stock.csv", "--apply"],
        &["import", "stock.csv", "--output", "plan.txt"],
        &["bulk"],
        &["bulk", "undo"],
        &["bulk", "undo", "1"],
        &["bulk", "undo", "0", "--yes"],
        &["bulk", "list", "--limit", "0"],
    ] {
        let out = user.run(args).await;
        assert_eq!(out.code, 2, "{args:?}\n{}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?} printed {}", out.stdout);
        assert!(!out.stderr.is_empty(), "{args:?} said nothing");
    }

    // A queue address that does not name its region: said before anything starts.
    let out = user
        .run(&[
            "daemon",
            "--relay-queue-url",
            "http://127.0.0.1:9/123456789012/shop-events",
        ])
        .await;
    assert!(out.stderr.contains("--relay-region"), "{}", out.stderr);

    // Shopify delivers only to https: said before anything starts.
    let out = user
        .run(&[
            "daemon",
            "--webhook-port",
            "0",
            "--webhook-url",
            "http://127.0.0.1:9",
        ])
        .await;
    assert!(
        out.stderr.contains("not an https:// address"),
        "{}",
        out.stderr
    );

    // No secret on stdin (and no terminal to prompt on): a usage error, before any network.
    let out = user
        .run_with_stdin(&["connect", "corner-shop.myshopify.com"], Some("\n"))
        .await;
    out.expect_code(2);
    assert!(out.stderr.contains("No secret given"), "{}", out.stderr);
    assert!(!user.path().join("profile.json").exists());

    let help = user.run(&["--help"]).await;
    help.expect_code(0);
    for line in [
        "2  usage error",
        "3  store error",
        "4  keychain error",
        "5  partial failure",
    ] {
        assert!(help.stdout.contains(line), "--help lacks {line:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_exits_3_says_to_reconnect_and_never_shows_the_token() {
    let sim = sim().await;
    let user = User::without_keychain("wrong-token");
    let token = "shpat_not_the_right_token_0123456789";
    let out = user
        .run_with_stdin(
            &["connect", &sim.info.base_url, "--json"],
            Some(&format!("{token}\n")),
        )
        .await;
    out.expect_code(3);
    assert!(out.stdout.is_empty(), "--json prints no result on failure");
    assert!(
        out.stderr.contains("refused") && out.stderr.contains("Re-connect"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("shelfsync connect {}", sim.info.base_url)),
        "the message gives the command to run: {}",
        out.stderr
    );
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(!out.stderr.contains(token) && !out.stdout.contains(token));
    assert!(
        !user.path().join("profile.json").exists(),
        "a refused token saves nothing"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_secret_is_asked_for_without_echo() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `script` (a pseudo-terminal) is not installed");
        return;
    }
    let sim = sim().await;
    let user = User::without_keychain("prompt");
    let typed = "shpat_typed_at_the_prompt_42";
    // The answer is typed a moment later, once the prompt has turned echo off.
    let shell = format!(
        "(sleep 2; printf '%s\\n' '{typed}') | script -qec \"'{BIN}' connect '{}'\" /dev/null",
        sim.info.base_url
    );
    let out = tokio::process::Command::new("sh")
        .args(["-c", &shell])
        .env("SHELFSYNC_DATA_DIR", user.path())
        .env("SHELFSYNC_KEYCHAIN_NAMESPACE", &user.namespace)
        .env(NO_KEYCHAIN.0, NO_KEYCHAIN.1)
        .env_remove("SHELFSYNC_LOG")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{transcript}");
    let prompt = format!("Admin API token for {}:", sim.info.base_url);
    let Some((_, after_prompt)) = transcript.split_once(&prompt) else {
        panic!("no prompt: {transcript}");
    };
    assert!(
        after_prompt.contains("refused"),
        "the typed token was sent: {transcript}"
    );
    // (Typed before the prompt, a terminal would echo it ahead of the prompt; not after.)
    assert!(
        !after_prompt.contains(typed),
        "the token was echoed: {transcript}"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_token_with_no_keychain_to_keep_it_exits_4_and_saves_nothing() {
    let sim = sim().await;
    let user = User::without_keychain("connect-no-keychain");
    let token = sim.info.admin_token.clone().unwrap();
    let out = user
        .run_with_stdin(&["connect", &sim.info.base_url], Some(&token))
        .await;
    out.expect_code(4);
    let message = out.stderr.trim();
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains(&sim.info.base_url), "{message}");
    assert!(message.contains("try again"), "{message}");
    assert!(!message.contains(&token));
    assert!(
        !user.path().join("profile.json").exists(),
        "never a fallback to a file"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_exits_3() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let user = User::without_keychain("unreachable");
    let out = user
        .run_with_stdin(&["connect", &address], Some("shpat_whatever"))
        .await;
    out.expect_code(3);
    assert!(out.stderr.contains("Could not reach"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Check the store's address"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("shpat_whatever"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keychain_service_status_exits_4_naming_the_store_and_the_next_step() {
    let user = User::without_keychain("no-keychain");
    user.save_profile("corner-shop.myshopify.com");
    for args in [&["status"][..], &["status", "--json"], &["sync"]] {
        let out = user.run(args).await;
        out.expect_code(4);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        let message = out.stderr.trim();
        assert_eq!(message.lines().count(), 1, "one line: {message}");
        assert!(message.contains("corner-shop.myshopify.com"), "{message}");
        assert!(message.contains("keychain"), "{message}");
        assert!(
            message.contains("start your desktop's keyring service")
                && message.contains("try again"),
            "says what to do: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_store_connected_status_says_so_and_sync_exits_3() {
    let user = User::without_keychain("nothing-connected");
    let out = user.run(&["status", "--json"]).await;
    out.expect_code(0);
    assert_eq!(out.json()["connected"], false);
    let out = user.run(&["sync"]).await;
    out.expect_code(3);
    assert!(
        out.stderr.contains("shelfsync connect STORE"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_list_retry_and_discard_work_on_the_local_queue() {
    let user = User::without_keychain("jobs");
    let address = "corner-shop.myshopify.com";
    user.save_profile(address);
    drop(user.database(address));

    let out = user.run(&["jobs", "list", "--json"]).await;
    out.expect_code(0);
    assert_eq!(out.json(), serde_json::json!([]));
    let out = user.run(&["jobs"]).await;
    out.expect_code(0);
    assert!(out.stdout.contains("No jobs"), "{}", out.stdout);

    let id = {
        let mut db = user.database(address);
        add_failed_job(
            &mut db,
            "Shopify refused the stock change: no such location.",
        )
    };
    let out = user.run(&["jobs", "list", "--json"]).await;
    out.expect_code(0);
    let jobs = out.json();
    assert_eq!(jobs.as_array().unwrap().len(), 1, "{jobs}");
    assert_eq!(jobs[0]["id"], id);
    assert_eq!(jobs[0]["state"], "failed");
    assert_eq!(
        jobs[0]["last_error"],
        "Shopify refused the stock change: no such location."
    );
    let text = user.run(&["jobs", "list"]).await;
    assert!(
        text.stdout.contains("failed") && text.stdout.contains("no such location"),
        "{}",
        text.stdout
    );

    // One of two ids does not exist: the other is still retried, and the exit code says so.
    let out = user
        .run(&["jobs", "retry", &id.to_string(), "999", "--json"])
        .await;
    out.expect_code(5);
    let result = out.json();
    assert_eq!(result["retried"], serde_json::json!([id]));
    assert_eq!(result["refused"][0]["id"], 999);
    assert!(out.stderr.contains("no job 999"), "{}", out.stderr);
    let jobs = user.run(&["jobs", "list", "--json"]).await.json();
    assert_eq!(jobs[0]["state"], "pending", "{jobs}");

    // Nothing could be done at all: not a partial failure.
    let out = user.run(&["jobs", "discard", "999"]).await;
    out.expect_code(1);
    assert!(out.stderr.contains("There is no job 999"), "{}", out.stderr);
    let out = user.run(&["jobs", "discard", &id.to_string()]).await;
    out.expect_code(1);
    assert!(out.stderr.contains("pending"), "{}", out.stderr);

    let id = {
        let mut db = user.database(address);
        add_failed_job(&mut db, "Shopify refused the price: not a number.")
    };
    let out = user
        .run(&["jobs", "discard", &id.to_string(), "--json"])
        .await;
    out.expect_code(0);
    assert_eq!(out.json()["discarded"], serde_json::json!([id]));
    let out = user.run(&["jobs", "retry", "--all", "--json"]).await;
    out.expect_code(0);
    assert_eq!(out.json()["retried"], 0);
}

/// A bulk update a crash left unfinished is in the journal (read without the keychain), and a
/// command that opens the store warns about it and names the command that settles it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_bulk_update_is_listed_and_warned_about() {
    let user = User::without_keychain("bulk-unfinished");
    let address = "corner-shop.myshopify.com";
    user.save_profile(address);
    let out = user.run(&["bulk", "list", "--json"]).await;
    out.expect_code(0);
    assert_eq!(out.json(), serde_json::json!([]));

    let plan = serde_json::json!({ "summary": {
        "file_rows": 3, "quantity_changes": 2, "price_changes": 0, "unchanged": 1,
        "large": 0, "problems": 0, "units_added": 5, "units_removed": 0,
    }});
    let id = {
        let mut db = user.database(address);
        let tx = db.write_with(Durability::Full).unwrap();
        let id = tx
            .begin_bulk_update(
                "stock.csv",
                BulkMode::AllOrNothing,
                &plan.to_string(),
                BulkCounts {
                    quantity_changes: 2,
                    price_changes: 0,
                },
            )
            .unwrap();
        tx.commit().unwrap();
        id
    };
    let out = user.run(&["bulk", "list", "--json"]).await;
    out.expect_code(0);
    let list = out.json();
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["file_name"], "stock.csv");
    assert_eq!(list[0]["state"], "applying");
    assert_eq!(list[0]["mode"], "all-or-nothing");
    assert_eq!(list[0]["quantity_changes"], 2);
    let out = user.run(&["bulk", "list"]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("stock.csv") && out.stdout.contains("applying"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("`shelfsync bulk recover`"),
        "{}",
        out.stdout
    );

    // The warning comes before the store is opened (which fails here: no keychain).
    let out = user.run(&["sync"]).await;
    out.expect_code(4);
    assert!(
        out.stderr.contains(&format!(
            "bulk update {id} (stock.csv) was interrupted; run `shelfsync bulk recover` to roll \
             it back"
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--finish"), "{}", out.stderr);
}

/// One stock level of the simulator: (sku, location name, variant, item, location, available).
type Level = (String, String, u64, u64, u64, i64);

fn levels(sim: &RunningSim) -> Vec<Level> {
    let store = sim.state.read_store();
    let mut out = Vec::new();
    for v in store.variants.values() {
        for (loc, level) in &store.inventory_items[&v.inventory_item_id].levels {
            out.push((
                v.sku.clone(),
                store.locations[loc].name.clone(),
                v.id,
                v.inventory_item_id,
                *loc,
                level.quantities[AVAILABLE],
            ));
        }
    }
    out.sort();
    out
}

fn available(sim: &RunningSim, level: &Level) -> i64 {
    sim.state.read_store().inventory_items[&level.3].levels[&level.4].quantities[AVAILABLE]
}

/// A plain `sku,location,quantity` file.
fn stock_file(dir: &Path, name: &str, rows: &[(&str, &str, i64)]) -> String {
    let mut text = String::from("sku,location,quantity\r\n");
    for (sku, location, quantity) in rows {
        text.push_str(&format!("{sku},\"{location}\",{quantity}\r\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// What the engine calls a large change: more than half the value before, or 100 units.
fn large(before: i64, after: i64) -> bool {
    let delta = (after - before).abs();
    delta > 100 || (before > 0 && delta * 2 > before)
}

/// A file built from the simulator's stock is planned (nothing written), written out as CSV,
/// applied after `--yes` (never without a terminal or `--yes`), listed, and undone; a file
/// with an unknown SKU is applied only with `--skip-problems`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service: run through .ci/test"]
async fn import_plans_applies_lists_and_undoes_a_stock_file() {
    let sim = sim().await;
    let user = User::new("import-apply");
    let token = sim.info.admin_token.clone().unwrap();
    let address = sim.info.base_url.clone();
    user.run_with_stdin(&["connect", &address], Some(&format!("{token}\n")))
        .await
        .expect_code(0);
    user.run(&["sync", "--full"]).await.expect_code(0);

    // Eight levels: one already right, one +500, four +5, two -2.
    let picked: Vec<Level> = levels(&sim)
        .into_iter()
        .filter(|l| l.5 >= 2)
        .take(8)
        .collect();
    assert_eq!(picked.len(), 8);
    let wanted: Vec<i64> = picked
        .iter()
        .enumerate()
        .map(|(i, l)| match i {
            0 => l.5,
            1 => l.5 + 500,
            2..=5 => l.5 + 5,
            _ => l.5 - 2,
        })
        .collect();
    let rows: Vec<(&str, &str, i64)> = picked
        .iter()
        .zip(&wanted)
        .map(|(l, q)| (l.0.as_str(), l.1.as_str(), *q))
        .collect();
    let file = stock_file(user.path(), "stock.csv", &rows);
    let expected_large = picked
        .iter()
        .zip(&wanted)
        .filter(|(l, q)| large(l.5, **q))
        .count();
    let before: Vec<i64> = picked.iter().map(|l| available(&sim, l)).collect();

    // The plan: summary on top, then the rows that change; plain text off a terminal.
    let out = user.run(&["import", &file]).await;
    out.expect_code(0);
    let text = &out.stdout;
    assert!(
        text.starts_with("Plan for stock.csv (sku,location,quantity, 8 rows)"),
        "{text}"
    );
    for line in [
        "  Changes    7 (7 stock levels)",
        "  Unchanged  1 (",
        &format!("  Large      {expected_large} ("),
        "  Problems   0",
        "  Units      +520 added, -4 removed",
        "  Prices     0 changes",
        "Nothing was written. Add --apply to apply these 7 changes.",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    assert!(text.find("Units").unwrap() < text.find("ROW").unwrap());
    let big = &picked[1];
    let big_line = text
        .lines()
        .find(|l| l.contains(&big.0) && l.contains(&big.1))
        .unwrap_or_else(|| panic!("no line for {}:\n{text}", big.0));
    let tokens: Vec<&str> = big_line.split_whitespace().collect();
    let (from, to) = (big.5.to_string(), (big.5 + 500).to_string());
    assert!(
        tokens.ends_with(&[&from, "→", &to, "+500", "large"]),
        "{big_line}"
    );
    // The row already right (row 2) is counted, not listed.
    assert!(
        !text
            .lines()
            .any(|l| l.split_whitespace().next() == Some("2") && l.contains('→')),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "colour off a terminal: {text:?}");
    let plan = user.run(&["import", &file, "--json"]).await;
    plan.expect_code(0);
    let plan = plan.json();
    assert_eq!(plan["summary"]["quantity_changes"], 7);
    assert_eq!(plan["summary"]["unchanged"], 1);
    assert_eq!(plan["quantities"].as_array().unwrap().len(), 8);

    // The whole plan as CSV: the header, then one line per row of the file.
    let csv = user.path().join("plan.csv");
    let out = user
        .run(&["import", &file, "--output", csv.to_str().unwrap()])
        .await;
    out.expect_code(0);
    let written = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(
        lines[0],
        "row,sku,product,variant,location,field,before,after,delta,large"
    );
    assert_eq!(lines.len(), 9, "{written}");
    assert!(
        lines[2].starts_with(&format!("3,{},", big.0))
            && lines[2].ends_with(&format!(",available,{},{},+500,true", big.5, big.5 + 500)),
        "{written}"
    );
    assert!(lines[1].ends_with(",0,false"), "{written}");
    let json_path = user.path().join("plan.json");
    user.run(&["import", &file, "--output", json_path.to_str().unwrap()])
        .await
        .expect_code(0);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(saved["summary"]["quantity_changes"], 7);

    // No terminal to ask on and no --yes: refused, and nothing is written or journaled.
    let out = user.run(&["import", &file, "--apply"]).await;
    out.expect_code(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let now: Vec<i64> = picked.iter().map(|l| available(&sim, l)).collect();
    assert_eq!(now, before, "the preview and the refusal wrote nothing");
    assert_eq!(
        user.run(&["bulk", "list", "--json"]).await.json(),
        serde_json::json!([])
    );

    // On a terminal the plan is coloured and the question asked; "n" writes nothing.
    if let Some((code, transcript)) = user
        .run_on_terminal(&["import", &file, "--apply"], "n")
        .await
    {
        assert_eq!(code, 0, "{transcript}");
        assert!(
            transcript.contains("Apply 7 changes to Shelfsync Sim"),
            "{transcript}"
        );
        assert!(transcript.contains("[y/N]"), "{transcript}");
        assert!(transcript.contains("Nothing was written."), "{transcript}");
        assert!(
            transcript.contains("\u{1b}[33mlarge\u{1b}[0m"),
            "large changes in yellow: {transcript:?}"
        );
        let now: Vec<i64> = picked.iter().map(|l| available(&sim, l)).collect();
        assert_eq!(now, before, "declined: nothing written");
    }

    // Applied: progress on stderr, the outcome on stdout, the new values in the store.
    let out = user.run(&["import", &file, "--apply", "--yes"]).await;
    out.expect_code(0);
    assert!(
        out.stderr.contains("Applying: 7/7 changes"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("Bulk update 1 (stock.csv) applied: 7 changes written."),
        "{}",
        out.stdout
    );
    let now: Vec<i64> = picked.iter().map(|l| available(&sim, l)).collect();
    assert_eq!(now, wanted);

    let out = user.run(&["bulk", "list", "--json"]).await;
    out.expect_code(0);
    let list = out.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["state"], "applied");
    assert_eq!(list[0]["quantity_changes"], 7);
    assert_eq!(list[0]["outcome"]["applied"], 7);
    let out = user.run(&["bulk", "list"]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("stock.csv") && out.stdout.contains("applied"),
        "{}",
        out.stdout
    );

    // A sale after the apply: undoing reverses by delta, so the sold unit stays sold.
    {
        let now = sim.state.clock.now();
        sim.state
            .write_store()
            .place_order(&[(big.2, 1)], Some(big.4), now)
            .unwrap();
    }
    let out = user.run(&["bulk", "undo", "1"]).await;
    out.expect_code(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    let out = user.run(&["bulk", "undo", "1", "--yes"]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("reverses 7 changes") && out.stdout.contains("AFTER UNDO"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Bulk update 1 (stock.csv) undone: 7 changes reversed."),
        "{}",
        out.stdout
    );
    let mut expected = before.clone();
    expected[1] -= 1;
    let now: Vec<i64> = picked.iter().map(|l| available(&sim, l)).collect();
    assert_eq!(now, expected);
    assert_eq!(
        user.run(&["bulk", "list", "--json"]).await.json()[0]["state"],
        "undone"
    );
    let out = user.run(&["bulk", "undo", "1", "--yes"]).await;
    out.expect_code(2);
    assert!(out.stderr.contains("is undone"), "{}", out.stderr);

    // An unknown SKU: the plan has a problem, and applying needs --skip-problems.
    let target = &picked[2];
    let current = available(&sim, target);
    let file = stock_file(
        user.path(),
        "supplier.csv",
        &[
            (target.0.as_str(), target.1.as_str(), current + 3),
            ("NOPE-404", target.1.as_str(), 5),
        ],
    );
    let out = user.run(&["import", &file, "--apply", "--yes"]).await;
    out.expect_code(2);
    assert!(
        out.stdout.contains("row 3") && out.stdout.contains("NOPE-404"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("--skip-problems"), "{}", out.stderr);
    assert_eq!(available(&sim, target), current);
    let out = user
        .run(&[
            "import",
            &file,
            "--apply",
            "--yes",
            "--skip-problems",
            "--json",
        ])
        .await;
    out.expect_code(0);
    let applied = out.json();
    assert_eq!(applied["summary"]["problems"], 1);
    assert_eq!(applied["outcome"]["state"], "applied");
    assert_eq!(applied["outcome"]["applied"], 1);
    assert_eq!(available(&sim, target), current + 3);

    // Two updates a kill interrupted before their first request (their plans journaled, no
    // request sent): commands warn, `bulk recover --finish ID` sends one, `bulk recover` rolls
    // back the rest.
    let (a, b) = (&picked[3], &picked[4]);
    let (a_now, b_now) = (available(&sim, a), available(&sim, b));
    let file = stock_file(
        user.path(),
        "restock.csv",
        &[(&a.0, &a.1, a_now + 4), (&b.0, &b.1, b_now + 6)],
    );
    let saved = user.path().join("restock.json");
    user.run(&["import", &file, "--output", saved.to_str().unwrap()])
        .await
        .expect_code(0);
    let plan = std::fs::read_to_string(&saved).unwrap();
    let interrupted: Vec<i64> = (0..2)
        .map(|_| {
            let mut db = user.database(&address);
            let tx = db.write_with(Durability::Full).unwrap();
            let id = tx
                .begin_bulk_update(
                    "restock.csv",
                    BulkMode::AllOrNothing,
                    &plan,
                    BulkCounts {
                        quantity_changes: 2,
                        price_changes: 0,
                    },
                )
                .unwrap();
            tx.commit().unwrap();
            id
        })
        .collect();
    assert_eq!(interrupted, [3, 4]);
    let out = user.run(&["sync"]).await;
    out.expect_code(0);
    assert!(
        out.stderr
            .contains("bulk update 3 (restock.csv) was interrupted")
            && out
                .stderr
                .contains("bulk update 4 (restock.csv) was interrupted"),
        "{}",
        out.stderr
    );
    let out = user.run(&["bulk", "recover", "3", "--finish"]).await;
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("Bulk update 3 (restock.csv) applied: 2 changes written."),
        "{}",
        out.stdout
    );
    assert_eq!(
        (available(&sim, a), available(&sim, b)),
        (a_now + 4, b_now + 6)
    );
    let out = user.run(&["bulk", "recover", "--json"]).await;
    out.expect_code(0);
    let recovered = out.json();
    assert_eq!(recovered.as_array().unwrap().len(), 1, "{recovered}");
    assert_eq!(recovered[0]["id"], 4);
    assert_eq!(recovered[0]["file_name"], "restock.csv");
    assert_eq!(recovered[0]["state"], "rolled-back");
    assert_eq!(
        (available(&sim, a), available(&sim, b)),
        (a_now + 4, b_now + 6),
        "nothing of 4 had been sent, so nothing is reversed"
    );
    let out = user.run(&["bulk", "recover"]).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("No bulk update is unfinished"),
        "{}",
        out.stdout
    );
    let out = user.run(&["sync"]).await;
    assert!(!out.stderr.contains("interrupted"), "{}", out.stderr);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service: run through .ci/test"]
async fn connect_sync_then_status_and_inventory_match_the_simulator() {
    let sim = sim().await;
    let user = User::new("connect-sync");
    let token = sim.info.admin_token.clone().unwrap();
    let address = sim.info.base_url.clone();

    let out = user
        .run_with_stdin(
            &["connect", &address, "--json"],
            Some(&format!("{token}\n")),
        )
        .await;
    out.expect_code(0);
    let connected = out.json();
    assert_eq!(connected["connected"], true);
    assert_eq!(connected["store"]["address"], address.as_str());
    assert_eq!(connected["store"]["auth"]["kind"], "admin_token");
    assert!(!out.stdout.contains(&token) && !out.stderr.contains(&token));

    let out = user.run(&["sync", "--full", "--json"]).await;
    out.expect_code(0);
    let (variants, products, locations, levels) = {
        let store = sim.state.read_store();
        let levels: usize = store.inventory_items.values().map(|i| i.levels.len()).sum();
        (
            store.variants.len(),
            store.products.len(),
            store.locations.len(),
            levels,
        )
    };
    assert_eq!(out.json()["variants"], variants);

    let out = user.run(&["status", "--json"]).await;
    out.expect_code(0);
    let status = out.json();
    assert_eq!(status["connected"], true);
    assert_eq!(status["store"]["address"], address.as_str());
    assert_eq!(status["cache"]["variants"], variants);
    assert_eq!(status["cache"]["products"], products);
    assert_eq!(status["cache"]["locations"], locations);
    assert_eq!(status["cache"]["levels"], levels);
    assert_eq!(status["queue"]["failed"], 0);
    assert!(
        !status["watermarks"].as_array().unwrap().is_empty(),
        "{status}"
    );
    let text = user.run(&["status"]).await;
    text.expect_code(0);
    assert!(text.stdout.contains(&address), "{}", text.stdout);
    assert!(text.stdout.contains("admin token"), "{}", text.stdout);

    let out = user.run(&["inventory", "--json", "--limit", "1000"]).await;
    out.expect_code(0);
    assert_eq!(out.json().as_array().unwrap().len(), variants);

    // One SKU: the cached total equals the simulator's, before and after a sale.
    let (variant_id, sku, available) = {
        let store = sim.state.read_store();
        let v = store
            .variants
            .values()
            .find(|v| store.variant_inventory_quantity(v) > 2)
            .unwrap()
            .clone();
        (v.id, v.sku.clone(), store.variant_inventory_quantity(&v))
    };
    let rows = user.run(&["inventory", &sku, "--json"]).await.json();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["sku"], sku.as_str());
    assert_eq!(rows[0]["total_available"], available);
    let text = user.run(&["inventory", &sku]).await;
    assert!(
        text.stdout.starts_with("SKU") && text.stdout.contains(&sku),
        "{}",
        text.stdout
    );

    {
        let now = sim.state.clock.now();
        sim.state
            .write_store()
            .place_order(&[(variant_id, 2)], None, now)
            .unwrap();
    }
    user.run(&["sync", "--json"]).await.expect_code(0);
    let rows = user.run(&["inventory", &sku, "--json"]).await.json();
    assert_eq!(rows[0]["total_available"], available - 2);

    // A failed job makes status exit 5, with the status still on stdout.
    let id = add_failed_job(&mut user.database(&address), "Shopify refused the write.");
    let out = user.run(&["status", "--json"]).await;
    out.expect_code(5);
    assert_eq!(out.json()["queue"]["failed"], 1);
    assert!(out.stderr.contains("shelfsync jobs list"), "{}", out.stderr);
    let out = user.run(&["jobs", "retry", &id.to_string()]).await;
    out.expect_code(0);

    assert_not_in_files(user.path(), &token);

    // The store revokes the token: the next sync says to reconnect, and how.
    post_control(&sim, "/_sim/tokens/revoke").await;
    let out = user.run(&["sync"]).await;
    out.expect_code(3);
    assert!(out.stderr.contains("Re-connect"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("shelfsync connect {address}")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&token));

    let out = user.run(&["disconnect", "--json"]).await;
    out.expect_code(0);
    assert_eq!(out.json()["disconnected"]["address"], address.as_str());
    let out = user.run(&["status", "--json"]).await;
    out.expect_code(0);
    assert_eq!(out.json()["connected"], false);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service: run through .ci/test"]
async fn connect_with_client_credentials_reads_the_secret_from_stdin() {
    let sim = sim().await;
    let user = User::new("client-credentials");
    let address = sim.info.base_url.clone();
    let out = user
        .run_with_stdin(
            &["connect", &address, "--client-id", &sim.info.client_id],
            Some(&sim.info.client_secret),
        )
        .await;
    out.expect_code(0);
    assert!(out.stdout.contains("Connected to"), "{}", out.stdout);
    assert!(!out.stdout.contains(&sim.info.client_secret));

    let status = user.run(&["status", "--json"]).await;
    status.expect_code(0);
    let status = status.json();
    assert_eq!(status["store"]["auth"]["kind"], "client_credentials");
    assert_eq!(
        status["store"]["auth"]["client_id"],
        sim.info.client_id.as_str()
    );
    user.run(&["sync", "--full"]).await.expect_code(0);
    assert_not_in_files(user.path(), &sim.info.client_secret);

    user.run(&["disconnect"]).await.expect_code(0);
    sim.stop().await;
}

/// A bodyless POST to the simulator's control API, over a plain TCP connection.
async fn post_control(sim: &RunningSim, path: &str) {
    use tokio::io::AsyncReadExt;
    let mut stream = tokio::net::TcpStream::connect(sim.addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        sim.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 2"), "{answer}");
}

/// The demo keeps its throwaway token in memory, so it runs with no keychain service at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_once_syncs_a_simulated_store_and_leaves_nothing_behind() {
    let user = User::without_keychain("demo");
    let out = user
        .run(&["demo", "--once", "--json", "--products", "10"])
        .await;
    out.expect_code(0);
    let demo = out.json();
    assert_eq!(demo["sync"]["sync"], "full");
    assert_eq!(demo["sync"]["variants"], 30);
    let status = &demo["status"];
    assert_eq!(status["connected"], true);
    assert_eq!(status["cache"]["variants"], 30);
    assert_eq!(status["cache"]["products"], 10);
    assert_eq!(status["cache"]["locations"], 3);
    assert!(
        status["store"]["name"]
            .as_str()
            .unwrap()
            .starts_with("Shelfsync Sim"),
        "{status}"
    );
    assert!(status["bucket"]["maximum"].as_f64().unwrap() > 0.0);
    let base_url = demo["simulator"]["base_url"].as_str().unwrap();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");

    // The demo never wrote a real profile, and cleaned up its own folder.
    assert!(!user.path().join("profile.json").exists());
    assert!(
        !user.path().join("demo").exists(),
        "the demo folder is removed"
    );
    // And the real namespace is still empty: status sees no store.
    let out = user.run(&["status", "--json"]).await;
    assert_eq!(out.json()["connected"], false);

    // What it did is in the log file (stderr stayed quiet), request by request.
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert_request_spans_logged(&cli_logs(user.path()));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service: run through .ci/test"]
async fn the_daemon_prints_what_needs_a_person_and_stops_on_sigterm() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let sim = sim().await;
    let user = User::new("daemon");
    let token = sim.info.admin_token.clone().unwrap();
    let address = sim.info.base_url.clone();
    user.run_with_stdin(&["connect", &address], Some(&token))
        .await
        .expect_code(0);

    let mut daemon = tokio::process::Command::new(BIN)
        .args(["daemon", "--interval", "1"])
        .env("SHELFSYNC_DATA_DIR", user.path())
        .env("SHELFSYNC_KEYCHAIN_NAMESPACE", &user.namespace)
        .env_remove("SHELFSYNC_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(daemon.stdout.take().unwrap()).lines();
    let mut stderr = BufReader::new(daemon.stderr.take().unwrap()).lines();

    // It syncs on its own: the first pass fills the cache.
    let first = tokio::time::timeout(Duration::from_secs(60), stderr.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.contains("Shelfsync daemon for"), "{first}");
    let synced = tokio::time::timeout(Duration::from_secs(60), stderr.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(synced.contains("Incremental sync"), "{synced}");

    // A customer orders: the next poll finds the order and stdout says so.
    let (variant, location) = {
        let store = sim.state.read_store();
        store
            .inventory_items
            .values()
            .find_map(|item| {
                item.levels
                    .values()
                    .find(|l| l.quantities[shopify_sim::store::AVAILABLE] >= 2)
                    .map(|l| (item.variant_id, l.location_id))
            })
            .expect("a variant in stock")
    };
    let placed = post_json_control(
        &sim,
        "/_sim/orders",
        &serde_json::json!({
            "lines": [{ "variant_id": variant, "quantity": 2 }],
            "location_id": location
        })
        .to_string(),
    )
    .await;
    let name = placed["name"]
        .as_str()
        .expect("the order's name")
        .to_owned();
    let line = tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
        .await
        .expect("a new-order line")
        .unwrap()
        .unwrap();
    assert!(
        line.starts_with(&format!("New order {name}: 2 units, ")),
        "{line}"
    );

    // The store stops accepting the token: one line on stdout says what to do.
    post_control(&sim, "/_sim/tokens/revoke").await;
    let line = tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
        .await
        .expect("an attention line")
        .unwrap()
        .unwrap();
    assert!(line.starts_with("Needs you:"), "{line}");
    assert!(
        line.contains(&format!("shelfsync connect {address}")),
        "{line}"
    );
    assert!(!line.contains(&token));
    // The refused sync job is parked for a person, and said so.
    let line = tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
        .await
        .expect("a second attention line")
        .unwrap()
        .unwrap();
    assert!(
        line.starts_with("Needs you: job ") && line.contains("sync.incremental"),
        "{line}"
    );
    assert!(line.contains("shelfsync jobs retry"), "{line}");

    let pid = daemon.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), daemon.wait())
        .await
        .expect("the daemon stops on SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mut rest = Vec::new();
    while let Ok(Some(line)) = stderr.next_line().await {
        rest.push(line);
    }
    assert!(
        rest.last().is_some_and(|l| l.contains("daemon stopped")),
        "{rest:?}"
    );
    assert!(
        rest.iter().any(|l| l.contains("Syncs are paused")),
        "no more syncs are queued once the store refused the token: {rest:?}"
    );
    // Stdout carries what a person should hear about and nothing else.
    while let Some(line) = stdout.next_line().await.unwrap() {
        assert!(
            ["Needs you:", "New order ", "Low stock: "]
                .iter()
                .any(|p| line.starts_with(p)),
            "{line}"
        );
    }

    // The failed sync job is what status reports now, with exit code 5.
    let out = user.run(&["status", "--json"]).await;
    out.expect_code(5);
    assert!(out.json()["queue"]["failed"].as_u64().unwrap() >= 1);

    // The day's log file tells the story: each request with its operation, attempt and
    // cost, the sync jobs, the refused token; and never the token itself.
    let logs = cli_logs(user.path());
    assert_request_spans_logged(&logs);
    assert!(
        logs.lines()
            .any(|l| l.contains("job{") && l.contains("kind=sync.incremental")),
        "no sync job span in the log:\n{logs}"
    );
    assert!(
        logs.contains("Re-connect"),
        "the refusal is logged:\n{logs}"
    );
    assert_not_in_files(user.path(), &token);
    user.run(&["disconnect"]).await.expect_code(0);
    sim.stop().await;
}

/// A D-Bus session bus of the test's own, with nothing on it that the test did not start:
/// no service is started on demand, so neither a Secret Service nor a keyring's unlock
/// prompt appears unless the test puts it there (as on a server nobody is logged in to).
struct PrivateBus {
    daemon: std::process::Child,
    address: String,
    dir: tempfile::TempDir,
}

impl PrivateBus {
    fn start() -> Self {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().join("bus").display()
            ),
        )
        .unwrap();
        let mut daemon = std::process::Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .env_remove("DISPLAY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon (package dbus)");
        let mut address = String::new();
        std::io::BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        Self {
            daemon,
            address,
            dir,
        }
    }

    /// GNOME Keyring's Secret Service on this bus, its login keyring created and unlocked.
    fn start_keyring(&self) {
        self.keyring_daemon(&["--unlock", "--components=secrets"]);
    }

    /// Unlocks the running keyring with the login password, as logging in again does.
    fn unlock_keyrings(&self) {
        self.keyring_daemon(&["--replace", "--unlock", "--components=secrets"]);
    }

    fn keyring_daemon(&self, args: &[&str]) {
        use std::io::Write;
        let home = self.dir.path().join("home");
        let runtime = home.join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut keyring = std::process::Command::new("gnome-keyring-daemon")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("HOME", &home)
            .env_remove("DISPLAY")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon (package gnome-keyring)");
        keyring
            .stdin
            .take()
            .unwrap()
            .write_all(b"shelfsync-test-keyring")
            .unwrap();
        assert!(keyring.wait().unwrap().success());
        self.gdbus(&["wait", "--timeout", "10", "org.freedesktop.secrets"]);
    }

    /// Locks every keyring, as the desktop does when the screen locks or the owner logs out.
    fn lock_keyrings(&self) {
        let collections = self.gdbus(&[
            "call",
            "--dest",
            "org.freedesktop.secrets",
            "--object-path",
            "/org/freedesktop/secrets",
            "--method",
            "org.freedesktop.DBus.Properties.Get",
            "org.freedesktop.Secret.Service",
            "Collections",
        ]);
        // `(<[objectpath '/org/freedesktop/secrets/collection/login', …]>,)`
        let paths: Vec<String> = collections
            .split('\'')
            .filter(|p| p.starts_with("/org/freedesktop/secrets/collection/"))
            .map(|p| format!("'{p}'"))
            .collect();
        assert!(!paths.is_empty(), "no keyring to lock: {collections}");
        self.gdbus(&[
            "call",
            "--dest",
            "org.freedesktop.secrets",
            "--object-path",
            "/org/freedesktop/secrets",
            "--method",
            "org.freedesktop.Secret.Service.Lock",
            &format!("[{}]", paths.join(", ")),
        ]);
    }

    fn gdbus(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("gdbus")
            .arg(args[0])
            .args(["--address", &self.address])
            .args(&args[1..])
            .output()
            .expect("run gdbus (package libglib2.0-bin)");
        assert!(
            out.status.success(),
            "gdbus {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        // The keyring daemon exits with its bus.
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// A user whose commands talk to `bus` and nowhere else.
fn user_on(bus: &PrivateBus, test: &str) -> User {
    let mut user = User::new(test);
    // Leaked once per test: the environment table holds `&'static str`s.
    let address: &'static str = Box::leak(bus.address.clone().into_boxed_str());
    user.env.push(("DBUS_SESSION_BUS_ADDRESS", address));
    user
}

/// A bus is there but no Secret Service answers on it (a server, or a desktop without a
/// keyring): every command that needs the secret exits 4 and says what to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs dbus-daemon: run through .ci/test"]
async fn with_a_bus_but_no_secret_service_commands_exit_4_and_say_what_to_start() {
    let sim = sim().await;
    let bus = PrivateBus::start();
    let user = user_on(&bus, "no-secret-service");
    let token = sim.info.admin_token.clone().unwrap();
    let out = user
        .run_with_stdin(&["connect", &sim.info.base_url], Some(&token))
        .await;
    out.expect_code(4);
    assert!(!user.path().join("profile.json").exists(), "nothing saved");

    user.save_profile(&sim.info.base_url);
    for args in [&["status"][..], &["sync"], &["daemon", "--interval", "1"]] {
        let out = user.run(args).await;
        out.expect_code(4);
        let message = out.stderr.trim();
        assert_eq!(message.lines().count(), 1, "{args:?}: one line: {message}");
        assert!(message.contains(&sim.info.base_url), "{message}");
        assert!(
            message.contains("keychain is not available")
                && message.contains("start your desktop's keyring service"),
            "{args:?} says what to do: {message}"
        );
        assert!(!message.contains(&token), "{message}");
    }
    sim.stop().await;
}

/// The keyring holds the token but is locked and nobody is there to unlock it: every
/// command that needs the secret exits 4, says the keychain is locked and to unlock it,
/// and the daemon does not start; once unlocked, the same commands work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs GNOME Keyring: run through .ci/test"]
async fn a_locked_keychain_exits_4_and_says_to_unlock_it() {
    let sim = sim().await;
    let bus = PrivateBus::start();
    bus.start_keyring();
    let user = user_on(&bus, "locked");
    let token = sim.info.admin_token.clone().unwrap();
    let address = sim.info.base_url.clone();
    user.run_with_stdin(&["connect", &address], Some(&token))
        .await
        .expect_code(0);
    user.run(&["sync", "--full"]).await.expect_code(0);

    bus.lock_keyrings();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["sync"],
        &["daemon", "--interval", "1"],
    ] {
        let out = user.run(args).await;
        out.expect_code(4);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        let message = out.stderr.trim();
        assert_eq!(message.lines().count(), 1, "{args:?}: one line: {message}");
        assert!(message.contains(&address), "names the store: {message}");
        assert!(message.contains("keychain is locked"), "{message}");
        assert!(
            message.contains("Unlock your keyring") && message.contains("try again"),
            "{args:?} says what to do: {message}"
        );
        assert!(!message.contains(&token), "{message}");
    }
    // Reading the cache needs no secret, so it still works.
    user.run(&["inventory", "--limit", "1"])
        .await
        .expect_code(0);

    // The owner logs in again, which unlocks the keyring: the same commands work.
    bus.unlock_keyrings();
    user.run(&["status"]).await.expect_code(0);
    user.run(&["sync"]).await.expect_code(0);
    sim.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service: run through .ci/test"]
async fn the_daemon_receives_webhooks_through_a_tunnel() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let sim = sim().await;
    let user = User::new("daemon-webhooks");
    let token = sim.info.admin_token.clone().unwrap();
    let address = sim.info.base_url.clone();
    user.run_with_stdin(&["connect", &address], Some(&token))
        .await
        .expect_code(0);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tunnel: Value = post_json_control(
        &sim,
        "/_sim/tunnels",
        &format!(r#"{{"target":"http://127.0.0.1:{port}"}}"#),
    )
    .await;
    let url = format!("{}/hooks", tunnel["public_url"].as_str().unwrap());

    let mut daemon = tokio::process::Command::new(BIN)
        .args(["daemon", "--interval", "3600", "--webhook-secret-stdin"])
        .args(["--webhook-port", &port.to_string(), "--webhook-url", &url])
        .env("SHELFSYNC_DATA_DIR", user.path())
        .env("SHELFSYNC_KEYCHAIN_NAMESPACE", &user.namespace)
        .env_remove("SHELFSYNC_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // A legacy admin-token app: its webhooks are signed with the app's API secret key.
    let mut stdin = daemon.stdin.take().unwrap();
    stdin
        .write_all(format!("{}\n", sim.info.client_secret).as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let mut stderr = BufReader::new(daemon.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("Incremental sync")) {
        let line = tokio::time::timeout(Duration::from_secs(60), stderr.next_line())
            .await
            .expect("the daemon reports")
            .unwrap()
            .expect("the daemon runs");
        seen.push(line);
    }
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("Receiving webhooks on http://127.0.0.1:{port}"))),
        "{seen:?}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sim.state.webhooks.subscriptions().len() < 5 {
        assert!(std::time::Instant::now() < deadline, "subscriptions made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A merchant's stock edit reaches the cache through the webhook (no poll for an hour).
    let (item, location, sku, total) = {
        let store = sim.state.read_store();
        let v = store.variants.values().nth(4).unwrap().clone();
        let location = *store.inventory_items[&v.inventory_item_id]
            .levels
            .keys()
            .next()
            .unwrap();
        (
            v.inventory_item_id,
            location,
            v.sku.clone(),
            store.variant_inventory_quantity(&v),
        )
    };
    post_json_control(
        &sim,
        "/_sim/inventory",
        &format!(
            r#"{{"inventory_item_id":{item},"location_id":{location},"name":"available","delta":-4}}"#
        ),
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rows = user.run(&["inventory", &sku, "--json"]).await.json();
        if rows[0]["total_available"] == total - 4 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{rows}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let pid = daemon.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(30), daemon.wait())
        .await
        .expect("the daemon stops on SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    user.run(&["disconnect"]).await.expect_code(0);
    sim.stop().await;
}

/// POSTs JSON text to the simulator's control API over plain HTTP/1.1.
async fn post_json_control(sim: &RunningSim, path: &str, body: &str) -> Value {
    use tokio::io::AsyncReadExt;
    let mut tcp = tokio::net::TcpStream::connect(sim.addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 2"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or(Value::Null)
}
