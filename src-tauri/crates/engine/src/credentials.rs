//! Credentials in the OS keychain, and nowhere else.
//!
//! Each connected store keeps up to three secrets (the client secret, a legacy admin
//! token, the current access token) as separate keychain items. The keychain *service*
//! name separates release from development builds and one store from another, so a debug
//! build on a developer's laptop never reads or overwrites the owner's real credentials.
//!
//! Keychain calls are blocking (D-Bus round trips on Linux), so every call runs on the
//! blocking pool via `spawn_blocking`; calling them on an async worker would stall it (and
//! with zbus's tokio integration it would panic).
//!
//! There is deliberately no fallback to a file: if no keychain is usable the error says
//! which store is affected and what to do, and nothing is written anywhere else.

use crate::Secret;
use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use std::fmt;
use std::sync::Arc;

/// Which secret of a store an item holds. The variant names the keychain item's user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    ClientSecret,
    AdminToken,
    AccessToken,
    /// The AWS access key id the cloud relay reads its SQS queue with.
    RelayAccessKeyId,
    /// Its secret access key.
    RelaySecretAccessKey,
    /// The key Shopify signs webhooks with, for a store connected with an admin token (the
    /// app's API secret key, `shpss_…`); client-credentials stores use their client secret.
    WebhookSigningSecret,
}

impl SecretKind {
    fn account(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "client-secret",
            SecretKind::AdminToken => "admin-token",
            SecretKind::AccessToken => "access-token",
            SecretKind::RelayAccessKeyId => "relay-access-key-id",
            SecretKind::RelaySecretAccessKey => "relay-secret-access-key",
            SecretKind::WebhookSigningSecret => "webhook-signing-secret",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "client secret",
            SecretKind::AdminToken => "admin token",
            SecretKind::AccessToken => "access token",
            SecretKind::RelayAccessKeyId => "relay access key id",
            SecretKind::RelaySecretAccessKey => "relay secret access key",
            SecretKind::WebhookSigningSecret => "webhook signing secret",
        }
    }
}

/// The store a credential belongs to: its `*.myshopify.com` domain, or any base URL
/// (the simulator's) for a demo or test store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreKey(String);

impl StoreKey {
    pub fn new(domain: impl Into<String>) -> Self {
        Self(
            domain
                .into()
                .trim()
                .trim_end_matches('/')
                .to_ascii_lowercase(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a credential could not be stored or read. Every message names the store and the
/// next step, and none contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("No {kind} for {store} in the keychain. Connect the store again to enter it.")]
    Missing { store: StoreKey, kind: &'static str },
    #[error(
        "The OS keychain is not available ({detail}). Shelfsync keeps {store}'s credentials only \
         in the keychain: start your desktop's keyring service (on Linux a Secret Service such \
         as GNOME Keyring), then try again."
    )]
    Unavailable { store: StoreKey, detail: String },
    #[error(
        "The OS keychain is locked, so {store}'s credentials cannot be read or saved. Unlock \
         your keyring (log in to the desktop session or open your keyring app), then try again."
    )]
    Locked { store: StoreKey, detail: String },
    #[error("The keychain refused the {kind} for {store}: {detail}")]
    Rejected {
        store: StoreKey,
        kind: &'static str,
        detail: String,
    },
}

/// Access to the OS keychain under one service namespace.
#[derive(Clone)]
pub struct Keychain {
    namespace: String,
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Platform,
    Store(Arc<CredentialStore>),
}

impl fmt::Debug for Keychain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keychain")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// The namespace release builds use; development builds add `.dev`.
pub const RELEASE_NAMESPACE: &str = "app.shelfsync";

impl Keychain {
    /// The platform keychain, namespaced by build: release builds use `app.shelfsync`,
    /// debug builds `app.shelfsync.dev`.
    pub fn platform() -> Self {
        let namespace = if cfg!(debug_assertions) {
            format!("{RELEASE_NAMESPACE}.dev")
        } else {
            RELEASE_NAMESPACE.to_string()
        };
        Self::platform_with_namespace(namespace)
    }

    /// The platform keychain under an explicit namespace (tests use a unique one).
    pub fn platform_with_namespace(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            backend: Backend::Platform,
        }
    }

    /// A keychain that lives in this process's memory only and is gone when it exits. For
    /// the demo store alone, whose token is a throwaway for a simulator that lives and dies
    /// with the app: the demo then works on a machine with no keychain service, and never
    /// writes anything to the owner's keychain. Real stores always use [`Keychain::platform`].
    pub fn in_memory(namespace: impl Into<String>) -> Result<Self, CredentialError> {
        let namespace = namespace.into();
        let store = keyring_core::mock::Store::new().map_err(|e| CredentialError::Unavailable {
            store: StoreKey::new("demo"),
            detail: e.to_string(),
        })?;
        Ok(Self::with_store(namespace, store))
    }

    /// Any `keyring-core` store, e.g. its in-memory mock for unit tests of callers.
    pub fn with_store(namespace: impl Into<String>, store: Arc<CredentialStore>) -> Self {
        Self {
            namespace: namespace.into(),
            backend: Backend::Store(store),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn service(&self, store: &StoreKey) -> String {
        format!("{}:{}", self.namespace, store.as_str())
    }

    /// Saves a secret, replacing any previous one of the same kind.
    pub async fn set(
        &self,
        store: &StoreKey,
        kind: SecretKind,
        secret: &Secret,
    ) -> Result<(), CredentialError> {
        let secret = secret.clone();
        self.run(store, kind, move |entry| {
            entry.set_password(secret.expose())
        })
        .await
    }

    /// Reads a secret; `Missing` when the keychain has none.
    pub async fn get(&self, store: &StoreKey, kind: SecretKind) -> Result<Secret, CredentialError> {
        self.run(store, kind, |entry| entry.get_password().map(Secret::new))
            .await
    }

    /// Reads a secret, or `None` when the keychain has none.
    pub async fn find(
        &self,
        store: &StoreKey,
        kind: SecretKind,
    ) -> Result<Option<Secret>, CredentialError> {
        match self.get(store, kind).await {
            Ok(secret) => Ok(Some(secret)),
            Err(CredentialError::Missing { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Deletes a secret; deleting one that does not exist is not an error.
    pub async fn delete(&self, store: &StoreKey, kind: SecretKind) -> Result<(), CredentialError> {
        match self
            .run(store, kind, |entry| entry.delete_credential())
            .await
        {
            Err(CredentialError::Missing { .. }) => Ok(()),
            other => other,
        }
    }

    /// Deletes every secret of a store (on disconnect).
    pub async fn forget_store(&self, store: &StoreKey) -> Result<(), CredentialError> {
        for kind in [
            SecretKind::ClientSecret,
            SecretKind::AdminToken,
            SecretKind::AccessToken,
            SecretKind::RelayAccessKeyId,
            SecretKind::RelaySecretAccessKey,
            SecretKind::WebhookSigningSecret,
        ] {
            self.delete(store, kind).await?;
        }
        Ok(())
    }

    async fn run<T, F>(
        &self,
        store: &StoreKey,
        kind: SecretKind,
        op: F,
    ) -> Result<T, CredentialError>
    where
        T: Send + 'static,
        F: FnOnce(&Entry) -> keyring_core::Result<T> + Send + 'static,
    {
        let service = self.service(store);
        let backend = self.backend.clone();
        let key = store.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let store = match backend {
                Backend::Store(store) => store,
                Backend::Platform => platform_store()?,
            };
            let entry = Entry::new_in_store(&store, &service, kind.account())?;
            op(&entry)
        })
        .await;
        match joined {
            Ok(result) => result.map_err(|err| classify(key, kind, err)),
            Err(join) => Err(CredentialError::Unavailable {
                store: key,
                detail: format!("the keychain call did not complete: {join}"),
            }),
        }
    }
}

fn classify(store: StoreKey, kind: SecretKind, err: KeyringError) -> CredentialError {
    match err {
        KeyringError::NoEntry => CredentialError::Missing {
            store,
            kind: kind.describe(),
        },
        KeyringError::NoStorageAccess(detail) => CredentialError::Locked {
            store,
            detail: detail.to_string(),
        },
        KeyringError::PlatformFailure(detail) => CredentialError::Unavailable {
            store,
            detail: detail.to_string(),
        },
        KeyringError::NoDefaultStore => CredentialError::Unavailable {
            store,
            detail: "no keychain store is configured".into(),
        },
        other => CredentialError::Rejected {
            store,
            kind: kind.describe(),
            detail: other.to_string(),
        },
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(dbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(KeyringError::NotSupportedByStore(
        "this operating system has no supported keychain".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock() -> Keychain {
        let store: Arc<CredentialStore> = keyring_core::mock::Store::new().expect("mock store");
        Keychain::with_store("app.shelfsync.test", store)
    }

    #[tokio::test]
    async fn missing_secret_names_the_store_and_next_step() {
        let kc = mock();
        let store = StoreKey::new("Demo-Store.myshopify.com");
        let err = kc.get(&store, SecretKind::AccessToken).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("demo-store.myshopify.com"), "{text}");
        assert!(text.contains("Connect the store again"), "{text}");
        assert_eq!(
            kc.find(&store, SecretKind::AccessToken).await.unwrap(),
            None
        );
    }

    #[test]
    fn release_and_debug_builds_use_separate_namespaces() {
        let ns = Keychain::platform().namespace().to_string();
        if cfg!(debug_assertions) {
            assert_eq!(ns, "app.shelfsync.dev");
        } else {
            assert_eq!(ns, RELEASE_NAMESPACE);
        }
    }
}

/// Keeps a store's current access token in the keychain, as a small JSON value holding the
/// token and its expiry, so a restart reuses it instead of running the grant again.
#[derive(Debug, Clone)]
pub struct KeychainTokenCache {
    keychain: Keychain,
    store: StoreKey,
}

impl KeychainTokenCache {
    pub fn new(keychain: Keychain, store: StoreKey) -> Self {
        Self { keychain, store }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SavedToken {
    token: String,
    expires_unix: u64,
}

impl shelfsync_shopify::TokenCache for KeychainTokenCache {
    fn load(&self) -> shelfsync_shopify::CacheFuture<'_, Option<(Secret, std::time::SystemTime)>> {
        Box::pin(async move {
            let saved = match self
                .keychain
                .find(&self.store, SecretKind::AccessToken)
                .await
            {
                Ok(Some(saved)) => saved,
                Ok(None) => return None,
                Err(err) => {
                    tracing::warn!(error = %err, "could not read the saved access token");
                    return None;
                }
            };
            let parsed: SavedToken = serde_json::from_str(saved.expose()).ok()?;
            let expires =
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(parsed.expires_unix);
            Some((Secret::new(parsed.token), expires))
        })
    }

    fn save<'a>(
        &'a self,
        token: &'a Secret,
        expires: std::time::SystemTime,
    ) -> shelfsync_shopify::CacheFuture<'a, ()> {
        Box::pin(async move {
            let expires_unix = expires
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let value =
                serde_json::json!({ "token": token.expose(), "expires_unix": expires_unix });
            let value = Secret::new(value.to_string());
            if let Err(err) = self
                .keychain
                .set(&self.store, SecretKind::AccessToken, &value)
                .await
            {
                tracing::warn!(error = %err, "could not save the access token; the next start will ask for a new one");
            }
        })
    }
}
