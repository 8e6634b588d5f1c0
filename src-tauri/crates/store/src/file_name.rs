//! File names for per-store databases.
//!
//! A store is named by its domain (`my-shop.myshopify.com`) or, for the
//! simulator and tests, a base URL (`http://127.0.0.1:8080`). The name must
//! be safe on every desktop OS: no path separators, no `..`, no characters
//! Windows rejects, and no reserved device name such as `CON` or `NUL`.

use crate::error::{Error, Result};

const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// The database file name for a store, e.g. `my-shop.myshopify.com.sqlite3`
/// for `https://My-Shop.myshopify.com/admin`. Letters are lowercased, the
/// scheme and any path are dropped, and a port is kept as `_port`.
pub fn store_file_name(domain: &str) -> Result<String> {
    let invalid = || Error::InvalidStoreDomain(domain.to_owned());
    let lower = domain.trim().to_ascii_lowercase();
    let without_scheme = lower
        .split_once("://")
        .map_or(lower.as_str(), |(_, rest)| rest);
    let host = without_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    // Drop user info, if any ("user@host").
    let host = host.rsplit('@').next().unwrap_or_default();

    let mut stem: String = host
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '.' => c,
            _ => '_',
        })
        .collect();
    let stem_trimmed = stem.trim_matches(['.', '_']);
    if stem_trimmed.is_empty() || !stem_trimmed.chars().any(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid());
    }
    stem = stem_trimmed.to_owned();
    if stem.len() > 200 {
        return Err(invalid());
    }
    let first_label = stem.split('.').next().unwrap_or_default();
    if RESERVED.contains(&first_label) {
        stem.insert(first_label.len(), '_');
    }
    Ok(format!("{stem}.sqlite3"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_domains_become_plain_file_names() {
        let cases = [
            ("my-shop.myshopify.com", "my-shop.myshopify.com.sqlite3"),
            ("  My-Shop.MyShopify.com ", "my-shop.myshopify.com.sqlite3"),
            (
                "https://my-shop.myshopify.com/admin",
                "my-shop.myshopify.com.sqlite3",
            ),
            ("http://127.0.0.1:8080", "127.0.0.1_8080.sqlite3"),
            ("http://localhost:3000/sim?x=1", "localhost_3000.sqlite3"),
            ("con.example", "con_.example.sqlite3"),
            ("nul", "nul_.sqlite3"),
        ];
        for (domain, expected) in cases {
            assert_eq!(store_file_name(domain).unwrap(), expected, "{domain}");
        }
    }

    #[test]
    fn names_that_could_escape_the_folder_are_refused_or_defused() {
        for bad in [
            "",
            "   ",
            "..",
            "../..",
            "../../etc/passwd",
            "https://",
            "/",
            "\\\\",
            "..\\..",
        ] {
            assert!(
                matches!(store_file_name(bad), Err(Error::InvalidStoreDomain(_))),
                "{bad:?} should be refused"
            );
        }
        for tricky in ["a\\..\\b", "shop:evil", "C:\\x"] {
            let name = store_file_name(tricky).unwrap();
            assert!(!name.contains(['/', '\\', ':']), "{tricky:?} -> {name}");
            assert!(!name.starts_with('.'), "{tricky:?} -> {name}");
        }
    }
}
