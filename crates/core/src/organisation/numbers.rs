//! Numbers people can read: a manager gives each PC blocks of client, animal and receipt numbers
//! ("C-1001"), and a record made on that PC takes the next number of its block. Blocks are records
//! like any other (journaled and synced), so every PC knows every block, and a new block that overlaps
//! one already known is refused; blocks given on two PCs that had not synced can still overlap, and
//! are then shown as overlapping. A block belongs to a PC's node id: a PC whose database is copied or
//! put back takes a new node id (at once when copied, at its next sync when restored in place) and
//! draws no more from its old blocks.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    Client,
    Animal,
    Receipt,
}

impl NumberKind {
    pub const ALL: [NumberKind; 3] = [NumberKind::Client, NumberKind::Animal, NumberKind::Receipt];

    pub fn as_str(self) -> &'static str {
        match self {
            NumberKind::Client => "client",
            NumberKind::Animal => "animal",
            NumberKind::Receipt => "receipt",
        }
    }

    fn parse(text: &str) -> Option<NumberKind> {
        NumberKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The table whose records take numbers of this kind.
    fn table(self) -> &'static str {
        match self {
            NumberKind::Client => "client",
            NumberKind::Animal => "patient",
            NumberKind::Receipt => "payment",
        }
    }

    /// A number as people read it: "C-1001", "A-52", "R-7".
    pub fn label(self, number: i64) -> String {
        let letter = match self {
            NumberKind::Client => 'C',
            NumberKind::Animal => 'A',
            NumberKind::Receipt => 'R',
        };
        format!("{letter}-{number}")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NumberBlock {
    pub id: Uuid,
    pub kind: NumberKind,
    pub node_id: Uuid,
    /// This PC's block.
    pub mine: bool,
    pub first: i64,
    pub last: i64,
    /// How many of its numbers are taken (known here).
    pub used: i64,
    /// Another PC's block of the same kind overlaps it (given while the two had not synced).
    pub overlaps: bool,
    pub set_by_name: String,
    pub set_at: DateTime<Utc>,
}

/// Every block known here, this PC's first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NumberBlocks {
    pub blocks: Vec<NumberBlock>,
    /// The next number this PC would give, per kind (`None`: no block, or all used).
    pub next: Vec<(NumberKind, Option<String>)>,
}

/// The next number `node` gives to a record of `kind`, from its blocks in order; `None` when it has no
/// block left.
pub(crate) fn next(conn: &Connection, kind: NumberKind, node: Uuid) -> Result<Option<i64>> {
    let blocks: Vec<(i64, i64)> = conn
        .prepare_cached("SELECT first, last FROM number_block WHERE node_id = ?1 AND kind = ?2 ORDER BY first")?
        .query_map(params![node.to_string(), kind.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (first, last) in blocks {
        let used: Option<i64> = conn.query_row(
            &format!("SELECT max(number) FROM {} WHERE number BETWEEN ?1 AND ?2", kind.table()),
            params![first, last],
            |r| r.get(0),
        )?;
        match used {
            None => return Ok(Some(first)),
            Some(n) if n < last => return Ok(Some(n + 1)),
            Some(_) => continue,
        }
    }
    Ok(None)
}

/// The number a record of `table` (client, patient or payment) took, as people read it.
pub(crate) fn of(conn: &Connection, kind: NumberKind, id: Uuid) -> Result<Option<String>> {
    let n: Option<i64> =
        conn.query_row(&format!("SELECT number FROM {} WHERE id = ?1", kind.table()), [id.to_string()], |r| r.get(0))?;
    Ok(n.map(|n| kind.label(n)))
}

fn blocks(conn: &Connection, node: Uuid) -> Result<NumberBlocks> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.id, b.kind, b.node_id, b.first, b.last, s.display_name, b.set_at FROM number_block b
         JOIN staff s ON s.id = b.set_by ORDER BY b.node_id = ?1 DESC, b.kind, b.first",
    )?;
    let mut out = stmt
        .query_map([node.to_string()], |r| {
            let node_id = row::uuid(r, 2)?;
            Ok(NumberBlock {
                id: row::uuid(r, 0)?,
                kind: row::word(r, 1, NumberKind::parse)?,
                mine: node_id == node,
                node_id,
                first: r.get(3)?,
                last: r.get(4)?,
                used: 0,
                overlaps: false,
                set_by_name: r.get(5)?,
                set_at: row::time(r, 6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let spans: Vec<(NumberKind, Uuid, i64, i64)> = out.iter().map(|b| (b.kind, b.node_id, b.first, b.last)).collect();
    for b in &mut out {
        b.overlaps = spans.iter().any(|(k, n, f, l)| *k == b.kind && *n != b.node_id && *f <= b.last && *l >= b.first);
        b.used = conn.query_row(
            &format!("SELECT count(*) FROM {} WHERE number BETWEEN ?1 AND ?2", b.kind.table()),
            params![b.first, b.last],
            |r| r.get(0),
        )?;
    }
    let mut next_numbers = Vec::new();
    for kind in NumberKind::ALL {
        next_numbers.push((kind, next(conn, kind, node)?.map(|n| kind.label(n))));
    }
    Ok(NumberBlocks { blocks: out, next: next_numbers })
}

impl Write<'_> {
    /// Gives this PC a block of numbers of `kind`, `first` to `last`; refused where it overlaps a
    /// block known here (this PC's or another's).
    pub fn add_number_block(&mut self, kind: NumberKind, first: i64, last: i64) -> Result<NumberBlock> {
        self.authorize(Action::ManageNumbers)?;
        if !(1..=999_999_999).contains(&first) {
            return Err(Error::invalid("first", "must be a whole number from 1 to 999,999,999"));
        }
        if last < first || last > 999_999_999 {
            return Err(Error::invalid("last", "must be at least the first number, and at most 999,999,999"));
        }
        if last - first >= 1_000_000 {
            return Err(Error::invalid("last", "a block holds at most a million numbers"));
        }
        let overlap: Option<(i64, i64)> = self
            .tx()
            .query_row(
                "SELECT first, last FROM number_block WHERE kind = ?1 AND first <= ?3 AND last >= ?2 LIMIT 1",
                params![kind.as_str(), first, last],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((f, l)) = overlap {
            return Err(Error::invalid(
                "first",
                format!(
                    "overlaps the block {} to {} already given: choose numbers no PC has",
                    kind.label(f),
                    kind.label(l)
                ),
            ));
        }
        let id = self.new_id();
        let node = self.node_id();
        let (by, at) = (self.actor().id, time::stored(self.now()));
        self.tx().execute(
            "INSERT INTO number_block (id, kind, node_id, first, last, set_by, set_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id.to_string(), kind.as_str(), node.to_string(), first, last, by.to_string(), at],
        )?;
        let fields = Fields::new()
            .with("kind", kind.as_str())
            .with("node_id", node)
            .with("first", first)
            .with("last", last)
            .with("set_by", by)
            .with("set_at", &at);
        self.record(Action::ManageNumbers, Entity::NumberBlock, id, ChangeKind::Create, fields)?;
        blocks(self.tx(), node)?
            .blocks
            .into_iter()
            .find(|b| b.id == id)
            .ok_or_else(|| Error::Internal("the block just given was not found".into()))
    }
}

impl Store {
    pub fn add_number_block(&self, session: &Session, kind: NumberKind, first: i64, last: i64) -> Result<NumberBlock> {
        self.write(session, |w| w.add_number_block(kind, first, last))
    }

    /// Every block known here and the next number this PC gives of each kind.
    pub fn number_blocks(&self, session: &Session) -> Result<NumberBlocks> {
        let node = self.node_id();
        self.read_as(session, Action::ViewRecords, |r| blocks(r, node))
    }
}

#[cfg(test)]
mod tests {
    use super::NumberKind;

    #[test]
    fn numbers_read_with_their_kind() {
        assert_eq!(NumberKind::Client.label(1001), "C-1001");
        assert_eq!(NumberKind::Animal.label(7), "A-7");
        assert_eq!(NumberKind::Receipt.label(120), "R-120");
    }
}
