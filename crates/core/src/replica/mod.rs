//! Replication: applying changes received from other nodes to this database (merging them with what
//! is here), the conflicts that merging finds and their resolution, and a canonical dump of the
//! synced data for checking that nodes agree. The sync engine (`lifeboat-sync`) moves the changes;
//! this is what they do on arrival.

pub mod apply;
pub mod conflicts;
pub mod dump;
pub mod exchange;
pub mod inbox;
pub mod peers;
pub mod resolve;
