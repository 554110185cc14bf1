//! The consult room: consultations (SOAP notes and vitals), addenda and voids, the formulary,
//! prescriptions and dispensing, the controlled drugs register, fees and charges, lab work.

pub mod cd_register;
pub mod charge;
pub mod consultation;
pub mod formulary;
pub mod lab;
pub mod prescription;
pub mod quantity;
pub mod vitals;
pub mod void;
