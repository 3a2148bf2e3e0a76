//! The errors of the core. None of them holds a secret: credential problems
//! name the field and the rule, never the value, and server errors hold only
//! what the server said about the request.

use core::fmt;

use crate::json::Text;

/// Everything that can go wrong in a session.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error; its status, request id, code and
    /// messages are kept for the caller and for the vendor's support.
    Api(ApiError),
    /// The credentials were refused before anything was sent.
    InvalidCredentials(CredentialError),
    /// A response the provider could not read (`what` names it).
    Malformed {
        /// Which part of which response.
        what: &'static str,
        /// The HTTP status of that response.
        status: u16,
    },
    /// A fixed-size buffer was too small for what it had to hold. Nothing is
    /// ever cut short: the operation fails instead.
    Overflow {
        /// Which buffer.
        what: &'static str,
        /// How many bytes (or entries) it holds at most.
        capacity: usize,
    },
    /// A value the server sent, which would go into a request header,
    /// contains a control character or a non-ASCII byte.
    InvalidHeaderValue {
        /// Which value.
        what: &'static str,
    },
    /// The caller reported that the request never got an answer.
    Transport,
    /// The provider does not offer this (for instance step-up on an API
    /// without strong customer authentication).
    Unsupported {
        /// What was asked for.
        what: &'static str,
    },
    /// A token that is not a JWT we can read.
    InvalidJwt(crate::jwt::JwtError),
    /// The user has several identities and none was configured.
    AmbiguousIdentity {
        /// How many the API listed.
        count: u32,
    },
    /// A login succeeded but the token it gave cannot be used. The session
    /// does not log in again by itself: the server gave a live session it
    /// would give again (only [`Session::login`](crate::Session::login) or
    /// new credentials try once more).
    UnusableToken(TokenProblem),
    /// A login succeeded but its token lapsed before it could serve a call
    /// (a lifetime shorter than the login's round trip, an `exp` equal to
    /// its `iat`): a failed attempt, retried with backoff.
    TokenLapsedOnArrival,
    /// Another process sharing the session's store saw these credentials
    /// refused; no login is sent until they change or an operator clears
    /// the mark.
    RefusedByFleet,
    /// One of the session's own requests got no answer within
    /// [`Config::request_timeout`](crate::Config::request_timeout).
    Timeout,
}

/// What is wrong with a token a successful login gave. None of them
/// quotes the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenProblem {
    /// The token is empty.
    Empty,
    /// The token is longer than the buffer the provider keeps it in.
    TooLong {
        /// The most bytes the buffer holds.
        capacity: usize,
    },
    /// The token holds a space, a control character (NUL, CR, LF) or a
    /// byte that is not visible ASCII: it cannot travel in a header.
    NotHeaderSafe,
    /// The token was written with JSON escapes, which no header-safe token
    /// needs.
    Escaped,
    /// The API gives JWTs and this is not one.
    NotJwt(crate::jwt::JwtError),
}

impl fmt::Display for TokenProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenProblem::Empty => f.write_str("it is empty"),
            TokenProblem::TooLong { capacity } => {
                write!(f, "it is longer than its buffer of {capacity} bytes")
            }
            TokenProblem::NotHeaderSafe => {
                f.write_str("it holds a character not allowed in a header")
            }
            TokenProblem::Escaped => f.write_str("it is written with JSON escapes"),
            TokenProblem::NotJwt(problem) => write!(f, "it is not a JWT: {problem}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(api) => fmt::Display::fmt(api, f),
            Error::InvalidCredentials(problem) => write!(f, "invalid credentials: {problem}"),
            Error::Malformed { what, status } => {
                write!(f, "could not read the {what} (HTTP {status})")
            }
            Error::Overflow { what, capacity } => {
                write!(f, "the {what} does not fit its buffer of {capacity}")
            }
            Error::InvalidHeaderValue { what } => {
                write!(f, "the {what} contains a character not allowed in a header")
            }
            Error::Transport => f.write_str("the request got no answer"),
            Error::Unsupported { what } => write!(f, "{what} is not supported by this API"),
            Error::InvalidJwt(problem) => fmt::Display::fmt(problem, f),
            Error::AmbiguousIdentity { count } => write!(
                f,
                "the user has {count} identities: configure which one to use"
            ),
            Error::UnusableToken(problem) => {
                write!(f, "the login gave a token that cannot be used: {problem}")
            }
            Error::TokenLapsedOnArrival => {
                f.write_str("the login gave a token that lapsed before it could be used")
            }
            Error::Timeout => f.write_str("the request got no answer in time"),
            Error::RefusedByFleet => f.write_str(
                "another process of the fleet saw these credentials refused; change them or clear the mark",
            ),
        }
    }
}

impl core::error::Error for Error {}

impl From<ApiError> for Error {
    fn from(error: ApiError) -> Self {
        Error::Api(error)
    }
}

impl From<CredentialError> for Error {
    fn from(error: CredentialError) -> Self {
        Error::InvalidCredentials(error)
    }
}

/// An error answer of the server, in a shape common to the three APIs.
///
/// `code` is the API's machine-readable code (`auth_failed`,
/// `STEP_UP_REQUIRED`, `AuthenticationError`), `message` its sentence for
/// people, `field` the first per-field problem of a refused request body
/// (and `field_count` how many there were). It is kept small (it travels
/// in events and results by value): the API's sentences about single
/// fields and their parameters are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The request id the server gave the response (`X-Request-Id`,
    /// `request-ref`); empty if none. Vendors' support asks for it.
    pub request_id: Text<64>,
    /// The API's error code; empty if the body had none.
    pub code: Text<64>,
    /// The API's message; empty if the body had none.
    pub message: Text<160>,
    /// The first problem the server reported with a single field of the
    /// request, if any (the one to fix first).
    pub field: Option<FieldError>,
    /// How many field problems the server reported, the first included.
    pub field_count: u16,
    /// What the refusal means, where the API says more than a status.
    pub kind: ErrorKind,
    /// A finer reason the API gives beside its code (the access-key API's
    /// `details.reason`, such as `AccessKeyUnauthorized`); empty if none.
    pub reason: Text<64>,
}

/// What an API error means beyond its status, where the API tells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Nothing more than the status and code.
    #[default]
    Other,
    /// The password has expired and must be changed before logging in
    /// (the temporary token the API gives for that is not kept).
    PasswordExpired,
    /// The user is locked out after failed logins; logins fail until
    /// `retry_after` has passed.
    Locked {
        /// How long the lock lasts (Weavr: 30 minutes).
        retry_after: core::time::Duration,
    },
    /// A step-up request was refused.
    StepUp(StepUpError),
    /// A payment's strong customer authentication failed or is missing
    /// (Currencycloud's `401` `sca_required`, `x-sca-token`, and the `400`s
    /// of a create that does not match its challenge): about the payment,
    /// never about the session's token.
    PaymentSca(PaymentScaError),
}

/// Why a payment's strong customer authentication failed (Currencycloud's
/// `sca_check_failed` family).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaymentScaError {
    /// `sca_required`: the payment needs a challenge and came without one.
    Required,
    /// `x-sca-token`: the code is wrong; the challenge stands.
    CodeRefused,
    /// `x-sca-token has expired`: the challenge is over; validate again
    /// for a new code.
    CodeExpired,
    /// The challenge's code was already used for a payment.
    CodeUsed,
    /// Too many wrong codes for the challenge (five): it is over.
    TooManyAttempts,
    /// `invalid_request_body`: the payment differs from the one validated.
    BodyChanged,
    /// `invalid_x_sca_id`, `missing_x_sca_token`, `invalid_extra_x_sca_id`:
    /// the challenge's headers are missing or wrong.
    BadChallenge,
    /// Another refusal that speaks of SCA.
    Other,
}

/// Why a step-up request was refused (Weavr's `409` codes and the rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepUpError {
    /// `RETRY_IN_15SEC`: a new code only 15 s after the last.
    RetryIn15Sec,
    /// `CHALLENGE_LIMIT_EXCEEDED`: no more challenges; log in again.
    ChallengeLimitExceeded,
    /// `VERIFICATION_CODE_INVALID`: wrong code; the user may try again.
    VerificationCodeInvalid,
    /// `VERIFICATION_CODE_EXPIRED`: the code is older than 5 minutes.
    VerificationCodeExpired,
    /// `ONE_CHALLENGE_LIMIT_REMAINING`: one more challenge is allowed.
    OneChallengeLimitRemaining,
    /// `STATE_INVALID`: no challenge to verify.
    StateInvalid,
    /// `ALREADY_VERIFIED`: the token is already stepped up.
    AlreadyVerified,
    /// `CHANNEL_NOT_REGISTERED`: the user has no such device.
    ChannelNotRegistered,
    /// `CHANNEL_NOT_SUPPORTED`: the API does not offer the channel.
    ChannelNotSupported,
    /// `400 INVALID_REQUEST` after two resends: log in again.
    ResendLimit,
    /// The user declined the push challenge.
    Declined,
    /// Another refusal.
    Other,
}

impl ApiError {
    /// Counts a problem with a single field, keeping it if it is the first.
    pub fn add_field(&mut self, field: FieldError) {
        if self.field.is_none() {
            self.field = Some(field);
        }
        self.field_count = self.field_count.saturating_add(1);
    }

    /// An error with only a status (a body that carried nothing more).
    pub fn status(status: u16) -> Self {
        ApiError {
            status,
            ..ApiError::default()
        }
    }

    /// An error with the status of `response` and the request id from its
    /// header `request_id_header`, or the error that id causes (not text,
    /// or longer than 64 bytes).
    pub fn with_request_id<R: crate::Response + ?Sized>(
        status: u16,
        response: &R,
        request_id_header: &'static str,
    ) -> Result<Self, Error> {
        let mut error = ApiError::status(status);
        if let Some(id) = response.header(request_id_header) {
            let id = core::str::from_utf8(id).map_err(|_| Error::Malformed {
                what: request_id_header,
                status,
            })?;
            error.request_id = Text::new(id).map_err(|_| Error::Overflow {
                what: request_id_header,
                capacity: 64,
            })?;
        }
        Ok(error)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if !self.reason.is_empty() {
            write!(f, " ({})", self.reason)?;
        }
        if let Some(field) = &self.field {
            write!(f, " ({}: {}", field.field, field.code)?;
            match self.field_count.saturating_sub(1) {
                0 => f.write_str(")")?,
                more => write!(f, ", and {more} more)")?,
            }
        }
        if !self.request_id.is_empty() {
            write!(f, " [request id {}]", self.request_id)?;
        }
        Ok(())
    }
}

/// A problem with one field of a request, as the server reported it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldError {
    /// The field's name as the API spells it (`login_id`, `email`).
    pub field: Text<32>,
    /// The API's code for the problem (`login_id_is_required`, `REQUIRED`).
    pub code: Text<64>,
}

impl FieldError {
    /// The problem `code` with the field `field`.
    pub const fn new(field: Text<32>, code: Text<64>) -> Self {
        FieldError { field, code }
    }
}

/// Credentials refused before anything was sent, so that a typo never
/// costs one of the few failed logins an account is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialError {
    /// The field, as the API names it (`login_id`, `api_key`).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: CredentialProblem,
}

/// What is wrong with a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialProblem {
    /// It is empty.
    Missing,
    /// It is shorter than the API allows.
    TooShort {
        /// The fewest characters allowed.
        min: usize,
    },
    /// It is longer than the API (or its buffer) allows.
    TooLong {
        /// The most characters allowed.
        max: usize,
    },
    /// It must be exactly this many characters long.
    WrongLength {
        /// The length required.
        expected: usize,
    },
    /// It must be lowercase hexadecimal.
    NotLowercaseHex,
    /// It contains a control character, which cannot travel in a request.
    ControlCharacter,
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field;
        match self.problem {
            CredentialProblem::Missing => write!(f, "{field} is missing"),
            CredentialProblem::TooShort { min } => {
                write!(f, "{field} is too short (at least {min} characters)")
            }
            CredentialProblem::TooLong { max } => {
                write!(f, "{field} is too long (at most {max} characters)")
            }
            CredentialProblem::WrongLength { expected } => {
                write!(f, "{field} must be {expected} characters long")
            }
            CredentialProblem::NotLowercaseHex => {
                write!(f, "{field} must be lowercase hexadecimal")
            }
            CredentialProblem::ControlCharacter => {
                write!(f, "{field} contains a control character")
            }
        }
    }
}

impl core::error::Error for CredentialError {}
