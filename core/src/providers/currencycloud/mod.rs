//! Currencycloud: one login with a login id and an API key, a token in
//! `X-Auth-Token` that lapses after 30 minutes without a call, and a logout
//! that closes it. See `shared/PROVIDERS.md`, section 1.

use core::fmt;
use core::time::Duration;

use serde::Deserialize;

mod errors;

pub use errors::error_of;
use errors::payment_error;

use crate::call_step_up::CallStepUp;
use crate::error::{ApiError, CredentialError, CredentialProblem, Error, ErrorKind};
use crate::grant::Level;
use crate::json::{self, RawStr};
use crate::kit::{checked_credential, login_outcome, store_json_token};
use crate::provider::{
    Classification, LoginOutcome, LoginStep, NewToken, Provider, RequestSecrets, SessionRequest,
};
use crate::response::Response;
use crate::secret::SecretBuf;
use crate::transmit::{HeaderValue, Headers, Method, RequestHead};

/// The path of the login.
pub const LOGIN_PATH: &str = "/v2/authenticate/api";
/// The path of the logout.
pub const LOGOUT_PATH: &str = "/v2/authenticate/close_session";
/// The most bytes of a login id (the API allows 255 characters; this
/// provider takes 255 bytes, which is the same for ASCII e-mail addresses).
pub const LOGIN_ID_MAX: usize = 255;
/// The length of an API key: 64 lowercase hexadecimal characters.
pub const API_KEY_LEN: usize = 64;
/// The longest token kept (the API issues 32 hexadecimal characters).
pub const TOKEN_CAPACITY: usize = 64;
/// The request body buffer: exactly the multipart login with the longest
/// login id (504 bytes).
pub const BODY_CAPACITY: usize = part_len("login_id", LOGIN_ID_MAX)
    + part_len("api_key", API_KEY_LEN)
    + PART_START.len()
    + MULTIPART_END.len()
    + 3 * BOUNDARY.len();

/// The multipart boundary. A part ends at CR LF followed by `--` and the
/// boundary; credentials never hold CR or LF (they are checked), so the
/// boundary cannot occur inside them.
const BOUNDARY: &str = "authsession-4f1c9e2b7a";
const MULTIPART_CONTENT_TYPE: &str = "multipart/form-data; boundary=authsession-4f1c9e2b7a";
/// What a part holds around its boundary, its name and its value.
const PART_START: &[u8] = b"--";
const PART_NAME: &[u8] = b"\r\nContent-Disposition: form-data; name=\"";
const PART_VALUE: &[u8] = b"\"\r\n\r\n";
const PART_END: &[u8] = b"\r\n";
/// What follows the last part's boundary.
const MULTIPART_END: &[u8] = b"--\r\n";

/// The bytes of a part named `name` with a value of `value_len` bytes,
/// without its boundary.
const fn part_len(name: &str, value_len: usize) -> usize {
    PART_START.len() + PART_NAME.len() + name.len() + PART_VALUE.len() + value_len + PART_END.len()
}

/// The Currencycloud API.
///
/// ```
/// use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
/// use authsession_core::{Instant, Session};
///
/// let credentials = CurrencycloudCredentials::new(
///     "development@example.com",
///     "1f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544",
/// )?;
/// let mut session = Session::new(Currencycloud::default(), credentials);
/// session.login(Instant::ZERO);
/// let login = session.poll_transmit().unwrap();
/// assert_eq!(login.path, "/v2/authenticate/api");
/// # Ok::<(), authsession_core::CredentialError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Currencycloud {
    idle_timeout: Duration,
    payment_sca: Option<PaymentSca>,
}

/// Strong customer authentication for payments, as Currencycloud's "SCA for
/// API payments" guide has it: a `POST /v2/payments/create` is validated
/// first (`/v2/payments/validate`, which sends the user a code), then sent
/// with the challenge's id and the code. See
/// [`CallStepUp`](crate::CallStepUp).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PaymentSca {
    /// Send the code to the authenticated user rather than to the
    /// account's contact (`x-sca-to-authenticated-user: true`).
    pub to_authenticated_user: bool,
}

/// The path of a payment's creation, which needs SCA when it is on.
pub const PAYMENT_CREATE_PATH: &str = "/v2/payments/create";
/// The path where a payment is validated (and its code sent).
pub const PAYMENT_VALIDATE_PATH: &str = "/v2/payments/validate";

impl Currencycloud {
    /// The API's documented idle timeout: 30 minutes.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

    /// The provider with another idle timeout (for a sandbox with short
    /// timers).
    pub const fn with_idle_timeout(idle_timeout: Duration) -> Self {
        Currencycloud {
            idle_timeout,
            payment_sca: None,
        }
    }

    /// The provider with SCA on for payments: every
    /// `POST /v2/payments/create` becomes validate, code, create.
    #[must_use]
    pub const fn with_payment_sca(mut self, payment_sca: PaymentSca) -> Self {
        self.payment_sca = Some(payment_sca);
        self
    }

    /// Whether, and how, payments are authenticated.
    pub const fn payment_sca(&self) -> Option<PaymentSca> {
        self.payment_sca
    }
}

impl Default for Currencycloud {
    fn default() -> Self {
        Currencycloud::with_idle_timeout(Self::IDLE_TIMEOUT)
    }
}

/// A Currencycloud login id and API key, checked as the API checks them.
#[derive(Clone)]
pub struct CurrencycloudCredentials {
    login_id: SecretBuf<LOGIN_ID_MAX>,
    api_key: SecretBuf<API_KEY_LEN>,
}

impl CurrencycloudCredentials {
    /// Checks and keeps the credentials: the login id 1 to 255 bytes
    /// without control characters, the key 64 lowercase hex characters.
    /// A bad value never reaches the server, where it would count as a
    /// failed login.
    pub fn new(login_id: &str, api_key: &str) -> Result<Self, CredentialError> {
        let problem = |field, problem| CredentialError { field, problem };
        // Not empty, at most 255 bytes, no control character.
        let login_id = checked_credential("login_id", login_id)?;
        if api_key.is_empty() {
            return Err(problem("api_key", CredentialProblem::Missing));
        }
        if api_key.len() != API_KEY_LEN {
            return Err(problem(
                "api_key",
                CredentialProblem::WrongLength {
                    expected: API_KEY_LEN,
                },
            ));
        }
        if !api_key
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(problem("api_key", CredentialProblem::NotLowercaseHex));
        }
        Ok(CurrencycloudCredentials {
            login_id,
            api_key: checked_credential("api_key", api_key)?,
        })
    }
}

impl fmt::Debug for CurrencycloudCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::kit::redacted(f, "CurrencycloudCredentials")
    }
}

impl Provider for Currencycloud {
    type Credentials = CurrencycloudCredentials;
    type Token = SecretBuf<TOKEN_CAPACITY>;
    type Body = SecretBuf<BODY_CAPACITY>;

    const NAME: &'static str = "Currencycloud";

    fn idle_timeout(&self) -> Option<Duration> {
        Some(self.idle_timeout)
    }

    fn describe<'a>(
        &'a self,
        request: SessionRequest,
        secrets: RequestSecrets<'a, CurrencycloudCredentials, Self::Token>,
        body: &mut Self::Body,
    ) -> Result<RequestHead<'a>, Error> {
        match request {
            SessionRequest::Login(LoginStep::FIRST) => {
                write_login(secrets.credentials, body)?;
                let mut head = RequestHead::new(Method::Post, LOGIN_PATH);
                head.headers
                    .push("Content-Type", HeaderValue::plain(MULTIPART_CONTENT_TYPE))?;
                Ok(head)
            }
            SessionRequest::Logout => {
                let mut head = RequestHead::new(Method::Post, LOGOUT_PATH);
                head.headers.push(
                    "X-Auth-Token",
                    HeaderValue::secret("", secrets.token.as_str()),
                )?;
                Ok(head)
            }
            _ => Err(Error::Unsupported {
                what: "this request",
            }),
        }
    }

    fn login_identity<'a>(&self, credentials: &'a CurrencycloudCredentials) -> &'a str {
        credentials.login_id.as_str()
    }

    fn feed_credentials(
        &self,
        credentials: &CurrencycloudCredentials,
        feed: &mut dyn FnMut(&[u8]),
    ) {
        feed(credentials.login_id.as_bytes());
        feed(credentials.api_key.as_bytes());
    }

    fn read_login<R: Response + ?Sized>(
        &mut self,
        _step: LoginStep,
        response: &R,
        token: &mut Self::Token,
    ) -> LoginOutcome {
        let read_token = || read_token(response, token).map(|()| NewToken::default());
        login_outcome(response, read_token, error_of)
    }

    fn call_headers<'a>(
        &'a self,
        level: Level,
        _credentials: &'a CurrencycloudCredentials,
        token: &'a Self::Token,
        headers: &mut Headers<'a>,
    ) -> Result<(), Error> {
        match level {
            Level::Account => Ok(()),
            Level::User => headers.push("X-Auth-Token", HeaderValue::secret("", token.as_str())),
            Level::SteppedUp => Err(Error::Unsupported { what: "step-up" }),
        }
    }

    fn call_step_up(&self, method: &str, path: &str) -> Option<CallStepUp> {
        let sca = self.payment_sca?;
        (method.eq_ignore_ascii_case("POST") && path == PAYMENT_CREATE_PATH).then(|| {
            CallStepUp::new(
                PAYMENT_VALIDATE_PATH,
                sca.to_authenticated_user,
                payment_error,
            )
        })
    }

    fn classify<R: Response + ?Sized>(&self, level: Level, response: &R) -> Classification {
        match response.status() {
            // A call sent without a token cannot have had it refused: it
            // needed one.
            401 if level == Level::Account => Classification::Fatal(error_of(response)),
            // A payment's strong customer authentication is refused or
            // missing: the token is fine, and a replay would send the same
            // wrong one-time password again.
            401 => match payment_error(&response) {
                error @ Error::Api(ApiError {
                    kind: ErrorKind::PaymentSca(_),
                    ..
                }) => Classification::Fatal(error),
                _ => Classification::TokenRefused,
            },
            429 => Classification::RateLimited(crate::response::retry_after(response)),
            _ => Classification::Fine,
        }
    }
}

/// Writes the multipart login body: `login_id` and `api_key`.
fn write_login(
    credentials: &CurrencycloudCredentials,
    body: &mut SecretBuf<BODY_CAPACITY>,
) -> Result<(), Error> {
    for (name, value) in [
        ("login_id", credentials.login_id.as_bytes()),
        ("api_key", credentials.api_key.as_bytes()),
    ] {
        for piece in [
            PART_START,
            BOUNDARY.as_bytes(),
            PART_NAME,
            name.as_bytes(),
            PART_VALUE,
            value,
            PART_END,
        ] {
            body.extend(piece, "login body")?;
        }
    }
    for piece in [PART_START, BOUNDARY.as_bytes(), MULTIPART_END] {
        body.extend(piece, "login body")?;
    }
    Ok(())
}

/// Reads `{"auth_token": "..."}` into the token buffer.
fn read_token<R: Response + ?Sized>(
    response: &R,
    token: &mut SecretBuf<TOKEN_CAPACITY>,
) -> Result<(), Error> {
    /// Borrowed, so the token is copied once, into the buffer that wipes it.
    #[derive(Deserialize)]
    struct LoginBody<'a> {
        #[serde(borrow)]
        auth_token: RawStr<'a>,
    }
    let body: LoginBody<'_> = json::parse(response.body(), "login response", response.status())?;
    store_json_token(body.auth_token, token)
}
