//! # authsession-core
//!
//! Keeps an API session alive without doing any I/O: a `no_std`,
//! alloc-free state machine that logs in with an API key, holds the token,
//! puts it on every call, notices when it lapses (idle timeout, expiry, a
//! `401`), logs in again once for every waiting call, and logs out.
//!
//! ## The one rule
//!
//! After **every** input (`login`, `authorize`, `handle_reply`,
//! `handle_response`, `handle_failure`, `handle_timeout`, `logout`), drain
//! [`Session::poll_transmit`] and [`Session::poll_event`] until both are
//! empty, then sleep until [`Session::poll_timeout`] and call
//! [`Session::handle_timeout`].
//!
//! ```
//! use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
//! use authsession_core::{Event, Instant, Level, ResponseParts, Session, Verdict};
//!
//! let credentials = CurrencycloudCredentials::new(
//!     "development@example.com",
//!     "1f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544",
//! )?;
//! let mut session = Session::new(Currencycloud::default(), credentials);
//! let now = Instant::from_millis(0);
//!
//! // A call needs a token: the session queues a login instead.
//! assert!(session.authorize(Level::User, now).is_err());
//! while let Some(login) = session.poll_transmit() {
//!     // Send `login.method`, `login.path`, `login.headers`, `login.body`
//!     // with your HTTP client; here the server's answer is made up.
//!     let id = login.id;
//!     let answer = ResponseParts::new(200, br#"{"auth_token":"ea6d13c7bc50feb46cf978d137bc01a2"}"#);
//!     session.handle_response(id, &answer, now);
//! }
//! while let Some(event) = session.poll_event() {
//!     assert_eq!(event, Event::LoggedIn { generation: 1 });
//! }
//!
//! // Now the call goes, with the token in its headers.
//! let grant = session.authorize(Level::User, now).unwrap();
//! assert_eq!(grant.headers.get("X-Auth-Token").unwrap().parts()[1], "ea6d13c7bc50feb46cf978d137bc01a2");
//! let ticket = grant.ticket;
//! let reply = ResponseParts::new(200, br#"{"id":"account"}"#);
//! assert_eq!(session.handle_reply(ticket, &reply, now), Verdict::Ok);
//! # Ok::<(), authsession_core::CredentialError>(())
//! ```
//!
//! Secrets (keys, passwords, tokens, codes) live in buffers that are wiped
//! on drop and print as `[redacted]`; no error or event holds one.
#![no_std]

mod backoff;
mod config;
mod error;
mod event;
mod grant;
mod json;
pub mod jwt;
mod provider;
pub mod providers;
mod response;
mod secret;
mod session;
mod time;
mod transmit;
#[cfg(feature = "embedded-io")]
pub mod wire;

pub use config::Config;
pub use error::{
    ApiError, CredentialError, CredentialProblem, Error, ErrorKind, FieldError, Param, StepUpError,
    TokenProblem,
};
pub use event::{Event, ExpiryReason};
pub use grant::{Grant, Level, NotReady, Ticket, Verdict};
pub use json::{Text, parse as parse_json, write as write_json};
pub use provider::{
    AfterStepUpFailure, Channel, LoginOutcome, LoginStep, NewToken, Provider, Reply,
    RequestSecrets, RetryHint, SessionRequest, StepUpOutcome, is_header_safe,
};
pub use response::{Response, ResponseParts, is_success, retry_after};
pub use secret::{Buffer, SecretBuf};
pub use session::{CodePrompt, PromptReason, Session, SessionState, StepUpRefused, StepUpState};
pub use time::Instant;
pub use transmit::{
    Header, HeaderValue, Headers, MAX_HEADERS, Method, RequestHead, RequestId, Transmit,
};
