//! # authsession-std
//!
//! Clients that keep an API session alive with [`authsession_core`], each
//! behind a feature so that a program builds only the one it uses:
//!
//! - `blocking` (default): the thread-safe blocking [`Client`], over `ureq`;
//! - `tokio`: the async `AsyncClient` over `reqwest` (built with
//!   [`ClientBuilder::build_async`]) and `SessionMiddleware`, the session as
//!   a `reqwest_middleware` middleware;
//! - `store` / `redis-store`: sessions shared by a fleet of processes
//!   through a file or Redis ([`store`]).
//!
//! One session logic serves them all. The local emulator of the APIs is
//! `authsession-sandbox`, and the `authsession` command is
//! `authsession-cli`.
//!
//! ```no_run
//! use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
//! use authsession_std::Client;
//!
//! let credentials = CurrencycloudCredentials::new(
//!     &std::env::var("CURRENCYCLOUD_LOGIN_ID")?,
//!     &std::env::var("CURRENCYCLOUD_API_KEY")?,
//! )?;
//! let client = Client::builder(Currencycloud::default(), credentials)
//!     .base_url("https://devapi.currencycloud.com")
//!     .build()?;
//! // Shared by every thread; one login however many calls find it lapsed.
//! let balances = client.get("/v2/balances/find")?;
//! assert!(balances.status().is_success());
//! client.logout()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Without a client feature (`blocking`, `tokio`) nothing builds a client:
// what is left is the shared machinery, unused.
#![cfg_attr(not(any(feature = "blocking", feature = "tokio")), allow(dead_code))]

#[cfg(feature = "tokio")]
mod async_client;
mod call_step_up;
mod client;
mod error;
#[cfg(feature = "store")]
mod fleet;
mod form;
#[cfg(feature = "tokio")]
mod middleware;
mod origin;
mod request;
#[cfg(feature = "tokio")]
mod reqwest_exchange;
mod step_up;
#[cfg(feature = "store")]
pub mod store;
mod transport;
#[cfg(feature = "blocking")]
mod ureq_exchange;

#[cfg(feature = "tokio")]
pub use async_client::{AsyncClient, SendProvider};
pub use authsession_core;
pub use client::{Client, ClientBuilder};
pub use error::{BaseUrlError, Error, PathError, TransportError, TransportErrorKind};
pub use form::multipart as multipart_form;
#[cfg(feature = "tokio")]
pub use middleware::SessionMiddleware;
pub use step_up::StepUpAnswer;
pub use transport::{HttpResponse, Timeouts};
/// The blocking client's HTTP client: [`TransportError::ureq_error`] is one of its
/// errors.
#[cfg(feature = "blocking")]
pub use ureq;
