//! CSV exports of clients, animals and appointments, for entering what was recorded during the
//! outage into the PMS. The columns carry the headings the snapshot import recognises, so an export
//! reads back in (`import`), and each row carries its Lifeboat id, where it came from (made here or a
//! copy of the PMS) and when it was made and last changed. UTF-8 with a byte-order mark (Excel reads
//! it right); a cell a spreadsheet would run as a formula is written as text.

pub mod fhir;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::import::columns::ImportKind;
use crate::import::table::spreadsheet_safe;
use crate::ledger::Exported;
use crate::permission::Action;
use crate::reception::appointment::{AppointmentKind, AppointmentStatus};
use crate::reception::patient::{Sex, Species};
use crate::session::Session;
use crate::store::database::Store;
use crate::time;

/// The columns of each export, in order (documented in README.md).
pub fn headings(kind: ImportKind) -> &'static [&'static str] {
    match kind {
        ImportKind::Clients => &[
            "Lifeboat ID",
            "Client No.",
            "Origin",
            "Title",
            "Forename",
            "Surname",
            "Address 1",
            "Address 2",
            "Town",
            "Post Code",
            "Home Tel",
            "Mobile Tel",
            "E-mail",
            "Email Consent",
            "SMS Consent",
            "Notes",
            "Created",
            "Last changed",
        ],
        ImportKind::Patients => &[
            "Lifeboat ID",
            "Animal No.",
            "Origin",
            "Client No.",
            "Owner Lifeboat ID",
            "Animal Name",
            "Species",
            "Breed",
            "Sex",
            "Neutered",
            "DOB",
            "Colour",
            "Microchip",
            "Alerts",
            "Notes",
            "Date of Death",
            "Created",
            "Last changed",
        ],
        ImportKind::Appointments => &[
            "Lifeboat ID",
            "Appt ID",
            "Origin",
            "Animal No.",
            "Animal Lifeboat ID",
            "Animal Name",
            "Client No.",
            "Client Lifeboat ID",
            "Date",
            "Time",
            "Duration",
            "Clinician",
            "Room",
            "Type",
            "Reason",
            "Notes",
            "Status",
            "Created",
            "Last changed",
        ],
        // Not written as CSV (see `rows`).
        ImportKind::History => &[],
        ImportKind::Products => &[
            "Lifeboat ID",
            "Product Code",
            "Product Name",
            "Active Ingredient",
            "Strength",
            "Form",
            "Legal Category",
            "CD Schedule",
            "Unit",
            "Pack Size",
            "Price",
            "VAT Rate",
            "Species",
            "Withdrawal Meat",
            "Withdrawal Milk",
            "Withdrawal Eggs",
            "Warnings",
            "Created",
            "Last changed",
        ],
    }
}

/// A stored instant as London date and time, as a person reads it.
fn shown(stored: &str) -> Result<String> {
    Ok(time::to_local(time::parse_stored(stored)?).format("%d/%m/%Y %H:%M").to_string())
}

fn date(stored: Option<String>) -> Result<String> {
    Ok(match stored {
        Some(d) => time::parse_stored_date(&d)?.format("%d/%m/%Y").to_string(),
        None => String::new(),
    })
}

fn yes_no(b: bool) -> String {
    if b { "Y" } else { "N" }.to_string()
}

fn rows(conn: &Connection, kind: ImportKind, since: &str) -> Result<Vec<Vec<String>>> {
    let mut out = Vec::new();
    match kind {
        ImportKind::History => {
            return Err(Error::invalid(
                "kind",
                "clinical history is not written as CSV: the backlog's consultations are in the FHIR bundle and on the worklist",
            ))
        }
        ImportKind::Products => {
            let mut stmt = conn.prepare(
                "SELECT id, coalesce(pms_id, ''), name, active_ingredient, strength, form, legal_category, cd_schedule, unit,
                        pack_size_milli, price_pence, vat_rate_bp, authorised_species, withdrawal_meat_days,
                        withdrawal_milk_days, withdrawal_eggs_days, warnings, created_at, updated_at
                 FROM product WHERE updated_at >= ?1 AND active = 1 ORDER BY name COLLATE NOCASE, strength, id",
            )?;
            let mut q = stmt.query([since])?;
            let number = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
            while let Some(r) = q.next()? {
                let species: Vec<String> = serde_json::from_str(&r.get::<_, String>(12)?)
                    .map_err(|_| Error::DamagedRecord("product species".into()))?;
                let labels: Vec<&str> = species.iter().filter_map(|s| Species::parse(s)).map(|s| s.label()).collect();
                let pack = crate::clinical::quantity::Quantity(r.get(9)?);
                let price: i64 = r.get(10)?;
                let vat: i64 = r.get(11)?;
                out.push(vec![
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    number(r.get(7)?),
                    r.get(8)?,
                    pack.to_string(),
                    format!("{}.{:02}", price / 100, price % 100),
                    format!("{}%", vat as f64 / 100.0),
                    labels.join("; "),
                    number(r.get(13)?),
                    number(r.get(14)?),
                    number(r.get(15)?),
                    r.get(16)?,
                    shown(&r.get::<_, String>(17)?)?,
                    shown(&r.get::<_, String>(18)?)?,
                ]);
            }
        }
        ImportKind::Clients => {
            let mut stmt = conn.prepare(
                "SELECT id, coalesce(pms_id, ''), origin, title, first_name, last_name, address_line1, address_line2, town,
                        postcode, phone, phone_alt, email, consent_email, consent_sms, notes, created_at, updated_at
                 FROM client WHERE updated_at >= ?1 AND purged_at IS NULL ORDER BY created_at, id",
            )?;
            let mut q = stmt.query([since])?;
            while let Some(r) = q.next()? {
                let mut row: Vec<String> = (0..13).map(|i| r.get::<_, String>(i)).collect::<rusqlite::Result<_>>()?;
                row.extend([yes_no(r.get(13)?), yes_no(r.get(14)?), r.get(15)?]);
                row.extend([shown(&r.get::<_, String>(16)?)?, shown(&r.get::<_, String>(17)?)?]);
                out.push(row);
            }
        }
        ImportKind::Patients => {
            // One row per owner: the import reads an animal listed once per owner back as one animal.
            let mut stmt = conn.prepare(
                "SELECT p.id, coalesce(p.pms_id, ''), p.origin, coalesce(c.pms_id, ''), c.id, p.name, p.species,
                        p.species_other, p.breed, p.sex, p.neutered, p.date_of_birth, p.colour, coalesce(p.microchip, ''),
                        p.alerts, p.notes, p.deceased_on, p.created_at, p.updated_at
                 FROM patient p JOIN ownership o ON o.patient_id = p.id JOIN client c ON c.id = o.client_id
                 WHERE p.updated_at >= ?1 AND p.purged_at IS NULL ORDER BY p.created_at, p.id, o.created_at, c.id",
            )?;
            let mut q = stmt.query([since])?;
            while let Some(r) = q.next()? {
                let species = r.get::<_, String>(6)?;
                let species = match Species::parse(&species) {
                    Some(Species::Other) => r.get::<_, String>(7)?,
                    Some(s) => s.label().to_string(),
                    None => return Err(Error::DamagedRecord(format!("patient species {species:?}"))),
                };
                let sex = match Sex::parse(&r.get::<_, String>(9)?) {
                    Some(Sex::Male) => "Male",
                    Some(Sex::Female) => "Female",
                    _ => "Unknown",
                };
                let alerts: Vec<String> = serde_json::from_str(&r.get::<_, String>(14)?)
                    .map_err(|_| Error::DamagedRecord("patient alerts".into()))?;
                out.push(vec![
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    species,
                    r.get(8)?,
                    sex.to_string(),
                    yes_no(r.get(10)?),
                    date(r.get(11)?)?,
                    r.get(12)?,
                    r.get(13)?,
                    alerts.join("; "),
                    r.get(15)?,
                    date(r.get(16)?)?,
                    shown(&r.get::<_, String>(17)?)?,
                    shown(&r.get::<_, String>(18)?)?,
                ]);
            }
        }
        ImportKind::Appointments => {
            let mut stmt = conn.prepare(
                "SELECT a.id, coalesce(a.pms_id, ''), a.origin, coalesce(p.pms_id, ''), p.id, p.name, coalesce(c.pms_id, ''),
                        c.id, a.starts_at, a.ends_at, s.display_name, a.room, a.kind, a.reason, a.notes, a.status,
                        a.created_at, a.updated_at
                 FROM appointment a JOIN patient p ON p.id = a.patient_id JOIN client c ON c.id = a.client_id
                   JOIN staff s ON s.id = a.clinician_id
                 WHERE a.updated_at >= ?1 AND a.purged_at IS NULL ORDER BY a.starts_at, a.id",
            )?;
            let mut q = stmt.query([since])?;
            while let Some(r) = q.next()? {
                let (starts, ends) =
                    (time::parse_stored(&r.get::<_, String>(8)?)?, time::parse_stored(&r.get::<_, String>(9)?)?);
                let start = time::to_local(starts);
                let kind = r.get::<_, String>(12)?;
                let kind = AppointmentKind::parse(&kind)
                    .ok_or_else(|| Error::DamagedRecord(format!("appointment kind {kind:?}")))?;
                let status = r.get::<_, String>(15)?;
                let status = AppointmentStatus::parse(&status)
                    .ok_or_else(|| Error::DamagedRecord(format!("appointment status {status:?}")))?;
                out.push(vec![
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    start.format("%d/%m/%Y").to_string(),
                    start.format("%H:%M").to_string(),
                    (ends - starts).num_minutes().to_string(),
                    r.get(10)?,
                    r.get(11)?,
                    kind.label().to_string(),
                    r.get(13)?,
                    r.get(14)?,
                    status.label().to_string(),
                    shown(&r.get::<_, String>(16)?)?,
                    shown(&r.get::<_, String>(17)?)?,
                ]);
            }
        }
    }
    Ok(out)
}

impl Store {
    /// The records of `kind` made or changed since `since` (all when none), as CSV. The export is
    /// noted in the reconciliation ledger, with the backlog records it carries, in the same
    /// transaction that read them.
    pub fn export_csv(&self, session: &Session, kind: ImportKind, since: Option<DateTime<Utc>>) -> Result<Exported> {
        self.export_csv_progress(session, kind, since, &mut |_, _| {})
    }

    /// `export_csv`, telling `progress` how many rows of how many are written as it goes.
    pub fn export_csv_progress(
        &self,
        session: &Session,
        kind: ImportKind,
        since: Option<DateTime<Utc>>,
        progress: &mut dyn FnMut(u32, u32),
    ) -> Result<Exported> {
        self.refuse_in_drill("exporting for the PMS")?;
        self.write(session, |w| {
            w.authorize(Action::ExportRecords)?;
            let since_text = since.map(time::stored).unwrap_or_default();
            let rows = rows(w.tx(), kind, &since_text)?;
            let total = rows.len() as u32;
            let mut out = csv::Writer::from_writer(b"\xef\xbb\xbf".to_vec());
            let fail = |e: csv::Error| Error::Internal(format!("writing the export: {e}"));
            out.write_record(headings(kind)).map_err(fail)?;
            for (done, row) in rows.iter().enumerate() {
                if done % 500 == 0 {
                    progress(done as u32, total);
                }
                out.write_record(row.iter().map(|c| spreadsheet_safe(c).into_owned())).map_err(fail)?;
            }
            let csv = out.into_inner().map_err(|e| Error::Internal(format!("writing the export: {e}")))?;
            // The Lifeboat id is each row's first column.
            let ids: Vec<String> = rows.iter().filter_map(|r| r.first().cloned()).collect();
            let (export_id, marked) = w.record_export("csv", kind.as_str(), since, rows.len() as u32, &csv, &ids)?;
            progress(total, total);
            Ok(Exported { bytes: csv, rows: rows.len() as u32, export_id, marked })
        })
    }
}
