//! The real OS keychain: GNOME Keyring's Secret Service on the private D-Bus session
//! that `.ci/test` starts. Ignored by a plain `cargo test`, which has no such session.

use shelfsync_engine::{CredentialError, Keychain, Secret, SecretKind, StoreKey};

fn unique_keychain() -> Keychain {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    Keychain::platform_with_namespace(format!("app.shelfsync.test.{}.{nanos}", std::process::id()))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service: run through .ci/test"]
async fn secret_round_trips_through_the_os_keychain() {
    let kc = unique_keychain();
    let store = StoreKey::new("keychain-test.myshopify.com");
    let token = Secret::new("shpat_keychain_roundtrip_0001");

    kc.set(&store, SecretKind::AccessToken, &token)
        .await
        .expect("store the token");
    let read = kc
        .get(&store, SecretKind::AccessToken)
        .await
        .expect("read it back");
    assert_eq!(read.expose(), "shpat_keychain_roundtrip_0001");

    // A second process-independent handle sees the same item: it lives in the keychain,
    // not in this process.
    let again = Keychain::platform_with_namespace(kc.namespace())
        .get(&store, SecretKind::AccessToken)
        .await
        .expect("read through a fresh handle");
    assert_eq!(again, token);

    // Other kinds and other stores are separate items.
    assert!(
        kc.find(&store, SecretKind::ClientSecret)
            .await
            .unwrap()
            .is_none()
    );
    let other = StoreKey::new("other-store.myshopify.com");
    assert!(
        kc.find(&other, SecretKind::AccessToken)
            .await
            .unwrap()
            .is_none()
    );

    kc.delete(&store, SecretKind::AccessToken)
        .await
        .expect("delete");
    match kc.get(&store, SecretKind::AccessToken).await {
        Err(CredentialError::Missing { .. }) => {}
        other => panic!("expected Missing after delete, got {other:?}"),
    }
    // Deleting again is harmless.
    kc.delete(&store, SecretKind::AccessToken)
        .await
        .expect("idempotent delete");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service: run through .ci/test"]
async fn replacing_a_secret_keeps_only_the_new_value() {
    let kc = unique_keychain();
    let store = StoreKey::new("rotate.myshopify.com");
    kc.set(&store, SecretKind::ClientSecret, &Secret::new("old-secret"))
        .await
        .unwrap();
    kc.set(&store, SecretKind::ClientSecret, &Secret::new("new-secret"))
        .await
        .unwrap();
    assert_eq!(
        kc.get(&store, SecretKind::ClientSecret)
            .await
            .unwrap()
            .expose(),
        "new-secret"
    );
    kc.forget_store(&store).await.unwrap();
    assert!(
        kc.find(&store, SecretKind::ClientSecret)
            .await
            .unwrap()
            .is_none()
    );
}

/// With no session bus at all the error says the keychain is unavailable and what to do;
/// it never falls back to storing the secret elsewhere.
#[tokio::test(flavor = "multi_thread")]
async fn no_keychain_service_gives_a_clear_error() {
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "probe_without_bus", "--ignored", "--nocapture"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/shelfsync-no-bus",
        )
        .env_remove("DISPLAY")
        .env("SHELFSYNC_KEYCHAIN_PROBE", "1")
        .output()
        .expect("run the probe in a child process");
    let out = String::from_utf8_lossy(&status.stdout).to_string()
        + &String::from_utf8_lossy(&status.stderr);
    assert!(status.status.success(), "probe failed:\n{out}");
    assert!(out.contains("PROBE-OK"), "probe did not run:\n{out}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "run only as a child of no_keychain_service_gives_a_clear_error"]
async fn probe_without_bus() {
    if std::env::var_os("SHELFSYNC_KEYCHAIN_PROBE").is_none() {
        return; // only meaningful in the bus-less child process
    }
    let kc = unique_keychain();
    let store = StoreKey::new("nobus.myshopify.com");
    let err = kc
        .set(
            &store,
            SecretKind::AdminToken,
            &Secret::new("shpat_never_written"),
        )
        .await
        .expect_err("no bus, no keychain");
    let text = err.to_string();
    assert!(
        matches!(err, CredentialError::Unavailable { .. }),
        "{err:?}"
    );
    assert!(text.contains("nobus.myshopify.com"), "{text}");
    assert!(text.contains("keyring service"), "{text}");
    assert!(!text.contains("shpat_never_written"), "{text}");
    println!("PROBE-OK");
}
