//! The built-in providers, one API a file.

pub mod currencycloud;

pub use currencycloud::{Currencycloud, CurrencycloudCredentials};
