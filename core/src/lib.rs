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
//! [`Session::poll_transmit`] (send each request, hand back its answer
//! with [`Session::handle_response`] or its failure with
//! [`Session::handle_failure`]) and [`Session::poll_event`] until both are
//! empty.
//!
//! Sleep only when `poll_transmit` gave nothing and no call is ready
//! (`authorize` said [`NotReady`], or the application has no call to
//! make): then sleep until [`Session::poll_timeout`] and call
//! [`Session::handle_timeout`]. That instant is the end of a backoff, the
//! token's idle or expiry deadline or refresh, or the deadline of a
//! request in flight ([`Config::request_timeout`] bounds each one), so a
//! sleeping caller wakes in time for all of them. A caller that sleeps
//! while a call could go never makes it.
//!
//! The loop below is the one of `std-adapter/examples/core_loop.rs`, which
//! runs it over `ureq` against a real server; here the server's answers
//! are made up and the clock stands still.
//!
//! ```
//! use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
//! use authsession_core::{
//!     Event, Headers, Instant, Level, NotReady, ResponseParts, Session, SessionState, Verdict,
//! };
//!
//! /// Your HTTP client: `Err` when no answer came. This one makes up the
//! /// server's answers.
//! fn send(method: &str, path: &str, _headers: &Headers<'_>, _body: &[u8])
//!     -> Result<ResponseParts<'static>, &'static str> {
//!     Ok(match (method, path) {
//!         ("POST", "/v2/authenticate/api") => {
//!             ResponseParts::new(200, br#"{"auth_token":"ea6d13c7bc50feb46cf978d137bc01a2"}"#)
//!         }
//!         ("GET", "/v2/accounts/current") => ResponseParts::new(200, br#"{"id":"account"}"#),
//!         _ => ResponseParts::new(200, b"{}"),
//!     })
//! }
//! /// Your monotonic clock, and your sleep.
//! fn now() -> Instant { Instant::from_millis(0) }
//! fn sleep_until(_at: Instant) {}
//!
//! /// The drain: whether anything was sent.
//! fn drain(session: &mut Session<Currencycloud>) -> Result<bool, &'static str> {
//!     let mut sent = false;
//!     while let Some(transmit) = session.poll_transmit() {
//!         let id = transmit.id;
//!         let answer = send(transmit.method.as_str(), transmit.path, &transmit.headers, transmit.body);
//!         sent = true;
//!         match answer {
//!             Ok(response) => session.handle_response(id, &response, now()),
//!             Err(_) => session.handle_failure(id, now()),
//!         }
//!     }
//!     while let Some(event) = session.poll_event() {
//!         if let Event::LoginRejected(_) | Event::GaveUp(_) = event {
//!             return Err("no session");
//!         }
//!     }
//!     Ok(sent)
//! }
//!
//! let credentials = CurrencycloudCredentials::new(
//!     "development@example.com",
//!     "1f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544",
//! )?;
//! let mut session = Session::new(Currencycloud::default(), credentials);
//! let mut answer = None;
//! let mut replayed = false;
//! for _ in 0..20 {
//!     // The call goes as soon as the session authorizes it; if it cannot
//!     // yet, the session has queued what it needs (a login).
//!     let call_went = match session.authorize(Level::User, now()) {
//!         Ok(grant) => {
//!             let ticket = grant.ticket;
//!             let response = send("GET", "/v2/accounts/current", &grant.headers, b"")?;
//!             match session.handle_reply(ticket, &response, now()) {
//!                 Verdict::Ok => answer = Some(response),
//!                 // The token was refused: one login, then the call again.
//!                 Verdict::Replay if !replayed => replayed = true,
//!                 _ => return Err("the call failed".into()),
//!             }
//!             true
//!         }
//!         Err(NotReady::LoggingIn | NotReady::Backoff { .. }) => false,
//!         Err(_) => return Err("the call cannot go".into()),
//!     };
//!     let sent = drain(&mut session)?;
//!     if answer.is_some() {
//!         break;
//!     }
//!     // Nothing sent, no call ready: only time can change that.
//!     if !sent && !call_went {
//!         let at = session.poll_timeout().ok_or("the session waits for nothing")?;
//!         sleep_until(at);
//!         session.handle_timeout(now());
//!         drain(&mut session)?;
//!     }
//! }
//! assert_eq!(answer.map(|response| response.body), Some(&br#"{"id":"account"}"#[..]));
//! assert_eq!(session.generation(), 1, "one login");
//!
//! session.logout(now());
//! drain(&mut session)?;
//! assert_eq!(session.state(), SessionState::LoggedOut);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Secrets (keys, passwords, tokens, codes) live in buffers that are wiped
//! on drop and print as `[redacted]`; no error or event holds one.
#![no_std]

mod backoff;
mod call_rounds;
pub mod call_step_up;
mod challenge;
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

pub use call_rounds::{CallRounds, NextRound};
pub use call_step_up::{CallAnswer, CallStepUp, Validated};
pub use challenge::{CodePrompt, PromptReason};
pub use config::Config;
pub use error::{
    ApiError, CredentialError, CredentialProblem, Error, ErrorKind, FieldError, PaymentScaError,
    StepUpError, TokenProblem,
};
pub use event::{Event, ExpiryReason};
pub use grant::{Grant, Level, NotReady, Ticket, Verdict};
pub use json::Text;
pub use provider::{Channel, LoginStep, Provider, kit};
pub use response::{Response, ResponseParts};
pub use secret::{Buffer, SecretBuf};
pub use session::{
    PROVIDER_STATE_MAX, SCOPE_MAX, SNAPSHOT_VERSION, Session, SessionState, SnapshotError,
    StepUpRefused, StepUpState,
};
pub use time::Instant;
pub use transmit::{Header, HeaderValue, Headers, MAX_HEADERS, Method, RequestId, Transmit};
