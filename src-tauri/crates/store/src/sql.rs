//! Conversions between the crate's value types and SQLite values.

use jiff::Timestamp;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::model::{JobState, Money, ShopifyTime, Source};

fn text_from_sql<T>(
    value: ValueRef<'_>,
    parse: impl FnOnce(String) -> crate::Result<T>,
) -> FromSqlResult<T> {
    let text = String::column_result(value)?;
    parse(text).map_err(|e| FromSqlError::Other(Box::new(e)))
}

impl ToSql for Money {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Money {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        text_from_sql(value, Money::new)
    }
}

impl ToSql for ShopifyTime {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ShopifyTime {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        text_from_sql(value, ShopifyTime::parse)
    }
}

impl ToSql for Source {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Source {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        text_from_sql(value, |s| s.parse())
    }
}

impl ToSql for JobState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for JobState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        text_from_sql(value, |s| s.parse())
    }
}

/// A timestamp stored as UTC milliseconds.
pub(crate) fn timestamp(ms: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e))
    })
}

/// A job payload stored as JSON text.
pub(crate) fn json(text: &str) -> rusqlite::Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}
