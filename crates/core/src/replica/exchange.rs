//! What the sync engine asks of the database: what it holds per node, the changes a server lacks,
//! applying a page of pulled changes together with the pull cursor, the daily summaries that `verify`
//! compares, and the audit chain's head and the hub's receipts for it.

use std::collections::BTreeMap;

use lifeboat_protocol::{Change, DaySummary, Mark, Receipt, Sequenced, Tip};
use rusqlite::{params, OptionalExtension};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::replica::apply::{Applied, Index, Turn};
use crate::store::audit;
use crate::store::database::Store;
use crate::store::journal;
use crate::store::row;
use crate::store::search_index;

impl Store {
    /// The highest sequence number held for each node.
    pub fn marks(&self) -> Result<Vec<Mark>> {
        Ok(self.read(|r| journal::marks(r))?.into_iter().map(|(node_id, seq)| Mark { node_id, seq }).collect())
    }

    /// Retires this PC's node id when a server already holds more changes of it than this database
    /// made: the database was put back from an older copy (a backup restored on the same PC, or a
    /// cloned disk), and must not number new changes the way the lost ones were. Returns whether it
    /// did.
    pub fn retire_node_if_behind(&self, server: &[Mark]) -> Result<bool> {
        let node = self.node_id();
        let ours = self.marks()?.into_iter().find(|m| m.node_id == node).map(|m| m.seq).unwrap_or(0);
        let theirs = server.iter().find(|m| m.node_id == node).map(|m| m.seq).unwrap_or(0);
        if theirs > ours {
            self.take_new_node_id()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Up to `limit` changes that a server holding `server` lacks: per node, those after the
    /// server's mark, in node order (nodes one after another, so each node's changes arrive in order).
    /// All of them, however large (a bundle's export).
    pub fn changes_missing_from(&self, server: &[Mark], limit: u32) -> Result<Vec<Change>> {
        self.missing(server, limit, None)
    }

    /// `changes_missing_from` for one push: fewer where their payloads pass the protocol's
    /// `PAGE_BYTES` (always at least one), and no more rows read than that.
    pub fn changes_to_push(&self, server: &[Mark], limit: u32) -> Result<Vec<Change>> {
        self.missing(server, limit, Some(lifeboat_protocol::wire::PAGE_BYTES))
    }

    fn missing(&self, server: &[Mark], limit: u32, budget: Option<usize>) -> Result<Vec<Change>> {
        self.refuse_in_drill("sending changes to other PCs or the hub")?;
        let theirs: BTreeMap<Uuid, i64> = server.iter().map(|m| (m.node_id, m.seq)).collect();
        let ours = self.marks()?;
        self.read(|conn| {
            let mut out: Vec<Change> = Vec::new();
            let (mut used, mut taken, mut full) = (0usize, 0usize, false);
            for mark in ours {
                let after = theirs.get(&mark.node_id).copied().unwrap_or(0);
                if mark.seq <= after {
                    continue;
                }
                let room = limit.saturating_sub(out.len() as u32);
                if room == 0 || full {
                    break;
                }
                // A change that would pass the budget waits for the next push, unless it is the
                // first (a change larger than the budget goes alone).
                let mut take = |c: &Change| {
                    let size = rough_size(c);
                    if budget.is_some_and(|b| taken > 0 && used.saturating_add(size) > b) {
                        full = true;
                        return false;
                    }
                    used = used.saturating_add(size);
                    taken += 1;
                    true
                };
                out.extend(journal::of_node_within(conn, mark.node_id, after, room, &mut take)?);
            }
            Ok(out)
        })
    }

    /// The op ids of the changes at these (node, sequence) positions, as the push's tips.
    pub fn tips(&self, at: &[(Uuid, i64)]) -> Result<Vec<Tip>> {
        self.read(|conn| {
            let mut out = Vec::new();
            for (node, seq) in at {
                let op: Option<String> = conn
                    .prepare_cached("SELECT op_id FROM journal WHERE node_id = ?1 AND node_seq = ?2")?
                    .query_row(params![node.to_string(), seq], |r| r.get(0))
                    .optional()?;
                if let Some(op) = op.and_then(|o| Uuid::parse_str(&o).ok()) {
                    out.push(Tip { node_id: *node, seq: *seq, op_id: op });
                }
            }
            Ok(out)
        })
    }

    /// How many changes this database holds that a server holding `server` lacks.
    pub fn count_missing_from(&self, server: &[Mark]) -> Result<u64> {
        let theirs: BTreeMap<Uuid, i64> = server.iter().map(|m| (m.node_id, m.seq)).collect();
        Ok(self.marks()?.iter().map(|m| (m.seq - theirs.get(&m.node_id).copied().unwrap_or(0)).max(0) as u64).sum())
    }

    /// Applies a page pulled from a peer and moves the peer's pull cursor past what it applied, in
    /// one transaction: a crash leaves either both or neither. The transaction gives way to the
    /// app's own writes: when one waits, it ends after the change in hand, and `Applied::taken`
    /// says how many of the page's changes it took (at least one); the caller gives the rest again.
    ///
    /// The search index takes in the clients the page touched later, when the caller calls
    /// `index_pending` (once the pull has ended): until then they are not found by search.
    pub fn apply_page(&self, peer: Uuid, page: &[Sequenced]) -> Result<Applied> {
        let changes: Vec<Change> = page.iter().map(|s| s.change.clone()).collect();
        self.apply_changes_then(&changes, Index::Later, Turn::GivesWay, |tx, taken| {
            if let Some((seq, op)) = taken.checked_sub(1).map(|last| (page[last].seq, page[last].change.op_id)) {
                let moved = tx.execute(
                    "UPDATE sync_peer SET pull_cursor = ?2, pull_op = ?3 WHERE id = ?1 AND pull_cursor < ?2",
                    params![peer.to_string(), seq, op.to_string()],
                )?;
                if moved == 0 {
                    return Err(Error::SyncRefused(format!(
                        "the page ending at {seq} does not move the pull cursor forward"
                    )));
                }
            }
            Ok(())
        })
    }

    /// Rewrites the search index's words of up to `at_most` clients that pulled pages touched
    /// (`apply_page`), in one short transaction; returns how many (0: none was waiting), and how
    /// long it held the database for writing (not counting the wait for it).
    pub fn index_pending(&self, at_most: usize) -> Result<(usize, std::time::Duration)> {
        if !self.read(|conn| search_index::has_pending(conn))? {
            return Ok((0, std::time::Duration::ZERO));
        }
        let mut conn = self.lock_writer();
        let started = std::time::Instant::now();
        // Derived data, like the received changes it comes from: a commit lost to a power cut
        // leaves those clients waiting (the same transaction clears them), and is done again.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let indexed = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let n = search_index::index_pending(&tx, at_most)?;
            tx.commit()?;
            Ok(n)
        })();
        conn.pragma_update(None, "synchronous", "FULL")?;
        indexed.map(|n| (n, started.elapsed()))
    }

    /// Per UTC day of the changes' clocks, before today: how many changes this database holds, and a
    /// hash of their op ids (for `verify`; today's changes may still be on their way).
    pub fn day_summaries(&self) -> Result<Vec<DaySummary>> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT op_id, hlc FROM journal")?;
            let mut days: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let op = row::uuid(r, 0)?;
                let hlc: i64 = r.get(1)?;
                days.entry(lifeboat_protocol::change::day_of(hlc)).or_default().push(op);
            }
            let today = self.clock.now().date_naive().to_string();
            Ok(days
                .into_iter()
                .filter(|(day, _)| *day < today)
                .map(|(day, mut ops)| DaySummary::of(&day, &mut ops))
                .collect())
        })
    }

    /// The audit chain's head: its last entry's number and hash.
    pub fn audit_head(&self) -> Result<(i64, String)> {
        self.read(|r| audit::head(r))
    }

    /// Keeps a receipt the hub signed for this database's audit chain (its signature checked by the
    /// caller). A receipt for a head this chain does not have is refused.
    pub fn store_receipt(&self, receipt: &Receipt) -> Result<()> {
        let conn = self.lock_writer();
        let hash: Option<String> =
            conn.query_row("SELECT entry_hash FROM audit WHERE seq = ?1", [receipt.audit_seq], |r| r.get(0)).ok();
        if hash.as_deref() != Some(receipt.head_hash.as_str()) && receipt.audit_seq > 0 {
            return Err(Error::SyncRefused(format!(
                "the hub signed audit entry {} with a hash this PC's chain does not have",
                receipt.audit_seq
            )));
        }
        audit::store_receipt(&conn, receipt)
    }

    /// The latest receipt held for this database's audit chain.
    pub fn last_receipt(&self) -> Result<Option<Receipt>> {
        self.read(|r| audit::last_receipt(r))
    }
}

/// About how many bytes a change takes on the wire: its text fields counted exactly, the rest as a
/// few bytes each (no serialising: this runs for every change pushed).
fn rough_size(c: &Change) -> usize {
    let fields = match c.payload.as_object() {
        Some(map) => map
            .iter()
            .map(|(k, v)| {
                k.len()
                    + match v {
                        serde_json::Value::String(s) => s.len() + 4,
                        _ => 24,
                    }
            })
            .sum(),
        None => 64,
    };
    400 + fields
}
