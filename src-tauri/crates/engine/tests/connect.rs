//! Connecting a store: credentials are checked before anything is saved, secrets go only to
//! the keychain, and a restarted engine resumes from what was saved.

use shelfsync_engine::{
    AuthMethod, ConnectWith, Engine, EngineConfig, EngineError, Keychain, SecretKind, StoreKey,
    SyncKind,
};
use shelfsync_shopify::{Clock, Secret, ShopifyError};
use shopify_sim::{RunningSim, SimConfig};
use std::path::Path;
use std::sync::Arc;

fn engine(dir: &Path, keychain: &Keychain) -> Engine {
    Engine::new(EngineConfig {
        data_dir: dir.to_path_buf(),
        keychain: keychain.clone(),
        clock: Clock::real(),
    })
}

fn mock_keychain() -> Keychain {
    let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    Keychain::with_store("app.shelfsync.test", store)
}

async fn sim() -> RunningSim {
    shopify_sim::start(SimConfig {
        products: 10,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Every file under `dir`, as bytes, must not contain any of `secrets`.
fn assert_no_secret_in_files(dir: &Path, secrets: &[&str]) {
    let mut scanned = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            scanned += 1;
            for secret in secrets {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{} contains a secret",
                    path.display()
                );
            }
        }
    }
    assert!(scanned >= 2, "expected the profile and the database");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_saves_nothing() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let keychain = mock_keychain();
    let e = engine(dir.path(), &keychain);
    let err = e
        .connect(
            &sim.info.base_url,
            ConnectWith::ClientCredentials {
                client_id: sim.info.client_id.clone(),
                client_secret: Secret::new("shpss_wrong_wrong_wrong"),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Shopify(ShopifyError::Unauthorized { .. })),
        "{err:?}"
    );
    assert!(!err.to_string().contains("shpss_wrong"), "{err}");
    assert!(e.saved_profile().unwrap().is_none());
    let key = StoreKey::new(&sim.info.base_url);
    assert!(
        keychain
            .find(&key, SecretKind::ClientSecret)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        e.sync(SyncKind::Full).await,
        Err(EngineError::NotConnected)
    ));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_sync_restart_and_resume_without_secrets_on_disk() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let keychain = mock_keychain();
    let secret = sim.info.client_secret.clone();
    {
        let e = engine(dir.path(), &keychain);
        let profile = e
            .connect(
                &sim.info.base_url,
                ConnectWith::ClientCredentials {
                    client_id: sim.info.client_id.clone(),
                    client_secret: Secret::new(secret.clone()),
                },
            )
            .await
            .unwrap();
        assert!(matches!(profile.auth, AuthMethod::ClientCredentials { .. }));
        let report = e.sync(SyncKind::Full).await.unwrap();
        assert_eq!(report.variants, 30);
        let status = e.status().await.unwrap();
        assert!(status.token_expires_at.is_some(), "token expiry is visible");
        assert_eq!(status.cache.unwrap().variants, 30);
        assert_eq!(status.bucket.unwrap().maximum, 2000.0);
    }
    // The current access token is in the keychain (with its expiry), nowhere else.
    let key = StoreKey::new(&sim.info.base_url);
    let saved = keychain
        .get(&key, SecretKind::AccessToken)
        .await
        .expect("the access token is kept in the keychain");
    let saved: serde_json::Value = serde_json::from_str(saved.expose()).unwrap();
    let access_token = saved["token"].as_str().unwrap().to_string();
    assert!(saved["expires_unix"].as_u64().unwrap() > 0);

    // A restart: a new engine over the same directory and keychain.
    let e = engine(dir.path(), &keychain);
    let profile = e.resume().await.unwrap();
    assert_eq!(profile.name, sim.read_name());
    let found = e.search_inventory("", 5, 0).await.unwrap();
    assert_eq!(found.len(), 5, "the cache survived the restart");
    let page = e.search_inventory_page("", 5, 0).await.unwrap();
    assert_eq!(page.rows, found, "the same first page");
    let cached = e.status().await.unwrap().cache.unwrap().variants;
    assert_eq!(page.total, cached, "the total counts every cached variant");
    e.sync(SyncKind::Incremental).await.unwrap();

    // The restarted engine reused the saved token instead of asking for a new one.
    let again = keychain.get(&key, SecretKind::AccessToken).await.unwrap();
    assert!(
        again.expose().contains(&access_token),
        "a new token was granted after restart"
    );

    let admin = sim.info.admin_token.clone().unwrap();
    assert_no_secret_in_files(dir.path(), &[&secret, &admin, &access_token]);

    // Disconnecting removes the secrets from the keychain.
    e.disconnect().await.unwrap();
    assert!(
        keychain
            .find(&key, SecretKind::AccessToken)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        keychain
            .find(&key, SecretKind::ClientSecret)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(e.resume().await, Err(EngineError::NotConnected)));
    sim.stop().await;
}

trait ShopName {
    fn read_name(&self) -> String;
}

impl ShopName for RunningSim {
    fn read_name(&self) -> String {
        self.state.read_store().shop.as_ref().unwrap().name.clone()
    }
}
