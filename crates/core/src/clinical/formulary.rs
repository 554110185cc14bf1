//! The formulary: the medicines a practice prescribes, with the legal facts a prescription needs
//! (distribution category, controlled-drug schedule, authorised species, withdrawal periods) and the
//! price it is charged at. A starter list of common UK veterinary medicines is loaded when the
//! practice is created; the practice's own list comes by import.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clinical::quantity::Quantity;
use crate::error::{Error, Result};
use crate::permission::Action;
use crate::reception::origin::Imported;
use crate::reception::patient::Species;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

/// The UK legal distribution categories of veterinary medicines (VMR 2013).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum LegalCategory {
    /// Prescribed by a vet only.
    #[serde(rename = "POM-V")]
    PomV,
    /// Prescribed by a vet, pharmacist or suitably qualified person (SQP).
    #[serde(rename = "POM-VPS")]
    PomVps,
    /// Supplied by a vet, pharmacist or SQP; no prescription needed.
    #[serde(rename = "NFA-VPS")]
    NfaVps,
    /// Sold by anyone.
    #[serde(rename = "AVM-GSL")]
    AvmGsl,
}

impl LegalCategory {
    pub const ALL: [LegalCategory; 4] =
        [LegalCategory::PomV, LegalCategory::PomVps, LegalCategory::NfaVps, LegalCategory::AvmGsl];

    pub fn as_str(self) -> &'static str {
        match self {
            LegalCategory::PomV => "POM-V",
            LegalCategory::PomVps => "POM-VPS",
            LegalCategory::NfaVps => "NFA-VPS",
            LegalCategory::AvmGsl => "AVM-GSL",
        }
    }

    pub fn parse(text: &str) -> Option<LegalCategory> {
        LegalCategory::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Product {
    pub id: Uuid,
    pub name: String,
    pub active_ingredient: String,
    pub strength: String,
    pub form: String,
    pub legal_category: LegalCategory,
    /// Misuse of Drugs Regulations 2001 schedule (2 to 5); `None` for a medicine that is not controlled.
    pub cd_schedule: Option<u8>,
    /// What quantities count: "ml", "tablet", "capsule", "g", "dose", "pipette", ...
    pub unit: String,
    pub pack_size: Quantity,
    /// One pack, before VAT.
    pub price_pence: i64,
    /// Basis points: 2000 is 20%.
    pub vat_rate_bp: i64,
    /// Species the marketing authorisation covers; empty when not recorded (no cascade check).
    pub authorised_species: Vec<Species>,
    pub withdrawal_meat_days: Option<u32>,
    pub withdrawal_milk_days: Option<u32>,
    pub withdrawal_eggs_days: Option<u32>,
    pub warnings: String,
    pub active: bool,
}

impl Product {
    /// "Metacam 1.5 mg/ml oral suspension for dogs", as lists show it.
    pub fn label(&self) -> String {
        self.name.clone()
    }

    /// Whether prescribing it falls under the controlled drugs rules of Schedules 2 and 3 (register,
    /// 28-day validity, no repeats, quantity in words and figures, the prescriber's RCVS number).
    pub fn is_schedule_2_or_3(&self) -> bool {
        matches!(self.cd_schedule, Some(2 | 3))
    }

    /// Whether a prescription for it is valid for 28 days rather than six months.
    pub fn is_schedule_2_to_4(&self) -> bool {
        matches!(self.cd_schedule, Some(2..=4))
    }

    /// Whether supplies of it must be entered in the controlled drugs register (Schedule 2).
    pub fn needs_register(&self) -> bool {
        self.cd_schedule == Some(2)
    }

    /// A withdrawal period from the product's own figures: "Meat 15 days, milk 5 days".
    pub fn withdrawal_text(&self) -> String {
        [("Meat", self.withdrawal_meat_days), ("milk", self.withdrawal_milk_days), ("eggs", self.withdrawal_eggs_days)]
            .into_iter()
            .filter_map(|(what, days)| days.map(|d| format!("{what} {d} day{}", if d == 1 { "" } else { "s" })))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The price, before VAT, of `quantity` of it, to the nearest penny.
    pub fn net_price(&self, quantity: Quantity) -> i64 {
        let pack = self.pack_size.milli().max(1) as i128;
        ((self.price_pence as i128 * quantity.milli() as i128 * 2 + pack) / (2 * pack)) as i64
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewProduct {
    pub name: String,
    pub active_ingredient: String,
    pub strength: String,
    pub form: String,
    pub legal_category: LegalCategory,
    pub cd_schedule: Option<u8>,
    pub unit: String,
    /// How many units a pack holds, e.g. "100" or "10".
    pub pack_size: String,
    pub price_pence: i64,
    pub vat_rate_bp: i64,
    pub authorised_species: Vec<Species>,
    pub withdrawal_meat_days: Option<u32>,
    pub withdrawal_milk_days: Option<u32>,
    pub withdrawal_eggs_days: Option<u32>,
    pub warnings: String,
}

struct ValidProduct {
    new: NewProduct,
    pack_size: Quantity,
}

impl NewProduct {
    fn validated(&self) -> Result<ValidProduct> {
        if let Some(s) = self.cd_schedule {
            if !(1..=5).contains(&s) {
                return Err(Error::invalid(
                    "cd_schedule",
                    "must be 2, 3, 4 or 5, or none for a medicine that is not controlled",
                ));
            }
            if matches!(s, 1..=3) && self.legal_category != LegalCategory::PomV {
                return Err(Error::invalid("legal_category", "a Schedule 2 or 3 controlled drug is always POM-V"));
            }
        }
        if !(0..=100_000_000).contains(&self.price_pence) {
            return Err(Error::invalid("price_pence", "must be between £0 and £1,000,000"));
        }
        if !(0..=10_000).contains(&self.vat_rate_bp) {
            return Err(Error::invalid("vat_rate_bp", "must be between 0% and 100%"));
        }
        for (field, days) in [
            ("withdrawal_meat_days", self.withdrawal_meat_days),
            ("withdrawal_milk_days", self.withdrawal_milk_days),
            ("withdrawal_eggs_days", self.withdrawal_eggs_days),
        ] {
            if days.is_some_and(|d| d > 1000) {
                return Err(Error::invalid(field, "must be at most 1000 days"));
            }
        }
        if self.authorised_species.len() > 20 {
            return Err(Error::invalid("authorised_species", "lists too many species"));
        }
        Ok(ValidProduct {
            pack_size: Quantity::parse("pack_size", &self.pack_size)?,
            new: NewProduct {
                name: validate::required("name", &self.name, 150)?,
                active_ingredient: validate::optional("active_ingredient", &self.active_ingredient, 150)?,
                strength: validate::required("strength", &self.strength, 60)?,
                form: validate::required("form", &self.form, 80)?,
                unit: validate::required("unit", &self.unit, 20)?,
                warnings: validate::optional_multiline("warnings", &self.warnings, 1000)?,
                ..self.clone()
            },
        })
    }
}

const COLUMNS: &str = "id, name, active_ingredient, strength, form, legal_category, cd_schedule, unit, pack_size_milli, price_pence, vat_rate_bp, authorised_species, withdrawal_meat_days, withdrawal_milk_days, withdrawal_eggs_days, warnings, active";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Product> {
    Ok(Product {
        id: row::uuid(r, 0)?,
        name: r.get(1)?,
        active_ingredient: r.get(2)?,
        strength: r.get(3)?,
        form: r.get(4)?,
        legal_category: row::word(r, 5, LegalCategory::parse)?,
        cd_schedule: r.get(6)?,
        unit: r.get(7)?,
        pack_size: Quantity(r.get(8)?),
        price_pence: r.get(9)?,
        vat_rate_bp: r.get(10)?,
        authorised_species: row::json::<Vec<String>>(r, 11)?
            .iter()
            .map(|s| Species::parse(s))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    11,
                    rusqlite::types::Type::Text,
                    "authorised_species holds an unknown species".into(),
                )
            })?,
        withdrawal_meat_days: r.get(12)?,
        withdrawal_milk_days: r.get(13)?,
        withdrawal_eggs_days: r.get(14)?,
        warnings: r.get(15)?,
        active: r.get(16)?,
    })
}

pub(crate) fn get(conn: &Connection, id: Uuid) -> Result<Product> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM product WHERE id = ?1"), [id.to_string()], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("product {id}")))
}

/// Active products whose name or active ingredient contains every word of `query`, by name.
pub(crate) fn search(conn: &Connection, query: &str, limit: u32) -> Result<Vec<Product>> {
    let words: Vec<String> = query
        .chars()
        .take(100)
        .collect::<String>()
        .split_whitespace()
        .take(5)
        .map(|w| format!("%{}%", w.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
        .collect();
    let mut sql = format!("SELECT {COLUMNS} FROM product WHERE active = 1");
    for i in 0..words.len() {
        sql.push_str(&format!(
            " AND (lower(name) LIKE ?{n} ESCAPE '\\' OR lower(active_ingredient) LIKE ?{n} ESCAPE '\\')",
            n = i + 1
        ));
    }
    sql.push_str(&format!(" ORDER BY name COLLATE NOCASE LIMIT {}", limit.clamp(1, 200)));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows =
        stmt.query_map(rusqlite::params_from_iter(words.iter()), from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Every controlled drug in the formulary (for the register), by name.
pub(crate) fn controlled(conn: &Connection) -> Result<Vec<Product>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM product WHERE cd_schedule IN (2, 3) ORDER BY name COLLATE NOCASE"
    ))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn insert(w: &mut Write<'_>, action: Action, p: &ValidProduct) -> Result<Uuid> {
    let (n, id) = (&p.new, w.new_id());
    let species: Vec<&str> = n.authorised_species.iter().map(|s| s.as_str()).collect();
    let species_json = serde_json::to_string(&species).map_err(|e| Error::Internal(e.to_string()))?;
    let now = time::stored(w.now());
    w.tx().execute(
        &format!("INSERT INTO product ({COLUMNS}, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 1, ?17, ?17)"),
        params![
            id.to_string(),
            n.name,
            n.active_ingredient,
            n.strength,
            n.form,
            n.legal_category.as_str(),
            n.cd_schedule,
            n.unit,
            p.pack_size.milli(),
            n.price_pence,
            n.vat_rate_bp,
            species_json,
            n.withdrawal_meat_days,
            n.withdrawal_milk_days,
            n.withdrawal_eggs_days,
            n.warnings,
            now
        ],
    )?;
    let fields = Fields::new()
        .with("name", &n.name)
        .with("active_ingredient", &n.active_ingredient)
        .with("strength", &n.strength)
        .with("form", &n.form)
        .with("legal_category", n.legal_category)
        .with("cd_schedule", n.cd_schedule)
        .with("unit", &n.unit)
        .with("pack_size_milli", p.pack_size.milli())
        .with("price_pence", n.price_pence)
        .with("vat_rate_bp", n.vat_rate_bp)
        .with("authorised_species", &species)
        .with("withdrawal_meat_days", n.withdrawal_meat_days)
        .with("withdrawal_milk_days", n.withdrawal_milk_days)
        .with("withdrawal_eggs_days", n.withdrawal_eggs_days)
        .with("warnings", &n.warnings)
        .with("active", true);
    w.record(action, Entity::Product, id, ChangeKind::Create, fields)?;
    Ok(id)
}

impl Write<'_> {
    pub fn add_product(&mut self, new: &NewProduct) -> Result<Product> {
        self.authorize(Action::ManageFormulary)?;
        let valid = new.validated()?;
        let taken: bool = self.tx().query_row(
            "SELECT EXISTS (SELECT 1 FROM product WHERE name = ?1 COLLATE NOCASE AND strength = ?2 COLLATE NOCASE AND active = 1)",
            params![valid.new.name, valid.new.strength],
            |r| r.get(0),
        )?;
        if taken {
            return Err(Error::Conflict(format!(
                "{} {} is already in the formulary",
                valid.new.name, valid.new.strength
            )));
        }
        let id = insert(self, Action::ManageFormulary, &valid)?;
        get(self.tx(), id)
    }

    /// Adds the starter list's products that the formulary does not have yet (by name and
    /// strength); returns how many were added.
    pub fn add_starter_formulary(&mut self) -> Result<usize> {
        self.authorize(Action::ManageFormulary)?;
        let mut added = 0;
        for new in starter_list() {
            let valid = new.validated()?;
            let present: bool = self.tx().query_row(
                "SELECT EXISTS (SELECT 1 FROM product WHERE name = ?1 COLLATE NOCASE AND strength = ?2 COLLATE NOCASE)",
                params![valid.new.name, valid.new.strength],
                |r| r.get(0),
            )?;
            if !present {
                insert(self, Action::ManageFormulary, &valid)?;
                added += 1;
            }
        }
        Ok(added)
    }
}

impl Write<'_> {
    /// A product from the PMS's product list (the snapshot import): added with its PMS code, found
    /// again by that code (or, the first time, by name and strength among the formulary's products
    /// that have no code yet, such as the starter list's), and updated where the list says otherwise.
    pub(crate) fn import_product(&mut self, pms_id: &str, new: &NewProduct) -> Result<Imported> {
        self.authorize(Action::ImportRecords)?;
        let pms_id = validate::required("pms_id", pms_id, 40)?;
        let valid = new.validated()?;
        let found: Option<String> = self
            .tx()
            .query_row(
                "SELECT id FROM product WHERE pms_id = ?1
                 UNION ALL SELECT id FROM product WHERE pms_id IS NULL AND active = 1
                   AND name = ?2 COLLATE NOCASE AND strength = ?3 COLLATE NOCASE
                 LIMIT 1",
                params![pms_id, valid.new.name, valid.new.strength],
                |r| r.get(0),
            )
            .optional()?;
        let now = time::stored(self.now());
        let Some(found) = found else {
            let id = insert(self, Action::ImportRecords, &valid)?;
            self.tx().execute("UPDATE product SET pms_id = ?2 WHERE id = ?1", params![id.to_string(), pms_id])?;
            self.record(
                Action::ImportRecords,
                Entity::Product,
                id,
                ChangeKind::Update,
                Fields::new().with("pms_id", &pms_id),
            )?;
            return Ok(Imported::Added(id));
        };
        let id = Uuid::parse_str(&found).map_err(|_| Error::DamagedRecord(format!("product id {found:?}")))?;
        let n = &valid.new;
        let species: Vec<&str> = n.authorised_species.iter().map(|s| s.as_str()).collect();
        let species_json = serde_json::to_string(&species).map_err(|e| Error::Internal(e.to_string()))?;
        use rusqlite::types::Value as Sql;
        let opt = |v: Option<u32>| v.map(|d| Sql::Integer(d as i64)).unwrap_or(Sql::Null);
        let wanted: Vec<(&str, Sql)> = vec![
            ("name", Sql::Text(n.name.clone())),
            ("active_ingredient", Sql::Text(n.active_ingredient.clone())),
            ("strength", Sql::Text(n.strength.clone())),
            ("form", Sql::Text(n.form.clone())),
            ("legal_category", Sql::Text(n.legal_category.as_str().into())),
            ("cd_schedule", n.cd_schedule.map(|s| Sql::Integer(s as i64)).unwrap_or(Sql::Null)),
            ("unit", Sql::Text(n.unit.clone())),
            ("pack_size_milli", Sql::Integer(valid.pack_size.milli())),
            ("price_pence", Sql::Integer(n.price_pence)),
            ("vat_rate_bp", Sql::Integer(n.vat_rate_bp)),
            ("authorised_species", Sql::Text(species_json)),
            ("withdrawal_meat_days", opt(n.withdrawal_meat_days)),
            ("withdrawal_milk_days", opt(n.withdrawal_milk_days)),
            ("withdrawal_eggs_days", opt(n.withdrawal_eggs_days)),
            ("warnings", Sql::Text(n.warnings.clone())),
            ("pms_id", Sql::Text(pms_id.clone())),
        ];
        let names: Vec<&str> = wanted.iter().map(|(c, _)| *c).collect();
        let held: Vec<Sql> =
            self.tx().query_row(&format!("SELECT {} FROM product WHERE id = ?1", names.join(", ")), [&found], |r| {
                (0..names.len()).map(|i| r.get::<_, Sql>(i)).collect::<rusqlite::Result<Vec<_>>>()
            })?;
        let mut fields = Fields::new();
        let mut sets = Vec::new();
        for ((column, value), old) in wanted.into_iter().zip(held) {
            if value == old {
                continue;
            }
            match (&value, column) {
                (_, "authorised_species") => fields.put(column, &species),
                (Sql::Text(t), _) => fields.put(column, t),
                (Sql::Integer(i), _) => fields.put(column, i),
                _ => fields.put(column, None::<String>),
            }
            sets.push((column, value));
        }
        if sets.is_empty() {
            return Ok(Imported::Unchanged(id));
        }
        let assignments: Vec<String> = sets.iter().enumerate().map(|(i, (c, _))| format!("{c} = ?{}", i + 3)).collect();
        let mut values = vec![Sql::Text(found.clone()), Sql::Text(now)];
        values.extend(sets.into_iter().map(|(_, v)| v));
        self.tx().execute(
            &format!("UPDATE product SET {}, updated_at = ?2 WHERE id = ?1", assignments.join(", ")),
            rusqlite::params_from_iter(values),
        )?;
        self.record(Action::ImportRecords, Entity::Product, id, ChangeKind::Update, fields)?;
        Ok(Imported::Updated(id))
    }
}

impl Store {
    pub fn add_product(&self, session: &Session, new: &NewProduct) -> Result<Product> {
        self.write(session, |w| w.add_product(new))
    }

    /// Products whose name or active ingredient contains every word typed.
    pub fn find_products(&self, session: &Session, query: &str, limit: u32) -> Result<Vec<Product>> {
        self.read_as(session, Action::ViewClinical, |r| search(r, query, limit))
    }

    pub fn product(&self, session: &Session, id: Uuid) -> Result<Product> {
        self.read_as(session, Action::ViewClinical, |r| get(r, id))
    }
}

/// The starter list: common UK veterinary medicines with their legal categories and controlled-drug
/// schedules (ketamine, methadone and fentanyl are Schedule 2; buprenorphine, pentobarbital,
/// phenobarbital and tramadol Schedule 3). Prices are typical list prices, for the practice to
/// change. Categories were checked against the NOAH compendium where it could be; a practice should
/// still check its list against the VMD's Product Information Database.
pub fn starter_list() -> Vec<NewProduct> {
    use LegalCategory::*;
    use Species::*;
    #[allow(clippy::type_complexity)]
    let rows: &[(&str, &str, &str, &str, LegalCategory, Option<u8>, &str, &str, i64, &[Species], Option<u32>, Option<u32>, &str)] = &[
        ("Metacam 1.5 mg/ml oral suspension for dogs", "meloxicam", "1.5 mg/ml", "oral suspension", PomV, None, "ml", "100", 3800, &[Dog], None, None, "Give with food. Do not use in pregnant or lactating bitches, or dogs with gastrointestinal, heart, liver or kidney disease."),
        ("Metacam 0.5 mg/ml oral suspension for cats", "meloxicam", "0.5 mg/ml", "oral suspension", PomV, None, "ml", "15", 1500, &[Cat], None, None, "Give with food. Do not use in dehydrated cats or cats with kidney disease."),
        ("Metacam 5 mg/ml solution for injection for dogs and cats", "meloxicam", "5 mg/ml", "solution for injection", PomV, None, "ml", "20", 4500, &[Dog, Cat], None, None, ""),
        ("Metacam 20 mg/ml solution for injection for cattle, pigs and horses", "meloxicam", "20 mg/ml", "solution for injection", PomV, None, "ml", "100", 9500, &[Cattle, Pig, Horse], Some(15), Some(5), "Withdrawal: cattle meat 15 days, milk 5 days; pigs and horses meat 5 days. Not for horses producing milk for human consumption."),
        ("Rimadyl 50 mg palatable tablets for dogs", "carprofen", "50 mg", "tablet", PomV, None, "tablet", "100", 6500, &[Dog], None, None, "Give with food."),
        ("Onsior 6 mg tablets for cats", "robenacoxib", "6 mg", "tablet", PomV, None, "tablet", "30", 3000, &[Cat], None, None, ""),
        ("Synulox 250 mg palatable tablets", "amoxicillin, clavulanic acid", "250 mg", "tablet", PomV, None, "tablet", "100", 7000, &[Dog, Cat], None, None, "Complete the course."),
        ("Convenia 80 mg/ml powder and solvent for solution for injection", "cefovecin", "80 mg/ml", "solution for injection", PomV, None, "ml", "10", 9000, &[Dog, Cat], None, None, ""),
        ("Baytril 50 mg tablets", "enrofloxacin", "50 mg", "tablet", PomV, None, "tablet", "100", 8000, &[Dog, Cat], None, None, "Complete the course. Not for growing dogs."),
        ("Vetmedin 5 mg chewable tablets for dogs", "pimobendan", "5 mg", "chewable tablet", PomV, None, "tablet", "100", 9000, &[Dog], None, None, "Give one hour before food."),
        ("Apoquel 16 mg film-coated tablets for dogs", "oclacitinib", "16 mg", "tablet", PomV, None, "tablet", "100", 15000, &[Dog], None, None, "Not for dogs under 12 months old."),
        ("Prednicare 5 mg tablets", "prednisolone", "5 mg", "tablet", PomV, None, "tablet", "100", 1500, &[Dog, Cat], None, None, "Do not stop suddenly; reduce the dose as directed."),
        ("Vetoryl 60 mg hard capsules for dogs", "trilostane", "60 mg", "capsule", PomV, None, "capsule", "30", 6000, &[Dog], None, None, "Give with food. Wash hands after handling."),
        ("Felimazole 2.5 mg coated tablets for cats", "thiamazole", "2.5 mg", "tablet", PomV, None, "tablet", "100", 3500, &[Cat], None, None, "Wash hands after handling. Pregnant women should wear gloves when handling litter."),
        ("Cerenia 10 mg/ml solution for injection", "maropitant", "10 mg/ml", "solution for injection", PomV, None, "ml", "20", 7000, &[Dog, Cat], None, None, ""),
        ("Advocate spot-on solution for medium dogs (4-10 kg)", "imidacloprid, moxidectin", "100 mg/25 mg per pipette", "spot-on solution", PomV, None, "pipette", "3", 3000, &[Dog], None, None, "For external use only. Do not allow the dog to lick the application site."),
        ("Bravecto 500 mg chewable tablets for medium dogs (10-20 kg)", "fluralaner", "500 mg", "chewable tablet", PomV, None, "tablet", "1", 2500, &[Dog], None, None, ""),
        ("NexGard 28 mg chewables for dogs (4-10 kg)", "afoxolaner", "28 mg", "chewable tablet", PomV, None, "tablet", "3", 3000, &[Dog], None, None, ""),
        ("Frontline Spot On Dog", "fipronil", "10% w/v", "spot-on solution", AvmGsl, None, "pipette", "3", 1500, &[Dog], None, None, "For external use only."),
        ("Frontline Combo Spot On Dog M (10-20 kg)", "fipronil, (S)-methoprene", "134 mg/120.6 mg per pipette", "spot-on solution", NfaVps, None, "pipette", "3", 2500, &[Dog], None, None, "For external use only."),
        ("Drontal Plus Flavour tablets for dogs", "febantel, pyrantel embonate, praziquantel", "150 mg/144 mg/50 mg", "tablet", NfaVps, None, "tablet", "2", 800, &[Dog], None, None, "Not for pregnant bitches in the first two thirds of pregnancy."),
        ("Ketamidor 100 mg/ml solution for injection", "ketamine", "100 mg/ml", "solution for injection", PomV, Some(2), "ml", "10", 1500, &[Dog, Cat, Horse], None, None, "Controlled drug (Schedule 2): keep in the CD cabinet; every supply in the register."),
        ("Comfortan 10 mg/ml solution for injection", "methadone", "10 mg/ml", "solution for injection", PomV, Some(2), "ml", "10", 1500, &[Dog, Cat], None, None, "Controlled drug (Schedule 2)."),
        ("Fentadon 50 micrograms/ml solution for injection", "fentanyl", "50 micrograms/ml", "solution for injection", PomV, Some(2), "ml", "10", 2000, &[Dog], None, None, "Controlled drug (Schedule 2)."),
        ("Vetergesic 0.3 mg/ml solution for injection", "buprenorphine", "0.3 mg/ml", "solution for injection", PomV, Some(3), "ml", "10", 2500, &[Dog, Cat], None, None, "Controlled drug (Schedule 3): keep in the CD cabinet."),
        ("Torbugesic 10 mg/ml solution for injection", "butorphanol", "10 mg/ml", "solution for injection", PomV, None, "ml", "10", 3000, &[Horse, Dog, Cat], None, None, ""),
        ("Dolethal 200 mg/ml solution for injection", "pentobarbital", "200 mg/ml", "solution for injection", PomV, Some(3), "ml", "100", 3000, &[Dog, Cat, Horse, Cattle, Sheep, Pig, Rabbit, GuineaPig, Hamster, Rat, Ferret, Bird, Reptile], None, None, "For euthanasia only. Animals euthanised must not enter the food chain."),
        ("Epiphen 60 mg tablets for dogs", "phenobarbital", "60 mg", "tablet", PomV, Some(3), "tablet", "100", 1500, &[Dog], None, None, "Do not stop suddenly."),
        ("Tralieve 50 mg chewable tablets for dogs", "tramadol", "50 mg", "chewable tablet", PomV, Some(3), "tablet", "30", 1500, &[Dog], None, None, "Controlled drug (Schedule 3)."),
        ("Dexdomitor 0.5 mg/ml solution for injection", "dexmedetomidine", "0.5 mg/ml", "solution for injection", PomV, None, "ml", "10", 6000, &[Dog, Cat], None, None, ""),
        ("Alfaxan Multidose 10 mg/ml solution for injection", "alfaxalone", "10 mg/ml", "solution for injection", PomV, None, "ml", "20", 3500, &[Dog, Cat], None, None, ""),
        ("PropoFlo Plus 10 mg/ml emulsion for injection", "propofol", "10 mg/ml", "emulsion for injection", PomV, None, "ml", "20", 1500, &[Dog, Cat], None, None, ""),
        ("Nobivac DHPPi lyophilisate for suspension for injection", "canine distemper, adenovirus, parvovirus and parainfluenza vaccine", "1 dose", "lyophilisate for injection", PomV, None, "dose", "10", 3500, &[Dog], None, None, ""),
        ("Nobivac KC nasal suspension", "Bordetella bronchiseptica and parainfluenza vaccine", "1 dose", "intranasal suspension", PomV, None, "dose", "5", 4000, &[Dog], None, None, ""),
        ("Purevax RCP lyophilisate and solvent for suspension for injection", "feline rhinotracheitis, calicivirus and panleucopenia vaccine", "1 dose", "lyophilisate for injection", PomV, None, "dose", "10", 4000, &[Cat], None, None, ""),
        ("Isaderm 5 mg/g + 1 mg/g gel for dogs", "fusidic acid, betamethasone", "5 mg/g + 1 mg/g", "gel", PomV, None, "g", "15", 1500, &[Dog], None, None, "For external use only."),
        ("Surolan ear drops and cutaneous suspension", "miconazole, prednisolone, polymyxin B", "23 mg/5 mg/0.5293 mg per ml", "ear drops", PomV, None, "ml", "15", 1800, &[Dog, Cat], None, None, "For external use only."),
    ];
    rows.iter()
        .map(
            |&(
                name,
                ingredient,
                strength,
                form,
                category,
                schedule,
                unit,
                pack,
                price,
                species,
                meat,
                milk,
                warnings,
            )| NewProduct {
                name: name.into(),
                active_ingredient: ingredient.into(),
                strength: strength.into(),
                form: form.into(),
                legal_category: category,
                cd_schedule: schedule,
                unit: unit.into(),
                pack_size: pack.into(),
                price_pence: price,
                vat_rate_bp: 2000,
                authorised_species: species.to_vec(),
                withdrawal_meat_days: meat,
                withdrawal_milk_days: milk,
                withdrawal_eggs_days: None,
                warnings: warnings.into(),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_list_is_valid_and_knows_the_controlled_drugs() {
        let list = starter_list();
        assert!(list.len() >= 30, "a few dozen medicines: {}", list.len());
        for p in &list {
            p.validated().unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
        let schedule = |ingredient: &str| list.iter().find(|p| p.active_ingredient == ingredient).unwrap().cd_schedule;
        assert_eq!(schedule("ketamine"), Some(2), "ketamine is Schedule 2");
        assert_eq!(schedule("methadone"), Some(2));
        assert_eq!(schedule("buprenorphine"), Some(3));
        assert_eq!(schedule("butorphanol"), None, "butorphanol is not controlled in the UK");
        assert_eq!(schedule("meloxicam"), None);
        let categories: std::collections::HashSet<_> = list.iter().map(|p| p.legal_category).collect();
        assert_eq!(categories.len(), 3, "POM-V, NFA-VPS and AVM-GSL all appear: {categories:?}");
    }

    #[test]
    fn prices_are_worked_out_in_whole_pence() {
        let p = Product {
            id: Uuid::nil(),
            name: "x".into(),
            active_ingredient: String::new(),
            strength: "1".into(),
            form: "tablet".into(),
            legal_category: LegalCategory::PomV,
            cd_schedule: None,
            unit: "tablet".into(),
            pack_size: Quantity(100_000),
            price_pence: 6500,
            vat_rate_bp: 2000,
            authorised_species: vec![],
            withdrawal_meat_days: Some(15),
            withdrawal_milk_days: Some(1),
            withdrawal_eggs_days: None,
            warnings: String::new(),
            active: true,
        };
        assert_eq!(p.net_price(Quantity(14_000)), 910, "14 of 100 tablets at £65");
        assert_eq!(p.net_price(Quantity(1_000)), 65);
        assert_eq!(p.net_price(Quantity(1_500)), 98, "97.5p rounds up");
        assert_eq!(p.withdrawal_text(), "Meat 15 days, milk 1 day");
    }
}
