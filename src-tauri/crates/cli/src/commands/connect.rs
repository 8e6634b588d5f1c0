//! `shelfsync connect` and `shelfsync disconnect`.
//!
//! The secret (admin token or client secret) never comes from an argument, where it would
//! land in shell history and in every process listing: it is read from stdin when stdin is
//! not a terminal (`printf %s "$TOKEN" | shelfsync connect …`), otherwise from a hidden
//! prompt. The engine checks it with the store before anything is saved.

use crate::cli::ConnectArgs;
use crate::context::Context;
use crate::failure::{Code, Failure};
use crate::output;
use serde_json::json;
use shelfsync_engine::{AuthMethod, ConnectWith, EngineError, Secret};
use shelfsync_shopify::ShopifyError;
use std::io::{IsTerminal, Read};

pub async fn run(ctx: &Context, args: ConnectArgs) -> Result<(), Failure> {
    let store = args.store.trim().to_string();
    if store.is_empty() {
        return Err(Failure::usage("STORE must not be empty."));
    }
    let client_id = args
        .client_id
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty());
    let what = if client_id.is_some() {
        "Client secret"
    } else {
        "Admin API token"
    };
    let prompt = format!("{what} for {store}: ");
    let secret = tokio::task::spawn_blocking(move || read_secret(&prompt))
        .await
        .map_err(|e| Failure::local(format!("could not read the secret: {e}")))??;
    let with = match client_id {
        Some(client_id) => ConnectWith::ClientCredentials {
            client_id,
            client_secret: secret,
        },
        None => ConnectWith::AdminToken(secret),
    };

    let engine = ctx.engine();
    let connected = engine.connect(&store, with).await;
    engine.shutdown().await;
    let profile = match connected {
        Ok(profile) => profile,
        Err(EngineError::Shopify(err @ ShopifyError::Unauthorized { .. })) => {
            return Err(Failure::new(
                Code::Store,
                format!(
                    "{err} Check the {} and run `shelfsync connect {store}` again.",
                    what.to_lowercase()
                ),
            ));
        }
        Err(err) => return Err(Failure::engine(err, None)),
    };
    ctx.warn_unfinished_bulk_updates().await;
    if ctx.json {
        output::json(&json!({ "connected": true, "store": profile }))
    } else {
        let how = match &profile.auth {
            AuthMethod::AdminToken => "its admin token".to_string(),
            AuthMethod::ClientCredentials { client_id } => {
                format!("client id {client_id} and its secret")
            }
        };
        output::line(&format!(
            "Connected to {} ({}) with {how}; the secret is in the OS keychain.\n\
             Next: `shelfsync sync --full` fills the local cache.",
            profile.name, profile.address
        ))
    }
}

/// The secret from stdin (when piped) or a hidden prompt; surrounding whitespace and the
/// trailing newline are dropped.
fn read_secret(prompt: &str) -> Result<Secret, Failure> {
    let stdin = std::io::stdin();
    let text = if stdin.is_terminal() {
        rpassword::prompt_password(prompt)
            .map_err(|e| Failure::usage(format!("could not read the secret at the prompt: {e}")))?
    } else {
        let mut text = String::new();
        stdin
            .lock()
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage(format!("could not read the secret from stdin: {e}")))?;
        text
    };
    let secret = text.trim();
    if secret.is_empty() {
        return Err(Failure::usage(
            "No secret given: pipe it on stdin or type it at the prompt (it is never taken \
             from an argument).",
        ));
    }
    if secret.contains(['\n', '\r']) {
        return Err(Failure::usage(
            "The secret on stdin spans several lines; give only the token or client secret.",
        ));
    }
    Ok(Secret::new(secret))
}

pub async fn disconnect(ctx: &Context) -> Result<(), Failure> {
    let engine = ctx.engine();
    let saved = engine.saved_profile()?;
    if let Some(profile) = &saved {
        engine
            .disconnect()
            .await
            .map_err(|e| Failure::engine(e, Some(&profile.address)))?;
    }
    if ctx.json {
        output::json(&json!({ "disconnected": saved }))
    } else {
        output::line(&match saved {
            Some(p) => format!(
                "Disconnected {} ({}): its secrets left the keychain; the local cache stays.",
                p.name, p.address
            ),
            None => "No store was connected.".to_string(),
        })
    }
}
