//! Patients (animals) and who owns them.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Map;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::practice::parse_id;
use crate::search;
use crate::session::Session;
use crate::store::Store;
use crate::time;
use crate::validate;
use crate::write::{field, ChangeKind, Entity, Mutation, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Species {
    Dog,
    Cat,
    Rabbit,
    GuineaPig,
    Ferret,
    Hamster,
    Rat,
    Bird,
    Reptile,
    Horse,
    Other,
}

impl Species {
    pub const ALL: [Species; 11] = [
        Species::Dog,
        Species::Cat,
        Species::Rabbit,
        Species::GuineaPig,
        Species::Ferret,
        Species::Hamster,
        Species::Rat,
        Species::Bird,
        Species::Reptile,
        Species::Horse,
        Species::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Species::Dog => "dog",
            Species::Cat => "cat",
            Species::Rabbit => "rabbit",
            Species::GuineaPig => "guinea_pig",
            Species::Ferret => "ferret",
            Species::Hamster => "hamster",
            Species::Rat => "rat",
            Species::Bird => "bird",
            Species::Reptile => "reptile",
            Species::Horse => "horse",
            Species::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Species> {
        Species::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Species::Dog => "Dog",
            Species::Cat => "Cat",
            Species::Rabbit => "Rabbit",
            Species::GuineaPig => "Guinea pig",
            Species::Ferret => "Ferret",
            Species::Hamster => "Hamster",
            Species::Rat => "Rat",
            Species::Bird => "Bird",
            Species::Reptile => "Reptile",
            Species::Horse => "Horse",
            Species::Other => "Other",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
    Unknown,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
            Sex::Unknown => "unknown",
        }
    }
    pub fn parse(text: &str) -> Option<Sex> {
        [Sex::Male, Sex::Female, Sex::Unknown].into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Patient {
    pub id: Uuid,
    pub name: String,
    pub species: Species,
    /// What the animal is when `species` is `other`.
    pub species_other: String,
    pub breed: String,
    pub sex: Sex,
    pub neutered: bool,
    pub date_of_birth: Option<NaiveDate>,
    /// The date of birth was worked out from an estimated age.
    pub dob_estimated: bool,
    pub colour: String,
    pub microchip: Option<String>,
    /// Shown wherever the patient appears: "Bites", "Penicillin allergy", ...
    pub alerts: Vec<String>,
    pub deceased_on: Option<NaiveDate>,
    pub notes: String,
    pub owner_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewPatient {
    pub name: String,
    pub species: Species,
    pub species_other: String,
    pub breed: String,
    pub sex: Sex,
    pub neutered: bool,
    pub date_of_birth: Option<NaiveDate>,
    /// Used when the date of birth is not known: gives an estimated one.
    pub estimated_age_years: Option<u32>,
    pub colour: String,
    pub microchip: String,
    pub alerts: Vec<String>,
    pub notes: String,
}

impl NewPatient {
    pub fn new(name: &str, species: Species) -> NewPatient {
        NewPatient {
            name: name.into(),
            species,
            species_other: String::new(),
            breed: String::new(),
            sex: Sex::Unknown,
            neutered: false,
            date_of_birth: None,
            estimated_age_years: None,
            colour: String::new(),
            microchip: String::new(),
            alerts: Vec::new(),
            notes: String::new(),
        }
    }
}

/// A checked `NewPatient`, ready to insert.
pub struct ValidPatient {
    pub name: String,
    pub species: Species,
    pub species_other: String,
    pub breed: String,
    pub sex: Sex,
    pub neutered: bool,
    pub date_of_birth: Option<NaiveDate>,
    pub dob_estimated: bool,
    pub colour: String,
    pub microchip: Option<String>,
    pub alerts: Vec<String>,
    pub notes: String,
}

impl NewPatient {
    /// Checks every field against `today` (London date); errors name the field.
    pub fn validated(&self, today: NaiveDate) -> Result<ValidPatient> {
        let species_other = validate::optional("species_other", &self.species_other, 40)?;
        if self.species == Species::Other && species_other.is_empty() {
            return Err(Error::invalid("species_other", "say what kind of animal it is"));
        }
        let (date_of_birth, dob_estimated) = match (self.date_of_birth, self.estimated_age_years) {
            (Some(dob), _) if dob > today => return Err(Error::invalid("date_of_birth", "is in the future")),
            (Some(dob), _) if today.year() - dob.year() > 60 => {
                return Err(Error::invalid("date_of_birth", "is more than 60 years ago"))
            }
            (Some(dob), _) => (Some(dob), false),
            (None, Some(years)) if years > 60 => {
                return Err(Error::invalid("estimated_age_years", "must be 60 or less"))
            }
            (None, Some(years)) => (today.with_year(today.year() - years as i32).or(Some(today)), true),
            (None, None) => (None, false),
        };
        let microchip = match self.microchip.trim() {
            "" => None,
            chip => Some(validate::microchip("microchip", chip)?),
        };
        let mut alerts = Vec::new();
        for alert in &self.alerts {
            let alert = validate::optional("alerts", alert, 60)?;
            if !alert.is_empty() && !alerts.contains(&alert) {
                alerts.push(alert);
            }
        }
        if alerts.len() > 10 {
            return Err(Error::invalid("alerts", "at most 10 alerts"));
        }
        Ok(ValidPatient {
            name: validate::required("name", &self.name, 60)?,
            species: self.species,
            species_other,
            breed: validate::optional("breed", &self.breed, 60)?,
            sex: self.sex,
            neutered: self.neutered,
            date_of_birth,
            dob_estimated,
            colour: validate::optional("colour", &self.colour, 60)?,
            microchip,
            alerts,
            notes: validate::optional_multiline("notes", &self.notes, 2000)?,
        })
    }
}

const COLUMNS: &str = "id, name, species, species_other, breed, sex, neutered, date_of_birth, dob_estimated, colour, microchip, alerts, deceased_on, notes, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Patient> {
    let id: String = r.get(0)?;
    let species: String = r.get(2)?;
    let sex: String = r.get(5)?;
    let dob: Option<String> = r.get(7)?;
    let alerts: String = r.get(11)?;
    let deceased: Option<String> = r.get(12)?;
    let created: String = r.get(14)?;
    Ok(Patient {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        name: r.get(1)?,
        species: Species::parse(&species).unwrap_or(Species::Other),
        species_other: r.get(3)?,
        breed: r.get(4)?,
        sex: Sex::parse(&sex).unwrap_or(Sex::Unknown),
        neutered: r.get(6)?,
        date_of_birth: dob.and_then(|d| d.parse().ok()),
        dob_estimated: r.get(8)?,
        colour: r.get(9)?,
        microchip: r.get(10)?,
        alerts: serde_json::from_str(&alerts).unwrap_or_default(),
        deceased_on: deceased.and_then(|d| d.parse().ok()),
        notes: r.get(13)?,
        owner_ids: Vec::new(),
        created_at: time::parse_stored(&created).unwrap_or_default(),
    })
}

pub fn get(conn: &Connection, id: Uuid) -> Result<Patient> {
    let mut patient = conn
        .query_row(&format!("SELECT {COLUMNS} FROM patient WHERE id = ?1"), [id.to_string()], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("patient {id}")))?;
    patient.owner_ids = owners(conn, id)?;
    Ok(patient)
}

fn owners(conn: &Connection, patient_id: Uuid) -> Result<Vec<Uuid>> {
    let mut stmt =
        conn.prepare_cached("SELECT client_id FROM ownership WHERE patient_id = ?1 ORDER BY created_at, client_id")?;
    let ids =
        stmt.query_map([patient_id.to_string()], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    ids.iter().map(|id| parse_id(id)).collect()
}

/// The patients a client owns, living first, then by name.
pub fn of_client(conn: &Connection, client_id: Uuid) -> Result<Vec<Patient>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM patient p JOIN ownership o ON o.patient_id = p.id WHERE o.client_id = ?1
         ORDER BY p.deceased_on IS NOT NULL, p.name COLLATE NOCASE",
        COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ")
    ))?;
    let mut patients = stmt.query_map([client_id.to_string()], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    for p in &mut patients {
        p.owner_ids = owners(conn, p.id)?;
    }
    Ok(patients)
}

/// Inserts a validated patient owned by `owner`, and reindexes the owner for search. Refuses a
/// microchip already on file, naming the animal that has it.
pub fn insert(w: &mut Write<'_>, owner: Uuid, p: &ValidPatient) -> Result<Uuid> {
    crate::client::get(w.tx(), owner)?;
    if let Some(chip) = &p.microchip {
        let holder: Option<String> =
            w.tx().query_row("SELECT name FROM patient WHERE microchip = ?1", [chip], |r| r.get(0)).optional()?;
        if let Some(name) = holder {
            return Err(Error::Conflict(format!(
                "microchip {chip} is already recorded for {name}; search for it instead of registering again"
            )));
        }
    }
    let id = w.new_id();
    let now = time::stored(w.now());
    let alerts = serde_json::to_string(&p.alerts).map_err(|e| Error::Internal(e.to_string()))?;
    let dob = p.date_of_birth.map(|d| d.to_string());
    w.tx().execute(
        &format!("INSERT INTO patient ({COLUMNS}, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, ?13, ?14, ?14)"),
        params![id.to_string(), p.name, p.species.as_str(), p.species_other, p.breed, p.sex.as_str(), p.neutered, dob, p.dob_estimated, p.colour, p.microchip, alerts, p.notes, now],
    )?;
    let mut fields = Map::new();
    field(&mut fields, "name", &p.name);
    field(&mut fields, "species", p.species);
    field(&mut fields, "species_other", &p.species_other);
    field(&mut fields, "breed", &p.breed);
    field(&mut fields, "sex", p.sex);
    field(&mut fields, "neutered", p.neutered);
    field(&mut fields, "date_of_birth", dob);
    field(&mut fields, "dob_estimated", p.dob_estimated);
    field(&mut fields, "colour", &p.colour);
    field(&mut fields, "microchip", &p.microchip);
    field(&mut fields, "alerts", &p.alerts);
    field(&mut fields, "notes", &p.notes);
    w.record(Mutation { entity: Entity::Patient, entity_id: id, kind: ChangeKind::Create, fields });
    add_owner(w, owner, id)?;
    Ok(id)
}

/// Records that `client` owns `patient` (a patient may have several owners).
pub fn add_owner(w: &mut Write<'_>, client: Uuid, patient: Uuid) -> Result<()> {
    let added = w.tx().execute(
        "INSERT OR IGNORE INTO ownership (client_id, patient_id, created_at) VALUES (?1, ?2, ?3)",
        params![client.to_string(), patient.to_string(), time::stored(w.now())],
    )?;
    if added == 0 {
        return Err(Error::Conflict("this client already owns this patient".into()));
    }
    let mut fields = Map::new();
    field(&mut fields, "client_id", client);
    field(&mut fields, "patient_id", patient);
    // The ownership row has no id of its own; the journal names it by the patient.
    w.record(Mutation { entity: Entity::Ownership, entity_id: patient, kind: ChangeKind::Create, fields });
    search::reindex_client(w.tx(), client)?;
    Ok(())
}

/// Everything the patient page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PatientRecord {
    pub patient: Patient,
    pub owners: Vec<crate::client::Client>,
    /// Newest first.
    pub appointments: Vec<crate::appointment::Appointment>,
}

impl Store {
    pub fn patient_record(&self, session: &Session, id: Uuid) -> Result<PatientRecord> {
        let appointments = self.appointments_of_patient(session, id)?;
        self.read(|c| {
            let patient = get(c, id)?;
            let owners = patient.owner_ids.iter().map(|o| crate::client::get(c, *o)).collect::<Result<Vec<_>>>()?;
            Ok(PatientRecord { patient, owners, appointments })
        })
    }

    /// Registers a patient owned by `owner`.
    pub fn register_patient(&self, session: &Session, owner: Uuid, new: &NewPatient) -> Result<Patient> {
        let valid = new.validated(time::local_date(self.clock.now()))?;
        self.write(session, Action::RegisterPatient, |w| {
            let id = insert(w, owner, &valid)?;
            get(w.tx(), id)
        })
    }

    /// Adds another owner to a patient.
    pub fn add_patient_owner(&self, session: &Session, patient: Uuid, client: Uuid) -> Result<Patient> {
        self.write(session, Action::EditPatient, |w| {
            get(w.tx(), patient)?;
            crate::client::get(w.tx(), client)?;
            add_owner(w, client, patient)?;
            get(w.tx(), patient)
        })
    }

    /// Records a patient's death. Appointments stay as they are; new ones are refused.
    pub fn record_death(&self, session: &Session, patient: Uuid, on: NaiveDate) -> Result<Patient> {
        let today = time::local_date(self.clock.now());
        if on > today {
            return Err(Error::invalid("deceased_on", "is in the future"));
        }
        self.write(session, Action::EditPatient, |w| {
            let current = get(w.tx(), patient)?;
            if current.deceased_on.is_some() {
                return Err(Error::Conflict(format!("{} is already recorded as deceased", current.name)));
            }
            w.tx().execute(
                "UPDATE patient SET deceased_on = ?2, updated_at = ?3 WHERE id = ?1",
                params![patient.to_string(), on.to_string(), time::stored(w.now())],
            )?;
            let mut fields = Map::new();
            field(&mut fields, "deceased_on", on.to_string());
            w.record(Mutation { entity: Entity::Patient, entity_id: patient, kind: ChangeKind::Update, fields });
            for owner in &current.owner_ids {
                search::reindex_client(w.tx(), *owner)?;
            }
            get(w.tx(), patient)
        })
    }

    pub fn patient(&self, session: &Session, id: Uuid) -> Result<Patient> {
        self.authorize_read(session, Action::ViewRecords)?;
        self.read(|c| get(c, id))
    }

    pub fn patients_of_client(&self, session: &Session, client: Uuid) -> Result<Vec<Patient>> {
        self.authorize_read(session, Action::ViewRecords)?;
        self.read(|c| of_client(c, client))
    }
}
