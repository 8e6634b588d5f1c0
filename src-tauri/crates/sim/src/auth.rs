//! Credentials and access tokens (FACTS §2).
//!
//! The app's client id and secret are derived from the seed. The client-credentials grant issues
//! tokens that expire on the simulated clock; the legacy admin token never expires. A token is only
//! ever read from `X-Shopify-Access-Token`.

use std::collections::HashMap;

use crate::clock::UnixMillis;
use crate::store::SeededRng;

/// Scopes granted to the app: everything Shelfsync reads and writes.
pub const SCOPES: &str =
    "read_products,write_products,read_inventory,write_inventory,read_locations,read_orders";

/// The exact body Shopify sends with HTTP 401 (`errors` is a string, not an array).
pub const INVALID_TOKEN_BODY: &str =
    r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#;

/// Which app a token belongs to: each app has its own rate-limit bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum App {
    /// The Dev Dashboard app using the client-credentials grant.
    ClientCredentials,
    /// A legacy admin-created custom app with its fixed `shpat_` token.
    LegacyAdmin,
}

#[derive(Debug, Clone)]
struct Issued {
    app: App,
    expires_at: Option<UnixMillis>,
    revoked: bool,
}

#[derive(Debug)]
pub struct Tokens {
    pub client_id: String,
    pub client_secret: String,
    pub legacy_admin_token: Option<String>,
    ttl_secs: u64,
    issued: HashMap<String, Issued>,
    rng: SeededRng,
}

/// Why a token was refused (all answer the same 401; the reason is for the control API and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Unknown,
    Expired,
    Revoked,
}

impl Tokens {
    /// `legacy_admin_token`: `Some("")` derives one from the seed, `None` disables it.
    pub fn new(seed: u64, ttl_secs: u64, legacy_admin_token: Option<String>) -> Self {
        let mut rng = SeededRng::new(seed ^ 0xA11C_E5ED);
        let client_id = rng.hex(16);
        let client_secret = format!("shpss_{}", rng.hex(16));
        let legacy = legacy_admin_token.map(|t| {
            if t.is_empty() {
                format!("shpat_{}", rng.hex(16))
            } else {
                t
            }
        });
        let mut issued = HashMap::new();
        if let Some(token) = &legacy {
            issued.insert(
                token.clone(),
                Issued {
                    app: App::LegacyAdmin,
                    expires_at: None,
                    revoked: false,
                },
            );
        }
        Self {
            client_id,
            client_secret,
            legacy_admin_token: legacy,
            ttl_secs,
            issued,
            rng,
        }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Runs the client-credentials grant. `None` when the id or secret is wrong.
    pub fn grant(
        &mut self,
        client_id: &str,
        client_secret: &str,
        now: UnixMillis,
    ) -> Option<String> {
        if client_id != self.client_id || client_secret != self.client_secret {
            return None;
        }
        let token = format!("shpca_{}", self.rng.hex(16));
        let ttl_millis = i64::try_from(self.ttl_secs).unwrap_or(i64::MAX / 2_000) * 1000;
        self.issued.insert(
            token.clone(),
            Issued {
                app: App::ClientCredentials,
                expires_at: Some(now.saturating_add(ttl_millis)),
                revoked: false,
            },
        );
        Some(token)
    }

    pub fn check(&self, token: Option<&str>, now: UnixMillis) -> Result<App, Refusal> {
        let token = token.ok_or(Refusal::Missing)?;
        let issued = self.issued.get(token).ok_or(Refusal::Unknown)?;
        if issued.revoked {
            return Err(Refusal::Revoked);
        }
        match issued.expires_at {
            // A token is valid up to, not including, its expiry instant.
            Some(at) if now >= at => Err(Refusal::Expired),
            _ => Ok(issued.app),
        }
    }

    /// Every token granted so far (for tests that look for a token where it must not be).
    pub fn issued(&self) -> Vec<String> {
        self.issued.keys().cloned().collect()
    }

    /// Revokes every issued token (the legacy token too); used by the control API.
    pub fn revoke_all(&mut self) {
        for issued in self.issued.values_mut() {
            issued.revoked = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_expiry_and_revocation() {
        let mut t = Tokens::new(7, 10, Some(String::new()));
        assert!(t.grant("nope", &t.client_secret.clone(), 0).is_none());
        let (id, secret) = (t.client_id.clone(), t.client_secret.clone());
        let token = t.grant(&id, &secret, 0).unwrap();
        assert_eq!(t.check(Some(&token), 9_999), Ok(App::ClientCredentials));
        assert_eq!(t.check(Some(&token), 10_000), Err(Refusal::Expired));
        let legacy = t.legacy_admin_token.clone().unwrap();
        assert_eq!(t.check(Some(&legacy), i64::MAX / 2), Ok(App::LegacyAdmin));
        assert_eq!(t.check(None, 0), Err(Refusal::Missing));
        t.revoke_all();
        assert_eq!(t.check(Some(&legacy), 0), Err(Refusal::Revoked));
    }

    #[test]
    fn credentials_follow_the_seed() {
        let a = Tokens::new(7, 10, Some(String::new()));
        let b = Tokens::new(7, 10, Some(String::new()));
        let c = Tokens::new(8, 10, None);
        assert_eq!(a.client_id, b.client_id);
        assert_eq!(a.legacy_admin_token, b.legacy_admin_token);
        assert_ne!(a.client_id, c.client_id);
        assert!(c.legacy_admin_token.is_none());
    }
}
