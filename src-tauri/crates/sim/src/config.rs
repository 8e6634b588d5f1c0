//! Start-up settings: what store to generate, which plan's bucket to use, how fast time runs, and
//! which credentials exist. Parsed from the command line by the binary and built directly by tests.

use crate::clock::{UnixMillis, parse_rfc3339};

/// A rate-limit plan: the leaky bucket's size and restore rate (FACTS §4).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub name: String,
    pub maximum_available: f64,
    pub restore_rate: f64,
}

impl Plan {
    /// `standard` (also the development-store default) 2000 @ 100/s; `advanced` 4000 @ 200/s;
    /// `plus` 20000 @ 1000/s; `enterprise` 40000 @ 2000/s (bucket size extrapolated, FACTS §11 #3);
    /// `tiny` 40 @ 2/s (the smallest bucket reported for development stores, to prove clients cope);
    /// `custom:<max>:<rate>` anything else.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (max, rate) = match text {
            "standard" | "development" => (2000.0, 100.0),
            "advanced" => (4000.0, 200.0),
            "plus" => (20000.0, 1000.0),
            "enterprise" => (40000.0, 2000.0),
            "tiny" => (40.0, 2.0),
            other => {
                let mut parts = other.split(':');
                match (parts.next(), parts.next(), parts.next(), parts.next()) {
                    (Some("custom"), Some(max), Some(rate), None) => {
                        let max: f64 = max
                            .parse()
                            .map_err(|_| format!("bad bucket size in {other}"))?;
                        let rate: f64 = rate
                            .parse()
                            .map_err(|_| format!("bad restore rate in {other}"))?;
                        if !(max > 0.0 && rate > 0.0) {
                            return Err(format!("bucket size and rate must be positive: {other}"));
                        }
                        (max, rate)
                    }
                    _ => {
                        return Err(format!(
                            "unknown plan {other:?} (standard, advanced, plus, enterprise, tiny, custom:<max>:<rate>)"
                        ));
                    }
                }
            }
        };
        Ok(Self {
            name: text.to_owned(),
            maximum_available: max,
            restore_rate: rate,
        })
    }
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Same seed, same store, same credentials.
    pub seed: u64,
    pub products: usize,
    pub variants_per_product: usize,
    pub locations: usize,
    pub plan: Plan,
    /// Simulated seconds per real second. 0 stops the clock (tests then advance it by hand).
    pub time_scale: f64,
    /// Simulated time at start-up. Fixed by default so a seed always yields identical timestamps.
    pub start_time: UnixMillis,
    /// Lifetime of client-credentials tokens, in simulated seconds (Shopify: 86399).
    pub token_ttl_secs: u64,
    /// The non-expiring legacy admin token (`shpat_…`): `Some("")` derives one from the seed,
    /// `None` disables legacy access.
    pub legacy_admin_token: Option<String>,
    /// Access scopes granted to the app (comma-separated on the command line). A `write_` scope
    /// implies its `read_` scope, as on Shopify.
    pub scopes: Vec<String>,
    /// Where `arn:aws:events:…` webhook subscriptions are delivered (also settable at run time
    /// with `POST /_sim/eventbridge`); `None` keeps them undelivered.
    pub eventbridge: Option<crate::webhooks::eventbridge::EventBridgeTarget>,
}

/// 2026-07-15T00:00:00Z: inside the 2026-07 version's support window.
pub const DEFAULT_START: UnixMillis = 1_784_073_600_000;

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            port: 0,
            seed: 7,
            products: 20,
            variants_per_product: 3,
            locations: 3,
            plan: Plan {
                name: "standard".into(),
                maximum_available: 2000.0,
                restore_rate: 100.0,
            },
            time_scale: 1.0,
            start_time: DEFAULT_START,
            token_ttl_secs: 86_399,
            legacy_admin_token: Some(String::new()),
            scopes: crate::auth::SCOPES.split(',').map(str::to_owned).collect(),
            eventbridge: None,
        }
    }
}

pub const USAGE: &str = "\
shopify-sim: a local Shopify Admin API 2026-07 simulator

Options:
  --port <n>                   TCP port on 127.0.0.1 (0 = any free port)      [0]
  --seed <n>                   store seed; same seed, same store               [7]
  --products <n>               number of products                               [20]
  --variants-per-product <n>   variants per product                             [3]
  --locations <n>              number of locations                              [3]
  --plan <plan>                standard | advanced | plus | enterprise | tiny | custom:<max>:<rate>
  --time-scale <x>             simulated seconds per real second (0 = frozen)   [1]
  --start-time <rfc3339>       simulated start time                             [2026-07-15T00:00:00Z]
  --token-ttl <secs>           client-credentials token lifetime                [86399]
  --admin-token <token>        legacy admin token to accept (default: derived from the seed)
  --no-admin-token             accept no legacy admin token
  --scopes <a,b,…>             granted access scopes (default: every scope Shelfsync uses)
";

impl SimConfig {
    /// Parses `--flag value` pairs. An empty `legacy_admin_token` means "derive from the seed".
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Self, String> {
        let mut config = Self::default();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            match flag.as_str() {
                "--port" => config.port = parse_num(&flag, &value(&flag)?)?,
                "--seed" => config.seed = parse_num(&flag, &value(&flag)?)?,
                "--products" => config.products = parse_num(&flag, &value(&flag)?)?,
                "--variants-per-product" => {
                    config.variants_per_product = parse_num(&flag, &value(&flag)?)?;
                    if config.variants_per_product == 0 {
                        return Err("--variants-per-product must be at least 1".into());
                    }
                }
                "--locations" => {
                    config.locations = parse_num(&flag, &value(&flag)?)?;
                    if config.locations == 0 {
                        return Err("--locations must be at least 1".into());
                    }
                }
                "--plan" => config.plan = Plan::parse(&value(&flag)?)?,
                "--time-scale" => {
                    config.time_scale = parse_num(&flag, &value(&flag)?)?;
                    if config.time_scale.is_nan() || config.time_scale < 0.0 {
                        return Err("--time-scale must be zero or positive".into());
                    }
                }
                "--start-time" => {
                    let text = value(&flag)?;
                    config.start_time =
                        parse_rfc3339(&text).ok_or_else(|| format!("bad --start-time {text:?}"))?;
                }
                "--token-ttl" => config.token_ttl_secs = parse_num(&flag, &value(&flag)?)?,
                "--admin-token" => config.legacy_admin_token = Some(value(&flag)?),
                "--no-admin-token" => config.legacy_admin_token = None,
                "--scopes" => {
                    config.scopes = value(&flag)?
                        .split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect();
                }
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
            }
        }
        Ok(config)
    }
}

fn parse_num<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag}: {text:?} is not a valid number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_the_documented_start_line() {
        let c = SimConfig::from_args(args(&[
            "--port",
            "0",
            "--seed",
            "7",
            "--products",
            "2000",
            "--variants-per-product",
            "3",
            "--locations",
            "3",
            "--plan",
            "advanced",
            "--time-scale",
            "60",
        ]))
        .unwrap();
        assert_eq!(
            (c.seed, c.products, c.variants_per_product, c.locations),
            (7, 2000, 3, 3)
        );
        assert_eq!(c.plan.maximum_available, 4000.0);
        assert_eq!(c.plan.restore_rate, 200.0);
        assert_eq!(c.time_scale, 60.0);
    }

    #[test]
    fn rejects_unknown_flags_and_bad_plans() {
        assert!(SimConfig::from_args(args(&["--prodcuts", "3"])).is_err());
        assert!(SimConfig::from_args(args(&["--plan", "gold"])).is_err());
        assert!(SimConfig::from_args(args(&["--plan", "custom:0:1"])).is_err());
        let tiny = SimConfig::from_args(args(&["--plan", "custom:50:5"])).unwrap();
        assert_eq!(tiny.plan.maximum_available, 50.0);
    }
}
