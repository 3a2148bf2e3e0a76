//! The built-in providers, one API a file.

pub mod access_key;
pub mod currencycloud;
pub mod weavr;

pub use access_key::{AccessKey, AccessKeyCredentials};
pub use currencycloud::{Currencycloud, CurrencycloudCredentials};
pub use weavr::{Weavr, WeavrCredentials};
