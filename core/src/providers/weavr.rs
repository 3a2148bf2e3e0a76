//! Weavr Multi API: an `api-key` on every request, a password login that
//! yields an auth token, its exchange for an access token of one identity,
//! a 5-minute idle timeout, and step-up (SCA) of the same token by SMS code
//! or push. See `shared/PROVIDERS.md`, section 2.

use core::fmt;
use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{CredentialError, CredentialProblem, Error, ErrorKind, FieldError, StepUpError};
use crate::grant::Level;
use crate::json::{self, FirstOf, RawStr, Text};
use crate::kit::{
    checked_credential, error_body, is_passing, store_json_token, unreadable_success,
};
use crate::provider::{
    AfterStepUpFailure, Channel, Classification, LoginOutcome, LoginStep, NewToken, Provider,
    RequestSecrets, RetryHint, SessionRequest, StepUpOutcome, is_header_safe,
};
use crate::response::{Response, is_success, retry_after};
use crate::secret::SecretBuf;
use crate::transmit::{HeaderValue, Headers, Method, RequestHead};

/// The password login: step 0.
pub const LOGIN_PATH: &str = "/login_with_password";
/// The list of the user's identities: step 1, when none was configured.
pub const IDENTITIES_PATH: &str = "/identities";
/// The exchange of the auth token for an access token: the last step.
pub const ACCESS_TOKEN_PATH: &str = "/access_token";
/// The logout.
pub const LOGOUT_PATH: &str = "/logout";
/// The longest API key kept.
pub const API_KEY_CAPACITY: usize = 128;
/// The longest e-mail address (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// The longest password kept.
pub const PASSWORD_MAX: usize = 128;
/// The token buffer: access tokens are JWTs of a few hundred bytes.
pub const TOKEN_CAPACITY: usize = 2048;
/// The request body buffer: the login with the longest e-mail and
/// password, every character escaped.
pub const BODY_CAPACITY: usize = 1024;

const LOGIN_STEP: LoginStep = LoginStep(0);
const IDENTITIES_STEP: LoginStep = LoginStep(1);
const EXCHANGE_STEP: LoginStep = LoginStep(2);
const JSON: &str = "application/json";
/// How long Weavr locks a user after consecutive failed logins.
const LOCK_DURATION: Duration = Duration::from_secs(30 * 60);

/// The kind of an identity: a company or a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum IdentityType {
    /// A corporate identity.
    Corporate,
    /// A consumer identity.
    Consumer,
}

impl<'de> Deserialize<'de> for IdentityType {
    /// Read as text and matched here: serde's own refusal of an unknown
    /// variant quotes it, which serde-json-core cannot report without
    /// panicking (see `json.rs`).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Text::<16>::deserialize(deserializer)?.as_str() {
            "CORPORATE" => Ok(IdentityType::Corporate),
            "CONSUMER" => Ok(IdentityType::Consumer),
            _ => Err(serde::de::Error::custom("unknown identity type")),
        }
    }
}

/// An identity a user acts for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    /// Its kind.
    #[serde(rename = "type")]
    pub kind: IdentityType,
    /// Its id.
    pub id: Text<64>,
}

/// The Weavr Multi API.
///
/// ```
/// use authsession_core::providers::weavr::{IdentityType, Weavr, WeavrCredentials};
/// use authsession_core::{Instant, Session};
///
/// let credentials = WeavrCredentials::new("account-api-key", "ada@example.com", "s3cret!")?;
/// let provider = Weavr::default().with_identity(IdentityType::Corporate, "109876")?;
/// let mut session = Session::new(provider, credentials);
/// session.login(Instant::ZERO);
/// let login = session.poll_transmit().unwrap();
/// assert_eq!(login.path, "/login_with_password");
/// assert!(login.headers.get("api-key").is_some());
/// # Ok::<(), authsession_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weavr {
    idle_timeout: Duration,
    resend_interval: Duration,
    /// The identity the caller chose, if any.
    configured: Option<Identity>,
    /// The identity of the login in progress or of the current token.
    chosen: Option<Identity>,
}

impl Default for Weavr {
    fn default() -> Self {
        Weavr {
            idle_timeout: Self::IDLE_TIMEOUT,
            resend_interval: Self::RESEND_INTERVAL,
            configured: None,
            chosen: None,
        }
    }
}

impl Weavr {
    /// The API's idle timeout: 5 minutes.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
    /// The least time between two step-up challenges: 15 seconds.
    pub const RESEND_INTERVAL: Duration = Duration::from_secs(15);

    /// The same provider acting for the identity `kind`/`id`, which a user
    /// with several identities must choose.
    pub fn with_identity(mut self, kind: IdentityType, id: &str) -> Result<Self, Error> {
        self.configured = Some(Identity {
            kind,
            id: Text::new(id)?,
        });
        Ok(self)
    }

    /// The same provider with other timers (for a sandbox with short ones).
    #[must_use]
    pub const fn with_timers(mut self, idle_timeout: Duration, resend_interval: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self.resend_interval = resend_interval;
        self
    }

    /// The identity the current token acts for, once logged in.
    pub fn identity(&self) -> Option<&Identity> {
        self.chosen.as_ref()
    }
}

/// A Weavr account's API key and a user's e-mail and password.
#[derive(Clone)]
pub struct WeavrCredentials {
    api_key: SecretBuf<API_KEY_CAPACITY>,
    email: SecretBuf<EMAIL_MAX>,
    password: SecretBuf<PASSWORD_MAX>,
}

impl WeavrCredentials {
    /// Checks and keeps the credentials: none empty, none too long, the key
    /// fit for a header, no control characters anywhere.
    pub fn new(api_key: &str, email: &str, password: &str) -> Result<Self, CredentialError> {
        Ok(WeavrCredentials {
            api_key: checked("api_key", api_key)?,
            email: checked("email", email)?,
            password: checked("password", password)?,
        })
    }
}

/// A Weavr credential; the key also travels in a header, so it must be
/// header-safe.
fn checked<const N: usize>(
    field: &'static str,
    value: &str,
) -> Result<SecretBuf<N>, CredentialError> {
    let kept = checked_credential(field, value)?;
    if field == "api_key" && !is_header_safe(value.as_bytes()) {
        return Err(CredentialError {
            field,
            problem: CredentialProblem::ControlCharacter,
        });
    }
    Ok(kept)
}

impl fmt::Debug for WeavrCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::kit::redacted(f, "WeavrCredentials")
    }
}

impl Provider for Weavr {
    type Credentials = WeavrCredentials;
    type Token = SecretBuf<TOKEN_CAPACITY>;
    type Body = SecretBuf<BODY_CAPACITY>;

    const NAME: &'static str = "Weavr";

    fn idle_timeout(&self) -> Option<Duration> {
        Some(self.idle_timeout)
    }

    fn supports_step_up(&self) -> bool {
        true
    }

    fn step_up_resend_interval(&self) -> Duration {
        self.resend_interval
    }

    fn describe<'a>(
        &'a self,
        request: SessionRequest,
        secrets: RequestSecrets<'a, WeavrCredentials, Self::Token>,
        body: &mut Self::Body,
    ) -> Result<RequestHead<'a>, Error> {
        #[derive(Serialize)]
        struct Password<'a> {
            value: &'a str,
        }
        #[derive(Serialize)]
        struct Login<'a> {
            email: &'a str,
            password: Password<'a>,
        }
        #[derive(Serialize)]
        struct Exchange<'a> {
            identity: &'a Identity,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Verify<'a> {
            verification_code: &'a str,
        }

        let credentials = secrets.credentials;
        let (method, path) = match request {
            SessionRequest::Login(LOGIN_STEP) => {
                let login = Login {
                    email: credentials.email.as_str(),
                    password: Password {
                        value: credentials.password.as_str(),
                    },
                };
                json::write(&login, body, "login body")?;
                (Method::Post, LOGIN_PATH)
            }
            SessionRequest::Login(IDENTITIES_STEP) => (Method::Get, IDENTITIES_PATH),
            SessionRequest::Login(EXCHANGE_STEP) => {
                let identity = self
                    .chosen
                    .as_ref()
                    .ok_or(Error::AmbiguousIdentity { count: 0 })?;
                json::write(&Exchange { identity }, body, "access token body")?;
                (Method::Post, ACCESS_TOKEN_PATH)
            }
            SessionRequest::StartStepUp(channel) => (Method::Post, challenge_path(channel)),
            SessionRequest::VerifyCode(channel) => {
                let path = verify_path(channel)?;
                let verify = Verify {
                    verification_code: secrets.one_time_code,
                };
                json::write(&verify, body, "verification body")?;
                (Method::Post, path)
            }
            SessionRequest::Logout => (Method::Post, LOGOUT_PATH),
            SessionRequest::Login(_) => {
                return Err(Error::Unsupported {
                    what: "this login step",
                });
            }
        };
        let mut head = RequestHead::new(method, path);
        head.headers.push(
            "api-key",
            HeaderValue::secret("", credentials.api_key.as_str()),
        )?;
        // The login is the one request made before there is a token.
        if request != SessionRequest::Login(LOGIN_STEP) {
            head.headers.push(
                "Authorization",
                HeaderValue::secret("Bearer ", secrets.token.as_str()),
            )?;
        }
        if !body.as_bytes().is_empty() {
            head.headers
                .push("Content-Type", HeaderValue::plain(JSON))?;
        }
        Ok(head)
    }

    fn login_identity<'a>(&self, credentials: &'a WeavrCredentials) -> &'a str {
        credentials.email.as_str()
    }

    fn feed_credentials(&self, credentials: &WeavrCredentials, feed: &mut dyn FnMut(&[u8])) {
        feed(credentials.api_key.as_bytes());
        feed(credentials.email.as_bytes());
        feed(credentials.password.as_bytes());
    }

    fn read_login<R: Response + ?Sized>(
        &mut self,
        step: LoginStep,
        response: &R,
        token: &mut Self::Token,
    ) -> LoginOutcome {
        let status = response.status();
        if !is_success(status) {
            return login_failure(response);
        }
        let read = match step {
            LOGIN_STEP => self.read_password_login(response, token),
            IDENTITIES_STEP => self.read_identities(response),
            _ => read_access_token(response, token),
        };
        read.unwrap_or_else(unreadable_success)
    }

    /// The identity the token acts for: a kind byte (`C`orporate or
    /// co`N`sumer) and the id.
    fn save_state(&self, out: &mut [u8]) -> Result<usize, Error> {
        let Some(identity) = &self.chosen else {
            return Ok(0);
        };
        let kind = match identity.kind {
            IdentityType::Corporate => b'C',
            IdentityType::Consumer => b'N',
        };
        let id = identity.id.as_bytes();
        let len = 1 + id.len();
        let capacity = out.len();
        let slot = out.get_mut(..len).ok_or(Error::Overflow {
            what: "provider state",
            capacity,
        })?;
        let (first, rest) = slot.split_at_mut(1);
        first.copy_from_slice(&[kind]);
        rest.copy_from_slice(id);
        Ok(len)
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<(), Error> {
        let Some((&kind, id)) = state.split_first() else {
            self.chosen = None;
            return Ok(());
        };
        let malformed = Error::Malformed {
            what: "provider state",
            status: 0,
        };
        let kind = match kind {
            b'C' => IdentityType::Corporate,
            b'N' => IdentityType::Consumer,
            _ => return Err(malformed),
        };
        let id = core::str::from_utf8(id).map_err(|_| malformed)?;
        self.chosen = Some(Identity {
            kind,
            id: Text::new(id)?,
        });
        Ok(())
    }

    fn call_headers<'a>(
        &'a self,
        level: Level,
        credentials: &'a WeavrCredentials,
        token: &'a Self::Token,
        headers: &mut Headers<'a>,
    ) -> Result<(), Error> {
        headers.push(
            "api-key",
            HeaderValue::secret("", credentials.api_key.as_str()),
        )?;
        if level != Level::Account {
            headers.push(
                "Authorization",
                HeaderValue::secret("Bearer ", token.as_str()),
            )?;
        }
        Ok(())
    }

    fn classify<R: Response + ?Sized>(&self, level: Level, response: &R) -> Classification {
        match response.status() {
            // Without a token, a 401 can only mean the account's key.
            401 if level == Level::Account => Classification::Fatal(error_of(response)),
            401 => Classification::TokenRefused,
            403 if forbidden_code(response).as_deref() == Some("STEP_UP_REQUIRED") => {
                Classification::StepUpRequired
            }
            429 => Classification::RateLimited(retry_after(response)),
            _ => Classification::Fine,
        }
    }

    fn read_step_up<R: Response + ?Sized>(
        &mut self,
        request: SessionRequest,
        response: &R,
    ) -> StepUpOutcome {
        let status = response.status();
        match (request, status) {
            (SessionRequest::StartStepUp(channel), 200 | 204) if channel.is_push() => {
                StepUpOutcome::AwaitingApproval
            }
            (SessionRequest::StartStepUp(_), 200 | 204) => StepUpOutcome::CodeSent,
            (SessionRequest::VerifyCode(_), 200 | 204) => StepUpOutcome::SteppedUp,
            _ => step_up_failure(response, self.resend_interval),
        }
    }
}

impl Weavr {
    fn read_password_login<R: Response + ?Sized>(
        &mut self,
        response: &R,
        token: &mut SecretBuf<TOKEN_CAPACITY>,
    ) -> Result<LoginOutcome, Error> {
        #[derive(Deserialize)]
        struct LoginBody<'a> {
            #[serde(borrow)]
            token: RawStr<'a>,
            identity: Option<Identity>,
        }
        let body: LoginBody<'_> =
            json::parse(response.body(), "login response", response.status())?;
        store_json_token(body.token, token)?;
        self.chosen = self.configured.clone();
        if self.chosen.is_some() {
            return Ok(LoginOutcome::Next(EXCHANGE_STEP));
        }
        // Without a configured identity, ask which the user has: with one,
        // that one; with several, the caller must choose.
        self.chosen = body.identity;
        Ok(LoginOutcome::Next(IDENTITIES_STEP))
    }

    fn read_identities<R: Response + ?Sized>(
        &mut self,
        response: &R,
    ) -> Result<LoginOutcome, Error> {
        #[derive(Deserialize)]
        struct Listed {
            id: Identity,
        }
        #[derive(Deserialize)]
        struct Identities {
            identities: heapless::Vec<Listed, 8>,
        }
        /// What is left to read of a list too long for `Identities`.
        #[derive(Deserialize)]
        struct Counted {
            count: u32,
        }
        let (body, status) = (response.body(), response.status());
        let listed: Identities = match json::parse(body, "identities response", status) {
            Ok(listed) => listed,
            // More identities than the list holds: as ambiguous as two.
            Err(error) => match json::parse::<Counted>(body, "identities response", status) {
                Ok(Counted { count }) if count > 1 => {
                    return Err(Error::AmbiguousIdentity { count });
                }
                _ => return Err(error),
            },
        };
        match listed.identities.as_slice() {
            [] if self.chosen.is_some() => Ok(LoginOutcome::Next(EXCHANGE_STEP)),
            [only] => {
                self.chosen = Some(only.id.clone());
                Ok(LoginOutcome::Next(EXCHANGE_STEP))
            }
            several => Err(Error::AmbiguousIdentity {
                count: u32::try_from(several.len()).unwrap_or(u32::MAX),
            }),
        }
    }
}

fn read_access_token<R: Response + ?Sized>(
    response: &R,
    token: &mut SecretBuf<TOKEN_CAPACITY>,
) -> Result<LoginOutcome, Error> {
    #[derive(Deserialize)]
    struct AccessToken<'a> {
        #[serde(borrow)]
        token: RawStr<'a>,
        status: Option<RawStr<'a>>,
    }
    let body: AccessToken<'_> =
        json::parse(response.body(), "access token response", response.status())?;
    store_json_token(body.token, token)?;
    Ok(LoginOutcome::LoggedIn(NewToken {
        stepped_up: matches!(body.status, Some(RawStr::Plain("STEPPED_UP"))),
        ..NewToken::default()
    }))
}

fn challenge_path(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "/stepup/challenges/otp/SMS",
        Channel::Authy => "/stepup/challenges/push/AUTHY",
        Channel::Biometric => "/stepup/challenges/push/BIOMETRIC",
    }
}

fn verify_path(channel: Channel) -> Result<&'static str, Error> {
    match channel {
        Channel::Sms => Ok("/stepup/challenges/otp/SMS/verify"),
        Channel::Authy | Channel::Biometric => Err(Error::Unsupported {
            what: "a code for a push challenge",
        }),
    }
}

/// What a failed login step means: bad credentials (never retried), a
/// lock, an expired password, or a passing failure.
fn login_failure<R: Response + ?Sized>(response: &R) -> LoginOutcome {
    let mut error = error_of(response);
    match response.status() {
        status if is_passing(status) => {
            LoginOutcome::Retry(RetryHint::from_response(response, error))
        }
        status => {
            if let Error::Api(api) = &mut error {
                api.kind = match status {
                    409 => ErrorKind::PasswordExpired,
                    423 => ErrorKind::Locked {
                        retry_after: retry_after(response).unwrap_or(LOCK_DURATION),
                    },
                    _ => api.kind,
                };
            }
            LoginOutcome::Rejected(error)
        }
    }
}

/// What a failed step-up request means for the step-up; `resend_interval`
/// is the pause the API wants before a new challenge.
fn step_up_failure<R: Response + ?Sized>(response: &R, resend_interval: Duration) -> StepUpOutcome {
    let mut error = error_of(response);
    let status = response.status();
    let code = match &error {
        Error::Api(api) => step_up_code(status, &api.code),
        _ => StepUpError::Other,
    };
    if let Error::Api(api) = &mut error {
        api.kind = ErrorKind::StepUp(code);
    }
    let then = match (status, code) {
        (401, _) | (_, StepUpError::ChallengeLimitExceeded | StepUpError::ResendLimit) => {
            AfterStepUpFailure::LogInAgain
        }
        // A wrong code: the challenge stands (the second code says the
        // user has one try left).
        (_, StepUpError::VerificationCodeInvalid | StepUpError::OneChallengeLimitRemaining) => {
            AfterStepUpFailure::RetryCode
        }
        (_, StepUpError::RetryIn15Sec) => AfterStepUpFailure::NewChallenge {
            wait: Some(resend_interval),
        },
        _ => AfterStepUpFailure::NewChallenge { wait: None },
    };
    StepUpOutcome::Failed { error, then }
}

fn step_up_code(status: u16, code: &str) -> StepUpError {
    match (status, code) {
        (_, "RETRY_IN_15SEC") => StepUpError::RetryIn15Sec,
        (_, "CHALLENGE_LIMIT_EXCEEDED") => StepUpError::ChallengeLimitExceeded,
        (_, "VERIFICATION_CODE_INVALID") => StepUpError::VerificationCodeInvalid,
        (_, "VERIFICATION_CODE_EXPIRED") => StepUpError::VerificationCodeExpired,
        (_, "ONE_CHALLENGE_LIMIT_REMAINING") => StepUpError::OneChallengeLimitRemaining,
        (_, "STATE_INVALID") => StepUpError::StateInvalid,
        (_, "ALREADY_VERIFIED") => StepUpError::AlreadyVerified,
        (_, "CHANNEL_NOT_REGISTERED") => StepUpError::ChannelNotRegistered,
        (_, "CHANNEL_NOT_SUPPORTED") => StepUpError::ChannelNotSupported,
        (400, _) => StepUpError::ResendLimit,
        _ => StepUpError::Other,
    }
}

/// The code of a `403`, from `errorCode` or, as Weavr's web app reads it,
/// from `message`.
fn forbidden_code<R: Response + ?Sized>(response: &R) -> Option<Text<64>> {
    match error_of(response) {
        Error::Api(api) if !api.code.is_empty() => Some(api.code),
        Error::Api(api) => Text::new(api.message.as_str()).ok(),
        _ => None,
    }
}

/// The error a Weavr error answer carries: `errorCode`, `message`, and the
/// fields of `syntaxErrors.invalidFields`, with the `request-ref`.
///
/// ```
/// use authsession_core::providers::weavr::error_of;
/// use authsession_core::{Error, ResponseParts};
///
/// let body = br#"{"message":"Bad request","syntaxErrors":{"invalidFields":[
///     {"params":[],"fieldName":"email","error":"REQUIRED"}]}}"#;
/// let Error::Api(error) = error_of(&ResponseParts::new(400, body)) else { panic!() };
/// let field = error.field.unwrap();
/// assert_eq!(field.field, "email");
/// assert_eq!(field.code, "REQUIRED");
/// ```
pub fn error_of<R: Response + ?Sized>(response: &R) -> Error {
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct InvalidField {
        field_name: Text<32>,
        error: Text<64>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct SyntaxErrors {
        invalid_fields: FirstOf<InvalidField>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct ErrorBody {
        error_code: Text<64>,
        message: Text<160>,
        syntax_errors: SyntaxErrors,
    }

    let (mut error, parsed) = match error_body::<_, ErrorBody>(response, "request-ref") {
        Ok(read) => read,
        Err(error) => return error,
    };
    error.code = parsed.error_code;
    error.message = parsed.message;
    let fields = parsed.syntax_errors.invalid_fields;
    error.field = fields
        .first
        .map(|field| FieldError::new(field.field_name, field.error));
    error.field_count = fields.count;
    Error::Api(error)
}
