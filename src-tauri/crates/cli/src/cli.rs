//! The command line as `clap` sees it: commands, flags and the help text.
//!
//! Kept apart from the commands so the whole surface (and the exit codes printed under
//! `--help`) reads in one place.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Printed under `--help`; the same list is in the crate docs.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  a local problem (Shelfsync's data files or database)
  2  usage error (unknown command or flag, missing argument, no secret given, no
     terminal to confirm on and no --yes), or import found problems in the file
  3  store error: unreachable, refused credentials (reconnect), no store connected,
     or the connection dropped during a bulk update (`shelfsync bulk recover`)
  4  keychain error: no keychain service, keychain locked, or a secret missing
  5  partial failure: part of the work failed, failed jobs wait for a person, or a
     bulk update was rolled back or left rows out

Every command takes --json: one JSON value on stdout and nothing else (daemon and
demo print one JSON object per line); logs and errors go to stderr.";

#[derive(Debug, Parser)]
#[command(
    name = "shelfsync",
    version = shelfsync_engine::VERSION,
    about = "Keep a Shopify store's inventory and orders in sync on this computer.",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    /// Print one JSON value on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Where Shelfsync keeps the store profile and its cache [default: the OS data folder].
    #[arg(long, global = true, env = "SHELFSYNC_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Where the daily log files go [default: `logs` in --data-dir, else the app's log
    /// folder].
    #[arg(long, global = true, env = "SHELFSYNC_LOG_DIR", value_name = "DIR")]
    pub log_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect a store. The credentials are checked with the store, then saved in the OS
    /// keychain. The secret is read from stdin when it is not a terminal, otherwise from a
    /// hidden prompt; never from an argument.
    Connect(ConnectArgs),
    /// Fetch what changed since the last sync (or everything, with --full).
    Sync(SyncArgs),
    /// The connected store, its token, API budget, cache, work queue and last syncs.
    Status,
    /// The work queue: list jobs, retry or discard failed ones.
    Jobs(JobsArgs),
    /// Search the cached inventory by SKU, product title or variant title.
    Inventory(InventoryArgs),
    /// Forget the store: its secrets leave the keychain (the cache file stays).
    Disconnect,
    /// Start a simulated store in this process, connect to it and sync it, then place an
    /// order every few seconds and sync again, until Ctrl-C. Never touches real credentials.
    Demo(DemoArgs),
    /// Run the engine headless: sync every --interval seconds and print what needs a person,
    /// until Ctrl-C or SIGTERM.
    Daemon(DaemonArgs),
    /// Plan a bulk update from a file (Shopify's inventory or product CSV, or a plain
    /// sku,location,quantity or sku,price file) against the store's live values and print
    /// what would change; with --apply, apply that plan after confirmation. With --check, only
    /// read the file and report its format and problems (no store needed).
    Import(ImportArgs),
    /// The bulk updates applied from files: list them, undo one, or recover one a crash or a
    /// lost connection interrupted.
    Bulk(BulkArgs),
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// A `*.myshopify.com` domain, or a base URL such as the simulator's.
    #[arg(value_name = "STORE")]
    pub store: String,

    /// Use the client-credentials grant with this client id (the secret is the app's client
    /// secret). Without it the secret is an admin API token.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Read the whole store again, ignoring the watermarks.
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub action: Option<JobsAction>,
}

#[derive(Debug, Subcommand)]
pub enum JobsAction {
    /// Jobs that are waiting, running or failed (the default).
    List,
    /// Run failed jobs again, with a fresh retry budget.
    Retry(RetryArgs),
    /// Remove failed jobs from the queue; the audit log keeps what they were.
    Discard(DiscardArgs),
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The failed jobs to retry.
    #[arg(
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all",
        value_parser = clap::value_parser!(i64).range(1..)
    )]
    pub ids: Vec<i64>,

    /// Retry every failed job.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct DiscardArgs {
    /// The failed jobs to discard.
    #[arg(value_name = "ID", required = true, value_parser = clap::value_parser!(i64).range(1..))]
    pub ids: Vec<i64>,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Start of a SKU, product title or variant title (case-insensitive); empty lists all.
    #[arg(value_name = "QUERY", default_value = "")]
    pub query: String,

    /// At most this many rows.
    #[arg(long, default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,

    /// Skip this many rows first (for paging).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub offset: u32,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Only read and check the file; touch no store.
    #[arg(
        long,
        conflicts_with_all = ["apply", "output", "all", "skip_problems"]
    )]
    pub check: bool,

    /// Apply the plan after showing it: asks "Apply N changes? [y/N]" on a terminal.
    #[arg(long)]
    pub apply: bool,

    /// Do not ask before applying (needed when stdin is not a terminal, and with --json).
    #[arg(long, short = 'y', requires = "apply")]
    pub yes: bool,

    /// Leave out the rows someone changed since the plan (a sale, another edit) and apply the
    /// rest. Without it any such change stops the update and reverses what it wrote.
    #[arg(long, requires = "apply")]
    pub skip_conflicts: bool,

    /// Go ahead with the rows that match even though other rows of the file have problems
    /// (without it, problems exit with code 2 and block --apply).
    #[arg(long)]
    pub skip_problems: bool,

    /// Print every row of the plan, not only the first ones.
    #[arg(long)]
    pub all: bool,

    /// Also write the whole plan to PATH: `.csv` (one line per row) or `.json`.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BulkArgs {
    #[command(subcommand)]
    pub action: BulkAction,
}

#[derive(Debug, Subcommand)]
pub enum BulkAction {
    /// The journal of bulk updates, newest first: file, mode, state and counts.
    List(BulkListArgs),
    /// Reverse an applied bulk update by delta (units sold since stay sold). Shows what it
    /// would reverse and what it would leave, then asks.
    Undo(BulkUndoArgs),
    /// Settle bulk updates a crash or a lost connection left unfinished: roll back what they
    /// wrote (the default), or send the rest with --finish.
    Recover(BulkRecoverArgs),
}

#[derive(Debug, Args)]
pub struct BulkListArgs {
    /// At most this many bulk updates.
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct BulkUndoArgs {
    /// The bulk update to undo (see `shelfsync bulk list`).
    #[arg(value_name = "ID", value_parser = clap::value_parser!(i64).range(1..))]
    pub id: i64,

    /// Do not ask before undoing (needed when stdin is not a terminal, and with --json).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Print every row, not only the first ones.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct BulkRecoverArgs {
    /// Only this bulk update [default: every unfinished one].
    #[arg(value_name = "ID", value_parser = clap::value_parser!(i64).range(1..))]
    pub id: Option<i64>,

    /// Send the rest of an interrupted apply instead of rolling it back. An interrupted
    /// roll-back or undo is always carried to its end.
    #[arg(long)]
    pub finish: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Sync once, print the status and exit (no simulated orders).
    #[arg(long)]
    pub once: bool,

    /// Seconds between simulated orders.
    #[arg(long, default_value_t = 3, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub every: u64,

    /// Products in the simulated store (three variants each, stocked at three locations).
    #[arg(long, default_value_t = 200, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=20_000))]
    pub products: u64,
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Seconds between incremental syncs.
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: u64,

    /// Also receive the store's webhooks: listen on 127.0.0.1:PORT (0 picks a free port).
    #[arg(long, value_name = "PORT", env = "SHELFSYNC_WEBHOOK_PORT")]
    pub webhook_port: Option<u16>,

    /// The public https:// address of your tunnel (ngrok, cloudflared) that forwards to the
    /// webhook port. Shelfsync subscribes it to the store's events and re-creates the
    /// subscriptions Shopify removes.
    #[arg(
        long,
        value_name = "URL",
        env = "SHELFSYNC_WEBHOOK_URL",
        requires = "webhook_port"
    )]
    pub webhook_url: Option<String>,

    /// Read the key that signs webhooks from stdin: the app's API secret key (shpss_…), needed
    /// when the store is connected with an admin token. Client-credentials connections use
    /// their client secret from the keychain.
    #[arg(long, requires = "webhook_port")]
    pub webhook_secret_stdin: bool,

    /// Also read the store's events from the cloud relay: the SQS queue that your
    /// EventBridge rule fills (https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE). It holds
    /// events while the computer is off. The AWS key comes from the keychain
    /// (--relay-keys-stdin stores it).
    #[arg(long, value_name = "URL", env = "SHELFSYNC_RELAY_QUEUE_URL")]
    pub relay_queue_url: Option<String>,

    /// The relay queue's AWS region; by default the one in the queue's address.
    #[arg(
        long,
        value_name = "REGION",
        env = "SHELFSYNC_RELAY_REGION",
        requires = "relay_queue_url"
    )]
    pub relay_region: Option<String>,

    /// Another SQS endpoint than Amazon's for the region (an SQS-compatible service).
    #[arg(
        long,
        value_name = "URL",
        env = "SHELFSYNC_RELAY_ENDPOINT",
        requires = "relay_queue_url"
    )]
    pub relay_endpoint: Option<String>,

    /// Your EventBridge partner event source (arn:aws:events:…): Shelfsync subscribes it to
    /// the store's events and re-creates the subscriptions Shopify removes.
    #[arg(
        long,
        value_name = "ARN",
        env = "SHELFSYNC_RELAY_EVENT_SOURCE",
        requires = "relay_queue_url"
    )]
    pub relay_event_source: Option<String>,

    /// Read the relay's AWS access key from stdin and store it in the keychain: the access
    /// key id on the first line, the secret access key on the second. Give the key only
    /// sqs:ReceiveMessage, sqs:DeleteMessage and sqs:ChangeMessageVisibility on the queue.
    #[arg(
        long,
        requires = "relay_queue_url",
        conflicts_with = "webhook_secret_stdin"
    )]
    pub relay_keys_stdin: bool,
}
