//! Printing results: JSON for scripts, aligned text for people.
//!
//! Stdout carries only the result (one JSON value with `--json`); progress, logs, questions
//! and errors go to stderr, so `shelfsync status --json | jq` always parses.
//!
//! Colour is used only where it carries meaning (a bulk update's plan: green up, red down,
//! yellow for large changes), only when stdout is a terminal, and never with `NO_COLOR` set
//! (`anstream`'s rules, which also honour `CLICOLOR`, `CLICOLOR_FORCE` and `TERM=dumb`).

use crate::failure::Failure;
use anstyle::{AnsiColor, Style};
use serde::Serialize;
use shelfsync_store::Timestamp;
use std::io::{IsTerminal, Write};
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

/// What a piece of text means, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    Plain,
    /// More than before (green).
    Up,
    /// Less than before (red).
    Down,
    /// Needs a second look: a large change (yellow).
    Warn,
    /// Went wrong: a problem, a row left out (red).
    Bad,
    /// A column heading (bold).
    Heading,
}

/// Whether text on stdout is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// Colour when stdout is a terminal that shows it and `NO_COLOR` is not set.
    pub fn stdout() -> Self {
        Self {
            on: anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never,
        }
    }

    #[cfg(test)]
    pub fn plain() -> Self {
        Self { on: false }
    }

    /// `text` in the colour of `tone` (unchanged when colour is off or the tone is plain).
    pub fn paint(self, text: &str, tone: Tone) -> String {
        let style = match tone {
            Tone::Plain => return text.to_owned(),
            Tone::Up => AnsiColor::Green.on_default(),
            Tone::Down | Tone::Bad => AnsiColor::Red.on_default(),
            Tone::Warn => AnsiColor::Yellow.on_default(),
            Tone::Heading => Style::new().bold(),
        };
        if !self.on || text.is_empty() {
            return text.to_owned();
        }
        format!("{style}{text}{style:#}")
    }
}

/// One cell of a [`styled_table`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub tone: Tone,
}

impl Cell {
    pub fn new(text: impl Into<String>, tone: Tone) -> Self {
        Self {
            text: text.into(),
            tone,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::new(text, Tone::Plain)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::new(text, Tone::Plain)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Columns two spaces apart, each left- or right-aligned, coloured after padding so the
/// escape codes never upset the alignment; the last column is not padded when left-aligned.
pub fn styled_table(paint: Paint, header: &[(&str, Align)], rows: &[Vec<Cell>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.text.chars().count());
            }
        }
    }
    let render = |cells: Vec<(&str, Tone)>| {
        let last = cells.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (text, tone)) in cells.into_iter().enumerate() {
            let pad = widths[i].saturating_sub(text.chars().count());
            let align = header.get(i).map_or(Align::Left, |(_, a)| *a);
            if align == Align::Right {
                line.extend(std::iter::repeat_n(' ', pad));
            }
            line.push_str(&paint.paint(text, tone));
            if i < last {
                if align == Align::Left {
                    line.extend(std::iter::repeat_n(' ', pad));
                }
                line.push_str("  ");
            }
        }
        line.trim_end().to_string()
    };
    let mut lines = vec![render(
        header.iter().map(|(h, _)| (*h, Tone::Heading)).collect(),
    )];
    for row in rows {
        lines.push(render(
            row.iter().map(|c| (c.text.as_str(), c.tone)).collect(),
        ));
    }
    lines.join("\n")
}

/// Whether a question can be asked: stdin is a terminal.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks `question` on stderr and reads the answer from stdin; only "y" or "yes" is yes.
pub async fn confirm(question: String) -> Result<bool, Failure> {
    tokio::task::spawn_blocking(move || {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question} [y/N] ");
        let _ = err.flush();
        drop(err);
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Failure::local(format!("could not read the answer: {e}")))?;
        let answer = answer.trim().to_lowercase();
        Ok(answer == "y" || answer == "yes")
    })
    .await
    .map_err(|e| Failure::local(format!("could not read the answer: {e}")))?
}

/// "1 change", "2 changes", with thousands grouped.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// -1234 → "-1,234", 5 → "+5" when `signed`.
pub fn signed(n: i64) -> String {
    let sign = match n.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    format!("{sign}{}", thousands(n.unsigned_abs()))
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
    fn signed_numbers_carry_their_sign() {
        assert_eq!(signed(0), "0");
        assert_eq!(signed(7), "+7");
        assert_eq!(signed(-1234), "-1,234");
    }

    #[test]
    fn styled_table_aligns_plain_and_coloured_text_alike() {
        let header = [
            ("SKU", Align::Left),
            ("DELTA", Align::Right),
            ("", Align::Left),
        ];
        let rows = vec![
            vec![
                Cell::from("MUG-1"),
                Cell::new("+7", Tone::Up),
                Cell::default(),
            ],
            vec![
                Cell::from("T"),
                Cell::new("-120", Tone::Down),
                Cell::new("large", Tone::Warn),
            ],
        ];
        let plain = styled_table(Paint::plain(), &header, &rows);
        assert_eq!(plain, "SKU    DELTA\nMUG-1     +7\nT       -120  large");
        let coloured = styled_table(Paint { on: true }, &header, &rows);
        assert!(coloured.contains("\u{1b}[32m+7\u{1b}[0m"), "{coloured:?}");
        assert!(
            coloured.contains("\u{1b}[33mlarge\u{1b}[0m"),
            "{coloured:?}"
        );
        let stripped: String = {
            let mut out = String::new();
            let mut chars = coloured.chars();
            while let Some(c) = chars.next() {
                if c == '\u{1b}' {
                    for c in chars.by_ref() {
                        if c == 'm' {
                            break;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            out
        };
        assert_eq!(stripped, plain);
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
