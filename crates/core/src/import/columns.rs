//! Which column of a file holds which field: recognised from the headings UK PMS exports use, or
//! given by a mapping (saved as JSON and reused for the next file from the same system).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Clients,
    Patients,
    Appointments,
    /// The formulary: medicines and their legal categories, packs and prices.
    Products,
    /// Recent clinical history: consultation notes as the PMS holds them.
    History,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Clients => "clients",
            ImportKind::Patients => "patients",
            ImportKind::Appointments => "appointments",
            ImportKind::Products => "products",
            ImportKind::History => "history",
        }
    }

    pub fn parse(text: &str) -> Option<ImportKind> {
        match text {
            "clients" => Some(ImportKind::Clients),
            "patients" => Some(ImportKind::Patients),
            "appointments" => Some(ImportKind::Appointments),
            "products" => Some(ImportKind::Products),
            "history" => Some(ImportKind::History),
            _ => None,
        }
    }
}

/// A field an import fills: its name, what people call it, the headings that mean it (compared
/// lower-case, letters and digits only), and whether a file must have it.
#[derive(Debug, PartialEq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub label: &'static str,
    headings: &'static [&'static str],
    pub required: bool,
}

/// The headings of a column that names an animal by its PMS number (in bookings and history).
const ANIMAL_NUMBER: &[&str] = &[
    "animalid",
    "animalno",
    "animalnumber",
    "animalcode",
    "patientid",
    "patientno",
    "patientnumber",
    "petid",
    "petno",
];

const fn f(name: &'static str, label: &'static str, headings: &'static [&'static str], required: bool) -> FieldSpec {
    FieldSpec { name, label, headings, required }
}

const CLIENT_FIELDS: &[FieldSpec] = &[
    f(
        "pms_id",
        "Client number",
        &[
            "clientno",
            "clientnumber",
            "clientid",
            "clientcode",
            "clientref",
            "clientreference",
            "accountno",
            "accountnumber",
            "account",
            "accountcode",
            "ownerid",
            "ownerno",
            "ownernumber",
            "id",
            "pmsid",
        ],
        true,
    ),
    f("title", "Title", &["title", "salutation", "clienttitle"], false),
    f(
        "first_name",
        "First name",
        &["forename", "forenames", "firstname", "firstnames", "givenname", "christianname", "first", "clientforename"],
        false,
    ),
    f("last_name", "Surname", &["surname", "lastname", "familyname", "last", "clientsurname"], true),
    f(
        "address_line1",
        "Address line 1",
        &["address1", "addressline1", "address", "street", "line1", "add1", "addr1", "house", "houseandstreet"],
        false,
    ),
    f("address_line2", "Address line 2", &["address2", "addressline2", "line2", "add2", "addr2", "locality"], false),
    f("address_line3", "Address line 3", &["address3", "addressline3", "line3", "add3", "addr3", "district"], false),
    f("town", "Town", &["town", "city", "posttown", "towncity", "address4"], false),
    f("postcode", "Postcode", &["postcode", "postalcode", "pcode", "zip", "zipcode"], false),
    f(
        "phone",
        "Home telephone",
        &[
            "hometelephone",
            "hometel",
            "homephone",
            "telephone",
            "phone",
            "tel",
            "telephonehome",
            "landline",
            "telhome",
            "phonehome",
            "telephone1",
            "phone1",
        ],
        false,
    ),
    f(
        "mobile",
        "Mobile telephone",
        &[
            "mobile",
            "mobiletelephone",
            "mobilephone",
            "mobiletel",
            "mobileno",
            "mobilenumber",
            "cell",
            "cellphone",
            "telmobile",
            "telephone2",
            "phone2",
        ],
        false,
    ),
    f("work_phone", "Work telephone", &["worktelephone", "worktel", "workphone", "telwork", "daytimephone"], false),
    f("email", "Email", &["email", "emailaddress", "mail"], false),
    f("notes", "Notes", &["clientnotes", "ownernotes", "notes", "note", "comments", "comment"], false),
    f(
        "consent_email",
        "Email consent",
        &["emailconsent", "consentemail", "emailok", "okemail", "contactbyemail"],
        false,
    ),
    f(
        "consent_sms",
        "SMS consent",
        &["smsconsent", "consentsms", "smsok", "oksms", "textconsent", "contactbysms"],
        false,
    ),
];

const PATIENT_FIELDS: &[FieldSpec] = &[
    f(
        "pms_id",
        "Animal number",
        &[
            "animalno",
            "animalnumber",
            "animalid",
            "animalcode",
            "patientno",
            "patientnumber",
            "patientid",
            "petid",
            "petno",
            "petnumber",
            "id",
            "pmsid",
        ],
        true,
    ),
    f(
        "owner_pms_id",
        "Owner's client number",
        &[
            "clientno",
            "clientnumber",
            "clientid",
            "clientcode",
            "clientref",
            "ownerid",
            "ownerno",
            "ownernumber",
            "accountno",
            "accountnumber",
            "account",
        ],
        true,
    ),
    f("name", "Name", &["animalname", "petname", "patientname", "name", "animal", "pet"], true),
    f("species", "Species", &["species", "animaltype", "type", "speciesdescription"], true),
    f("breed", "Breed", &["breed", "breeddescription"], false),
    f("sex", "Sex", &["sex", "gender"], false),
    f("neutered", "Neutered", &["neutered", "neuter", "castrated", "spayed", "neuteredyn"], false),
    f("date_of_birth", "Date of birth", &["dob", "dateofbirth", "birthdate", "born", "birthday"], false),
    f("colour", "Colour", &["colour", "color", "markings", "colourmarkings"], false),
    f(
        "microchip",
        "Microchip",
        &["microchip", "microchipno", "microchipnumber", "chip", "chipno", "chipnumber", "identichip"],
        false,
    ),
    f("alerts", "Alerts", &["alerts", "alert", "warning", "warnings", "caution", "cautions", "hazard"], false),
    f("notes", "Notes", &["animalnotes", "patientnotes", "petnotes", "notes", "note", "comments", "comment"], false),
    f(
        "deceased_on",
        "Date of death",
        &[
            "dateofdeath",
            "deceaseddate",
            "datedeceased",
            "dod",
            "dateofdeathdod",
            "deathdate",
            "deceasedon",
            "died",
            "deceased",
        ],
        false,
    ),
    f("deceased_flag", "Deceased (yes or no)", &["deceased", "isdeceased", "dead", "died", "deceasedyn"], false),
];

const APPOINTMENT_FIELDS: &[FieldSpec] = &[
    f(
        "pms_id",
        "Appointment number",
        &[
            "appointmentid",
            "appointmentno",
            "appointmentnumber",
            "appointmentref",
            "apptid",
            "apptno",
            "apptref",
            "bookingid",
            "bookingno",
            "bookingref",
            "id",
            "pmsid",
        ],
        true,
    ),
    f("patient_pms_id", "Animal number", ANIMAL_NUMBER, true),
    f(
        "client_pms_id",
        "Client number",
        &[
            "clientid",
            "clientno",
            "clientnumber",
            "clientcode",
            "ownerid",
            "ownerno",
            "ownernumber",
            "accountno",
            "accountnumber",
        ],
        false,
    ),
    f(
        "date",
        "Date",
        &[
            "date",
            "appointmentdate",
            "apptdate",
            "bookingdate",
            "day",
            "startdate",
            "datetime",
            "start",
            "startdatetime",
        ],
        true,
    ),
    f("time", "Start time", &["time", "starttime", "appointmenttime", "appttime", "from", "timefrom"], false),
    f(
        "minutes",
        "Length (minutes)",
        &["duration", "length", "minutes", "mins", "durationmins", "durationminutes", "slotlength", "slots"],
        false,
    ),
    f("end_time", "End time", &["endtime", "end", "finish", "finishtime", "to", "timeto", "enddatetime"], false),
    f(
        "clinician",
        "Clinician",
        &[
            "clinician",
            "clinicianname",
            "vet",
            "vetname",
            "staff",
            "staffname",
            "with",
            "surgeon",
            "practitioner",
            "user",
            "diary",
            "column",
            "resource",
        ],
        true,
    ),
    f("room", "Room", &["room", "consultroom", "consultingroom", "location"], false),
    f("kind", "Type", &["type", "appointmenttype", "appttype", "category", "kind", "bookingtype"], false),
    f(
        "reason",
        "Reason",
        &["reason", "reasonforvisit", "description", "complaint", "presentingcomplaint", "details", "subject", "title"],
        false,
    ),
    f("notes", "Notes", &["appointmentnotes", "apptnotes", "notes", "note", "comments", "comment"], false),
    f("status", "Status", &["status", "appointmentstatus", "apptstatus", "state", "outcome"], false),
];

const PRODUCT_FIELDS: &[FieldSpec] = &[
    f(
        "pms_id",
        "Product code",
        &[
            "productcode",
            "productid",
            "productno",
            "itemcode",
            "itemid",
            "itemno",
            "stockcode",
            "code",
            "sku",
            "plu",
            "id",
            "pmsid",
        ],
        true,
    ),
    f(
        "name",
        "Name",
        &[
            "productname",
            "name",
            "description",
            "itemname",
            "itemdescription",
            "item",
            "product",
            "drugname",
            "medicine",
            "tradename",
        ],
        true,
    ),
    f(
        "active_ingredient",
        "Active ingredient",
        &["activeingredient", "ingredient", "activesubstance", "generic", "genericname"],
        false,
    ),
    f("strength", "Strength", &["strength", "potency", "concentration"], false),
    f("form", "Form", &["form", "formulation", "dosageform", "pharmaceuticalform", "presentation"], false),
    f(
        "legal_category",
        "Legal category",
        &[
            "legalcategory",
            "category",
            "legalclass",
            "classification",
            "distributioncategory",
            "pomstatus",
            "prescriptionclass",
        ],
        true,
    ),
    f(
        "cd_schedule",
        "CD schedule",
        &["cdschedule", "schedule", "controlleddrug", "cd", "cdclass", "controlleddrugschedule"],
        false,
    ),
    f("unit", "Unit", &["unit", "uom", "unitofmeasure", "dispensingunit", "units"], false),
    f(
        "pack_size",
        "Pack size",
        &["packsize", "pack", "packqty", "packquantity", "quantityperpack", "unitsperpack"],
        false,
    ),
    f(
        "price",
        "Price of a pack (before VAT)",
        &["price", "packprice", "unitprice", "sellprice", "sellingprice", "retailprice", "priceexvat", "netprice"],
        false,
    ),
    f("vat", "VAT rate", &["vat", "vatrate", "vatcode", "taxrate", "vatpercent"], false),
    f(
        "authorised_species",
        "Authorised species",
        &["species", "authorisedspecies", "targetspecies", "licensedspecies"],
        false,
    ),
    f(
        "withdrawal_meat_days",
        "Withdrawal, meat (days)",
        &["withdrawalmeat", "meatwithdrawal", "meatwithdrawaldays", "meat"],
        false,
    ),
    f(
        "withdrawal_milk_days",
        "Withdrawal, milk (days)",
        &["withdrawalmilk", "milkwithdrawal", "milkwithdrawaldays", "milk"],
        false,
    ),
    f(
        "withdrawal_eggs_days",
        "Withdrawal, eggs (days)",
        &["withdrawaleggs", "eggswithdrawal", "eggwithdrawal", "eggs"],
        false,
    ),
    f("warnings", "Warnings", &["warnings", "warning", "cautions", "caution", "labelwarnings"], false),
];

const HISTORY_FIELDS: &[FieldSpec] = &[
    f(
        "pms_id",
        "Record number",
        &[
            "historyid",
            "entryid",
            "recordid",
            "consultationid",
            "consultid",
            "noteid",
            "clinicalrecordid",
            "id",
            "pmsid",
        ],
        true,
    ),
    f("patient_pms_id", "Animal number", ANIMAL_NUMBER, true),
    f(
        "date",
        "Date",
        &["date", "consultationdate", "visitdate", "entrydate", "datetime", "dateseen", "seen", "when"],
        true,
    ),
    f("time", "Time", &["time", "consultationtime", "visittime", "starttime"], false),
    f(
        "clinician",
        "Clinician",
        &[
            "clinician",
            "vet",
            "veterinarysurgeon",
            "seenby",
            "author",
            "enteredby",
            "user",
            "nurse",
            "staff",
            "attendingvet",
        ],
        true,
    ),
    f(
        "subjective",
        "History (subjective)",
        &["history", "subjective", "presentingcomplaint", "complaint", "reason"],
        false,
    ),
    f("objective", "Examination (objective)", &["examination", "exam", "objective", "clinicalexam", "findings"], false),
    f("assessment", "Assessment", &["assessment", "diagnosis", "differentials"], false),
    f("plan", "Plan", &["plan", "treatment", "treatmentplan", "advice"], false),
    f(
        "notes",
        "Notes",
        &["notes", "clinicalnotes", "text", "entry", "details", "narrative", "comments", "note"],
        false,
    ),
    f("weight", "Weight (kg)", &["weight", "weightkg", "bodyweight", "wt"], false),
    f("temperature", "Temperature (°C)", &["temperature", "temp", "temperaturec"], false),
];

pub fn fields(kind: ImportKind) -> &'static [FieldSpec] {
    match kind {
        ImportKind::Clients => CLIENT_FIELDS,
        ImportKind::Patients => PATIENT_FIELDS,
        ImportKind::Appointments => APPOINTMENT_FIELDS,
        ImportKind::Products => PRODUCT_FIELDS,
        ImportKind::History => HISTORY_FIELDS,
    }
}

fn key(heading: &str) -> String {
    heading.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect()
}

/// A mapping saved by a manager: heading → field name (or "" to ignore the column).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Mapping {
    pub columns: BTreeMap<String, String>,
}

/// Each column's field (by index), as recognised or mapped.
#[derive(Clone, Debug, PartialEq)]
pub struct Columns {
    pub fields: Vec<Option<&'static FieldSpec>>,
}

impl Columns {
    /// The column holding `field`, if any.
    pub fn index(&self, field: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.is_some_and(|f| f.name == field))
    }
}

/// Works out which column is which. A mapping's entries win over recognition. Otherwise each field
/// takes the column whose heading is the strongest sign of it ("Animal Name" before "Name", "Date of
/// Death" before "Deceased"), each column holding one field at most. A mapping naming a field this
/// kind of file has not, or a column the file has not, or two columns for one field, is refused.
pub fn recognise(kind: ImportKind, headers: &[String], mapping: Option<&Mapping>) -> Result<Columns> {
    let specs = fields(kind);
    if let Some(m) = mapping {
        for (heading, field) in &m.columns {
            if !field.is_empty() && !specs.iter().any(|s| s.name == field) {
                let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
                return Err(Error::invalid(
                    "mapping",
                    format!(
                        "{heading:?} is mapped to {field:?}, which is not a field of this file (known: {})",
                        known.join(", ")
                    ),
                ));
            }
            if !headers.iter().any(|h| h == heading) {
                return Err(Error::invalid(
                    "mapping",
                    format!("names the column {heading:?}, which the file does not have"),
                ));
            }
        }
    }
    let mut taken: Vec<&str> = Vec::new();
    let mut out = vec![None; headers.len()];
    let mapped = |heading: &String| mapping.is_some_and(|m| m.columns.contains_key(heading));
    // Mapped columns first, so recognition never takes a field a mapping gave elsewhere.
    for (i, heading) in headers.iter().enumerate() {
        if let Some(field) = mapping.and_then(|m| m.columns.get(heading)) {
            if field.is_empty() {
                continue;
            }
            if taken.contains(&field.as_str()) {
                return Err(Error::invalid("mapping", format!("gives two columns the field {field:?}")));
            }
            let spec = specs.iter().find(|s| s.name == field).expect("checked above");
            taken.push(spec.name);
            out[i] = Some(spec);
        }
    }
    let keys: Vec<String> = headers.iter().map(|h| key(h)).collect();
    for spec in specs {
        if taken.contains(&spec.name) {
            continue;
        }
        let best = (0..headers.len())
            .filter(|&i| out[i].is_none() && !mapped(&headers[i]))
            .filter_map(|i| spec.headings.iter().position(|h| *h == keys[i]).map(|rank| (rank, i)))
            .min();
        if let Some((_, i)) = best {
            taken.push(spec.name);
            out[i] = Some(spec);
        }
    }
    Ok(Columns { fields: out })
}

/// What a file lacks: the required fields no column holds, said so that a person can act.
pub fn missing(kind: ImportKind, headers: &[String], columns: &Columns) -> Option<String> {
    let missing: Vec<&str> =
        fields(kind).iter().filter(|s| s.required && columns.index(s.name).is_none()).map(|s| s.label).collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "no column holds {}: choose its column (the file's columns are {})",
        missing.join(", "),
        headers.iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(c: &Columns) -> Vec<&str> {
        c.fields.iter().map(|f| f.map(|f| f.name).unwrap_or("-")).collect()
    }

    #[test]
    fn headings_of_common_exports_are_recognised() {
        let headers: Vec<String> = [
            "Client No.",
            "Title",
            "Forename",
            "Surname",
            "Address 1",
            "Post Code",
            "Home Tel",
            "Mobile Tel",
            "E-mail",
            "County",
        ]
        .map(String::from)
        .to_vec();
        let c = recognise(ImportKind::Clients, &headers, None).unwrap();
        assert_eq!(
            names(&c),
            vec![
                "pms_id",
                "title",
                "first_name",
                "last_name",
                "address_line1",
                "postcode",
                "phone",
                "mobile",
                "email",
                "-"
            ]
        );
        let headers: Vec<String> = ["Animal ID", "Client ID", "Animal Name", "Species", "Sex", "DOB", "Microchip No"]
            .map(String::from)
            .to_vec();
        let c = recognise(ImportKind::Patients, &headers, None).unwrap();
        assert_eq!(names(&c), vec!["pms_id", "owner_pms_id", "name", "species", "sex", "date_of_birth", "microchip"]);
    }

    #[test]
    fn a_mapping_names_what_recognition_cannot_and_is_checked() {
        let headers: Vec<String> = ["Ref", "Family", "Given"].map(String::from).to_vec();
        let c = recognise(ImportKind::Clients, &headers, None).unwrap();
        assert_eq!(
            missing(ImportKind::Clients, &headers, &c).unwrap(),
            "no column holds Client number, Surname: choose its column (the file's columns are \"Ref\", \"Family\", \"Given\")"
        );
        let mut m = Mapping::default();
        m.columns.insert("Ref".into(), "pms_id".into());
        m.columns.insert("Family".into(), "last_name".into());
        m.columns.insert("Given".into(), "first_name".into());
        let c = recognise(ImportKind::Clients, &headers, Some(&m)).unwrap();
        assert_eq!(names(&c), vec!["pms_id", "last_name", "first_name"]);
        m.columns.insert("Given".into(), "shoe_size".into());
        assert!(recognise(ImportKind::Clients, &headers, Some(&m)).unwrap_err().to_string().contains("\"shoe_size\""));
        m.columns.insert("Given".into(), "last_name".into());
        assert_eq!(
            recognise(ImportKind::Clients, &headers, Some(&m)).unwrap_err().to_string(),
            "mapping: gives two columns the field \"last_name\""
        );
    }
}
