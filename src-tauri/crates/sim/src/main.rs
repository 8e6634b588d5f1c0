//! The `shopify-sim` binary: parses flags, starts the simulator, prints the start line (one JSON
//! object) on stdout and serves until interrupted.

use std::io::Write;

#[tokio::main]
async fn main() {
    let config = match shopify_sim::SimConfig::from_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let sim = match shopify_sim::start(config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("shopify-sim: cannot start: {e}");
            std::process::exit(1);
        }
    };
    match serde_json::to_string(&sim.info) {
        Ok(line) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        Err(e) => {
            eprintln!("shopify-sim: cannot print start line: {e}");
            std::process::exit(1);
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    sim.stop().await;
}
