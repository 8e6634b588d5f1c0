//! A secret that cannot leak by accident.
//!
//! Tokens and client secrets travel through the engine as [`Secret`]. Its `Debug` and
//! `Display` print a fixed placeholder and it implements no `Serialize`, so a secret can
//! reach a log line, an error text, SQLite or the UI only through an explicit
//! [`Secret::expose`] call, which is easy to grep for. The bytes are zeroed on drop.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// A credential held in memory: an access token, an admin token or a client secret.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The raw value, for the one place that must send it (an HTTP header, the keychain).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("shpat_0123456789abcdef");
        let printed = format!("{s} {s:?} {:?}", Some(&s));
        assert!(!printed.contains("shpat"), "leaked: {printed}");
        assert!(printed.contains("redacted"));
        assert_eq!(s.expose(), "shpat_0123456789abcdef");
    }
}
