//! Streaming download of a bulk operation's result file.
//!
//! A full sync's JSONL can be tens of MB, so it is read chunk by chunk and handed on as
//! complete lines; nothing ever holds the whole file. The URL is a signed storage URL, not the
//! Admin API: no access token is sent with it, and it has its own lifetime (Shopify: 7 days),
//! after which it answers 403 — [`ShopifyError::Http`] with that status, which callers treat as
//! "start a new operation".

use crate::ShopifyError;
use crate::auth::without_url;

/// An open download. Call [`Download::next_lines`] until it returns `false`.
pub struct Download {
    response: reqwest::Response,
    host: String,
    /// Bytes received after the last complete line.
    carry: Vec<u8>,
    received: u64,
    done: bool,
}

impl Download {
    pub(crate) fn new(response: reqwest::Response, host: String) -> Self {
        Self {
            response,
            host,
            carry: Vec::with_capacity(128 * 1024),
            received: 0,
            done: false,
        }
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Reads the next chunk and calls `line` for every line it completes (without the
    /// newline; empty lines skipped). Returns `false` at the end of the file. A connection
    /// that drops mid-file is an error, never a silent end.
    pub async fn next_lines(&mut self, mut line: impl FnMut(&[u8])) -> Result<bool, ShopifyError> {
        if self.done {
            return Ok(false);
        }
        let chunk = self
            .response
            .chunk()
            .await
            .map_err(|e| ShopifyError::Network {
                shop: self.host.clone(),
                detail: without_url(&e),
            })?;
        let Some(chunk) = chunk else {
            self.done = true;
            if !self.carry.is_empty() {
                line(&self.carry);
                self.carry.clear();
            }
            return Ok(false);
        };
        self.received += chunk.len() as u64;
        let mut start = 0;
        let bytes: &[u8] = &chunk;
        while let Some(pos) = bytes[start..].iter().position(|b| *b == b'\n') {
            let end = start + pos;
            if self.carry.is_empty() {
                if end > start {
                    line(&bytes[start..end]);
                }
            } else {
                self.carry.extend_from_slice(&bytes[start..end]);
                line(&self.carry);
                self.carry.clear();
            }
            start = end + 1;
        }
        self.carry.extend_from_slice(&bytes[start..]);
        Ok(true)
    }
}
