//! Vital signs as a consultation records them, and what is plausible for each species.
//!
//! Each measure has two ranges per species: what a real animal of that species can have at all
//! (outside it the value is a typing mistake — 380 kg for a cat, 4 °C — and is refused), and what is
//! usual (outside it the value is possible but worth a second look — a fever, a racing heart — and
//! signing asks the clinician to confirm it). Species with no usual range (reptiles, "other") get
//! only the wide one.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reception::patient::Species;

/// Vitals as typed: weight in kg, temperature in °C, rates per minute, body condition 1–9.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Vitals {
    pub weight_kg: Option<f64>,
    pub temperature_c: Option<f64>,
    pub heart_rate: Option<u32>,
    pub respiratory_rate: Option<u32>,
    /// Body condition score on the 9-point scale (5 is ideal).
    pub body_condition: Option<u32>,
}

/// A value that is possible but outside what is usual for the species.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VitalWarning {
    /// `weight_kg`, `temperature_c`, `heart_rate` or `respiratory_rate`.
    pub field: String,
    pub message: String,
}

/// Vitals as stored: grams, tenths of a degree, whole rates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StoredVitals {
    pub weight_g: Option<i64>,
    pub temperature_dc: Option<i64>,
    pub heart_rate: Option<i64>,
    pub respiratory_rate: Option<i64>,
    pub body_condition: Option<i64>,
}

impl StoredVitals {
    pub fn typed(self) -> Vitals {
        Vitals {
            weight_kg: self.weight_g.map(|g| g as f64 / 1000.0),
            temperature_c: self.temperature_dc.map(|d| d as f64 / 10.0),
            heart_rate: self.heart_rate.map(|n| n as u32),
            respiratory_rate: self.respiratory_rate.map(|n| n as u32),
            body_condition: self.body_condition.map(|n| n as u32),
        }
    }
}

/// (possible low, possible high, usual low, usual high); usual `None` where there is no one norm.
struct Range {
    possible: (f64, f64),
    usual: Option<(f64, f64)>,
}

const fn r(lo: f64, hi: f64, usual: Option<(f64, f64)>) -> Range {
    Range { possible: (lo, hi), usual }
}

/// Weight (kg), temperature (°C), heart rate and respiratory rate (per minute) for a species.
fn ranges(species: Species) -> [Range; 4] {
    use Species::*;
    match species {
        Dog => [
            r(0.1, 120.0, Some((1.0, 90.0))),
            r(30.0, 44.0, Some((37.5, 39.3))),
            r(20.0, 350.0, Some((60.0, 160.0))),
            r(4.0, 150.0, Some((10.0, 40.0))),
        ],
        Cat => [
            r(0.05, 16.0, Some((2.0, 8.0))),
            r(30.0, 44.0, Some((37.8, 39.4))),
            r(40.0, 350.0, Some((140.0, 220.0))),
            r(6.0, 150.0, Some((20.0, 40.0))),
        ],
        Rabbit => [
            r(0.03, 12.0, Some((1.0, 6.0))),
            r(32.0, 43.0, Some((38.5, 40.0))),
            r(60.0, 400.0, Some((130.0, 325.0))),
            r(10.0, 200.0, Some((30.0, 60.0))),
        ],
        GuineaPig => [
            r(0.04, 2.5, Some((0.7, 1.2))),
            r(32.0, 42.0, Some((37.2, 39.5))),
            r(100.0, 450.0, Some((230.0, 380.0))),
            r(15.0, 180.0, Some((40.0, 100.0))),
        ],
        Ferret => [
            r(0.01, 3.0, Some((0.6, 2.0))),
            r(32.0, 42.5, Some((37.8, 40.0))),
            r(80.0, 450.0, Some((180.0, 250.0))),
            r(10.0, 120.0, Some((30.0, 40.0))),
        ],
        Hamster => [
            r(0.002, 0.3, Some((0.08, 0.2))),
            r(30.0, 41.0, Some((36.0, 38.8))),
            r(150.0, 650.0, Some((250.0, 500.0))),
            r(20.0, 200.0, Some((35.0, 135.0))),
        ],
        Rat => [
            r(0.005, 1.0, Some((0.25, 0.6))),
            r(30.0, 41.0, Some((35.9, 37.5))),
            r(150.0, 650.0, Some((250.0, 450.0))),
            r(30.0, 220.0, Some((70.0, 115.0))),
        ],
        Bird => [r(0.002, 160.0, None), r(32.0, 45.5, Some((39.0, 43.5))), r(40.0, 1000.0, None), r(3.0, 200.0, None)],
        Reptile => [r(0.001, 250.0, None), r(5.0, 45.0, None), r(2.0, 200.0, None), r(1.0, 80.0, None)],
        Horse => [
            r(15.0, 1300.0, Some((200.0, 700.0))),
            r(33.0, 43.0, Some((37.2, 38.3))),
            r(15.0, 200.0, Some((28.0, 44.0))),
            r(4.0, 120.0, Some((8.0, 16.0))),
        ],
        Cattle => [
            r(15.0, 1600.0, Some((300.0, 900.0))),
            r(33.0, 43.0, Some((38.0, 39.3))),
            r(20.0, 220.0, Some((48.0, 84.0))),
            r(5.0, 120.0, Some((10.0, 30.0))),
        ],
        Sheep => [
            r(1.5, 180.0, Some((40.0, 100.0))),
            r(33.0, 43.0, Some((38.5, 40.0))),
            r(30.0, 250.0, Some((70.0, 90.0))),
            r(5.0, 150.0, Some((12.0, 20.0))),
        ],
        Goat => [
            r(1.0, 160.0, Some((30.0, 90.0))),
            r(33.0, 43.0, Some((38.5, 39.7))),
            r(30.0, 250.0, Some((70.0, 90.0))),
            r(5.0, 150.0, Some((15.0, 30.0))),
        ],
        Pig => [
            r(0.5, 450.0, Some((50.0, 300.0))),
            r(33.0, 43.0, Some((38.7, 39.8))),
            r(30.0, 280.0, Some((70.0, 120.0))),
            r(5.0, 150.0, Some((13.0, 24.0))),
        ],
        Poultry => [
            r(0.02, 20.0, Some((1.0, 5.0))),
            r(35.0, 45.0, Some((40.6, 41.7))),
            r(100.0, 600.0, Some((250.0, 300.0))),
            r(5.0, 120.0, Some((15.0, 30.0))),
        ],
        Other => [r(0.001, 2000.0, None), r(5.0, 46.0, None), r(2.0, 1000.0, None), r(1.0, 250.0, None)],
    }
}

const FIELDS: [(&str, &str, &str); 4] = [
    ("weight_kg", "weight", "kg"),
    ("temperature_c", "temperature", "°C"),
    ("heart_rate", "heart rate", "per minute"),
    ("respiratory_rate", "respiratory rate", "per minute"),
];

/// Checks vitals for `species` (its label for messages): refuses the impossible, warns about the
/// unusual, and converts to the stored units.
pub(crate) fn check(species: Species, label: &str, v: &Vitals) -> Result<(StoredVitals, Vec<VitalWarning>)> {
    let values = [v.weight_kg, v.temperature_c, v.heart_rate.map(f64::from), v.respiratory_rate.map(f64::from)];
    let mut warnings = Vec::new();
    for ((value, range), (field, name, unit)) in values.iter().zip(ranges(species)).zip(FIELDS) {
        let Some(value) = *value else { continue };
        let (lo, hi) = range.possible;
        if !value.is_finite() || value < lo || value > hi {
            return Err(Error::invalid(
                field,
                format!(
                    "{} {unit} is not a possible {name} for a {}; check the figure (a {} can be {} to {} {unit})",
                    shown(value),
                    label.to_lowercase(),
                    label.to_lowercase(),
                    shown(lo),
                    shown(hi)
                ),
            ));
        }
        if let Some((ulo, uhi)) = range.usual {
            if value < ulo || value > uhi {
                let side = if value < ulo { "low" } else { "high" };
                warnings.push(VitalWarning {
                    field: field.into(),
                    message: format!(
                        "{} {unit} is {side} for a {} (usually {} to {} {unit})",
                        shown(value),
                        label.to_lowercase(),
                        shown(ulo),
                        shown(uhi)
                    ),
                });
            }
        }
    }
    if let Some(bcs) = v.body_condition {
        if !(1..=9).contains(&bcs) {
            return Err(Error::invalid("body_condition", "is scored from 1 (emaciated) to 9 (obese); 5 is ideal"));
        }
    }
    Ok((stored(v), warnings))
}

/// The stored units of vitals (grams, tenths of a degree), without checking them.
pub(crate) fn stored(v: &Vitals) -> StoredVitals {
    StoredVitals {
        weight_g: v.weight_kg.map(|kg| (kg * 1000.0).round() as i64).map(|g| g.max(1)),
        temperature_dc: v.temperature_c.map(|c| (c * 10.0).round() as i64),
        heart_rate: v.heart_rate.map(i64::from),
        respiratory_rate: v.respiratory_rate.map(i64::from),
        body_condition: v.body_condition.map(i64::from),
    }
}

/// 38.5, 12, 0.25 — without trailing zeros.
fn shown(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vitals(weight: f64, temp: f64, heart: u32, resp: u32) -> Vitals {
        Vitals {
            weight_kg: Some(weight),
            temperature_c: Some(temp),
            heart_rate: Some(heart),
            respiratory_rate: Some(resp),
            body_condition: Some(5),
        }
    }

    #[test]
    fn impossible_values_are_refused_and_unusual_ones_flagged() {
        // (species, vitals, refused field, warned fields)
        let cases: [(Species, Vitals, Option<&str>, &[&str]); 8] = [
            (Species::Dog, vitals(24.3, 38.6, 90, 20), None, &[]),
            (Species::Dog, vitals(24.3, 40.8, 90, 20), None, &["temperature_c"]),
            (Species::Dog, vitals(243.0, 38.6, 90, 20), Some("weight_kg"), &[]),
            (Species::Cat, vitals(4.2, 38.6, 180, 30), None, &[]),
            (Species::Cat, vitals(4.2, 3.86, 180, 30), Some("temperature_c"), &[]),
            (Species::Cat, vitals(4.2, 38.6, 90, 30), None, &["heart_rate"]),
            (Species::Horse, vitals(520.0, 37.8, 36, 12), None, &[]),
            (Species::Rabbit, vitals(2.1, f64::NAN, 200, 40), Some("temperature_c"), &[]),
        ];
        for (species, v, refused, warned) in cases {
            match (check(species, species.label(), &v), refused) {
                (Ok((_, warnings)), None) => {
                    let fields: Vec<_> = warnings.iter().map(|w| w.field.as_str()).collect();
                    assert_eq!(fields, warned, "{species:?} {v:?}");
                }
                (Err(e), Some(field)) => {
                    assert_eq!(e.field(), Some(field), "{e}");
                    assert!(e.to_string().contains(&species.label().to_lowercase()), "names the species: {e}");
                }
                (got, want) => panic!("{species:?} {v:?}: {got:?} / {want:?}"),
            }
        }
    }

    #[test]
    fn stored_units_are_exact() {
        let (stored, _) = check(Species::Dog, "Dog", &vitals(24.35, 38.6, 90, 20)).unwrap();
        assert_eq!((stored.weight_g, stored.temperature_dc), (Some(24350), Some(386)));
        assert_eq!(stored.typed().weight_kg, Some(24.35));
        let bad = Vitals { body_condition: Some(10), ..Default::default() };
        assert_eq!(check(Species::Dog, "Dog", &bad).unwrap_err().field(), Some("body_condition"));
    }
}
