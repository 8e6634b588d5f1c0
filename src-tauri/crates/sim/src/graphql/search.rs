//! Shopify's `query:` search syntax (FACTS §6), for the fields Shelfsync filters on.
//!
//! `field:value`, comparators `:>`, `:>=`, `:<`, `:<=`, implicit AND, `OR`, `NOT`/`-`, parentheses,
//! quoted values. Dates must be quoted: an unquoted `updated_at:>=2026-01-01T00:00:00Z` is split at
//! the first `:` of the time, exactly the silent mis-filter Shopify produces. Unknown fields never
//! fail the query; they match everything and add an `invalid_field` warning.

use crate::clock::parse_rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `field:value` (field `None` for a bare word).
    Term {
        field: Option<String>,
        cmp: Cmp,
        value: String,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

/// What a resource exposes to search.
pub trait Searchable {
    /// `None` when the field is not searchable on this resource.
    fn field(&self, name: &str) -> Option<FieldValue>;
    /// Text a bare word is matched against (case-insensitive substring).
    fn text(&self) -> String;
}

pub enum FieldValue {
    Text(String),
    /// Several values; a term matches when any does (e.g. a product's variant SKUs).
    Texts(Vec<String>),
    Number(i64),
    Time(i64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub field: String,
    pub message: &'static str,
    pub code: &'static str,
}

pub fn parse(query: &str) -> Expr {
    let tokens = tokenize(query);
    let mut pos = 0;
    let expr = parse_or(&tokens, &mut pos);
    expr.unwrap_or(Expr::And(Vec::new()))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String, bool),
}

fn tokenize(q: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Token::Open);
            i += 1;
        } else if c == ')' {
            out.push(Token::Close);
            i += 1;
        } else {
            // A word: runs to whitespace or parenthesis, quoted segments kept whole.
            let mut word = String::new();
            let mut quoted = false;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '(' && chars[i] != ')'
            {
                if chars[i] == '\'' || chars[i] == '"' {
                    let quote = chars[i];
                    quoted = true;
                    i += 1;
                    while i < chars.len() && chars[i] != quote {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        word.push(chars[i]);
                        i += 1;
                    }
                    i += 1;
                    // Mark where the quoted part ends so a later split at ':' ignores it.
                    word.push('\u{0}');
                } else {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            out.push(Token::Word(word, quoted));
        }
    }
    out
}

fn parse_or(tokens: &[Token], pos: &mut usize) -> Option<Expr> {
    let mut parts = vec![parse_and(tokens, pos)?];
    while matches!(tokens.get(*pos), Some(Token::Word(w, false)) if w == "OR") {
        *pos += 1;
        if let Some(e) = parse_and(tokens, pos) {
            parts.push(e);
        }
    }
    Some(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Expr::Or(parts)
    })
}

fn parse_and(tokens: &[Token], pos: &mut usize) -> Option<Expr> {
    let mut parts = Vec::new();
    while let Some(token) = tokens.get(*pos) {
        match token {
            Token::Close => break,
            Token::Word(w, false) if w == "OR" => break,
            Token::Word(w, false) if w == "AND" => *pos += 1,
            _ => parts.extend(parse_unary(tokens, pos)),
        }
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Expr::And(parts)),
    }
}

fn parse_unary(tokens: &[Token], pos: &mut usize) -> Vec<Expr> {
    match tokens.get(*pos) {
        Some(Token::Open) => {
            *pos += 1;
            let inner = parse_or(tokens, pos);
            if tokens.get(*pos) == Some(&Token::Close) {
                *pos += 1;
            }
            inner.into_iter().collect()
        }
        Some(Token::Word(w, false)) if w == "NOT" => {
            *pos += 1;
            parse_unary(tokens, pos)
                .into_iter()
                .map(|e| Expr::Not(Box::new(e)))
                .collect()
        }
        Some(Token::Word(w, _)) => {
            *pos += 1;
            let (negated, w) = match w.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (true, rest),
                _ => (false, w.as_str()),
            };
            let terms = word_terms(w);
            if negated {
                terms.into_iter().map(|e| Expr::Not(Box::new(e))).collect()
            } else {
                terms
            }
        }
        Some(Token::Close) | None => {
            *pos += 1;
            Vec::new()
        }
    }
}

/// One word becomes one term, or two when an unquoted value contains ':' (Shopify's split).
fn word_terms(word: &str) -> Vec<Expr> {
    let Some(colon) = word.find(':') else {
        return vec![Expr::Term {
            field: None,
            cmp: Cmp::Eq,
            value: word.replace('\u{0}', ""),
        }];
    };
    let field = word[..colon].to_owned();
    let mut rest = &word[colon + 1..];
    let mut cmp = Cmp::Eq;
    for (prefix, c) in [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
    ] {
        if let Some(r) = rest.strip_prefix(prefix) {
            cmp = c;
            rest = r;
            break;
        }
    }
    // The unquoted part of the value ends at the next ':' (outside quotes).
    let quoted_end = rest.rfind('\u{0}').map_or(0, |i| i + 1);
    let mut terms = Vec::new();
    let value = match rest[quoted_end..].find(':') {
        Some(i) => {
            let split = quoted_end + i;
            terms.extend(word_terms(&rest[split + 1..]));
            &rest[..split]
        }
        None => rest,
    };
    terms.insert(
        0,
        Expr::Term {
            field: Some(field),
            cmp,
            value: value.replace('\u{0}', ""),
        },
    );
    terms
}

impl Expr {
    /// Fields named in the query that `probe` does not know, for `invalid_field` warnings.
    pub fn warnings(&self, probe: &dyn Searchable) -> Vec<Warning> {
        let mut out = Vec::new();
        self.collect_warnings(probe, &mut out);
        out
    }

    fn collect_warnings(&self, probe: &dyn Searchable, out: &mut Vec<Warning>) {
        match self {
            Expr::Term { field: Some(f), .. } => {
                if probe.field(f).is_none() && !out.iter().any(|w| &w.field == f) {
                    out.push(Warning {
                        field: f.clone(),
                        message: "Invalid search field for this query.",
                        code: "invalid_field",
                    });
                }
            }
            Expr::Term { field: None, .. } => {}
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.collect_warnings(probe, out)),
            Expr::Not(e) => e.collect_warnings(probe, out),
        }
    }

    pub fn matches(&self, item: &dyn Searchable) -> bool {
        match self {
            Expr::And(v) => v.iter().all(|e| e.matches(item)),
            Expr::Or(v) => v.iter().any(|e| e.matches(item)),
            Expr::Not(e) => !e.matches(item),
            Expr::Term {
                field: None, value, ..
            } => item.text().to_lowercase().contains(&value.to_lowercase()),
            Expr::Term {
                field: Some(f),
                cmp,
                value,
            } => match item.field(f) {
                // Unknown field: ignored, as Shopify does (a warning is reported separately).
                None => true,
                Some(FieldValue::Text(t)) => text_matches(&t, *cmp, value),
                Some(FieldValue::Texts(ts)) => ts.iter().any(|t| text_matches(t, *cmp, value)),
                Some(FieldValue::Number(n)) => {
                    let v = value.rsplit('/').next().unwrap_or(value);
                    match v.parse::<i64>() {
                        Ok(v) => compare(n, *cmp, v),
                        Err(_) => false,
                    }
                }
                Some(FieldValue::Time(t)) => match parse_rfc3339(value) {
                    Some(v) => compare(t, *cmp, v),
                    // An unparseable date matches nothing (the mis-filter of unquoted dates).
                    None => false,
                },
                Some(FieldValue::Bool(b)) => {
                    value.eq_ignore_ascii_case(if b { "true" } else { "false" })
                }
            },
        }
    }

    /// A JSON rendering of the parsed query for `extensions.search[].parsed`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Expr::And(v) => json!({ "and": v.iter().map(Expr::to_json).collect::<Vec<_>>() }),
            Expr::Or(v) => json!({ "or": v.iter().map(Expr::to_json).collect::<Vec<_>>() }),
            Expr::Not(e) => json!({ "not": e.to_json() }),
            Expr::Term { field, cmp, value } => {
                let key = match cmp {
                    Cmp::Eq => "match_all",
                    Cmp::Gt => "range_gt",
                    Cmp::Ge => "range_gte",
                    Cmp::Lt => "range_lt",
                    Cmp::Le => "range_lte",
                };
                json!({ "field": field.clone().unwrap_or_else(|| "default".into()), key: value })
            }
        }
    }
}

fn text_matches(text: &str, cmp: Cmp, value: &str) -> bool {
    let (t, v) = (text.to_lowercase(), value.to_lowercase());
    match cmp {
        Cmp::Eq => match v.strip_suffix('*') {
            Some(prefix) => t.starts_with(prefix),
            None => t == v,
        },
        Cmp::Gt => t > v,
        Cmp::Ge => t >= v,
        Cmp::Lt => t < v,
        Cmp::Le => t <= v,
    }
}

fn compare(a: i64, cmp: Cmp, b: i64) -> bool {
    match cmp {
        Cmp::Eq => a == b,
        Cmp::Gt => a > b,
        Cmp::Ge => a >= b,
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row {
        sku: &'static str,
        updated: i64,
        id: i64,
    }

    impl Searchable for Row {
        fn field(&self, name: &str) -> Option<FieldValue> {
            match name {
                "sku" => Some(FieldValue::Text(self.sku.into())),
                "updated_at" => Some(FieldValue::Time(self.updated)),
                "id" => Some(FieldValue::Number(self.id)),
                _ => None,
            }
        }
        fn text(&self) -> String {
            self.sku.into()
        }
    }

    fn at(s: &str) -> i64 {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn quoted_dates_filter_inclusively() {
        let q = parse("updated_at:>='2026-01-01T00:00:00Z'");
        let on = Row {
            sku: "A",
            updated: at("2026-01-01T00:00:00Z"),
            id: 1,
        };
        let before = Row {
            sku: "A",
            updated: at("2025-12-31T23:59:59Z"),
            id: 1,
        };
        assert!(q.matches(&on));
        assert!(!q.matches(&before));
    }

    #[test]
    fn unquoted_dates_misfilter_like_shopify() {
        let q = parse("updated_at:>=2026-01-01T00:00:00Z");
        let later = Row {
            sku: "A",
            updated: at("2026-03-01T00:00:00Z"),
            id: 1,
        };
        // Split into `updated_at:>=2026-01-01T00` (not a date) and a bogus `00:00Z` term.
        assert!(!q.matches(&later));
    }

    #[test]
    fn ranges_sku_or_not_and_unknown_fields() {
        let q = parse("id:>=5 id:<10 AND (sku:AB* OR sku:ZZ) -sku:AB7");
        let row = |sku, id| Row {
            sku,
            updated: 0,
            id,
        };
        assert!(q.matches(&row("AB1", 5)));
        assert!(q.matches(&row("zz", 9)));
        assert!(!q.matches(&row("AB7", 6)));
        assert!(!q.matches(&row("AB1", 10)));
        let q = parse("colour:red sku:X");
        assert!(q.matches(&row("X", 1)));
        assert_eq!(q.warnings(&row("X", 1))[0].field, "colour");
    }
}
