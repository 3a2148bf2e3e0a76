//! The one error type of the client, and the typed parts it is made of.
//!
//! No variant holds a secret:
//!
//! - the provider's errors (`authsession_core::Error`) carry only what the
//!   server said about the failure, never a credential or a token;
//! - a transport error keeps ureq's error, or reqwest's without its URL,
//!   whose `Display` and `Debug` name no header value and no body (see
//!   [`TransportError`]);
//! - a configuration error names the rule that was broken, not the URL, the
//!   path or the header value that broke it: a refused base URL may hold a
//!   password, and a header value may be a token.
//!
//! Each variant's `Display` is one line that includes the message of the
//! error inside it (so that a log line or the command's error line says it
//! all); `source()` hands the same inner error to a program that walks the
//! chain or downcasts it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use authsession_core::{Level, StepUpRefused};

/// What can go wrong with a call through a [`Client`](crate::Client).
///
/// The configuration errors ([`Error::is_config`]) are the program's to
/// fix; the others are the API's answers or the network's failures.
///
/// The session's errors inside it are boxed: they hold the server's text
/// inline (the core has no heap), and every `Result` of a call would
/// otherwise carry their half a kilobyte. [`Error::api_error`] reaches the
/// API's answer through the box.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The request never got an answer: a timeout, a refused or dropped
    /// connection, TLS, an answer that breaks HTTP or is too large. Also
    /// what a call gets when the session's logins never got an answer and
    /// it stopped trying, or must wait longer than the call may before it
    /// tries again.
    Transport(TransportError),
    /// The API refused the credentials. The client does not try again by
    /// itself; give it new credentials or call
    /// [`Client::login`](crate::Client::login).
    Rejected(Box<authsession_core::Error>),
    /// Logins kept failing for passing reasons (statuses such as `503`,
    /// answers the session could not use) and the session stopped trying;
    /// the last failure is inside. Logins that got no answer at all end in
    /// [`Error::Transport`] instead.
    GaveUp(Box<authsession_core::Error>),
    /// The API asked us to slow down; try again after `retry_after`.
    RateLimited {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The call needs strong customer authentication first, and the client
    /// has no step-up callback.
    StepUpRequired,
    /// Step-up failed: a wrong code too often, an expired code, or the API
    /// wants a new login first. The API's answer is inside.
    StepUpFailed(Box<authsession_core::Error>),
    /// The user (or the program) declined to step up.
    StepUpDeclined,
    /// The session refused a step-up action before sending anything: a
    /// code the server already refused for this challenge, a challenge
    /// asked for too soon, a step-up raced by a new login.
    StepUpRefused(StepUpRefused),
    /// The call waited `waited` (for a login, a backoff, a step-up by
    /// another thread) and reached the client's `max_wait`. (A request
    /// that timed out on the wire is an [`Error::Transport`] of kind
    /// [`TransportErrorKind::Timeout`].)
    Timeout {
        /// How long it waited.
        waited: Duration,
    },
    /// The token was refused again right after a fresh login.
    TokenRefused,
    /// The caller of an async call with its own challenge (a payment with
    /// SCA) stopped waiting for it (its future was dropped) before the
    /// call went: it was not sent.
    Abandoned,
    /// The API answered with an error the session cannot fix.
    Api(Box<authsession_core::Error>),
    /// The base URL given to the builder is missing or not allowed.
    BaseUrl(BaseUrlError),
    /// A request's path or URL is not allowed: it would carry the token
    /// somewhere other than the API. Refused before anything is sent.
    Path(PathError),
    /// The method of a call is not an HTTP method.
    InvalidMethod {
        /// The method as given.
        method: String,
    },
    /// A form field's name is empty or holds a quote, CR or LF.
    InvalidFormField {
        /// The name as given.
        name: String,
    },
    /// A header name is not allowed in HTTP.
    InvalidHeaderName {
        /// The name as given.
        name: String,
    },
    /// The value of a header (the session's, or the caller's) holds bytes
    /// not allowed in HTTP. The value is not kept: it may be a token.
    InvalidHeaderValue {
        /// The header's name.
        name: String,
    },
    /// The provider cannot authorize calls at this level (Currencycloud
    /// has no step-up, for one).
    UnsupportedLevel {
        /// The provider's name.
        provider: &'static str,
        /// The level asked for.
        level: Level,
    },
    /// A request that cannot be built for another reason (rare: the
    /// message is the `http` crate's, which names no header value).
    Config(String),
    /// The session store failed (feature `store`): it is away, or holds
    /// what cannot be read. Calls go on without it where they can; this is
    /// what an operation on the store itself reports.
    #[cfg(feature = "store")]
    Store(std::sync::Arc<crate::store::StoreError>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Transport(error) => write!(f, "no answer from the API: {error}"),
            Error::Rejected(error) => write!(f, "login refused: {error}"),
            Error::GaveUp(error) => write!(f, "gave up logging in: {error}"),
            Error::RateLimited { retry_after } => write!(
                f,
                "rate limited by the API: retry in {:.1} s",
                retry_after.as_secs_f64()
            ),
            Error::StepUpRequired => f.write_str("the call needs strong customer authentication"),
            Error::StepUpFailed(error) => write!(f, "step-up failed: {error}"),
            Error::StepUpDeclined => f.write_str("step-up was declined"),
            Error::Abandoned => f.write_str("the call was abandoned before it was sent"),
            Error::StepUpRefused(refused) => {
                write!(f, "step-up refused by the session: {refused:?}")
            }
            Error::Timeout { waited } => {
                write!(f, "no session after waiting {:.1} s", waited.as_secs_f64())
            }
            Error::TokenRefused => f.write_str("the token was refused again after a new login"),
            Error::Api(error) => write!(f, "API error: {error}"),
            Error::BaseUrl(error) => write!(f, "bad base URL: {error}"),
            Error::Path(error) => write!(f, "bad request target: {error}"),
            Error::InvalidMethod { method } => write!(f, "{method:?} is not an HTTP method"),
            Error::InvalidFormField { name } => write!(f, "invalid form field name {name:?}"),
            Error::InvalidHeaderName { name } => write!(f, "invalid header name {name:?}"),
            Error::InvalidHeaderValue { name } => {
                write!(f, "the value of header {name} is not allowed in HTTP")
            }
            Error::UnsupportedLevel { provider, level } => {
                write!(f, "{provider} cannot authorize calls at level {level:?}")
            }
            Error::Config(message) => write!(f, "bad configuration: {message}"),
            #[cfg(feature = "store")]
            Error::Store(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(error) => std::error::Error::source(error),
            Error::Rejected(error)
            | Error::GaveUp(error)
            | Error::StepUpFailed(error)
            | Error::Api(error) => Some(&**error),
            #[cfg(feature = "store")]
            Error::Store(error) => Some(error.as_ref()),
            // `StepUpRefused` is a reason, not an error type; the
            // configuration errors are the whole story.
            _ => None,
        }
    }
}

impl Error {
    /// The HTTP status of the API's answer behind this error, if any.
    pub fn status(&self) -> Option<u16> {
        match self.core_error()? {
            authsession_core::Error::Api(api) => Some(api.status),
            authsession_core::Error::Malformed { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API's error code behind this error (`auth_failed`), if any.
    pub fn api_code(&self) -> Option<&str> {
        self.api_error()
            .map(|api| api.code.as_str())
            .filter(|code| !code.is_empty())
    }

    /// The API's answer behind this error (its status, code, message and
    /// request id), if it is one: a refused login, a failed step-up, or a
    /// call the session judged fatal.
    pub fn api_error(&self) -> Option<&authsession_core::ApiError> {
        match self.core_error()? {
            authsession_core::Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The session's error inside this one, if any.
    fn core_error(&self) -> Option<&authsession_core::Error> {
        match self {
            Error::Rejected(error)
            | Error::GaveUp(error)
            | Error::StepUpFailed(error)
            | Error::Api(error) => Some(error),
            _ => None,
        }
    }

    /// Whether the client or the call is set up wrongly (a base URL, a
    /// path, a method, a header, a level): the program's to fix, not the
    /// API's or the network's.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            Error::BaseUrl(_)
                | Error::Path(_)
                | Error::InvalidMethod { .. }
                | Error::InvalidFormField { .. }
                | Error::InvalidHeaderName { .. }
                | Error::InvalidHeaderValue { .. }
                | Error::UnsupportedLevel { .. }
                | Error::Config(_)
        )
    }

    /// Whether time ran out: the call's `max_wait`, or a request's timeout
    /// on the wire.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Transport(error) => error.kind() == TransportErrorKind::Timeout,
            _ => false,
        }
    }

    /// The transport error behind this error, if it is one.
    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            Error::Transport(error) => Some(error),
            _ => None,
        }
    }

    /// A request that the `http` crate could not build: a bad method or
    /// URI is typed, the rest is [`Error::Config`]. No `http::Error` names
    /// a header value.
    pub(crate) fn from_http(error: &http::Error, method: &str) -> Self {
        if error.is::<http::method::InvalidMethod>() {
            Error::InvalidMethod {
                method: method.to_owned(),
            }
        } else if error.is::<http::uri::InvalidUri>() || error.is::<http::uri::InvalidUriParts>() {
            Error::Path(PathError::Invalid)
        } else {
            Error::Config(error.to_string())
        }
    }
}

/// Why a base URL was refused. The URL itself is not repeated: it may
/// hold a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BaseUrlError {
    /// No base URL was given to the builder.
    Missing,
    /// Not an absolute URL (`https://host[:port][/path]`).
    Invalid,
    /// Credentials (`user:password@`) in the URL: they would travel with
    /// every request and show in every log of the URL.
    Credentials,
    /// A scheme other than `https://` (or `http://` to this machine).
    NotHttps,
    /// Plain `http://` to a host other than this machine: only a loopback
    /// address (`localhost`, `127.0.0.0/8`, `::1`) may be spoken to
    /// without TLS.
    PlainHttpNotLoopback,
    /// A query (`?...`): the base URL is an origin and a path only.
    Query,
}

impl fmt::Display for BaseUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BaseUrlError::Missing => "no base URL given",
            BaseUrlError::Invalid => "not an absolute URL",
            BaseUrlError::Credentials => "the base URL must not hold credentials",
            BaseUrlError::NotHttps => "only https:// is allowed, or http:// to a loopback address",
            BaseUrlError::PlainHttpNotLoopback => {
                "http:// is allowed to a loopback address only: use https://"
            }
            BaseUrlError::Query => "the base URL must not have a query",
        })
    }
}

/// Why a request's target (a path, or an absolute URL) was refused. The
/// target is not repeated: an absolute URL may hold a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathError {
    /// Neither a path (`/...`) nor an absolute URL.
    Invalid,
    /// An absolute URL (or `//host/...`) of another origin than the base
    /// URL's: the token goes nowhere else.
    OtherOrigin,
    /// Its `..` segments climb out of the base URL's path: the token must
    /// not reach another application on the same host.
    ClimbsOut,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::Invalid => "not a path under the base URL or a URL of its origin",
            PathError::OtherOrigin => "not on the API's origin; the token goes nowhere else",
            PathError::ClimbsOut => "it climbs out of the API's base path",
        })
    }
}

/// What kind of failure kept a request from its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// A timeout elapsed: connecting, or waiting for the answer.
    Timeout,
    /// No connection could be made: refused, unreachable, the host name
    /// not found, a proxy that would not connect.
    Connect,
    /// TLS failed: the handshake, the server's certificate, a corrupt
    /// record.
    Tls,
    /// The answer broke HTTP/1.1.
    Protocol,
    /// The answer's body (or head) is larger than the client reads.
    TooLarge,
    /// The connection failed midway: reset, closed before the answer was
    /// whole.
    Io,
    /// Anything else.
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Tls => "TLS failed",
            TransportErrorKind::Protocol => "the answer is not valid HTTP",
            TransportErrorKind::TooLarge => "the answer is too large",
            TransportErrorKind::Io => "the connection failed",
            TransportErrorKind::Other => "the request failed",
        })
    }
}

/// A request that never got its answer: what kind of failure, after how
/// long, and the HTTP client's error (its
/// [`source`](std::error::Error::source)): ureq's for the blocking client,
/// reqwest's for the async one (feature `tokio`), stripped of its URL.
///
/// reqwest's error holds the URL (which `without_url` removes), the kind
/// of failure and the error beneath it (hyper's, the OS's, rustls'): no
/// header value and no body.
///
/// ureq's error holds no secret, by reading ureq 3's `Error` and
/// ureq-proto's: `Display` and the derived `Debug` hold fixed texts,
/// numbers (statuses, sizes, limits), the kind of timeout, `io::Error`s
/// (the OS's message, or ureq's own fixed texts), rustls' errors (alerts,
/// certificate problems), the `http` crate's errors (which name the kind
/// of problem, never the offending header value), `httparse`'s (likewise),
/// and for a few variants a URI (`BadUri`, `RequireHttpsOnly`) or a
/// redirect's `Location` (`BadLocationHeader`, only when redirects are
/// followed, which this client never does). No variant holds a header
/// value or a body. A URI holds no secret here: base URLs with credentials
/// are refused (`origin.rs`), a request goes only to the base URL's own
/// origin, and the APIs' paths carry no credential (logins send theirs in
/// the body or in headers). A proxy's credentials (from `ALL_PROXY` and
/// the like) travel in a header ureq writes itself and are in no error.
#[derive(Debug, Clone)]
pub struct TransportError {
    kind: TransportErrorKind,
    elapsed: Duration,
    // Shared, so that the error is `Clone` (ureq's and reqwest's are not)
    // and can be handed to every thread that waited for the same login.
    source: Arc<dyn std::error::Error + Send + Sync>,
}

impl TransportError {
    /// A failure of `kind` after `elapsed`, as the HTTP client told it
    /// (`source`).
    pub(crate) fn new(
        kind: TransportErrorKind,
        elapsed: Duration,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        TransportError {
            kind,
            elapsed,
            source: Arc::new(source),
        }
    }

    /// What kind of failure it was.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// How long the exchange had gone on when it failed: for a timeout,
    /// how long the client waited.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// ureq's error, for the blocking client's failures (also the
    /// [`source`](std::error::Error::source)). Feature `blocking`.
    #[cfg(feature = "blocking")]
    pub fn ureq_error(&self) -> Option<&ureq::Error> {
        self.source.downcast_ref()
    }

    /// reqwest's error (without its URL), for the async client's failures
    /// (also the [`source`](std::error::Error::source)). Feature `tokio`.
    #[cfg(feature = "tokio")]
    pub fn reqwest_error(&self) -> Option<&reqwest::Error> {
        self.source.downcast_ref()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TransportErrorKind::Timeout => write!(
                f,
                "timed out after {:.1} s ({})",
                self.elapsed.as_secs_f64(),
                self.source
            ),
            kind => write!(f, "{kind} ({})", self.source),
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_are_told_apart_from_the_apis() {
        assert!(Error::BaseUrl(BaseUrlError::Missing).is_config());
        assert!(Error::Path(PathError::OtherOrigin).is_config());
        assert!(!Error::TokenRefused.is_config());
        assert!(
            !Error::Timeout {
                waited: Duration::ZERO
            }
            .is_config()
        );
    }

    #[test]
    fn an_error_is_small_enough_to_move_cheaply() {
        // Every call's `Result` is moved through several futures' states.
        assert!(std::mem::size_of::<Error>() <= 64);
    }

    #[test]
    fn the_apis_answer_is_reached_through_the_box() {
        let api = authsession_core::ApiError::status(403);
        let error = Error::Rejected(Box::new(authsession_core::Error::Api(api)));
        assert_eq!(error.api_error().map(|api| api.status), Some(403));
        assert_eq!(error.status(), Some(403));
        assert!(std::error::Error::source(&error).is_some());
        assert_eq!(Error::TokenRefused.api_error(), None);
    }
}
