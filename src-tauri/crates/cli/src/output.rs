//! Printing results: JSON for scripts, aligned text for people.
//!
//! Stdout carries only the result (one JSON value with `--json`); progress, logs and errors
//! go to stderr, so `shelfsync status --json | jq` always parses.

use crate::failure::Failure;
use serde::Serialize;
use shelfsync_store::Timestamp;
use std::io::Write;
use std::time::SystemTime;

/// Prints one JSON value on stdout (pretty, as one document).
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::local(format!("could not write the JSON output: {e}")))?;
    line(&text)
}

/// Prints one JSON value on one line (for the streams of `daemon` and `demo`).
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string(value)
        .map_err(|e| Failure::local(format!("could not write the JSON output: {e}")))?;
    line(&text)
}

/// Prints a line on stdout. A closed pipe (`| head`) is not an error worth a message.
pub fn line(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::local(format!("could not write to stdout: {e}"))),
    }
}

/// Left-aligned columns, two spaces apart; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let render = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            line.push_str(cell);
            if i < last {
                let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        line.trim_end().to_string()
    };
    let mut lines = vec![render(header.to_vec())];
    for row in rows {
        lines.push(render(row.iter().map(String::as_str).collect()));
    }
    lines.join("\n")
}

/// RFC 3339 in UTC, e.g. `2026-07-15T00:00:00Z`.
pub fn rfc3339(at: SystemTime) -> Option<String> {
    let t = Timestamp::try_from(at).ok()?;
    Some(
        Timestamp::from_second(t.as_second())
            .unwrap_or(t)
            .to_string(),
    )
}

/// 12345 → "12,345".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn table_aligns_columns() {
        let text = table(
            &["SKU", "TITLE", "AVAILABLE"],
            &[vec!["A-1".into(), "Mug".into(), "3".into()]],
        );
        assert_eq!(text, "SKU  TITLE  AVAILABLE\nA-1  Mug    3");
    }
}
