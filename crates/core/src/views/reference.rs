//! The fixed lists the forms offer (appointment kinds and statuses, species, ...), with their labels
//! and defaults, so the UI never keeps its own copy.

use serde::{Deserialize, Serialize};

use crate::clinical::cd_register::CdEntryKind;
use crate::reception::appointment::{AppointmentKind, AppointmentStatus};
use crate::reception::patient::Species;

/// The fixed lists the booking and registration forms offer, with their labels and defaults, so
/// the UI does not keep its own copy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReferenceData {
    pub kinds: Vec<KindInfo>,
    pub statuses: Vec<StatusInfo>,
    pub species: Vec<SpeciesInfo>,
    pub cd_entry_kinds: Vec<CdKindInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CdKindInfo {
    pub kind: CdEntryKind,
    pub label: String,
    /// What the form asks for, in a sentence.
    pub hint: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KindInfo {
    pub kind: AppointmentKind,
    pub label: String,
    pub default_minutes: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusInfo {
    pub status: AppointmentStatus,
    pub label: String,
    /// The statuses it can move to next.
    pub next: Vec<AppointmentStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SpeciesInfo {
    pub species: Species,
    pub label: String,
    /// A prescription for it must state a withdrawal period.
    pub food_producing: bool,
}

pub fn reference_data() -> ReferenceData {
    ReferenceData {
        kinds: AppointmentKind::ALL
            .into_iter()
            .map(|kind| KindInfo { kind, label: kind.label().into(), default_minutes: kind.default_minutes() })
            .collect(),
        statuses: AppointmentStatus::ALL
            .into_iter()
            .map(|status| StatusInfo {
                status,
                label: status.label().into(),
                next: AppointmentStatus::ALL.into_iter().filter(|to| status.can_become(*to)).collect(),
            })
            .collect(),
        species: Species::ALL
            .into_iter()
            .map(|species| SpeciesInfo { species, label: species.label().into(), food_producing: species.is_food_producing() })
            .collect(),
        cd_entry_kinds: CdEntryKind::ALL
            .into_iter()
            .map(|kind| {
                let (label, hint) = match kind {
                    CdEntryKind::Receipt => ("Receipt", "Stock received: the supplier's name and address, and the invoice number."),
                    CdEntryKind::Supply => ("Supply", "Supplied to a client (dispensing records these itself): to whom, the vet responsible, who collected it."),
                    CdEntryKind::Administration => ("Administration", "Given to an animal here: which animal, and the vet responsible."),
                    CdEntryKind::Destruction => ("Destruction", "Destroyed: the authorised witness, and why."),
                    CdEntryKind::StockCheck => ("Stock check", "The amount counted; the register notes what it expected."),
                    CdEntryKind::Correction => ("Correction", "Corrects an earlier entry: which one, by how much, and why."),
                };
                CdKindInfo { kind, label: label.into(), hint: hint.into() }
            })
            .collect(),
    }
}
