//! The backlog: what the practice made or changed in Lifeboat since the outage began, which must be
//! entered into the PMS when it returns, counted by day, kind of record and clinician. Copies of PMS
//! records read in by an import are not backlog, nor are an import's own updates of them (told apart
//! by the audit log of this PC; a change received from another PC counts as made here); changes
//! made to them here are, and so is an owner added to an animal.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::organisation::practice;
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;
use crate::time;

/// One day's records of one kind by one clinician (empty for records no clinician made, such as a
/// client registered at the desk).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BacklogRow {
    pub day: NaiveDate,
    pub kind: String,
    pub clinician: String,
    /// Made since the outage began.
    pub created: u32,
    /// Made before and changed since.
    pub changed: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Backlog {
    /// When the outage began; `None` until a manager records it (then nothing is counted).
    pub outage_began: Option<DateTime<Utc>>,
    /// By day (oldest first), kind, clinician.
    pub rows: Vec<BacklogRow>,
    /// Per kind: (kind, made, changed).
    pub totals: Vec<(String, u32, u32)>,
}

/// One kind of record in the backlog.
pub(crate) struct Kind {
    /// The journal's name for it (and the ledger's).
    pub key: &'static str,
    /// Its name as shown.
    pub label: &'static str,
    /// SQL giving, for those made or changed since ?1: (id, time made, time last changed or NULL for
    /// records never changed, clinician's name, whether it was made here rather than copied from the
    /// PMS, its animal's id and name, its client's name, a line saying what it is, the time it
    /// happened where that says more than when it was written, and its PMS number). Records merged
    /// into another are not backlog: the kept record is.
    sql: &'static str,
}

/// A client's name as written on a letter.
const CLIENT_NAME: &str = "trim(replace(c.title || ' ' || c.first_name || ' ' || c.last_name, '  ', ' '))";

pub(crate) const KINDS: &[Kind] = &[
    Kind {
        key: "client",
        label: "Clients",
        sql: "SELECT c.id, c.created_at, c.updated_at, NULL, c.origin = 'offline', NULL, NULL, CLIENT_NAME,
                CLIENT_NAME || CASE WHEN c.postcode = '' THEN '' ELSE ', ' || c.postcode END
                  || CASE WHEN c.number IS NULL THEN '' ELSE ' (Lifeboat no. C-' || c.number || ')' END, NULL, c.pms_id
              FROM client c WHERE c.updated_at >= ?1 AND c.merged_into IS NULL
           AND (c.origin = 'offline' OR EXISTS (SELECT 1 FROM journal j WHERE j.entity = 'client' AND j.entity_id = c.id AND j.kind = 'update'
              AND NOT EXISTS (SELECT 1 FROM audit x WHERE x.op_id = j.op_id AND x.action = 'records.import')))",
    },
    Kind {
        key: "patient",
        label: "Animals",
        sql: "SELECT p.id, p.created_at, p.updated_at, NULL, p.origin = 'offline', p.id, p.name,
                (SELECT CLIENT_NAME FROM ownership o JOIN client c ON c.id = o.client_id WHERE o.patient_id = p.id ORDER BY o.created_at LIMIT 1),
                p.name || ', ' || CASE p.species WHEN 'other' THEN p.species_other ELSE p.species END
                  || CASE WHEN p.breed = '' THEN '' ELSE ' (' || p.breed || ')' END
                  || CASE WHEN p.number IS NULL THEN '' ELSE ' (Lifeboat no. A-' || p.number || ')' END, NULL, p.pms_id
              FROM patient p WHERE p.updated_at >= ?1 AND p.merged_into IS NULL
           AND (p.origin = 'offline' OR EXISTS (SELECT 1 FROM journal j WHERE j.entity = 'patient' AND j.entity_id = p.id AND j.kind = 'update'
              AND NOT EXISTS (SELECT 1 FROM audit x WHERE x.op_id = j.op_id AND x.action = 'records.import')) OR EXISTS (SELECT 1 FROM ownership o
             JOIN journal j ON j.entity = 'ownership' AND j.entity_id = o.id
             WHERE o.patient_id = p.id AND NOT EXISTS (SELECT 1 FROM audit x WHERE x.op_id = j.op_id AND x.action = 'records.import')
               AND o.created_at >= ?1))",
    },
    Kind {
        key: "appointment",
        label: "Appointments",
        sql: "SELECT a.id, a.created_at, a.updated_at, s.display_name, a.origin = 'offline', p.id, p.name, CLIENT_NAME,
                'Appointment (' || replace(a.kind, '_', ' ') || ', ' || replace(a.status, '_', ' ') || ')' || CASE WHEN a.reason = '' THEN '' ELSE ': ' || a.reason END,
                a.starts_at, a.pms_id
              FROM appointment a JOIN staff s ON s.id = a.clinician_id JOIN patient p ON p.id = a.patient_id JOIN client c ON c.id = a.client_id
          WHERE a.updated_at >= ?1 AND (a.origin = 'offline' OR EXISTS (SELECT 1 FROM journal j WHERE j.entity = 'appointment' AND j.entity_id = a.id AND j.kind = 'update'
              AND NOT EXISTS (SELECT 1 FROM audit x WHERE x.op_id = j.op_id AND x.action = 'records.import')))",
    },
    Kind {
        key: "consultation",
        label: "Consultations",
        sql: "SELECT k.id, k.created_at, k.updated_at, s.display_name, 1, p.id, p.name, NULL,
                'Consultation' || CASE WHEN k.signed_at IS NULL THEN ' (draft, not signed)' ELSE '' END
                  || CASE WHEN k.assessment = '' THEN '' ELSE ': ' || substr(k.assessment, 1, 80) END, k.started_at, NULL
              FROM consultation k JOIN staff s ON s.id = k.clinician_id JOIN patient p ON p.id = k.patient_id
          WHERE k.updated_at >= ?1 AND k.pms_id IS NULL",
    },
    Kind {
        key: "addendum",
        label: "Addenda",
        sql: "SELECT a.id, a.written_at, NULL, s.display_name, 1, p.id, p.name, NULL, 'Addendum: ' || a.reason, NULL, NULL
              FROM addendum a JOIN staff s ON s.id = a.author_id JOIN consultation k ON k.id = a.consultation_id
                JOIN patient p ON p.id = k.patient_id WHERE a.written_at >= ?1",
    },
    Kind {
        key: "prescription",
        label: "Prescriptions",
        sql: "SELECT r.id, r.issued_at, NULL, s.display_name, 1, p.id, p.name, NULL,
                'Prescription: ' || r.product_name || ' ' || r.strength || ', ' || r.dose || ' ' || r.frequency, NULL, NULL
              FROM prescription r JOIN staff s ON s.id = r.prescriber_id JOIN patient p ON p.id = r.patient_id
          WHERE r.issued_at >= ?1",
    },
    Kind {
        key: "dispensing",
        label: "Dispensings",
        sql: "SELECT d.id, d.dispensed_at, NULL, s.display_name, 1, p.id, p.name, NULL,
                'Dispensed: ' || r.product_name || ' ' || r.strength || ', batch ' || d.batch, NULL, NULL
              FROM dispensing d JOIN staff s ON s.id = d.dispensed_by JOIN prescription r ON r.id = d.prescription_id
                JOIN patient p ON p.id = r.patient_id WHERE d.dispensed_at >= ?1",
    },
    Kind {
        key: "cd_entry",
        label: "Controlled drugs register",
        sql: "SELECT e.id, e.recorded_at, NULL, s.display_name, 1, p.id, p.name, NULL,
                'CD register (' || replace(e.kind, '_', ' ') || '): ' || d.name || ' ' || d.strength, e.occurred_at, NULL
              FROM cd_entry e JOIN staff s ON s.id = e.recorded_by JOIN product d ON d.id = e.product_id
                LEFT JOIN patient p ON p.id = e.patient_id WHERE e.recorded_at >= ?1",
    },
    Kind {
        key: "lab_request",
        label: "Lab requests",
        sql: "SELECT q.id, q.requested_at, NULL, s.display_name, 1, p.id, p.name, NULL,
                'Lab request: ' || q.test_name || ' (' || q.sample_type || ', ' || q.lab || ')', q.sample_taken_at, NULL
              FROM lab_request q JOIN staff s ON s.id = q.requested_by JOIN patient p ON p.id = q.patient_id
          WHERE q.requested_at >= ?1",
    },
    Kind {
        key: "lab_result",
        label: "Lab results",
        sql: "SELECT x.id, x.entered_at, NULL, s.display_name, 1, p.id, p.name, NULL,
                'Lab result: ' || q.test_name || coalesce(': ' || substr((SELECT group_concat(
                    json_extract(e.value, '$.name') || ' ' || json_extract(e.value, '$.value')
                    || CASE WHEN json_extract(e.value, '$.unit') = '' THEN '' ELSE ' ' || json_extract(e.value, '$.unit') END
                    || CASE json_extract(e.value, '$.flag') WHEN 'high' THEN ' H' WHEN 'low' THEN ' L' ELSE '' END, '; ')
                  FROM json_each(x.measurements) e), 1, 400), '')
                  || CASE WHEN x.file_name IS NULL THEN '' ELSE ', with the lab''s file ' || x.file_name END, NULL, NULL
              FROM lab_result x JOIN lab_request q ON q.id = x.request_id JOIN staff s ON s.id = x.entered_by
                JOIN patient p ON p.id = q.patient_id WHERE x.entered_at >= ?1",
    },
    Kind {
        key: "charge",
        label: "Charges",
        sql: "SELECT h.id, h.charged_at, NULL, s.display_name, 1, p.id, p.name, NULL,
                'Charge: ' || h.description || ', £' || printf('%.2f', (h.net_pence + h.vat_pence) / 100.0), NULL, NULL
              FROM charge h JOIN staff s ON s.id = h.charged_by JOIN patient p ON p.id = h.patient_id WHERE h.charged_at >= ?1",
    },
    Kind {
        key: "payment",
        label: "Payments",
        sql: "SELECT y.id, y.taken_at, NULL, s.display_name, 1, NULL, NULL, CLIENT_NAME,
                CASE y.kind WHEN 'deposit' THEN 'Deposit' ELSE 'Payment' END || ' from ' || CLIENT_NAME || ' (' || replace(y.method, '_', ' ') || '): £'
                  || printf('%.2f', y.amount_pence / 100.0) || CASE WHEN y.reference = '' THEN '' ELSE ', ref. ' || y.reference END
                  || CASE WHEN y.note = '' THEN '' ELSE ', ' || y.note END
                  || CASE WHEN y.number IS NULL THEN '' ELSE ', receipt R-' || y.number END, NULL, NULL
              FROM payment y JOIN client c ON c.id = y.client_id JOIN staff s ON s.id = y.taken_by WHERE y.taken_at >= ?1",
    },
    Kind {
        key: "card_run",
        label: "Card payments run",
        sql: "SELECT r.id, r.run_at, NULL, s.display_name, 1, NULL, NULL, CLIENT_NAME,
                'Card payment of £' || printf('%.2f', y.amount_pence / 100.0) || ' from ' || CLIENT_NAME || ' run: '
                  || r.outcome || CASE WHEN r.reference = '' THEN '' ELSE ', ref. ' || r.reference END, NULL, NULL
              FROM card_run r JOIN payment y ON y.id = r.payment_id JOIN client c ON c.id = y.client_id JOIN staff s ON s.id = r.run_by
          WHERE r.run_at >= ?1",
    },
    Kind {
        key: "cash_up",
        label: "Cash-ups",
        sql: "SELECT u.id, u.counted_at, NULL, s.display_name, 1, NULL, NULL, NULL,
                'Cash-up ' || u.day || ' at ' || m.name || ': counted £' || printf('%.2f', u.counted_pence / 100.0) || ' against £'
                  || printf('%.2f', u.expected_pence / 100.0) || CASE WHEN u.difference_pence = 0 THEN '' ELSE ' (difference £'
                  || printf('%.2f', u.difference_pence / 100.0) || ': ' || u.note || ')' END, NULL, NULL
              FROM cash_up u JOIN premises m ON m.id = u.premises_id JOIN staff s ON s.id = u.counted_by WHERE u.counted_at >= ?1",
    },
    Kind {
        key: "insurance_claim",
        label: "Insurance claims",
        sql: "SELECT k.id, k.made_at, NULL, s.display_name, 1, p.id, p.name, CLIENT_NAME,
                'Insurance claim to ' || k.insurer || ', policy ' || k.policy_number || ': ' || k.condition || ', £'
                  || printf('%.2f', k.amount_pence / 100.0), NULL, NULL
              FROM insurance_claim k JOIN client c ON c.id = k.client_id JOIN patient p ON p.id = k.patient_id
                JOIN staff s ON s.id = k.made_by WHERE k.made_at >= ?1",
    },
    Kind {
        key: "void",
        label: "Voided records",
        sql: "SELECT v.id, v.voided_at, NULL, s.display_name, 1, NULL, NULL, NULL,
                'Void of a ' || v.entity || ': ' || v.reason, NULL, NULL
              FROM clinical_void v JOIN staff s ON s.id = v.voided_by WHERE v.voided_at >= ?1",
    },
];

/// One record of the backlog.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BacklogRecord {
    /// Index into `KINDS`.
    pub kind: usize,
    pub id: String,
    /// When it counts in the backlog: when made (made here since the outage began) or last changed.
    pub when: DateTime<Utc>,
    /// Made since the outage began (rather than made before and changed since).
    pub is_new: bool,
    pub clinician: String,
    pub patient_id: Option<String>,
    pub patient_name: Option<String>,
    pub client_name: Option<String>,
    /// What it is, in a line (with the time it happened, where it has one).
    pub summary: String,
    /// Its PMS number (a client, animal or appointment that has one).
    pub pms_id: Option<String>,
}

/// Every record made or changed since `since`, kind by kind (in `KINDS` order), oldest first within
/// a kind.
pub(crate) fn records(conn: &Connection, since: DateTime<Utc>) -> Result<Vec<BacklogRecord>> {
    let since_text = time::stored(since);
    let mut out = Vec::new();
    for (k, kind) in KINDS.iter().enumerate() {
        let sql = kind.sql.replace("CLIENT_NAME", CLIENT_NAME);
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([&since_text])?;
        let first = out.len();
        while let Some(r) = rows.next()? {
            let made = time::parse_stored(&r.get::<_, String>(1)?)?;
            let changed: Option<String> = r.get(2)?;
            let made_here: bool = r.get(4)?;
            let (when, is_new) = if made >= since && made_here {
                (made, true)
            } else {
                (time::parse_stored(changed.as_deref().unwrap_or_default())?, false)
            };
            let mut summary: String = r.get(8)?;
            if let Some(at) = r.get::<_, Option<String>>(9)? {
                let at = time::to_local(time::parse_stored(&at)?).format("%d/%m/%Y %H:%M");
                summary = format!("{at} {summary}");
            }
            out.push(BacklogRecord {
                kind: k,
                id: r.get(0)?,
                when,
                is_new,
                clinician: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                patient_id: r.get(5)?,
                patient_name: r.get(6)?,
                client_name: r.get(7)?,
                summary,
                pms_id: r.get(10)?,
            });
        }
        out[first..].sort_by(|a, b| (a.when, &a.id).cmp(&(b.when, &b.id)));
    }
    Ok(out)
}

pub(crate) fn backlog(conn: &Connection) -> Result<Backlog> {
    let outage_began = practice::practice(conn)?.and_then(|p| p.outage_began);
    let Some(since) = outage_began else { return Ok(Backlog { outage_began, rows: Vec::new(), totals: Vec::new() }) };
    // (day, kind index, clinician) -> (made, changed)
    let mut counts: BTreeMap<(NaiveDate, usize, String), (u32, u32)> = BTreeMap::new();
    let mut totals = vec![(0u32, 0u32); KINDS.len()];
    for r in records(conn, since)? {
        let entry = counts.entry((time::local_date(r.when), r.kind, r.clinician)).or_default();
        if r.is_new {
            entry.0 += 1;
            totals[r.kind].0 += 1;
        } else {
            entry.1 += 1;
            totals[r.kind].1 += 1;
        }
    }
    let rows = counts
        .into_iter()
        .map(|((day, k, clinician), (created, changed))| BacklogRow {
            day,
            kind: KINDS[k].label.to_string(),
            clinician,
            created,
            changed,
        })
        .collect();
    let totals = KINDS
        .iter()
        .zip(totals)
        .filter(|(_, t)| t.0 + t.1 > 0)
        .map(|(kind, t)| (kind.label.to_string(), t.0, t.1))
        .collect();
    Ok(Backlog { outage_began, rows, totals })
}

impl Store {
    /// The backlog since the outage began (managers).
    pub fn backlog(&self, session: &Session) -> Result<Backlog> {
        self.read_as(session, Action::ExportRecords, |r| backlog(r))
    }
}
