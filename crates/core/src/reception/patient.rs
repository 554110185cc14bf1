//! Patients (animals) and who owns them.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::reception::client::{self, Client, NewClient};
use crate::reception::origin::{self, Imported, Origin};
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::search_index;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

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
    Cattle,
    Sheep,
    Goat,
    Pig,
    Poultry,
    Other,
}

impl Species {
    pub const ALL: [Species; 16] = [
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
        Species::Cattle,
        Species::Sheep,
        Species::Goat,
        Species::Pig,
        Species::Poultry,
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
            Species::Cattle => "cattle",
            Species::Sheep => "sheep",
            Species::Goat => "goat",
            Species::Pig => "pig",
            Species::Poultry => "poultry",
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
            Species::Cattle => "Cattle",
            Species::Sheep => "Sheep",
            Species::Goat => "Goat",
            Species::Pig => "Pig",
            Species::Poultry => "Poultry",
            Species::Other => "Other",
        }
    }

    /// Animals whose meat, milk or eggs may enter the food chain: a prescription for one must state a
    /// withdrawal period. Horses count (UK law treats every horse as food-producing unless its
    /// passport declares otherwise).
    pub fn is_food_producing(self) -> bool {
        matches!(
            self,
            Species::Horse | Species::Cattle | Species::Sheep | Species::Goat | Species::Pig | Species::Poultry
        )
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
    /// Made here, or read in from the PMS (with its number there).
    pub origin: Origin,
    pub pms_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Merged into this animal (a duplicate): its clinical records are shown with that one's.
    pub merged_into: Option<Uuid>,
}

impl Patient {
    /// "Dog", or what the animal is when the species is other.
    pub fn species_label(&self) -> String {
        if self.species == Species::Other && !self.species_other.is_empty() {
            self.species_other.clone()
        } else {
            self.species.label().to_string()
        }
    }
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

/// A checked `NewPatient`; only `NewPatient::validated` makes one.
pub(crate) struct ValidPatient {
    name: String,
    species: Species,
    species_other: String,
    breed: String,
    sex: Sex,
    neutered: bool,
    date_of_birth: Option<NaiveDate>,
    dob_estimated: bool,
    colour: String,
    microchip: Option<String>,
    alerts: Vec<String>,
    notes: String,
}

/// The oldest an animal on file may be: tortoises and parrots outlive the rest.
fn max_age_years(species: Species) -> i32 {
    match species {
        Species::Reptile => 150,
        Species::Bird => 100,
        _ => 60,
    }
}

impl NewPatient {
    /// Checks every field against `today` (London date); errors name the field.
    pub(crate) fn validated(&self, today: NaiveDate) -> Result<ValidPatient> {
        let species_other = validate::optional("species_other", &self.species_other, 40)?;
        if self.species == Species::Other && species_other.is_empty() {
            return Err(Error::invalid("species_other", "say what kind of animal it is"));
        }
        let max_age = max_age_years(self.species);
        let (date_of_birth, dob_estimated) = match (self.date_of_birth, self.estimated_age_years) {
            (Some(dob), _) if dob > today => return Err(Error::invalid("date_of_birth", "is in the future")),
            (Some(dob), _) if today.year() - dob.year() > max_age => {
                return Err(Error::invalid("date_of_birth", format!("is more than {max_age} years ago")))
            }
            (Some(dob), _) => (Some(dob), false),
            (None, Some(years)) if years > max_age as u32 => {
                return Err(Error::invalid("estimated_age_years", format!("must be {max_age} or less")))
            }
            (None, Some(years)) => (Some(years_before(today, years)), true),
            (None, None) => (None, false),
        };
        let microchip = match self.microchip.trim() {
            "" => None,
            chip => Some(validate::microchip("microchip", chip)?),
        };
        if self.alerts.len() > 10 {
            return Err(Error::invalid("alerts", "at most 10 alerts"));
        }
        let mut alerts = Vec::new();
        for alert in &self.alerts {
            let alert = validate::optional("alerts", alert, 60)?;
            if !alert.is_empty() && !alerts.contains(&alert) {
                alerts.push(alert);
            }
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

impl NewPatient {
    /// The details as an import will store them (the microchip as its digits), or why they would be
    /// refused.
    pub(crate) fn import_checked(&self, today: NaiveDate) -> Result<NewPatient> {
        let valid = self.validated(today)?;
        Ok(NewPatient { microchip: valid.microchip.unwrap_or_default(), alerts: valid.alerts, ..self.clone() })
    }
}

/// The same day `years` years before `date`; 29 February becomes 28 February in a year without one.
fn years_before(date: NaiveDate, years: u32) -> NaiveDate {
    let year = date.year() - years as i32;
    date.with_year(year).or_else(|| NaiveDate::from_ymd_opt(year, date.month(), 28)).unwrap_or(date)
}

const COLUMNS: &str = "id, name, species, species_other, breed, sex, neutered, date_of_birth, dob_estimated, colour, microchip, alerts, deceased_on, notes, origin, pms_id, created_at";
/// What is read back: the columns written, and the record it was merged into.
const READ: &str = "merged_into";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Patient> {
    Ok(Patient {
        id: row::uuid(r, 0)?,
        name: r.get(1)?,
        species: row::word(r, 2, Species::parse)?,
        species_other: r.get(3)?,
        breed: r.get(4)?,
        sex: row::word(r, 5, Sex::parse)?,
        neutered: r.get(6)?,
        date_of_birth: row::opt_date(r, 7)?,
        dob_estimated: r.get(8)?,
        colour: r.get(9)?,
        microchip: r.get(10)?,
        alerts: row::json(r, 11)?,
        deceased_on: row::opt_date(r, 12)?,
        notes: r.get(13)?,
        owner_ids: Vec::new(),
        origin: row::word(r, 14, Origin::parse)?,
        pms_id: r.get(15)?,
        created_at: row::time(r, 16)?,
        merged_into: row::opt_uuid(r, 17)?,
    })
}

pub(crate) fn get(conn: &Connection, id: Uuid) -> Result<Patient> {
    let mut patient = conn
        .query_row(&format!("SELECT {COLUMNS}, {READ} FROM patient WHERE id = ?1"), [id.to_string()], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("patient {id}")))?;
    patient.owner_ids = owners(conn, id)?;
    Ok(patient)
}

fn owners(conn: &Connection, patient_id: Uuid) -> Result<Vec<Uuid>> {
    let mut stmt =
        conn.prepare_cached("SELECT client_id FROM ownership WHERE patient_id = ?1 ORDER BY created_at, client_id")?;
    let ids = stmt.query_map([patient_id.to_string()], |r| row::uuid(r, 0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids)
}

/// The patient's owners, first registered first.
pub(crate) fn owner_clients(conn: &Connection, patient: &Patient) -> Result<Vec<Client>> {
    patient.owner_ids.iter().map(|o| client::get(conn, *o)).collect()
}

/// The patients a client owns, living first, then by name.
pub(crate) fn of_client(conn: &Connection, client_id: Uuid) -> Result<Vec<Patient>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM patient p JOIN ownership o ON o.patient_id = p.id WHERE o.client_id = ?1 AND p.merged_into IS NULL
         ORDER BY p.deceased_on IS NOT NULL, p.name COLLATE NOCASE",
        COLUMNS.split(", ").chain([READ]).map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ")
    ))?;
    let mut patients = stmt.query_map([client_id.to_string()], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    for p in &mut patients {
        p.owner_ids = owners(conn, p.id)?;
    }
    Ok(patients)
}

/// Inserts a validated patient owned by `owner`, and reindexes the owner for search. Refuses a
/// microchip already on file, naming the animal that has it.
fn insert(w: &mut Write<'_>, action: Action, owner: Uuid, p: &ValidPatient, pms: Option<&FromPms>) -> Result<Uuid> {
    client::get(w.tx(), owner)?;
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
    let dob = p.date_of_birth.map(time::stored_date);
    let origin = if pms.is_some() { Origin::Pms } else { Origin::Offline };
    let deceased = pms.and_then(|f| f.deceased_on).map(time::stored_date);
    let pms_id = pms.map(|f| f.pms_id.as_str());
    w.tx().execute(
        &format!("INSERT INTO patient ({COLUMNS}, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17)"),
        params![id.to_string(), p.name, p.species.as_str(), p.species_other, p.breed, p.sex.as_str(), p.neutered, dob, p.dob_estimated, p.colour, p.microchip, alerts, deceased, p.notes, origin.as_str(), pms_id, now],
    )?;
    let number = match pms_id {
        None => {
            crate::organisation::numbers::next(w.tx(), crate::organisation::numbers::NumberKind::Animal, w.node_id())?
        }
        Some(_) => None,
    };
    if let Some(n) = number {
        w.tx().execute("UPDATE patient SET number = ?2 WHERE id = ?1", params![id.to_string(), n])?;
    }
    let mut fields = Fields::new()
        .with("name", &p.name)
        .with("species", p.species)
        .with("species_other", &p.species_other)
        .with("breed", &p.breed)
        .with("sex", p.sex)
        .with("neutered", p.neutered)
        .with("date_of_birth", dob)
        .with("dob_estimated", p.dob_estimated)
        .with("colour", &p.colour)
        .with("microchip", &p.microchip)
        .with("alerts", &p.alerts)
        .with("notes", &p.notes);
    if let Some(n) = number {
        fields.put("number", n);
    }
    if let Some(pms_id) = pms_id {
        fields.put("origin", origin.as_str());
        fields.put("pms_id", pms_id);
        if deceased.is_some() {
            fields.put("deceased_on", &deceased);
        }
    }
    w.record(action, Entity::Patient, id, ChangeKind::Create, fields)?;
    add_owner(w, action, owner, id)?;
    Ok(id)
}

/// Records that `client` owns `patient` (a patient may have several owners); the ownership is a
/// record of its own, with its own id.
pub(crate) fn add_owner(w: &mut Write<'_>, action: Action, client: Uuid, patient: Uuid) -> Result<()> {
    let id = w.new_id();
    let added = w.tx().execute(
        "INSERT OR IGNORE INTO ownership (id, client_id, patient_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id.to_string(), client.to_string(), patient.to_string(), time::stored(w.now())],
    )?;
    if added == 0 {
        return Err(Error::Conflict("this client already owns this patient".into()));
    }
    // The animal's record changed (exports since a day, the backlog).
    w.tx().execute(
        "UPDATE patient SET updated_at = ?2 WHERE id = ?1",
        params![patient.to_string(), time::stored(w.now())],
    )?;
    let fields = Fields::new().with("client_id", client).with("patient_id", patient);
    w.record(action, Entity::Ownership, id, ChangeKind::Create, fields)?;
    search_index::reindex_client(w.tx(), client)?;
    Ok(())
}

/// A new client, and the animal they brought, registered together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Registered {
    pub client: Client,
    pub patient: Option<Patient>,
}

impl Write<'_> {
    /// Registers a patient owned by `owner`.
    pub fn register_patient(&mut self, owner: Uuid, new: &NewPatient) -> Result<Patient> {
        self.authorize(Action::RegisterPatient)?;
        let valid = new.validated(self.today())?;
        let id = insert(self, Action::RegisterPatient, owner, &valid, None)?;
        get(self.tx(), id)
    }

    /// Registers a client and, if given, their animal. A refusal names the field as `client.phone` or
    /// `patient.name`.
    pub fn register_client_with_patient(
        &mut self,
        client: &NewClient,
        patient: Option<&NewPatient>,
    ) -> Result<Registered> {
        let client = self.register_client(client).map_err(|e| e.within("client"))?;
        let patient = match patient {
            Some(p) => Some(self.register_patient(client.id, p).map_err(|e| e.within("patient"))?),
            None => None,
        };
        Ok(Registered { client, patient })
    }

    /// Adds another owner to a patient.
    pub fn add_patient_owner(&mut self, patient: Uuid, client: Uuid) -> Result<Patient> {
        self.authorize(Action::EditPatient)?;
        get(self.tx(), patient)?;
        client::get(self.tx(), client)?;
        add_owner(self, Action::EditPatient, client, patient)?;
        get(self.tx(), patient)
    }

    /// Records a patient's death, which cannot be undone. Appointments stay as they are; new ones are
    /// refused.
    pub fn record_death(&mut self, patient: Uuid, on: NaiveDate) -> Result<Patient> {
        self.authorize(Action::RecordDeath)?;
        time::sane_date("deceased_on", on)?;
        if on > self.today() {
            return Err(Error::invalid("deceased_on", "is in the future"));
        }
        let current = get(self.tx(), patient)?;
        if current.deceased_on.is_some() {
            return Err(Error::Conflict(format!("{} is already recorded as deceased", current.name)));
        }
        if current.date_of_birth.is_some_and(|dob| on < dob) {
            return Err(Error::invalid("deceased_on", format!("is before {}'s date of birth", current.name)));
        }
        self.tx().execute(
            "UPDATE patient SET deceased_on = ?2, updated_at = ?3 WHERE id = ?1",
            params![patient.to_string(), time::stored_date(on), time::stored(self.now())],
        )?;
        let fields = Fields::new().with("deceased_on", time::stored_date(on));
        self.record(Action::RecordDeath, Entity::Patient, patient, ChangeKind::Update, fields)?;
        for owner in &current.owner_ids {
            search_index::reindex_client(self.tx(), *owner)?;
        }
        get(self.tx(), patient)
    }
}

/// What a PMS record adds to a patient: its number there, and its death if the PMS holds one.
struct FromPms {
    pms_id: String,
    deceased_on: Option<NaiveDate>,
}

/// Refuses a microchip that another animal on file already has, naming it.
fn check_microchip_free(w: &Write<'_>, chip: Option<&str>, except: Option<Uuid>) -> Result<()> {
    let Some(chip) = chip else { return Ok(()) };
    let holder: Option<String> = w
        .tx()
        .query_row(
            "SELECT name FROM patient WHERE microchip = ?1 AND id IS NOT ?2",
            params![chip, except.map(|e| e.to_string())],
            |r| r.get(0),
        )
        .optional()?;
    match holder {
        Some(name) => Err(Error::invalid("microchip", format!("{chip} is already recorded for {name}"))),
        None => Ok(()),
    }
}

impl Write<'_> {
    /// Reads in an animal as the PMS holds it, under PMS number `pms_id`, owned by the client with PMS
    /// number `owner_pms_id` (read in first). Added if no record has that number; brought up to date
    /// if one has and was not changed in Lifeboat since; the owner is added if missing. A death the
    /// PMS records is kept; one recorded here is never undone.
    pub fn import_patient(
        &mut self,
        pms_id: &str,
        owner_pms_id: &str,
        details: &NewPatient,
        deceased_on: Option<NaiveDate>,
    ) -> Result<Imported> {
        self.authorize(Action::ImportRecords)?;
        let pms_id = validate::required("pms_id", pms_id, 40)?;
        let owner_pms_id = validate::required("owner_pms_id", owner_pms_id, 40)?;
        let valid = details.validated(self.today())?;
        if let Some(on) = deceased_on {
            time::sane_date("deceased_on", on)?;
            if on > self.today() {
                return Err(Error::invalid("deceased_on", "is in the future"));
            }
            if valid.date_of_birth.is_some_and(|dob| on < dob) {
                return Err(Error::invalid("deceased_on", "is before the date of birth"));
            }
        }
        let owner = origin::find_current(self.tx(), "client", &owner_pms_id)?.ok_or_else(|| {
            Error::invalid(
                "owner_pms_id",
                format!("no client has PMS number {owner_pms_id:?}: import the clients' file first"),
            )
        })?;
        let Some(id) = origin::find(self.tx(), "patient", &pms_id)? else {
            check_microchip_free(self, valid.microchip.as_deref(), None)?;
            let pms = FromPms { pms_id, deceased_on };
            return Ok(Imported::Added(insert(self, Action::ImportRecords, owner, &valid, Some(&pms))?));
        };
        let current = get(self.tx(), id)?;
        let new_owner = !current.owner_ids.contains(&owner);
        let fields = differences(&current, &valid, deceased_on);
        if fields.is_empty() && !new_owner {
            return Ok(Imported::Unchanged(id));
        }
        if origin::changed_since_made(self.tx(), "patient", id)? {
            return Ok(Imported::KeptLocal(id));
        }
        // An owner the PMS has that Lifeboat has not is added (an animal listed once per owner);
        // owners are never taken away by an import.
        if new_owner {
            add_owner(self, Action::ImportRecords, owner, id)?;
        }
        if fields.is_empty() {
            return Ok(Imported::Updated(id));
        }
        check_microchip_free(self, valid.microchip.as_deref(), Some(id))?;
        let map = fields.clone_map();
        let sets: Vec<String> = map.keys().enumerate().map(|(i, k)| format!("{k} = ?{}", i + 3)).collect();
        let mut values: Vec<rusqlite::types::Value> = vec![id.to_string().into(), time::stored(self.now()).into()];
        for value in map.values() {
            values.push(match value {
                serde_json::Value::Null => rusqlite::types::Value::Null,
                serde_json::Value::Bool(b) => (*b as i64).into(),
                serde_json::Value::String(text) => text.clone().into(),
                // Numbers never occur; a list (the alerts) is stored as its JSON text.
                other => other.to_string().into(),
            });
        }
        self.tx().execute(
            &format!("UPDATE patient SET {}, updated_at = ?2 WHERE id = ?1", sets.join(", ")),
            rusqlite::params_from_iter(values),
        )?;
        self.record(Action::ImportRecords, Entity::Patient, id, ChangeKind::Update, fields)?;
        // Every owner, the one just added too: their words are the animal's as it now is.
        for o in current.owner_ids.iter().chain(new_owner.then_some(&owner)) {
            search_index::reindex_client(self.tx(), *o)?;
        }
        Ok(Imported::Updated(id))
    }
}

/// The fields (column names) in which a PMS record differs from the stored patient. A death is only
/// ever added.
fn differences(current: &Patient, new: &ValidPatient, deceased_on: Option<NaiveDate>) -> Fields {
    let mut fields = Fields::new();
    let mut text = |name: &str, old: &str, value: &str| {
        if old != value {
            fields.put(name, value);
        }
    };
    text("name", &current.name, &new.name);
    text("species", current.species.as_str(), new.species.as_str());
    text("species_other", &current.species_other, &new.species_other);
    text("breed", &current.breed, &new.breed);
    text("sex", current.sex.as_str(), new.sex.as_str());
    text("colour", &current.colour, &new.colour);
    text("notes", &current.notes, &new.notes);
    if current.neutered != new.neutered {
        fields.put("neutered", new.neutered);
    }
    if current.date_of_birth != new.date_of_birth || current.dob_estimated != new.dob_estimated {
        fields.put("date_of_birth", new.date_of_birth.map(time::stored_date));
        fields.put("dob_estimated", new.dob_estimated);
    }
    if current.microchip != new.microchip {
        fields.put("microchip", &new.microchip);
    }
    if current.alerts != new.alerts {
        fields.put("alerts", &new.alerts);
    }
    if let (None, Some(on)) = (current.deceased_on, deceased_on) {
        fields.put("deceased_on", time::stored_date(on));
    }
    fields
}

impl Store {
    pub fn register_patient(&self, session: &Session, owner: Uuid, new: &NewPatient) -> Result<Patient> {
        self.write(session, |w| w.register_patient(owner, new))
    }

    /// A new client with their animal, in one write: both are saved, or neither.
    pub fn register_client_with_patient(
        &self,
        session: &Session,
        client: &NewClient,
        patient: Option<&NewPatient>,
    ) -> Result<Registered> {
        self.write(session, |w| w.register_client_with_patient(client, patient))
    }

    pub fn add_patient_owner(&self, session: &Session, patient: Uuid, client: Uuid) -> Result<Patient> {
        self.write(session, |w| w.add_patient_owner(patient, client))
    }

    pub fn record_death(&self, session: &Session, patient: Uuid, on: NaiveDate) -> Result<Patient> {
        self.write(session, |w| w.record_death(patient, on))
    }

    pub fn patient(&self, session: &Session, id: Uuid) -> Result<Patient> {
        self.read_as(session, Action::ViewRecords, |r| get(r, id))
    }

    pub fn patients_of_client(&self, session: &Session, client: Uuid) -> Result<Vec<Patient>> {
        self.read_as(session, Action::ViewRecords, |r| of_client(r, client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_estimated_age_counts_back_whole_years_even_from_29_february() {
        let cases = [("2028-02-29", 3, "2025-02-28"), ("2028-02-29", 4, "2024-02-29"), ("2026-11-30", 2, "2024-11-30")];
        for (today, years, want) in cases {
            let today = NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap();
            assert_eq!(years_before(today, years).to_string(), want, "{today} minus {years}");
        }
    }
}
