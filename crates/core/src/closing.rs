//! Closing the outage, and the purge. Once every record of the backlog is verified in the PMS, a
//! manager closes the outage: the final export — the backlog as a FHIR R4 Bundle — is signed with
//! this PC's Ed25519 key and noted (its SHA-256, the signature and the key) in an `outage_closure`
//! record, and the practice sets how many days after closing the copies are purged.
//!
//! From that day a manager runs the purge: every client, animal and appointment Lifeboat holds only as
//! a copy of what is now in the PMS (made or last changed before the closing) has its personal details
//! blanked, through the write path, so the purge reaches every PC of the practice; each PC also blanks
//! its journal's old copies of those records (`journal::redact`). Records the law requires the practice
//! to keep — consultations, prescriptions and their dispensings, the controlled drugs register, charges,
//! lab requests and results with the labs' files, payments, cash-ups and insurance claims —
//! are never touched, nor the clients and animals they name: they stay until the practice's own
//! retention ends. A `purge_run` record says what was purged and what was kept.

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{Signer, SigningKey};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::export::fhir;
use crate::ledger::{self, Stage, StageCounts};
use crate::organisation::practice;
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::journal;
use crate::store::search_index;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;

/// The longest a practice may set between closing and the purge.
pub const MOST_DAYS_TO_PURGE: u32 = 366;

/// A closed outage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Closure {
    pub id: String,
    pub outage_began: DateTime<Utc>,
    pub records: u32,
    pub export_id: String,
    pub export_sha256: String,
    /// The Ed25519 public key (hex) of the PC that signed the final export.
    pub signer_key: String,
    /// The signature (hex) of the export's SHA-256 (hex text).
    pub signature: String,
    pub purge_after: DateTime<Utc>,
    pub closed_by: String,
    pub closed_at: DateTime<Utc>,
}

/// What a purge blanked, and what it kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PurgeCounts {
    pub clients: u32,
    pub patients: u32,
    pub appointments: u32,
    /// Named by records the law requires to be kept.
    pub kept_clients: u32,
    pub kept_patients: u32,
}

/// Where closing stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClosingStatus {
    pub outage_began: Option<DateTime<Utc>>,
    /// The backlog by stage: closing needs every record verified.
    pub ledger: StageCounts,
    pub closure: Option<Closure>,
    /// What a purge run now would do (after closing).
    pub would_purge: Option<PurgeCounts>,
    /// Purges run, newest first: (when, by whom, what).
    pub runs: Vec<(DateTime<Utc>, String, PurgeCounts)>,
}

/// The closure, and the final export's bytes (for the shell to save).
#[derive(Clone, Debug, PartialEq)]
pub struct Closed {
    pub closure: Closure,
    pub final_export: Vec<u8>,
}

fn closure(conn: &Connection) -> Result<Option<Closure>> {
    conn.query_row(
        "SELECT c.id, c.outage_began, c.records, c.export_id, c.export_sha256, c.signer_key, c.signature, c.purge_after,
                s.display_name, c.closed_at
         FROM outage_closure c JOIN staff s ON s.id = c.closed_by ORDER BY c.closed_at DESC, c.id LIMIT 1",
        [],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, String>(9)?,
            ))
        },
    )
    .optional()?
    .map(|(id, began, records, export_id, sha, key, signature, after, by, at)| {
        Ok(Closure {
            id,
            outage_began: time::parse_stored(&began)?,
            records,
            export_id,
            export_sha256: sha,
            signer_key: key,
            signature,
            purge_after: time::parse_stored(&after)?,
            closed_by: by,
            closed_at: time::parse_stored(&at)?,
        })
    })
    .transpose()
}

/// The records a purge keeps, as SQL over `?1` (when the outage was closed) and `?2` (the closure's
/// clock): animals named by a consultation, prescription, register entry, charge or lab request or booked after
/// the closing; clients named by a prescription, charge or booking that stays, or owning a kept animal;
/// and any record changed after the closing (by the journal's clocks, which every PC shares), or made
/// in Lifeboat and not verified in the PMS (a purge never blanks what the PMS has not got).
const KEPT: &str = "WITH kept_p AS (
        SELECT patient_id AS id FROM consultation UNION SELECT patient_id FROM prescription
        UNION SELECT patient_id FROM cd_entry WHERE patient_id IS NOT NULL UNION SELECT patient_id FROM charge
        UNION SELECT patient_id FROM lab_request UNION SELECT patient_id FROM insurance_claim
        UNION SELECT patient_id FROM appointment WHERE starts_at > ?1
        UNION SELECT j.entity_id FROM journal j WHERE j.entity = 'patient' AND j.hlc > ?2
        UNION SELECT p.id FROM patient p WHERE p.origin = 'offline'
          AND NOT EXISTS (SELECT 1 FROM ledger_mark m WHERE m.record_id = p.id AND m.stage = 'verified')
    ), kept_c AS (
        SELECT client_id AS id FROM prescription UNION SELECT client_id FROM charge
        UNION SELECT client_id FROM payment UNION SELECT client_id FROM insurance_claim
        UNION SELECT o.client_id FROM ownership o WHERE o.patient_id IN (SELECT id FROM kept_p)
        UNION SELECT client_id FROM appointment
          WHERE starts_at > ?1 OR id IN (SELECT appointment_id FROM consultation WHERE appointment_id IS NOT NULL)
        UNION SELECT j.entity_id FROM journal j WHERE j.entity = 'client' AND j.hlc > ?2
        UNION SELECT c.id FROM client c WHERE c.origin = 'offline'
          AND NOT EXISTS (SELECT 1 FROM ledger_mark m WHERE m.record_id = c.id AND m.stage = 'verified')
    )";

/// The ids of the clients, animals and appointments a purge would blank now.
struct Plan {
    clients: Vec<String>,
    patients: Vec<String>,
    appointments: Vec<String>,
    counts: PurgeCounts,
}

/// The clock of the closure's own change (the same on every PC).
fn closure_clock(conn: &Connection, c: &Closure) -> Result<i64> {
    Ok(conn
        .query_row("SELECT hlc FROM journal WHERE entity = 'outage_closure' AND entity_id = ?1", [&c.id], |r| r.get(0))
        .optional()?
        .unwrap_or(i64::MAX))
}

/// What a purge would blank now, and how many records are kept.
fn plan(conn: &Connection, c: &Closure) -> Result<Plan> {
    let (closed_at, clock) = (time::stored(c.closed_at), closure_clock(conn, c)?);
    let ids = |sql: &str| -> Result<Vec<String>> {
        let mut stmt = conn.prepare(&format!("{KEPT} {sql}"))?;
        let rows =
            stmt.query_map(params![closed_at, clock], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    };
    let clients =
        ids("SELECT id FROM client WHERE purged_at IS NULL AND id NOT IN (SELECT id FROM kept_c) ORDER BY id")?;
    let patients =
        ids("SELECT id FROM patient WHERE purged_at IS NULL AND id NOT IN (SELECT id FROM kept_p) ORDER BY id")?;
    let appointments = ids(
        "SELECT a.id FROM appointment a WHERE a.purged_at IS NULL AND a.starts_at <= ?1
           AND a.patient_id NOT IN (SELECT id FROM kept_p) AND a.client_id NOT IN (SELECT id FROM kept_c)
           AND a.id NOT IN (SELECT appointment_id FROM consultation WHERE appointment_id IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.entity = 'appointment' AND j.entity_id = a.id AND j.hlc > ?2)
           AND (a.origin = 'pms' OR EXISTS (SELECT 1 FROM ledger_mark m WHERE m.record_id = a.id AND m.stage = 'verified'))
         ORDER BY a.id",
    )?;
    let count = |sql: &str| -> Result<u32> {
        Ok(conn.query_row(&format!("{KEPT} {sql}"), params![closed_at, clock], |r| r.get(0))?)
    };
    let counts = PurgeCounts {
        clients: clients.len() as u32,
        patients: patients.len() as u32,
        appointments: appointments.len() as u32,
        kept_clients: count("SELECT count(*) FROM client WHERE purged_at IS NULL AND id IN (SELECT id FROM kept_c)")?,
        kept_patients: count("SELECT count(*) FROM patient WHERE purged_at IS NULL AND id IN (SELECT id FROM kept_p)")?,
    };
    Ok(Plan { clients, patients, appointments, counts })
}

pub(crate) fn status(conn: &Connection) -> Result<ClosingStatus> {
    let outage_began = practice::practice(conn)?.and_then(|p| p.outage_began);
    let mut counts = StageCounts::default();
    for e in ledger::entries(conn)? {
        match e.stage {
            Stage::Captured => counts.captured += 1,
            Stage::Exported => counts.exported += 1,
            Stage::Entered => counts.entered += 1,
            Stage::Verified => counts.verified += 1,
        }
    }
    let closure = closure(conn)?;
    let would_purge = match &closure {
        Some(c) => Some(plan(conn, c)?.counts),
        None => None,
    };
    let mut stmt = conn.prepare(
        "SELECT r.run_at, s.display_name, r.clients, r.patients, r.appointments, r.kept_clients, r.kept_patients
         FROM purge_run r JOIN staff s ON s.id = r.run_by ORDER BY r.run_at DESC, r.id",
    )?;
    let mut rows = stmt.query([])?;
    let mut runs = Vec::new();
    while let Some(r) = rows.next()? {
        runs.push((
            time::parse_stored(&r.get::<_, String>(0)?)?,
            r.get(1)?,
            PurgeCounts {
                clients: r.get(2)?,
                patients: r.get(3)?,
                appointments: r.get(4)?,
                kept_clients: r.get(5)?,
                kept_patients: r.get(6)?,
            },
        ));
    }
    Ok(ClosingStatus { outage_began, ledger: counts, closure, would_purge, runs })
}

impl Write<'_> {
    /// Closes the outage (see the module documentation), signing the final export with `key`.
    pub fn close_outage(&mut self, purge_after_days: u32, key: &SigningKey) -> Result<Closed> {
        self.authorize(Action::ManageOutage)?;
        self.authorize(Action::ExportRecords)?;
        if purge_after_days > MOST_DAYS_TO_PURGE {
            return Err(Error::invalid("purge_after_days", format!("is more than {MOST_DAYS_TO_PURGE} days")));
        }
        let practice = practice::practice(self.tx())?.ok_or_else(|| Error::NotFound("the practice".into()))?;
        let since = practice
            .outage_began
            .ok_or_else(|| Error::invalid("outage_began", "is not recorded: there is no outage to close"))?;
        if let Some(c) = closure(self.tx())? {
            if c.outage_began == since {
                return Err(Error::Conflict(format!(
                    "this outage was closed on {} by {}",
                    time::to_local(c.closed_at).format("%d/%m/%Y %H:%M"),
                    c.closed_by
                )));
            }
        }
        let s = status(self.tx())?.ledger;
        let waiting = s.captured + s.exported + s.entered;
        if s.verified == 0 && waiting == 0 {
            return Err(Error::invalid(
                "outage",
                "has nothing in its backlog: check when the outage began (a purge after closing would find nothing verified)",
            ));
        }
        if waiting > 0 {
            return Err(Error::invalid(
                "outage",
                format!(
                    "{waiting} records are not verified in the PMS yet ({} captured, {} exported, {} entered): finish the ledger first",
                    s.captured, s.exported, s.entered
                ),
            ));
        }
        let built = fhir::build(self.tx(), since, &practice.name, self.now(), &mut |_, _| {})?;
        let bytes = serde_json::to_vec_pretty(&built.bundle)
            .map_err(|e| Error::Internal(format!("writing the final export: {e}")))?;
        let rows: u32 = built.resources.values().sum();
        let (export_id, _) = self.record_export("fhir", "final", Some(since), rows, &bytes, &[])?;
        let sha = hex::encode(Sha256::digest(&bytes));
        let signature = hex::encode(key.sign(sha.as_bytes()).to_bytes());
        let signer = hex::encode(key.verifying_key().to_bytes());
        let id = self.new_id();
        let now = self.now();
        let purge_after = now + Duration::days(purge_after_days as i64);
        let by = self.actor().id;
        let (began_text, after_text, at_text) = (time::stored(since), time::stored(purge_after), time::stored(now));
        let records = s.verified;
        self.tx().execute(
            "INSERT INTO outage_closure (id, outage_began, records, export_id, export_sha256, signer_key, signature, purge_after, closed_by, closed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![id.to_string(), began_text, records, export_id.to_string(), sha, signer, signature, after_text, by.to_string(), at_text],
        )?;
        let fields = Fields::new()
            .with("outage_began", &began_text)
            .with("records", records)
            .with("export_id", export_id)
            .with("export_sha256", &sha)
            .with("signer_key", &signer)
            .with("signature", &signature)
            .with("purge_after", &after_text)
            .with("closed_by", by)
            .with("closed_at", &at_text);
        self.record(Action::ManageOutage, Entity::OutageClosure, id, ChangeKind::Create, fields)?;
        let closure = closure(self.tx())?.ok_or_else(|| Error::Internal("the closure just written".into()))?;
        Ok(Closed { closure, final_export: bytes })
    }

    fn blank(&mut self, entity: Entity, table: &str, id: &str, sets: &[(&str, &str)]) -> Result<()> {
        let now = time::stored(self.now());
        let assignments: Vec<String> = sets.iter().map(|(c, v)| format!("{c} = {v}")).collect();
        // (`updated_at` is left: a purged copy is not a change to export.)
        self.tx()
            .prepare_cached(&format!("UPDATE {table} SET {}, purged_at = ?2 WHERE id = ?1", assignments.join(", ")))?
            .execute(params![id, now])?;
        let mut fields = Fields::new();
        for (column, value) in sets {
            match *value {
                "NULL" => fields.put(column, None::<String>),
                "'[]'" => fields.put(column, "[]"),
                v => fields.put(column, v.trim_matches('\'')),
            }
        }
        fields.put("purged_at", &now);
        let uuid = Uuid::parse_str(id).map_err(|_| Error::DamagedRecord(format!("{table} id {id:?}")))?;
        journal::redact(self.tx(), entity.as_str(), id, None, i64::MAX, &now)?;
        self.record(Action::ManageOutage, entity, uuid, ChangeKind::Update, fields)
    }

    /// Runs the purge (see the module documentation), once the day the practice set has come.
    pub fn purge_copies(&mut self) -> Result<PurgeCounts> {
        self.authorize(Action::ManageOutage)?;
        let c = closure(self.tx())?
            .ok_or_else(|| Error::invalid("purge", "there is no closed outage: close the outage first"))?;
        if self.now() < c.purge_after {
            return Err(Error::invalid(
                "purge",
                format!(
                    "is due on {}, as the practice set when the outage was closed",
                    time::to_local(c.purge_after).format("%d/%m/%Y %H:%M")
                ),
            ));
        }
        let Plan { clients, patients, appointments, counts } = plan(self.tx(), &c)?;
        const CLIENT: &[(&str, &str)] = &[
            ("title", "''"),
            ("first_name", "''"),
            ("last_name", "'(purged)'"),
            ("address_line1", "''"),
            ("address_line2", "''"),
            ("town", "''"),
            ("postcode", "''"),
            ("phone", "''"),
            ("phone_alt", "''"),
            ("email", "''"),
            ("notes", "''"),
        ];
        const PATIENT: &[(&str, &str)] = &[
            ("name", "'(purged)'"),
            ("breed", "''"),
            ("colour", "''"),
            ("microchip", "NULL"),
            ("alerts", "'[]'"),
            ("notes", "''"),
        ];
        const APPOINTMENT: &[(&str, &str)] = &[("reason", "''"), ("notes", "''")];
        for id in &appointments {
            self.blank(Entity::Appointment, "appointment", id, APPOINTMENT)?;
        }
        for id in &patients {
            self.blank(Entity::Patient, "patient", id, PATIENT)?;
        }
        for id in &clients {
            self.blank(Entity::Client, "client", id, CLIENT)?;
        }
        // Every client whose search row named a purged record is reindexed (a kept owner of a purged
        // animal too), so none of its words stay.
        let owners: Vec<String> = {
            let mut stmt =
                self.tx().prepare_cached("SELECT DISTINCT client_id FROM ownership WHERE patient_id = ?1")?;
            let mut out: Vec<String> = clients.clone();
            for p in &patients {
                out.extend(stmt.query_map([p], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?);
            }
            out.sort();
            out.dedup();
            out
        };
        for id in owners {
            let uuid = Uuid::parse_str(&id).map_err(|_| Error::DamagedRecord(format!("client id {id:?}")))?;
            search_index::reindex_client(self.tx(), uuid)?;
        }
        let id = self.new_id();
        let at = time::stored(self.now());
        let by = self.actor().id;
        self.tx().execute(
            "INSERT INTO purge_run (id, closure_id, clients, patients, appointments, kept_clients, kept_patients, run_by, run_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id.to_string(),
                c.id,
                counts.clients,
                counts.patients,
                counts.appointments,
                counts.kept_clients,
                counts.kept_patients,
                by.to_string(),
                at
            ],
        )?;
        let fields = Fields::new()
            .with("closure_id", &c.id)
            .with("clients", counts.clients)
            .with("patients", counts.patients)
            .with("appointments", counts.appointments)
            .with("kept_clients", counts.kept_clients)
            .with("kept_patients", counts.kept_patients)
            .with("run_by", by)
            .with("run_at", &at);
        self.record(Action::ManageOutage, Entity::PurgeRun, id, ChangeKind::Create, fields)?;
        // The continuity packs kept on this PC hold copies of those records too.
        crate::views::continuity::forget_packs(self.tx())?;
        // So do the reports of drills ended on this PC (they name animals and staff).
        crate::drill::forget_reports(self.tx())?;
        Ok(counts)
    }
}

/// Checks a final export against its closure: the SHA-256 and the signature.
pub fn verify_final_export(closure: &Closure, bytes: &[u8]) -> Result<()> {
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let sha = hex::encode(Sha256::digest(bytes));
    if sha != closure.export_sha256 {
        return Err(Error::invalid(
            "file",
            format!("its SHA-256 is {sha}, not the {} noted when the outage was closed", closure.export_sha256),
        ));
    }
    let mut key = [0u8; 32];
    hex::decode_to_slice(&closure.signer_key, &mut key).map_err(|_| Error::DamagedRecord("the signer's key".into()))?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(&closure.signature, &mut sig).map_err(|_| Error::DamagedRecord("the signature".into()))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| Error::DamagedRecord("the signer's key".into()))?;
    key.verify(sha.as_bytes(), &Signature::from_bytes(&sig))
        .map_err(|_| Error::invalid("file", "the signature noted when the outage was closed does not match it"))
}

impl Store {
    /// Where closing stands (managers).
    pub fn closing_status(&self, session: &Session) -> Result<ClosingStatus> {
        self.read_as(session, Action::ManageOutage, |r| status(r))
    }

    /// Closes the outage; the final export is signed with this PC's key.
    pub fn close_outage(&self, session: &Session, purge_after_days: u32) -> Result<Closed> {
        self.refuse_in_drill("closing the outage")?;
        // Checked before the key is read or made, so a refused person leaves nothing behind.
        self.read_as(session, Action::ManageOutage, |_| Ok(()))?;
        let key = SigningKey::from_bytes(&self.node_signing_key()?);
        self.write(session, |w| w.close_outage(purge_after_days, &key))
    }

    /// Runs the purge, once it is due. The old pages are overwritten (SQLite's secure delete) and
    /// the write-ahead log emptied afterwards, so the blanked details are not left in the file.
    pub fn purge_copies(&self, session: &Session) -> Result<PurgeCounts> {
        self.refuse_in_drill("the purge")?;
        self.lock_writer().execute_batch("PRAGMA secure_delete = ON")?;
        let done = self.write(session, |w| w.purge_copies());
        let conn = self.lock_writer();
        conn.execute_batch("PRAGMA secure_delete = OFF")?;
        if done.is_ok() {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        done
    }
}
