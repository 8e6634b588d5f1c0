//! A real SQS and EventBridge on loopback: `moto_server` from the venv `.ci/test` installs
//! (`SHELFSYNC_MOTO_SERVER` names it; otherwise `moto_server` on PATH). Missing moto is a test
//! failure, never a silent pass: the tests that need it are `#[ignore]`d for a plain
//! `cargo test` and run by `.ci/test` with `--include-ignored`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The owner's AWS side, as `tests/fixtures/relay_setup.py` created it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RelayQueue {
    pub queue_url: String,
    pub dead_letter_url: String,
}

/// A running `moto_server`, stopped when dropped.
pub struct Moto {
    pub endpoint: String,
    pub port: u16,
    binary: PathBuf,
    child: Child,
}

pub const BUS: &str = "shelfsync-relay";
pub const REGION: &str = "us-east-1";
pub const KEY_ID: &str = "AKIDRELAYTEST";
pub const SECRET_KEY: &str = "relay-test-secret";

fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("SHELFSYNC_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("moto_server"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "moto is not installed: run the tests through .ci/test, which installs moto[server] \
             in a venv and sets SHELFSYNC_MOTO_SERVER"
        )
    })
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl Moto {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts on `port` and waits until it answers (about 3 s).
    pub fn start_on(port: u16) -> Self {
        let binary = binary();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            endpoint,
            port,
            binary,
            child,
        }
    }

    /// Creates the bus, the queue (with `visibility_seconds` and a dead-letter queue after
    /// `max_receives` receives) and the rule forwarding `topics` to it.
    pub fn set_up_relay(
        &self,
        queue: &str,
        visibility_seconds: u32,
        max_receives: u32,
        topics: &[&str],
    ) -> RelayQueue {
        let python = self.binary.with_file_name("python");
        let python = if python.is_file() {
            python
        } else {
            PathBuf::from("python3")
        };
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/relay_setup.py");
        let out = Command::new(&python)
            .args([
                script,
                &self.endpoint,
                BUS,
                queue,
                &visibility_seconds.to_string(),
                &max_receives.to_string(),
                &topics.join(","),
            ])
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
        assert!(out.status.success(), "relay_setup.py failed");
        let line = BufReader::new(out.stdout.as_slice())
            .lines()
            .map_while(Result::ok)
            .last()
            .expect("relay_setup.py prints the queue");
        serde_json::from_str(&line).expect("relay_setup.py prints JSON")
    }
}

/// A raw SQS client for what the owner's AWS console would show.
pub fn sqs(moto: &Moto) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new(REGION))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            KEY_ID, SECRET_KEY, None, None, "test",
        ))
        .endpoint_url(&moto.endpoint)
        .http_client(shelfsync_engine::relay::http_client().unwrap())
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// Messages in a queue, visible or in flight.
pub async fn depth(moto: &Moto, url: &str) -> u64 {
    let attrs = sqs(moto)
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    [
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|name| {
        attrs
            .get(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    })
    .sum()
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (at most 20 s) until the queue holds nothing, visible or in flight: the relay deletes
/// a receive's messages just after committing their events, so the inbox fills first.
pub async fn wait_empty(moto: &Moto, url: &str) {
    super::eventually(20, || async move {
        match depth(moto, url).await {
            0 => Ok(()),
            n => Err(format!("{n} messages still in the queue")),
        }
    })
    .await;
}

/// The EventBridge event source Shopify would create for the simulator's app.
pub fn event_source_arn(sim: &shopify_sim::RunningSim) -> String {
    format!(
        "arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/{}/shelfsync",
        sim.state.webhooks.api_client_id
    )
}

/// The relay's settings for `queue`, with short waits and retries so tests run quickly.
pub fn relay_settings(moto: &Moto, queue: &RelayQueue) -> shelfsync_engine::RelaySettings {
    shelfsync_engine::RelaySettings {
        endpoint_url: Some(moto.endpoint.clone()),
        wait_time: Duration::from_secs(1),
        malformed_hold: Duration::from_secs(1),
        retry: shelfsync_engine::RelayRetrySchedule {
            steps: vec![Duration::from_millis(50), Duration::from_millis(100)],
        },
        ..shelfsync_engine::RelaySettings::new(queue.queue_url.clone(), REGION)
    }
}

/// moto's AWS key, as the owner would give it to the relay.
pub fn relay_credentials() -> shelfsync_engine::RelayCredentials {
    shelfsync_engine::RelayCredentials {
        access_key_id: KEY_ID.into(),
        secret_access_key: shelfsync_engine::Secret::new(SECRET_KEY),
    }
}
