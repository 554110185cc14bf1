//! The hybrid logical clock (see SYNC.md): 48 bits of milliseconds and a 16-bit counter packed into
//! one integer, so stamps sort as numbers; ties between nodes are broken by node id where stamps are
//! compared. The last stamp is persisted in `hlc_state` in the same transaction as the change it
//! stamps, so a restart never issues a stamp that was already used.

use rusqlite::{params, Connection};

use crate::error::Result;

const COUNTER_BITS: u32 = 16;
const COUNTER_MAX: u64 = (1 << COUNTER_BITS) - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(u64);

impl Stamp {
    pub fn new(millis: u64, counter: u64) -> Stamp {
        Stamp((millis << COUNTER_BITS) | (counter & COUNTER_MAX))
    }
    pub fn from_raw(raw: i64) -> Stamp {
        Stamp(raw as u64)
    }
    pub fn raw(self) -> i64 {
        self.0 as i64
    }
    pub fn millis(self) -> u64 {
        self.0 >> COUNTER_BITS
    }
    pub fn counter(self) -> u64 {
        self.0 & COUNTER_MAX
    }

    /// The next stamp after `self`, given the wall clock in milliseconds: the wall clock if it has
    /// moved past the last stamp, otherwise the last stamp's time with the counter advanced.
    pub fn next(self, wall_millis: u64) -> Stamp {
        if wall_millis > self.millis() {
            Stamp::new(wall_millis, 0)
        } else if self.counter() < COUNTER_MAX {
            Stamp::new(self.millis(), self.counter() + 1)
        } else {
            Stamp::new(self.millis() + 1, 0)
        }
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:012x}-{:04x}", self.millis(), self.counter())
    }
}

/// The last stamp issued or received. The state row is advanced in the same transaction as every
/// journal entry, so it is never behind the journal (and reading it costs one row, not a scan).
pub(crate) fn load(conn: &Connection) -> Result<Stamp> {
    let raw: i64 = conn.prepare_cached("SELECT stamp FROM hlc_state WHERE id = 1")?.query_row([], |row| row.get(0))?;
    Ok(Stamp::from_raw(raw))
}

pub(crate) fn save(conn: &Connection, stamp: Stamp) -> Result<()> {
    conn.prepare_cached("UPDATE hlc_state SET stamp = ?1 WHERE id = 1")?.execute(params![stamp.raw()])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_move_forward_whatever_the_wall_clock_does() {
        let cases = [
            // (last millis, last counter, wall millis) -> (millis, counter)
            ((100, 0, 200), (200, 0)),
            ((100, 5, 100), (100, 6)),
            ((100, 5, 50), (100, 6)),
            ((100, COUNTER_MAX, 100), (101, 0)),
        ];
        for ((m, c, wall), (em, ec)) in cases {
            let next = Stamp::new(m, c).next(wall);
            assert_eq!((next.millis(), next.counter()), (em, ec), "from {m}/{c} at wall {wall}");
            assert!(next > Stamp::new(m, c));
        }
    }
}
