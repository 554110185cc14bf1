//! The consult room: consultations (SOAP notes and vitals), addenda and voids, the formulary,
//! prescriptions and dispensing, the controlled drugs register, fees and charges.
