//! Strict row mapping: every helper reads one column and fails loudly (a `DamagedRecord` error that
//! names the column) when the stored value is not what Lifeboat writes. A bad id never becomes the
//! nil UUID and an unknown role never becomes a default.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::Type;
use rusqlite::Row;
use uuid::Uuid;

fn damaged(index: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, what.into())
}

fn column_name(row: &Row<'_>, index: usize) -> String {
    row.as_ref().column_name(index).map(str::to_string).unwrap_or_else(|_| format!("#{index}"))
}

/// A text column, borrowed from the row (no copy): for values read to be parsed, not kept.
pub(crate) fn text<'r>(row: &'r Row<'_>, index: usize) -> rusqlite::Result<&'r str> {
    let value = row.get_ref(index)?;
    value.as_str().map_err(|_| match value {
        rusqlite::types::ValueRef::Text(_) => damaged(index, format!("{} is not UTF-8 text", column_name(row, index))),
        other => damaged(index, format!("{} holds {:?}, not text", column_name(row, index), other.data_type())),
    })
}

pub(crate) fn uuid(row: &Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    let text = text(row, index)?;
    Uuid::parse_str(text).map_err(|_| damaged(index, format!("{} holds {text:?}, not an id", column_name(row, index))))
}

pub(crate) fn opt_uuid(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Uuid>> {
    match row.get::<_, Option<String>>(index)? {
        None => Ok(None),
        Some(_) => uuid(row, index).map(Some),
    }
}

pub(crate) fn time(row: &Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    crate::time::parse_stored(text(row, index)?)
        .map_err(|e| damaged(index, format!("{}: {e}", column_name(row, index))))
}

pub(crate) fn opt_time(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match row.get::<_, Option<String>>(index)? {
        None => Ok(None),
        Some(_) => time(row, index).map(Some),
    }
}

pub(crate) fn date(row: &Row<'_>, index: usize) -> rusqlite::Result<NaiveDate> {
    crate::time::parse_stored_date(text(row, index)?)
        .map_err(|e| damaged(index, format!("{}: {e}", column_name(row, index))))
}

pub(crate) fn opt_date(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<NaiveDate>> {
    match row.get::<_, Option<String>>(index)? {
        None => Ok(None),
        Some(_) => date(row, index).map(Some),
    }
}

/// A value stored as one of a fixed set of words (a role, a species, a status).
pub(crate) fn word<T>(row: &Row<'_>, index: usize, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let text = text(row, index)?;
    parse(text).ok_or_else(|| damaged(index, format!("{} holds the unknown value {text:?}", column_name(row, index))))
}

/// A value stored as JSON (a list of alerts).
pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    serde_json::from_str(text(row, index)?)
        .map_err(|_| damaged(index, format!("{} does not hold the expected JSON", column_name(row, index))))
}
