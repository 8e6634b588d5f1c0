//! Syncs run as durable jobs: a sync that keeps failing waits in the failed list for a
//! person, and retrying it after the store recovers brings the cache up to date.

use serde_json::json;
use shelfsync_engine::jobs::{JobRetryPolicy, SupervisorConfig};
use shelfsync_engine::{ConnectWith, Engine, EngineConfig, EngineEvent, Keychain, SyncKind};
use shelfsync_shopify::{Clock, Secret};
use shopify_sim::SimConfig;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_sync_waits_for_a_person_and_a_retry_recovers() {
    let sim = shopify_sim::start(SimConfig {
        products: 10,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    let engine = Engine::new(EngineConfig {
        data_dir: dir.path().to_path_buf(),
        keychain: Keychain::with_store("app.shelfsync.test", store),
        clock: Clock::real(),
    })
    .with_job_config(SupervisorConfig {
        retry: JobRetryPolicy {
            max_attempts: 2,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(20),
        },
        ..SupervisorConfig::default()
    });
    let token = sim.info.admin_token.clone().unwrap();
    engine
        .connect(
            &sim.info.base_url,
            ConnectWith::AdminToken(Secret::new(token)),
        )
        .await
        .unwrap();
    let mut events = engine.events().subscribe();

    // The store starts answering 503 to every GraphQL request.
    let http = reqwest::Client::new();
    let faults = format!("{}/_sim/faults", sim.info.base_url);
    let r = http
        .post(&faults)
        .json(&json!({"http_5xx_rate": 1.0}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    engine.request_sync(SyncKind::Full).await.unwrap();
    let failed = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(EngineEvent::Attention { attention }) = events.recv().await {
                return attention;
            }
        }
    })
    .await
    .expect("the job needs a person within a minute");
    let text = format!("{failed:?}");
    assert!(text.contains("503"), "the reason names the failure: {text}");

    let jobs = engine.failed_jobs().await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, "sync.full");
    assert!(jobs[0].last_error.as_deref().unwrap_or("").contains("503"));
    assert_eq!(engine.status().await.unwrap().cache.unwrap().variants, 0);

    // The store recovers; the person retries from the failed list.
    let r = http
        .post(&faults)
        .json(&json!({"http_5xx_rate": 0.0}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    engine.retry_job(jobs[0].id).await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(EngineEvent::SyncFinished { .. }) = events.recv().await {
                return;
            }
        }
    })
    .await
    .expect("the retried sync finishes");
    let status = engine.status().await.unwrap();
    assert_eq!(status.cache.unwrap().variants, 30);
    assert!(engine.failed_jobs().await.unwrap().is_empty());
    engine.shutdown().await;
    sim.stop().await;
}
