//! Time as the core sees it. The core never reads the wall clock itself: shells hand it a `Clock`,
//! and tests hand it a `ManualClock` they can move.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// The counter behind `Clock::new_id`, shared by every clock in the process.
static ID_CONTEXT: Mutex<uuid::ContextV7> = Mutex::new(uuid::ContextV7::new());

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// A new record id: a UUIDv7 whose time part comes from this clock. Ids made in one process are
    /// strictly increasing, even within one millisecond (a shared counter), so ordering records by
    /// time and then id follows the order they were made.
    fn new_id(&self) -> Uuid {
        let now = self.now();
        let context = ID_CONTEXT.lock().unwrap_or_else(|e| e.into_inner());
        let ts = uuid::Timestamp::from_unix(&*context, now.timestamp().max(0) as u64, now.timestamp_subsec_nanos());
        Uuid::new_v7(ts)
    }
}

/// The computer's clock. Shells pass this; nothing in the core constructs it on its own.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to, for tests and for generating reproducible data.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(start))
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
