//! Relay cursor pagination as Shopify does it: `first`/`last`/`after`/`before`, at most 250 a page,
//! opaque base64 cursors that decode to `{"last_id":…,"last_value":…}` (the shape real Shopify
//! cursors have, FACTS §6).

use super::FieldFailure;

/// Shopify's page-size cap for every connection, nested ones included.
pub const MAX_PAGE: i64 = 250;

/// The page arguments of a connection field, already coerced.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub after: Option<String>,
    pub before: Option<String>,
    pub reverse: bool,
}

/// One page, as indices into the caller's sorted list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub range: std::ops::Range<usize>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// Where a cursor falls in the ordered rows: `after` asks for the index of the first row
/// strictly after the cursor's key, otherwise of the first row at or after it.
pub type Locate<'a> = dyn Fn(&CursorKey, bool) -> usize + 'a;

/// What a cursor encodes: the last row's id and sort value (keyset pagination, as Shopify's
/// cursors do, so a cursor stays usable when its row has since been deleted or changed).
#[derive(Debug, Clone, PartialEq)]
pub struct CursorKey {
    pub id: u64,
    pub value: String,
}

/// Picks the page out of `len` rows (already filtered, sorted and reversed as requested).
pub fn paginate(len: usize, args: &PageArgs, locate: &Locate<'_>) -> Result<Page, FieldFailure> {
    if args.first.is_none() && args.last.is_none() {
        return Err(FieldFailure::bad_request(
            "you must provide one of first or last",
        ));
    }
    for (name, value) in [("first", args.first), ("last", args.last)] {
        if let Some(v) = value {
            if v > MAX_PAGE {
                return Err(FieldFailure::bad_request(format!(
                    "{name} cannot exceed {MAX_PAGE}. To query larger amounts of data with fewer limits, bulk operations should be used instead."
                )));
            }
            if v < 0 {
                return Err(FieldFailure::bad_request(format!(
                    "{name} cannot be negative"
                )));
            }
        }
    }
    let key = |cursor: &str| {
        decode_cursor(cursor)
            .ok_or_else(|| FieldFailure::bad_request("Invalid cursor for current pagination sort."))
    };
    let mut start = 0;
    let mut end = len;
    if let Some(after) = &args.after {
        start = locate(&key(after)?, true).min(len);
    }
    if let Some(before) = &args.before {
        end = locate(&key(before)?, false).min(len).max(start);
    }
    let (mut from, mut to) = (start, end.max(start));
    if let Some(first) = args.first {
        to = to.min(from + first as usize);
    }
    if let Some(last) = args.last {
        from = from.max(to.saturating_sub(last as usize));
    }
    Ok(Page {
        has_next_page: to < len,
        has_previous_page: from > 0,
        range: from..to,
    })
}

pub fn encode_cursor(id: u64, sort_value: &str) -> String {
    let json = serde_json::json!({ "last_id": id, "last_value": sort_value });
    base64_encode(json.to_string().as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Option<CursorKey> {
    let bytes = base64_decode(cursor)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let id = value.get("last_id")?.as_u64()?;
    let value = match value.get("last_value") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    Some(CursorKey { id, value })
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(input: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc = 0_u32;
    let mut bits = 0;
    for c in input.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(first: Option<i64>, last: Option<i64>) -> PageArgs {
        PageArgs {
            first,
            last,
            ..PageArgs::default()
        }
    }

    /// Rows with ids 1..=n in ascending id order.
    fn by_id(n: usize) -> impl Fn(&CursorKey, bool) -> usize {
        move |key: &CursorKey, after: bool| {
            let ids: Vec<u64> = (1..=n as u64).collect();
            if after {
                ids.partition_point(|id| *id <= key.id)
            } else {
                ids.partition_point(|id| *id < key.id)
            }
        }
    }

    #[test]
    fn cursor_round_trips_and_matches_shopify_shape() {
        // A real cursor from the locations-catalog capture.
        let real = "eyJsYXN0X2lkIjo2ODUwOTE3MTk0NSwibGFzdF92YWx1ZSI6IjEwMyBvc3Npbmd0b24ifQ==";
        let key = decode_cursor(real).unwrap();
        assert_eq!(key.id, 68_509_171_945);
        assert_eq!(key.value, "103 ossington");
        assert_eq!(encode_cursor(68_509_171_945, "103 ossington"), real);
    }

    #[test]
    fn pages_forward_and_backward() {
        let locate = by_id(10);
        let p = paginate(10, &args(Some(3), None), &locate).unwrap();
        assert_eq!(p.range, 0..3);
        assert!(p.has_next_page && !p.has_previous_page);
        let after = PageArgs {
            after: Some(encode_cursor(3, "")),
            ..args(Some(3), None)
        };
        assert_eq!(paginate(10, &after, &locate).unwrap().range, 3..6);
        let p = paginate(10, &args(None, Some(4)), &locate).unwrap();
        assert_eq!(p.range, 6..10);
        assert!(!p.has_next_page && p.has_previous_page);
        let before = PageArgs {
            before: Some(encode_cursor(7, "")),
            ..args(None, Some(2))
        };
        assert_eq!(paginate(10, &before, &locate).unwrap().range, 4..6);
    }

    #[test]
    fn cursor_of_a_vanished_row_still_pages_on() {
        // Rows 1..=10; the cursor names id 3 even if that row is gone: continue after it.
        let locate = |key: &CursorKey, after: bool| {
            let ids: Vec<u64> = vec![1, 2, 4, 5];
            if after {
                ids.partition_point(|id| *id <= key.id)
            } else {
                ids.partition_point(|id| *id < key.id)
            }
        };
        let after = PageArgs {
            after: Some(encode_cursor(3, "")),
            ..args(Some(5), None)
        };
        assert_eq!(paginate(4, &after, &locate).unwrap().range, 2..4);
        let garbage = PageArgs {
            after: Some("not a cursor".into()),
            ..args(Some(5), None)
        };
        assert!(paginate(4, &garbage, &locate).is_err());
    }

    #[test]
    fn enforces_limits() {
        let locate = by_id(3);
        let e = paginate(3, &args(Some(251), None), &locate).unwrap_err();
        assert!(
            e.message.starts_with("first cannot exceed 250."),
            "{}",
            e.message
        );
        assert!(paginate(3, &args(None, None), &locate).is_err());
        assert!(paginate(3, &args(Some(250), None), &locate).is_ok());
    }
}
