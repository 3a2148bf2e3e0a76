//! The built-in providers, one API a file.

pub mod currencycloud;
pub mod weavr;

pub use currencycloud::{Currencycloud, CurrencycloudCredentials};
pub use weavr::{Weavr, WeavrCredentials};
