//! The organisation: the practice, its premises and its staff accounts.

pub mod numbers;
pub mod practice;
pub mod sign_in;
pub mod staff;
