//! The simulated tunnel. Shopify only delivers to public `https://` addresses, and a laptop has
//! none, so owners run ngrok or cloudflared: a public URL whose requests arrive at a local port.
//! Here `POST /_sim/tunnels {"target":"http://127.0.0.1:PORT"}` hands out
//! `https://<random>.tunnel.shelfsync.test`; a delivery to that host (any path and query) is sent
//! to the target with the same path and query. Every other `https://` host is unreachable, as a
//! host with no route would be: the attempt fails with "connection refused".

use std::collections::BTreeMap;

use serde::Serialize;

/// Public hosts end with this; `.test` is reserved and never resolves on a real network.
pub const DOMAIN: &str = "tunnel.shelfsync.test";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Tunnel {
    pub public_url: String,
    /// `http://127.0.0.1:PORT` (or `localhost`, `[::1]`), without a trailing slash.
    pub target: String,
}

/// Open tunnels keyed by public host.
#[derive(Debug, Default)]
pub struct Tunnels {
    by_host: BTreeMap<String, Tunnel>,
}

impl Tunnels {
    pub fn open(&mut self, name: &str, target: &str) -> Tunnel {
        let host = format!("{name}.{DOMAIN}");
        let tunnel = Tunnel {
            public_url: format!("https://{host}"),
            target: target.trim_end_matches('/').to_owned(),
        };
        self.by_host.insert(host, tunnel.clone());
        tunnel
    }

    /// Closes by public URL, host or name; whether one was open.
    pub fn close(&mut self, key: &str) -> bool {
        let host = key
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_owned();
        let host = if host.contains('.') {
            host
        } else {
            format!("{host}.{DOMAIN}")
        };
        self.by_host.remove(&host).is_some()
    }

    pub fn list(&self) -> Vec<Tunnel> {
        self.by_host.values().cloned().collect()
    }

    /// The loopback URL an `https://` delivery address reaches, if its host is a tunnel.
    pub fn route(&self, https_url: &str) -> Option<String> {
        let rest = https_url.strip_prefix("https://")?;
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let host = authority.split(':').next()?.to_ascii_lowercase();
        let tunnel = self.by_host.get(&host)?;
        let path = path.split('#').next().unwrap_or_default();
        let path = if path.starts_with('/') || path.is_empty() {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        Some(format!("{}{}", tunnel.target, path))
    }
}

/// Accepts only plain-HTTP loopback targets: the tunnel client runs on this machine.
pub fn valid_target(target: &str) -> bool {
    let Some(rest) = target.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if authority.starts_with("[::1]") {
        "[::1]"
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_tunnel_hosts_only() {
        let mut t = Tunnels::default();
        t.open("abc", "http://127.0.0.1:9000/");
        assert_eq!(
            t.route("https://abc.tunnel.shelfsync.test/hooks?x=1"),
            Some("http://127.0.0.1:9000/hooks?x=1".into())
        );
        assert_eq!(
            t.route("https://ABC.tunnel.shelfsync.test"),
            Some("http://127.0.0.1:9000".into())
        );
        assert_eq!(t.route("https://example.com/hooks"), None);
        assert!(t.close("https://abc.tunnel.shelfsync.test"));
        assert_eq!(t.route("https://abc.tunnel.shelfsync.test/hooks"), None);
        assert!(valid_target("http://127.0.0.1:8080"));
        assert!(!valid_target("https://127.0.0.1:8080"));
        assert!(!valid_target("http://example.com:8080"));
    }
}
