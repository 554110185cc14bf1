//! Signing in. Wrong passwords slow the next attempt and then lock the username on this PC for a while,
//! whether or not the account exists (so that trying names tells nothing), and the counts are kept in
//! the database, so closing the app does not reset them. A sign-in and each wrong password for an
//! account are recorded in the journal and the audit log, as any change is (a lock too); a username
//! that is no account is counted but not recorded (what was typed may be a password).
//!
//! The counts are this PC's own (`local_setting`, never synced): the guard is against someone trying
//! passwords at this PC.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::organisation::staff::{
    check_password, from_row, hash_password, hash_secret, password_matches, secret_matches, Reauthenticated, Staff,
    COLUMNS, COLUMN_COUNT, DUMMY_HASH,
};
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::write::{ChangeKind, Entity, Fields};
use crate::time;

/// Wrong passwords in a row that cost nothing.
pub const FREE_FAILURES: u32 = 3;
/// The wait after the first wrong password beyond the free ones, doubled with each further one.
pub const FIRST_WAIT_SECONDS: i64 = 5;
/// Wrong passwords in a row that lock the username on this PC, and for how long.
pub const LOCK_AFTER: u32 = 8;
pub const LOCK_MINUTES: i64 = 15;
/// Counts of usernames nobody has tried for this long are forgotten.
const FORGET_AFTER_HOURS: i64 = 24;
const KEY_PREFIX: &str = "sign_in_guard:";

/// What this PC remembers of one username's wrong passwords.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Guard {
    failures: u32,
    last_failure: Option<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
}

impl Guard {
    fn load(conn: &Connection, username: &str) -> Result<Guard> {
        let value: Option<String> = conn
            .prepare_cached("SELECT value FROM local_setting WHERE key = ?1")?
            .query_row([key(username)], |r| r.get(0))
            .optional()?;
        Ok(value.as_deref().map(Guard::parse).unwrap_or_default())
    }

    /// `failures;last failure;locked until` (times in the stored form, or empty). An unreadable count
    /// is taken as one short of the lock, so a damaged row never gives anyone more tries.
    fn parse(text: &str) -> Guard {
        let mut parts = text.split(';');
        let failures = parts.next().and_then(|f| f.parse().ok()).unwrap_or(LOCK_AFTER - 1);
        let when = |p: Option<&str>| p.filter(|t| !t.is_empty()).and_then(|t| time::parse_stored(t).ok());
        Guard { failures, last_failure: when(parts.next()), locked_until: when(parts.next()) }
    }

    fn text(&self) -> String {
        let when = |t: Option<DateTime<Utc>>| t.map(time::stored).unwrap_or_default();
        format!("{};{};{}", self.failures, when(self.last_failure), when(self.locked_until))
    }

    /// Why an attempt now is refused without looking at the password, if it is.
    fn refusal(&self, now: DateTime<Utc>) -> Option<String> {
        if let Some(until) = self.locked_until.filter(|u| *u > now) {
            return Some(format!(
                "too many wrong passwords: this username is locked on this computer until {}; try again then, or sign in on another computer",
                time::to_local(until).format("%H:%M")
            ));
        }
        let last = self.last_failure?;
        let wait = wait_after(self.failures)?;
        let ready = last + wait;
        (ready > now).then(|| {
            let seconds = ((ready - now).num_milliseconds() + 999) / 1000;
            let unit = if seconds == 1 { "second" } else { "seconds" };
            format!("too many wrong passwords: wait {seconds} {unit} before trying again")
        })
    }
}

/// The wait a username's next attempt must leave after its last wrong password.
fn wait_after(failures: u32) -> Option<Duration> {
    let beyond = failures.checked_sub(FREE_FAILURES)?;
    Some(Duration::seconds(FIRST_WAIT_SECONDS << beyond.min(20)))
}

fn key(username: &str) -> String {
    format!("{KEY_PREFIX}{}", username.chars().take(64).collect::<String>())
}

fn save(conn: &Connection, username: &str, guard: &Guard) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO local_setting (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key(username), guard.text()])?;
    Ok(())
}

fn forget(conn: &Connection, username: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM local_setting WHERE key = ?1")?.execute([key(username)])?;
    Ok(())
}

/// Counts one more wrong password for `username`; returns the guard as it now is. Counts of other
/// usernames untried for a day, and not locked, are forgotten.
fn count_failure(conn: &Connection, username: &str, now: DateTime<Utc>) -> Result<Guard> {
    let mut guard = Guard::load(conn, username)?;
    if guard.locked_until.is_some_and(|u| u <= now) {
        guard = Guard::default();
    }
    guard.failures = guard.failures.saturating_add(1);
    guard.last_failure = Some(now);
    if guard.failures >= LOCK_AFTER {
        guard =
            Guard { failures: 0, last_failure: Some(now), locked_until: Some(now + Duration::minutes(LOCK_MINUTES)) };
    }
    save(conn, username, &guard)?;
    let mut stmt = conn.prepare_cached("SELECT key, value FROM local_setting WHERE key LIKE 'sign_in_guard:%'")?;
    let stale: Vec<String> = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .filter_map(|row| row.ok())
        .filter(|(_, value)| {
            let g = Guard::parse(value);
            let old = g.last_failure.is_none_or(|t| now - t > Duration::hours(FORGET_AFTER_HOURS));
            old && g.locked_until.is_none_or(|u| u <= now)
        })
        .map(|(k, _)| k)
        .collect();
    for k in stale {
        conn.prepare_cached("DELETE FROM local_setting WHERE key = ?1")?.execute([k])?;
    }
    Ok(guard)
}

impl Store {
    /// Checks that `password` is the current password of the person behind `session`: signing a
    /// clinical record asks for it again. The proof is what signing takes. Wrong passwords here count
    /// with those at sign-in: an open session is no way to guess a password without limit.
    /// A wrong one is counted and recorded (journal and audit) as at sign-in, under the account's
    /// username as it is now (sync may have renamed it since the session began); a right one is refused
    /// while the username must wait or is locked, and clears the count.
    pub fn confirm_password(&self, session: &Session, password: &str) -> Result<Reauthenticated> {
        let account: Option<(String, String)> = self.read(|r| {
            Ok(r.query_row(
                "SELECT username, password_hash FROM staff WHERE id = ?1 AND active = 1",
                [session.staff_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })?;
        let Some((username, hash)) = account else { return Err(Error::BadCredentials) };
        let now = self.clock.now();
        let guard = self.read(|r| Guard::load(r, &username))?;
        if let Some(reason) = guard.refusal(now) {
            return Err(Error::TooManyAttempts(reason));
        }
        // Checked outside any database lock (slow on purpose).
        if password_matches(password, &hash) {
            if guard != Guard::default() {
                let mut conn = self.lock_writer();
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                // Another attempt may have locked the username meanwhile: that lock stands.
                if let Some(reason) = Guard::load(&tx, &username)?.refusal(now) {
                    return Err(Error::TooManyAttempts(reason));
                }
                forget(&tx, &username)?;
                tx.commit()?;
            }
            return Ok(Reauthenticated::checked(session.staff_id));
        }
        self.write(session, |w| {
            w.authorize(Action::SignIn)?;
            let guard = count_failure(w.tx(), &username, now)?;
            let locked_until = guard.locked_until.filter(|u| *u > now);
            let mut fields = Fields::new()
                .with("staff_id", session.staff_id.to_string())
                .with("outcome", if locked_until.is_some() { "locked" } else { "wrong_password" })
                .with("at", time::stored(now))
                .with("while", "signing");
            if let Some(until) = locked_until {
                fields = fields.with("locked_until", time::stored(until));
            }
            let id: Uuid = w.new_id();
            w.record(Action::SignIn, Entity::SignIn, id, ChangeKind::Create, fields)
        })?;
        Err(Error::invalid("password", "is not your password; type the password you log in with"))
    }

    /// Checks a username and password and returns the person's session (see the module
    /// documentation for what wrong passwords cost).
    pub fn login(&self, username: &str, password: &str) -> Result<Session> {
        let username = username.trim().to_lowercase();
        let now = self.clock.now();
        let (guard, found) = self.read(|r| {
            let found = r
                .query_row(
                    &format!("SELECT {COLUMNS}, password_hash FROM staff WHERE username = ?1"),
                    [&username],
                    |r| Ok((from_row(r)?, r.get::<_, String>(COLUMN_COUNT)?)),
                )
                .optional()?;
            Ok((Guard::load(r, &username)?, found))
        })?;
        if let Some(reason) = guard.refusal(now) {
            return Err(Error::TooManyAttempts(reason));
        }
        // Hash checks run outside any database lock.
        let account = found.filter(|(staff, _)| staff.active);
        let right = match &account {
            Some((_, hash)) => password_matches(password, hash),
            None => {
                let _ = password_matches(password, DUMMY_HASH);
                false
            }
        };
        let Some((staff, _)) = account else {
            // No such active account: counted all the same, recorded nowhere.
            let mut conn = self.lock_writer();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            count_failure(&tx, &username, now)?;
            tx.commit()?;
            return Err(Error::BadCredentials);
        };
        let session = Session {
            staff_id: staff.id,
            username: staff.username,
            display_name: staff.display_name,
            role: staff.role,
            must_change_password: staff.must_change_password,
        };
        let outcome = self.write(&session, |w| {
            w.authorize(Action::SignIn)?;
            let now = w.now();
            let (outcome, locked_until) = if right {
                forget(w.tx(), &username)?;
                ("signed_in", None)
            } else {
                let guard = count_failure(w.tx(), &username, now)?;
                match guard.locked_until.filter(|u| *u > now) {
                    Some(until) => ("locked", Some(time::stored(until))),
                    None => ("wrong_password", None),
                }
            };
            let mut fields = Fields::new()
                .with("staff_id", staff.id.to_string())
                .with("outcome", outcome)
                .with("at", time::stored(now));
            if let Some(until) = locked_until {
                fields = fields.with("locked_until", until);
            }
            let id: Uuid = w.new_id();
            w.record(Action::SignIn, Entity::SignIn, id, ChangeKind::Create, fields)?;
            Ok(outcome)
        })?;
        match outcome {
            "signed_in" => Ok(session),
            _ => Err(Error::BadCredentials),
        }
    }
}

/// How long a PC may sit untouched before its screen locks, unless a manager chose otherwise.
pub const IDLE_LOCK_DEFAULT_MINUTES: u32 = 5;
/// The choices: from one minute to an hour.
pub const IDLE_LOCK_RANGE: std::ops::RangeInclusive<u32> = 1..=60;

impl Store {
    /// Minutes this PC may sit untouched before its screen locks (a setting of this PC).
    pub fn idle_lock_minutes(&self) -> Result<u32> {
        let value: Option<String> = self.read(|r| {
            Ok(r.query_row("SELECT value FROM local_setting WHERE key = 'idle_lock_minutes'", [], |r| r.get(0))
                .optional()?)
        })?;
        Ok(value
            .and_then(|v| v.parse().ok())
            .filter(|m| IDLE_LOCK_RANGE.contains(m))
            .unwrap_or(IDLE_LOCK_DEFAULT_MINUTES))
    }

    /// Sets how long this PC may sit untouched before its screen locks (those who manage staff).
    pub fn set_idle_lock_minutes(&self, session: &Session, minutes: u32) -> Result<u32> {
        self.require(session, Action::EditStaff)?;
        if !IDLE_LOCK_RANGE.contains(&minutes) {
            return Err(Error::invalid(
                "minutes",
                format!("must be from {} to {} minutes", IDLE_LOCK_RANGE.start(), IDLE_LOCK_RANGE.end()),
            ));
        }
        self.refuse_in_drill("changing this PC's settings")?;
        self.lock_writer().execute(
            "INSERT INTO local_setting (key, value) VALUES ('idle_lock_minutes', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [minutes.to_string()],
        )?;
        Ok(minutes)
    }

    /// Opens a locked screen: the password of the person whose session it is, checked and counted
    /// as a sign-in (wrong ones slow down and lock alike).
    pub fn unlock(&self, session: &Session, password: &str) -> Result<Session> {
        // The account's username as it is now (sync may have renamed it since the session began).
        let username: Option<String> = self.read(|r| {
            Ok(r.query_row("SELECT username FROM staff WHERE id = ?1", [session.staff_id.to_string()], |r| r.get(0))
                .optional()?)
        })?;
        let Some(username) = username else { return Err(Error::BadCredentials) };
        let again = self.login(&username, password)?;
        if again.staff_id != session.staff_id {
            return Err(Error::BadCredentials);
        }
        Ok(again)
    }
}

impl Store {
    /// A person changes their own password: the current one is checked first (and counted like a
    /// sign-in), the new one must keep the rules for passwords and differ from it. The new hash
    /// travels to the practice's other PCs like any change to the account.
    /// Gives someone a new password that they must replace with their own at their next login (they
    /// forgot theirs), and lifts this PC's lock on their username (eight wrong tries are how a
    /// forgotten password usually shows). Other PCs take the new password at their next sync.
    pub fn reset_password(&self, session: &Session, id: Uuid, password: &str) -> Result<Staff> {
        // Refused before the slow hashing, for those who may not.
        self.read_as(session, Action::EditStaff, |_| Ok(()))?;
        let password_hash = hash_password(password)?;
        self.write(session, |w| {
            let staff = w.reset_password_hashed(id, &password_hash)?;
            forget(w.tx(), &staff.username)?;
            Ok(staff)
        })
    }

    /// Whether someone still uses a password a manager gave them, as the database says now (a reset
    /// may have arrived from another PC since they logged in).
    pub fn must_change_password(&self, staff_id: Uuid) -> Result<bool> {
        self.read(|r| {
            Ok(r.query_row("SELECT must_change_password FROM staff WHERE id = ?1", [staff_id.to_string()], |row| {
                row.get(0)
            })
            .optional()?
            .unwrap_or(false))
        })
    }

    pub fn change_own_password(&self, session: &Session, current: &str, new: &str) -> Result<()> {
        check_password(new).map_err(|e| match e {
            Error::Invalid { reason, .. } => Error::invalid("new_password", reason),
            other => other,
        })?;
        if new == current {
            return Err(Error::invalid("new_password", "is your current password; choose another"));
        }
        // A deactivated account is told so, not that its password is wrong.
        self.read_as(session, Action::ChangeOwnPassword, |_| Ok(()))?;
        self.unlock(session, current).map_err(|e| match e {
            Error::BadCredentials => Error::invalid("current_password", "is not your password"),
            other => other,
        })?;
        // Hashing is slow on purpose, so it happens before the write lock is taken.
        let hash = hash_password(new)?;
        self.write(session, |w| {
            w.authorize(Action::ChangeOwnPassword)?;
            let me = w.actor().id;
            w.tx().execute(
                "UPDATE staff SET password_hash = ?2, must_change_password = 0, updated_at = ?3 WHERE id = ?1",
                params![me.to_string(), hash, time::stored(w.now())],
            )?;
            // The flag goes with the password, always: merged by their shared clock, a reset made on
            // another PC and this change leave the later password with its own flag.
            let fields = Fields::new().with("password_hash", &hash).with("must_change_password", false);
            w.record(Action::ChangeOwnPassword, Entity::Staff, me, ChangeKind::Update, fields)
        })
    }
}

/// How long a PIN may re-open a locked screen after the password typed to set it.
pub const PIN_SHIFT_HOURS: i64 = 12;
/// Wrong PINs, in all, before the PIN is forgotten and only the password opens the screen.
pub const PIN_TRIES: u32 = 3;

/// A short PIN that re-opens, on this PC, the locked screen of a session, within a shift: setting it
/// takes the person's password, and it lasts twelve hours from then (or until logging out, or a new
/// password). Kept in memory only (closing the app forgets it) and only as its Argon2id hash. Wrong
/// tries count over the PIN's whole life, not just in a row.
pub struct UnlockPin {
    staff_id: Uuid,
    hash: String,
    until: DateTime<Utc>,
    wrong: u32,
}

/// What a PIN attempt did.
#[derive(Debug, PartialEq, Eq)]
pub enum PinOutcome {
    Opened,
    /// Wrong; this many tries are left.
    Wrong(u32),
    /// Wrong too often, or the shift is over: the PIN is forgotten.
    Forgotten(String),
}

impl UnlockPin {
    /// A PIN of 4 to 8 digits for `session`, valid for a shift from `now` (when the password that set
    /// it was typed).
    pub fn new(session: &Session, pin: &str, now: DateTime<Utc>) -> Result<UnlockPin> {
        if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("pin", "must be 4 to 8 digits"));
        }
        Ok(UnlockPin {
            staff_id: session.staff_id,
            hash: hash_secret(pin)?,
            until: now + Duration::hours(PIN_SHIFT_HOURS),
            wrong: 0,
        })
    }

    /// Whether this PIN belongs to `session`'s person.
    pub fn is_for(&self, session: &Session) -> bool {
        self.staff_id == session.staff_id
    }

    /// Tries `pin` at `now`.
    pub fn open(&mut self, pin: &str, now: DateTime<Utc>) -> PinOutcome {
        if now >= self.until {
            return PinOutcome::Forgotten("the PIN was for the shift that has ended: type your password".into());
        }
        if pin.len() <= 8 && secret_matches(pin, &self.hash) {
            return PinOutcome::Opened;
        }
        self.wrong += 1;
        if self.wrong >= PIN_TRIES {
            PinOutcome::Forgotten(format!("{PIN_TRIES} wrong PINs: the PIN is forgotten; type your password"))
        } else {
            PinOutcome::Wrong(PIN_TRIES - self.wrong)
        }
    }
}

impl Store {
    /// Records a PIN attempt like a sign-in: `unlocked_with_pin`, `wrong_pin`, `pin_forgotten` (the
    /// wrong try that used up the PIN, or one after its shift), or `no_pin`.
    pub fn record_pin_attempt(&self, session: &Session, outcome: &str) -> Result<()> {
        if !["unlocked_with_pin", "wrong_pin", "pin_forgotten", "no_pin"].contains(&outcome) {
            return Err(Error::Internal(format!("no PIN outcome {outcome:?}")));
        }
        self.write(session, |w| {
            w.authorize(Action::SignIn)?;
            let fields = Fields::new()
                .with("staff_id", session.staff_id.to_string())
                .with("outcome", outcome)
                .with("at", time::stored(w.now()));
            let id = w.new_id();
            w.record(Action::SignIn, Entity::SignIn, id, ChangeKind::Create, fields)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn someone() -> Session {
        Session {
            staff_id: Uuid::now_v7(),
            username: "desk".into(),
            display_name: "Desk".into(),
            role: crate::Role::Reception,
            must_change_password: false,
        }
    }

    #[test]
    fn a_pin_is_digits_opens_within_the_shift_and_is_forgotten_after_three_wrong_tries() {
        let now = Utc::now();
        for bad in ["123", "123456789", "12a4", "", "١٢٣٤"] {
            assert_eq!(
                UnlockPin::new(&someone(), bad, now).err().map(|e| e.to_string()).as_deref(),
                Some("pin: must be 4 to 8 digits")
            );
        }
        let me = someone();
        let mut pin = UnlockPin::new(&me, "2468", now).unwrap();
        assert!(pin.is_for(&me) && !pin.is_for(&someone()));
        assert_eq!(pin.open("2468", now), PinOutcome::Opened);
        assert_eq!(pin.open("1111", now), PinOutcome::Wrong(2));
        assert_eq!(pin.open("2468", now), PinOutcome::Opened);
        assert_eq!(pin.open("2222", now), PinOutcome::Wrong(1), "a right PIN between does not clear the count");
        assert!(matches!(pin.open("3333", now), PinOutcome::Forgotten(_)));
        let mut pin = UnlockPin::new(&me, "2468", now).unwrap();
        assert_eq!(
            pin.open("2468", now + Duration::hours(PIN_SHIFT_HOURS)),
            PinOutcome::Forgotten("the PIN was for the shift that has ended: type your password".into())
        );
    }

    #[test]
    fn waits_double_after_the_free_attempts_and_never_overflow() {
        assert_eq!(wait_after(0), None);
        assert_eq!(wait_after(FREE_FAILURES - 1), None);
        assert_eq!(wait_after(FREE_FAILURES), Some(Duration::seconds(5)));
        assert_eq!(wait_after(FREE_FAILURES + 1), Some(Duration::seconds(10)));
        assert_eq!(wait_after(FREE_FAILURES + 2), Some(Duration::seconds(20)));
        assert!(wait_after(u32::MAX).is_some());
    }

    #[test]
    fn a_damaged_count_reads_as_the_strictest_and_a_round_trip_keeps_it() {
        let now = Utc::now();
        assert_eq!(Guard::parse("garbage").failures, LOCK_AFTER - 1);
        let g = Guard { failures: 4, last_failure: Some(now), locked_until: None };
        let back = Guard::parse(&g.text());
        assert_eq!(back.failures, 4);
        assert_eq!(back.last_failure.map(time::stored), Some(time::stored(now)));
        assert_eq!(back.locked_until, None);
    }
}
