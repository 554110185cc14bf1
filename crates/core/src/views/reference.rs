//! The fixed lists the forms offer (appointment kinds and statuses, species, ...), with their labels
//! and defaults, so the UI never keeps its own copy.

use serde::{Deserialize, Serialize};

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
            .map(|species| SpeciesInfo { species, label: species.label().into() })
            .collect(),
    }
}
