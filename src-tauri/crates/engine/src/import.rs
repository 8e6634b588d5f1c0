//! Reading the files owners already have for a bulk update, before anything is planned.
//!
//! Owners change stock and prices from spreadsheets: Shopify's own inventory export, its
//! product CSV, or a plain `sku,location,quantity` / `sku,price` file from a supplier. The
//! format is told by the header's column names, never by positions: Shopify has changed its
//! columns more than once (the inventory export's `On hand (new)` since 2024, `Available` and
//! `On hand` before; the product CSV's `URL handle`, `SKU`, `Price` since 2025, `Handle`,
//! `Variant SKU`, `Variant Price` before; see help.shopify.com's "Inventory CSV" and "Using
//! CSV files" pages). Encoding and dialect are taken as spreadsheets write them: UTF-8 with or without a
//! byte-order mark, comma, semicolon or tab, CRLF, quoted fields holding delimiters and line
//! breaks. Parsing is the `csv` crate's, streamed record by record, so a 100,000-row file is
//! never held in memory.
//!
//! Checking never stops at a bad row. Every problem is reported with the row a spreadsheet
//! shows (the header is row 1, a quoted multi-line cell is still one row), the header's name
//! of the column, a kind a program can switch on, and a sentence a person can act on.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

/// What kind of file it is, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Admin › Products › Inventory › Export: one row per variant per location.
    ShopifyInventory,
    /// Admin › Products › Export: rows sharing a handle are one product.
    ShopifyProduct,
    /// `sku,location,quantity`.
    PlainQuantity,
    /// `sku,price`.
    PlainPrice,
}

/// What is wrong with a cell, a row or the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    NotANumber,
    Negative,
    Duplicate,
    MissingSku,
    MissingLocation,
    MissingColumn,
    UnknownFormat,
    /// Not UTF-8, or a record the CSV reader could not read.
    Unreadable,
    /// The SKU matches no variant in the store (found when planning).
    UnknownSku,
    /// The location name matches no location of the store, or a file without locations is
    /// applied to a store with several (found when planning).
    UnknownLocation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The row as a spreadsheet numbers it: the header is row 1.
    pub row: u64,
    /// The header's name of the column, when the problem is in one.
    pub column: Option<String>,
    pub kind: ProblemKind,
    pub message: String,
}

/// What `shelfsync import --check` reports about a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    /// `None` when the header matches no known format (a problem says so).
    pub format: Option<Format>,
    /// `,`, `;` or `\t`.
    pub delimiter: String,
    pub has_bom: bool,
    /// Records after the header.
    pub data_rows: u64,
    pub distinct_skus: u64,
    /// The location names an inventory export (or a plain quantity file) names, in order of
    /// first appearance.
    pub locations: Vec<String>,
    pub problems: Vec<Problem>,
}

impl FileCheck {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Which of Shopify's named quantities a row sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantityName {
    /// `available`: what can be sold (plain files, older inventory exports).
    Available,
    /// `on_hand`: what is physically there (the inventory export's `On hand (new)`).
    OnHand,
}

impl QuantityName {
    /// The name Shopify's API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::OnHand => "on_hand",
        }
    }
}

/// What one row of a file asks for, once its cells have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The row as a spreadsheet numbers it.
    pub row: u64,
    pub sku: String,
    /// The location's name; `None` for files without locations.
    pub location: Option<String>,
    pub change: WantedChange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WantedChange {
    /// Set a named quantity to `value`.
    Quantity {
        name: QuantityName,
        value: i64,
        column: String,
    },
    /// Set the price and/or the compare-at price (`Some(None)` clears it). Amounts are
    /// normalised to two decimals ("12.5" and "$12.50" are both "12.50").
    Price {
        price: Option<String>,
        compare_at: Option<Option<String>>,
        column: String,
    },
}

/// A file read for planning: the check, and the changes of every row that had no problem in
/// the cells they come from.
#[derive(Debug, Clone)]
pub struct ReadFile {
    pub check: FileCheck,
    pub wanted: Vec<Wanted>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("could not read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Checks the file at `path` without touching any store.
pub fn check_file(path: &Path) -> Result<FileCheck, ImportError> {
    read_file(path).map(|r| r.check)
}

/// Reads the file at `path`: its check and its rows' changes.
pub fn read_file(path: &Path) -> Result<ReadFile, ImportError> {
    let file = std::fs::File::open(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    read(std::io::BufReader::new(file)).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Checks a file's bytes as they are read.
pub fn check(input: impl Read) -> std::io::Result<FileCheck> {
    read(input).map(|r| r.check)
}

/// Reads a file's bytes: its check and its rows' changes, record by record.
pub fn read(mut input: impl Read) -> std::io::Result<ReadFile> {
    // Enough of the start to see the mark and the header line.
    let mut head = Vec::with_capacity(8192);
    (&mut input).take(8192).read_to_end(&mut head)?;
    let has_bom = head.starts_with(BOM);
    let start = if has_bom { BOM.len() } else { 0 };
    let delimiter = sniff_delimiter(&head[start..]);
    let lines = Rc::new(RefCell::new(Lines::default()));
    let body = LineCounter {
        inner: std::io::Cursor::new(head[start..].to_vec()).chain(input),
        lines: lines.clone(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(body);

    let mut check = FileCheck {
        format: None,
        delimiter: match delimiter {
            b'\t' => "\\t".to_owned(),
            d => (d as char).to_string(),
        },
        has_bom,
        data_rows: 0,
        distinct_skus: 0,
        locations: Vec::new(),
        problems: Vec::new(),
    };
    let mut records = reader.byte_records();
    let header: Vec<String> = match records.next() {
        Some(Ok(record)) => record
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_owned())
            .collect(),
        Some(Err(e)) => {
            check.problems.push(unreadable(1, &e));
            return Ok(ReadFile {
                check,
                wanted: Vec::new(),
            });
        }
        None => Vec::new(),
    };
    let Some(layout) = Layout::detect(&header) else {
        check.problems.push(Problem {
            row: 1,
            column: None,
            kind: ProblemKind::UnknownFormat,
            message: format!(
                "The header ({}) is not a Shopify inventory or product export, nor a plain \
                 sku,location,quantity or sku,price file.",
                if header.is_empty() {
                    "empty".to_owned()
                } else {
                    header.join(", ")
                }
            ),
        });
        return Ok(ReadFile {
            check,
            wanted: Vec::new(),
        });
    };
    check.format = Some(layout.format);
    for missing in layout.missing(&header) {
        check.problems.push(Problem {
            row: 1,
            column: Some(missing.to_owned()),
            kind: ProblemKind::MissingColumn,
            message: format!("The file has no \"{missing}\" column."),
        });
    }

    let mut skus = HashSet::new();
    let mut seen_keys = HashSet::new();
    let mut locations = BTreeSet::new();
    let mut wanted = Vec::new();
    for (index, record) in records.enumerate() {
        // The header is row 1; the n-th record after it is row n + 2 (0-based n), plus the
        // blank lines before it, which the reader skips but a spreadsheet shows.
        let row = index as u64 + 2 + lines.borrow().blank_before(index as u64 + 1);
        // A row of empty cells (`,,,`, as spreadsheets save trailing rows) is a blank row.
        if record
            .as_ref()
            .is_ok_and(|r| r.iter().all(|f| f.trim_ascii().is_empty()))
        {
            continue;
        }
        check.data_rows += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                check.problems.push(unreadable(row, &e));
                continue;
            }
        };
        let Ok(record) = csv::StringRecord::from_byte_record(record) else {
            check.problems.push(Problem {
                row,
                column: None,
                kind: ProblemKind::Unreadable,
                message: "This row is not UTF-8 text: save the file as CSV UTF-8.".into(),
            });
            continue;
        };
        let cell = |col: Option<usize>| col.and_then(|i| record.get(i)).map(str::trim);
        if layout.is_image_row(&record) {
            continue;
        }
        let sku = cell(layout.sku).unwrap_or_default();
        let location = cell(layout.location).unwrap_or_default();
        if sku.is_empty() || sku == "-" {
            check.problems.push(Problem {
                row,
                column: layout.sku.map(|i| header[i].clone()),
                kind: ProblemKind::MissingSku,
                message: "This row has no SKU, so it cannot be matched to a variant.".into(),
            });
        } else {
            skus.insert(sku.to_owned());
        }
        if layout.location.is_some() {
            if location.is_empty() {
                check.problems.push(Problem {
                    row,
                    column: layout.location.map(|i| header[i].clone()),
                    kind: ProblemKind::MissingLocation,
                    message: "This row names no location.".into(),
                });
            } else if locations.insert(location.to_owned()) {
                check.locations.push(location.to_owned());
            }
        }
        let mut usable =
            !sku.is_empty() && sku != "-" && (layout.location.is_none() || !location.is_empty());
        if !sku.is_empty() && sku != "-" {
            let key = (sku.to_owned(), location.to_owned());
            if !seen_keys.insert(key) {
                usable = false;
                check.problems.push(Problem {
                    row,
                    column: layout.sku.map(|i| header[i].clone()),
                    kind: ProblemKind::Duplicate,
                    message: if layout.location.is_some() {
                        format!("SKU {sku} at {location} appears on an earlier row too.")
                    } else {
                        format!("SKU {sku} appears on an earlier row too.")
                    },
                });
            }
        }
        let mut bad_columns = Vec::new();
        for &(i, kind) in &layout.numbers {
            let Some(text) = record.get(i).map(str::trim) else {
                continue;
            };
            if let Some(problem) = number_problem(text, kind) {
                bad_columns.push(i);
                check.problems.push(Problem {
                    row,
                    column: Some(header[i].clone()),
                    kind: problem.0,
                    message: problem.1,
                });
            }
        }
        if usable {
            let location = (!location.is_empty()).then(|| location.to_owned());
            let good = |i: &usize| !bad_columns.contains(i);
            // The first editable quantity column with a value sets the stock.
            if let Some((i, name, value)) = layout
                .quantities
                .iter()
                .filter(|(i, _)| good(i))
                .find_map(|&(i, name)| quantity_value(record.get(i)?).map(|v| (i, name, v)))
            {
                wanted.push(Wanted {
                    row,
                    sku: sku.to_owned(),
                    location: location.clone(),
                    change: WantedChange::Quantity {
                        name,
                        value,
                        column: header[i].clone(),
                    },
                });
            }
            let price = layout
                .price
                .filter(good)
                .and_then(|i| record.get(i))
                .and_then(|t| cents_text(t.trim()));
            let compare_at = layout.compare_at.filter(good).and_then(|i| {
                let text = record.get(i)?.trim();
                // Blank leaves the compare-at price as it is; 0 clears it, as in Shopify's
                // product import.
                if text.is_empty() {
                    None
                } else {
                    let amount = cents_text(text)?;
                    Some((amount != "0.00").then_some(amount))
                }
            });
            if price.is_some() || compare_at.is_some() {
                let column = layout
                    .price
                    .filter(|_| price.is_some())
                    .or(layout.compare_at)
                    .map(|i| header[i].clone())
                    .unwrap_or_default();
                wanted.push(Wanted {
                    row,
                    sku: sku.to_owned(),
                    location,
                    change: WantedChange::Price {
                        price,
                        compare_at,
                        column,
                    },
                });
            }
        }
    }
    check.distinct_skus = skus.len() as u64;
    Ok(ReadFile { check, wanted })
}

/// A quantity cell's value: `None` for blank (leave as is) and `not stocked`.
fn quantity_value(text: &str) -> Option<i64> {
    text.trim().parse::<i64>().ok().filter(|n| *n >= 0)
}

/// An amount as Shopify writes money, two decimals ("12.5" → "12.50"); `None` when it is not
/// one (the check reports why).
pub fn cents_text(text: &str) -> Option<String> {
    cents(text).map(|c| format!("{}.{:02}", c / 100, c % 100))
}

/// An amount in cents: digits with at most two decimals, an optional currency sign in front.
pub fn cents(text: &str) -> Option<i64> {
    let plain = text.trim().trim_start_matches(['$', '€', '£']);
    let (whole, fraction) = plain.split_once('.').unwrap_or((plain, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

/// Where the blank lines are, which the CSV reader skips but a spreadsheet numbers: counted
/// from the bytes as the reader pulls them, outside quoted cells (whose line breaks belong to
/// one row).
#[derive(Debug)]
struct Lines {
    quoted: bool,
    /// The last byte was a `\r` that ended a line (a `\n` right after it ends nothing).
    after_cr: bool,
    /// Nothing on the current line so far.
    empty: bool,
    /// Records ended so far.
    records: u64,
    /// For each blank line, how many records had ended before it.
    blanks: Vec<u64>,
}

impl Default for Lines {
    fn default() -> Self {
        Self {
            quoted: false,
            after_cr: false,
            empty: true,
            records: 0,
            blanks: Vec::new(),
        }
    }
}

impl Lines {
    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            // A line ends at `\n`, `\r\n` or a lone `\r` (as the CSV reader reads it).
            let after_cr = std::mem::take(&mut self.after_cr);
            match b {
                b'"' => {
                    self.quoted = !self.quoted;
                    self.empty = false;
                }
                b'\n' if !self.quoted => {
                    if !after_cr {
                        self.end_line();
                    }
                }
                b'\r' if !self.quoted => {
                    self.end_line();
                    self.after_cr = true;
                }
                _ => self.empty = false,
            }
        }
    }

    fn end_line(&mut self) {
        if self.empty {
            self.blanks.push(self.records);
        } else {
            self.records += 1;
        }
        self.empty = true;
    }

    /// Blank lines before record `n` (the header is record 0).
    fn blank_before(&self, n: u64) -> u64 {
        self.blanks.partition_point(|&b| b <= n) as u64
    }
}

struct LineCounter<R> {
    inner: R,
    lines: Rc<RefCell<Lines>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.lines.borrow_mut().scan(&buf[..n]);
        Ok(n)
    }
}

/// The delimiter that splits the header line into the most fields, outside quotes.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                for (d, n) in counts.iter_mut() {
                    if b == *d {
                        *n += 1;
                    }
                }
            }
            _ => {}
        }
    }
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map_or(b',', |(d, _)| *d)
}

#[derive(Debug, Clone, Copy)]
enum Number {
    /// Whole units; blank means "leave as is"; `not stocked` allowed.
    Quantity,
    /// A decimal amount; blank means "leave as is".
    Price,
}

fn number_problem(text: &str, kind: Number) -> Option<(ProblemKind, String)> {
    if text.is_empty() {
        return None;
    }
    match kind {
        Number::Quantity => {
            if text.eq_ignore_ascii_case("not stocked") {
                return None;
            }
            match text.parse::<i64>() {
                Ok(n) if n < 0 => Some((
                    ProblemKind::Negative,
                    format!("{n} is below zero: stock to set cannot be negative."),
                )),
                Ok(_) => None,
                Err(_) => Some((
                    ProblemKind::NotANumber,
                    format!("\"{text}\" is not a whole number of units."),
                )),
            }
        }
        Number::Price => {
            let plain = text.trim_start_matches(['$', '€', '£']);
            if plain.starts_with('-') && cents(&plain[1..]).is_some() {
                return Some((
                    ProblemKind::Negative,
                    format!("{text} is below zero: a price cannot be negative."),
                ));
            }
            match cents(text) {
                Some(_) => None,
                None => Some((
                    ProblemKind::NotANumber,
                    format!("\"{text}\" is not a price (write it like 12.50)."),
                )),
            }
        }
    }
}

/// Where a format keeps what Shelfsync reads.
#[derive(Debug)]
struct Layout {
    format: Format,
    sku: Option<usize>,
    location: Option<usize>,
    /// Columns holding numbers, and which kind.
    numbers: Vec<(usize, Number)>,
    /// Editable quantity columns, in order of precedence, and the quantity each sets.
    quantities: Vec<(usize, QuantityName)>,
    price: Option<usize>,
    compare_at: Option<usize>,
    /// Columns the format needs, by the names to ask for when missing.
    required: &'static [&'static [&'static str]],
    /// Product CSV: columns whose emptiness, all together, marks an image-only row.
    variant_fields: Vec<usize>,
}

impl Layout {
    fn detect(header: &[String]) -> Option<Self> {
        let find = |names: &[&str]| {
            header
                .iter()
                .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
        };
        let handle = find(&["Handle", "URL handle"]);
        let location = find(&["Location"]);
        let numbers = |cols: &[(&[&str], Number)]| {
            cols.iter()
                .filter_map(|(names, kind)| find(names).map(|i| (i, *kind)))
                .collect::<Vec<_>>()
        };
        if handle.is_some() && location.is_some() {
            return Some(Layout {
                format: Format::ShopifyInventory,
                sku: find(&["SKU"]),
                location,
                numbers: numbers(&[
                    (&["On hand (new)"], Number::Quantity),
                    (&["Available"], Number::Quantity),
                    (&["On hand"], Number::Quantity),
                ]),
                quantities: [
                    (find(&["On hand (new)"]), QuantityName::OnHand),
                    (find(&["Available"]), QuantityName::Available),
                    (find(&["On hand"]), QuantityName::OnHand),
                ]
                .into_iter()
                .filter_map(|(i, name)| i.map(|i| (i, name)))
                .collect(),
                price: None,
                compare_at: None,
                required: &[&["SKU"]],
                variant_fields: Vec::new(),
            });
        }
        if handle.is_some() {
            let sku = find(&["Variant SKU", "SKU"]);
            let price = find(&["Variant Price", "Price"]);
            let compare = find(&["Variant Compare At Price", "Compare-at price"]);
            let quantity = find(&["Variant Inventory Qty", "Inventory quantity"]);
            if sku.is_none() && price.is_none() && quantity.is_none() {
                return None;
            }
            let mut numbers: Vec<(usize, Number)> = Vec::new();
            numbers.extend(price.map(|i| (i, Number::Price)));
            numbers.extend(compare.map(|i| (i, Number::Price)));
            numbers.extend(quantity.map(|i| (i, Number::Quantity)));
            let variant_fields = [sku, price, quantity, find(&["Option1 Value"])]
                .into_iter()
                .flatten()
                .collect();
            return Some(Layout {
                format: Format::ShopifyProduct,
                sku,
                location: None,
                numbers,
                quantities: quantity
                    .map(|i| (i, QuantityName::Available))
                    .into_iter()
                    .collect(),
                price,
                compare_at: compare,
                required: &[&["Variant SKU", "SKU"]],
                variant_fields,
            });
        }
        let sku = find(&["sku"])?;
        if let (Some(location), Some(quantity)) = (location, find(&["quantity"])) {
            return Some(Layout {
                format: Format::PlainQuantity,
                sku: Some(sku),
                location: Some(location),
                numbers: vec![(quantity, Number::Quantity)],
                quantities: vec![(quantity, QuantityName::Available)],
                price: None,
                compare_at: None,
                required: &[],
                variant_fields: Vec::new(),
            });
        }
        let price = find(&["price"])?;
        Some(Layout {
            format: Format::PlainPrice,
            sku: Some(sku),
            location: None,
            numbers: vec![(price, Number::Price)],
            quantities: Vec::new(),
            price: Some(price),
            compare_at: None,
            required: &[],
            variant_fields: Vec::new(),
        })
    }

    /// The first name of each required column the header lacks.
    fn missing(&self, header: &[String]) -> Vec<&'static str> {
        self.required
            .iter()
            .filter(|names| {
                !header
                    .iter()
                    .any(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
            })
            .map(|names| names[0])
            .collect()
    }

    /// A product-CSV row that only adds an image to the product above it.
    fn is_image_row(&self, record: &csv::StringRecord) -> bool {
        !self.variant_fields.is_empty()
            && self
                .variant_fields
                .iter()
                .all(|&i| record.get(i).is_none_or(|v| v.trim().is_empty()))
    }
}

fn unreadable(row: u64, error: &csv::Error) -> Problem {
    Problem {
        row,
        column: None,
        kind: ProblemKind::Unreadable,
        message: format!("This row could not be read as CSV: {error}."),
    }
}
