//! Currencycloud: one login with a login id and an API key, a token in
//! `X-Auth-Token` that lapses after 30 minutes without a call, and a logout
//! that closes it. See `shared/PROVIDERS.md`, section 1.

use core::fmt;
use core::time::Duration;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{ApiError, CredentialError, CredentialProblem, Error, ErrorKind, FieldError};
use crate::grant::Level;
use crate::json::{self, RawStr, Text};
use crate::kit::{checked_credential, error_body, login_outcome, store_json_token};
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
}

impl Currencycloud {
    /// The API's documented idle timeout: 30 minutes.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

    /// The provider with another idle timeout (for a sandbox with short
    /// timers).
    pub const fn with_idle_timeout(idle_timeout: Duration) -> Self {
        Currencycloud { idle_timeout }
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

    fn classify<R: Response + ?Sized>(&self, level: Level, response: &R) -> Classification {
        match response.status() {
            // A call sent without a token cannot have had it refused: it
            // needed one.
            401 if level == Level::Account => Classification::Fatal(error_of(response)),
            // A payment's strong customer authentication is refused or
            // missing: the token is fine, and a replay would send the same
            // wrong one-time password again.
            401 => match parse_error(response) {
                Ok(mut read) if read.speaks_of_sca => {
                    read.error.kind = ErrorKind::PaymentSca;
                    Classification::Fatal(Error::Api(read.error))
                }
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

/// Whether a word of an error body speaks of a payment's strong customer
/// authentication (`sca_check_failed`, `sca_required`, `x-sca-token`, ...).
/// Only the token's own refusal (`auth_failed`, or a code we do not know)
/// ends the session's token.
fn is_sca_word(text: &str) -> bool {
    text.starts_with("sca_") || text.starts_with("x-sca")
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

/// The error a Currencycloud error answer carries.
///
/// ```
/// use authsession_core::providers::currencycloud::error_of;
/// use authsession_core::{Error, ResponseParts};
///
/// let body = br#"{"error_code":"auth_failed","error_messages":{"username":[
///     {"code":"invalid_supplied_credentials","message":"Authentication failed","params":{}}]}}"#;
/// let response = ResponseParts::new(401, body).with_headers(&[("X-Request-Id", b"r-1")]);
/// let Error::Api(error) = error_of(&response) else { panic!() };
/// assert_eq!(error.code, "auth_failed");
/// assert_eq!(error.field.unwrap().field, "username");
/// assert_eq!(error.request_id, "r-1");
/// ```
pub fn error_of<R: Response + ?Sized>(response: &R) -> Error {
    match parse_error(response) {
        Ok(read) => Error::Api(read.error),
        Err(error) => error,
    }
}

/// An error answer, and whether any of its words (the code, a field's
/// name, code or message) speaks of a payment's SCA.
struct ReadError {
    error: ApiError,
    speaks_of_sca: bool,
}

fn parse_error<R: Response + ?Sized>(response: &R) -> Result<ReadError, Error> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ErrorBody {
        error_code: Text<64>,
        error_messages: FieldMessages,
    }

    let (mut error, body) = error_body::<_, ErrorBody>(response, "X-Request-Id")?;
    let speaks_of_sca = is_sca_word(&body.error_code) || body.error_messages.speak_of_sca;
    error.code = body.error_code;
    error.field = body.error_messages.first;
    error.field_count = body.error_messages.count;
    Ok(ReadError {
        error,
        speaks_of_sca,
    })
}

/// `error_messages`: an object whose keys are field names (any names: the
/// seed says `username`, other references `api_key`) and whose values are
/// lists of `{code, message, params}`. The first problem is kept, the
/// others counted and searched for SCA words.
#[derive(Default)]
struct FieldMessages {
    first: Option<FieldError>,
    count: u16,
    speak_of_sca: bool,
}

impl<'de> Deserialize<'de> for FieldMessages {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MessagesVisitor;

        impl<'de> Visitor<'de> for MessagesVisitor {
            type Value = FieldMessages;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of field errors")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldMessages, A::Error> {
                let mut messages = FieldMessages::default();
                while let Some(field) = map.next_key::<Text<32>>()? {
                    map.next_value_seed(FieldEntries {
                        field: &field,
                        out: &mut messages,
                    })?;
                }
                Ok(messages)
            }
        }

        deserializer.deserialize_map(MessagesVisitor)
    }
}

/// The list of problems of one field, added to the messages read so far.
struct FieldEntries<'f> {
    field: &'f Text<32>,
    out: &'f mut FieldMessages,
}

impl<'de> DeserializeSeed<'de> for FieldEntries<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

/// One problem of a field: `{code, message, params}`. The message is read
/// for its SCA words only; the parameters are skipped.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Entry {
    code: Text<64>,
    message: Text<128>,
    params: IgnoredAny,
}

impl<'de> Visitor<'de> for FieldEntries<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of field errors")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<Entry>()? {
            let out = &mut *self.out;
            out.speak_of_sca |= [self.field.as_str(), &entry.code, &entry.message]
                .into_iter()
                .any(is_sca_word);
            out.count = out.count.saturating_add(1);
            if out.first.is_none() {
                out.first = Some(FieldError::new(self.field.clone(), entry.code));
            }
        }
        Ok(())
    }
}
