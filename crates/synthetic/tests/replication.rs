//! Every kind of record the app makes travels: a whole generated practice (staff, hours, clients,
//! animals, appointments, consultations, prescriptions, dispensings, the CD register, charges, voids),
//! made through the ordinary operations on one PC, is received by an empty PC in pages of awkward
//! sizes, with some pages delivered twice, and both PCs then hold exactly the same data.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use lifeboat_core::clinical::charge::NewCharge;
use lifeboat_core::clinical::consultation::NewAddendum;
use lifeboat_core::clinical::void::Voidable;
use lifeboat_core::{ManualClock, NewClient, Store, StoreConfig};
use lifeboat_synthetic::{populate, Size, DEMO_PASSWORD};

#[test]
fn a_whole_practice_reaches_an_empty_pc_exactly() {
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 30, 8, 0, 0).unwrap()));
    let (a_dir, b_dir) = (tempfile::TempDir::new().unwrap(), tempfile::TempDir::new().unwrap());
    let a = Store::open(StoreConfig::in_dir(a_dir.path()), clock.clone()).unwrap();
    let b = Store::open(StoreConfig::in_dir(b_dir.path()), clock.clone()).unwrap();
    let generated = populate(&a, Size::S, 7).unwrap();
    assert!(generated.consultations > 0 && generated.prescriptions > 0 && generated.cd_entries > 0);
    // What the generated history does not hold: a charge, an addendum, voids, and an edited client.
    let vet = a.login("vet1", DEMO_PASSWORD).unwrap();
    let signed: (String, String) = a
        .read(|c| {
            Ok(c.query_row(
                "SELECT id, patient_id FROM consultation WHERE signed_by = ?1 AND signed_at IS NOT NULL LIMIT 1",
                [vet.staff_id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    let (consultation, patient) = (signed.0.parse().unwrap(), signed.1.parse().unwrap());
    a.add_addendum(
        &vet,
        consultation,
        &NewAddendum { reason: "Lab result".into(), text: "FNA: lipoma confirmed.".into() },
    )
    .unwrap();
    let fee = a.fees(&vet).unwrap().into_iter().next().unwrap();
    let charge = a
        .add_charge(
            &vet,
            &NewCharge {
                patient_id: patient,
                consultation_id: Some(consultation),
                fee_id: fee.id,
                quantity: "1".into(),
                note: String::new(),
            },
        )
        .unwrap();
    a.void_record(&vet, Voidable::Charge, charge.id, "Charged twice").unwrap();
    let other: String = a
        .read(|c| {
            Ok(c.query_row(
                "SELECT id FROM consultation c WHERE signed_by = ?1 AND id <> ?2
                 AND NOT EXISTS (SELECT 1 FROM prescription p WHERE p.consultation_id = c.id) LIMIT 1",
                [vet.staff_id.to_string(), consultation.to_string()],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    a.void_record(&vet, Voidable::Consultation, other.parse().unwrap(), "Wrong animal").unwrap();
    let admin = a.login("admin", DEMO_PASSWORD).unwrap();
    let client_id: String = a.read(|c| Ok(c.query_row("SELECT id FROM client LIMIT 1", [], |r| r.get(0))?)).unwrap();
    let client = a.client(&admin, client_id.parse().unwrap()).unwrap();
    let details = NewClient {
        title: client.title,
        first_name: client.first_name,
        last_name: client.last_name,
        address_line1: "1 New Street".into(),
        address_line2: client.address_line2,
        town: client.town,
        postcode: client.postcode,
        phone: client.phone,
        phone_alt: client.phone_alt,
        email: client.email,
        consent_email: client.consent_email,
        consent_sms: client.consent_sms,
        notes: client.notes,
    };
    a.update_client(&admin, client.id, &details).unwrap();
    let mut pages = 0;
    loop {
        let size = [1, 7, 500, 999, 1000][pages % 5];
        let page = a.changes_missing_from(&b.marks().unwrap(), size).unwrap();
        if page.is_empty() {
            break;
        }
        let applied = b.apply_changes(&page).unwrap();
        assert_eq!(applied.quarantined, 0, "page {pages}: nothing is refused or left waiting");
        if pages % 3 == 0 {
            let again = b.apply_changes(&page).unwrap();
            assert_eq!(again.new, 0, "a page delivered twice changes nothing");
        }
        pages += 1;
    }
    let (dump_a, dump_b) = (a.dump().unwrap(), b.dump().unwrap());
    if dump_a != dump_b {
        panic!("the PCs differ: {}", first_difference(&dump_a, &dump_b));
    }
    for table in [
        "consultation",
        "addendum",
        "clinical_void",
        "prescription",
        "dispensing",
        "cd_entry",
        "charge",
        "appointment",
        "client",
        "working_hours",
    ] {
        assert!(dump_a.lines().any(|l| l.starts_with(&format!("{table} "))), "the dump holds {table} rows");
    }
    assert!(b.verify_audit().unwrap().is_intact());
    // The second PC can log in with the accounts made on the first.
    b.login("admin", DEMO_PASSWORD).unwrap();
}

/// The first row that differs, and the fields that differ in it.
fn first_difference(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    for (x, y) in la.iter().zip(&lb) {
        if x != y {
            let parse = |l: &str| -> serde_json::Value {
                l.split_once(' ').and_then(|(_, j)| serde_json::from_str(j).ok()).unwrap_or_default()
            };
            let (vx, vy) = (parse(x), parse(y));
            if let (Some(mx), Some(my)) = (vx.as_object(), vy.as_object()) {
                let keys: Vec<String> = mx
                    .keys()
                    .chain(my.keys())
                    .filter(|k| mx.get(*k) != my.get(*k))
                    .map(|k| format!("{k}: {:?} / {:?}", mx.get(k), my.get(k)))
                    .collect();
                return format!("{} differs in {keys:?}", x.split(' ').next().unwrap_or_default());
            }
            return format!("{x}\n{y}");
        }
    }
    format!("{} lines against {}", la.len(), lb.len())
}
