//! The access-key JWT API: `POST /login` with an access key and its secret
//! answers `201` with a bare JWT, sent as a bearer token until its `exp`.
//! There is no refresh and no logout: the session logs in again ahead of
//! expiry and forgets the token locally. See `shared/PROVIDERS.md`,
//! section 3.

use core::fmt;
use core::time::Duration;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, CredentialError, Error, FieldError, TokenProblem};
use crate::grant::Level;
use crate::json::{self, Text, overflow};
use crate::jwt::{Claims, JwtError, decode_claims};
use crate::kit::{checked_credential, error_body, login_outcome, store_token};
use crate::provider::{
    Classification, LoginOutcome, LoginStep, NewToken, Provider, RequestSecrets, SessionRequest,
};
use crate::response::Response;
use crate::secret::SecretBuf;
use crate::transmit::{HeaderValue, Method, RequestHead};

/// The path of the login.
pub const LOGIN_PATH: &str = "/login";
/// The longest access key kept.
pub const ACCESS_KEY_MAX: usize = 128;
/// The longest secret kept.
pub const SECRET_MAX: usize = 256;
/// The token buffer: the seed's JWT is under 600 bytes.
pub const TOKEN_CAPACITY: usize = 2048;
/// The request body buffer: the login with the longest key and secret,
/// every character escaped.
pub const BODY_CAPACITY: usize = 800;

/// The access-key JWT API.
///
/// It has no logout endpoint: [`Session::logout`](crate::Session::logout)
/// forgets the token locally, and the token stays valid on the server until
/// its `exp`.
///
/// ```
/// use authsession_core::providers::access_key::{AccessKey, AccessKeyCredentials};
/// use authsession_core::{Instant, Session};
///
/// let credentials = AccessKeyCredentials::new(
///     "986d8167a9b9a15e37db4ab4ad50877b01347a94",
///     "79bPqahzbeYuIgyod1GBjsBy38wN7KuBBNNmN/emwjFCuAfq",
/// )?;
/// let mut session = Session::new(AccessKey, credentials);
/// session.login(Instant::ZERO);
/// let login = session.poll_transmit().unwrap();
/// assert_eq!(login.path, "/login");
/// # Ok::<(), authsession_core::CredentialError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessKey;

/// An access key and its secret, made in the API's admin portal.
#[derive(Clone)]
pub struct AccessKeyCredentials {
    access_key: SecretBuf<ACCESS_KEY_MAX>,
    secret: SecretBuf<SECRET_MAX>,
}

impl AccessKeyCredentials {
    /// Checks and keeps the pair: neither empty, too long, nor holding a
    /// control character.
    pub fn new(access_key: &str, secret: &str) -> Result<Self, CredentialError> {
        Ok(AccessKeyCredentials {
            access_key: checked_credential("accessKey", access_key)?,
            secret: checked_credential("secret", secret)?,
        })
    }
}

impl fmt::Debug for AccessKeyCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::kit::redacted(f, "AccessKeyCredentials")
    }
}

impl Provider for AccessKey {
    type Credentials = AccessKeyCredentials;
    type Token = SecretBuf<TOKEN_CAPACITY>;
    type Body = SecretBuf<BODY_CAPACITY>;

    const NAME: &'static str = "access-key API";

    fn idle_timeout(&self) -> Option<Duration> {
        None
    }

    fn has_logout(&self) -> bool {
        false
    }

    fn describe<'a>(
        &'a self,
        request: SessionRequest,
        secrets: RequestSecrets<'a, AccessKeyCredentials, Self::Token>,
        body: &mut Self::Body,
    ) -> Result<RequestHead<'a>, Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Login<'a> {
            access_key: &'a str,
            secret: &'a str,
        }
        if request != SessionRequest::Login(LoginStep::FIRST) {
            return Err(Error::Unsupported {
                what: "this request",
            });
        }
        let login = Login {
            access_key: secrets.credentials.access_key.as_str(),
            secret: secrets.credentials.secret.as_str(),
        };
        json::write(&login, body, "login body")?;
        let mut head = RequestHead::new(Method::Post, LOGIN_PATH);
        head.headers
            .push("Content-Type", HeaderValue::plain("application/json"))?;
        Ok(head)
    }

    fn login_identity<'a>(&self, credentials: &'a AccessKeyCredentials) -> &'a str {
        credentials.access_key.as_str()
    }

    fn feed_credentials(&self, credentials: &AccessKeyCredentials, feed: &mut dyn FnMut(&[u8])) {
        feed(credentials.access_key.as_bytes());
        feed(credentials.secret.as_bytes());
    }

    fn read_login<R: Response + ?Sized>(
        &mut self,
        _step: LoginStep,
        response: &R,
        token: &mut Self::Token,
    ) -> LoginOutcome {
        login_outcome(response, || read_token(response, token), error_of)
    }

    fn classify<R: Response + ?Sized>(&self, level: Level, response: &R) -> Classification {
        crate::kit::classify(level, response, error_of)
    }
}

/// The `201` body is the bare JWT; surrounding whitespace is trimmed, and
/// anything that is not three base64url parts is refused.
fn read_token<R: Response + ?Sized>(
    response: &R,
    token: &mut SecretBuf<TOKEN_CAPACITY>,
) -> Result<NewToken, Error> {
    let text = core::str::from_utf8(response.body())
        .map_err(|_| Error::Malformed {
            what: "login response",
            status: response.status(),
        })?
        .trim();
    // The shape must be a JWT's; unreadable times only cost the plan (the
    // token then lives until a 401), not the login.
    if text.is_empty() {
        return Err(Error::UnusableToken(TokenProblem::Empty));
    }
    let claims = match decode_claims(text) {
        Ok(claims) => claims,
        Err(Error::InvalidJwt(JwtError::PayloadNotJson | JwtError::BadTime)) => Claims::default(),
        Err(Error::InvalidJwt(problem)) => {
            return Err(Error::UnusableToken(TokenProblem::NotJwt(problem)));
        }
        Err(error) => return Err(error),
    };
    store_token(text.as_bytes(), token)?;
    Ok(NewToken {
        lifetime: claims.lifetime(),
        // Without `iat`, the end alone, if the caller gave the wall clock.
        expires_at_unix: claims.expires_at.filter(|_| claims.issued_at.is_none()),
        stepped_up: false,
    })
}

/// The error an error answer carries: `error.code` (or `name`),
/// `error.message`, and `error.details`, which is a list of field problems
/// for a bad request and an object with a `reason` for a refused key.
///
/// ```
/// use authsession_core::providers::access_key::error_of;
/// use authsession_core::{Error, ResponseParts};
///
/// let body = br#"{"statusCode":"Error","error":{"message":"Service was unable to complete your request.",
///     "name":"AuthenticationError","code":"AuthenticationError","details":{"reason":"AccessKeyUnauthorized"}}}"#;
/// let Error::Api(error) = error_of(&ResponseParts::new(401, body)) else { panic!() };
/// assert_eq!(error.code, "AuthenticationError");
/// assert_eq!(error.reason, "AccessKeyUnauthorized");
/// ```
pub fn error_of<R: Response + ?Sized>(response: &R) -> Error {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Inner {
        name: Text<64>,
        code: Text<64>,
        message: Text<160>,
        details: Details,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ErrorBody {
        error: Inner,
    }

    let (mut error, parsed) = match error_body::<_, ErrorBody>(response, "x-request-id") {
        Ok(read) => read,
        Err(error) => return error,
    };
    error.code = if parsed.error.code.is_empty() {
        parsed.error.name
    } else {
        parsed.error.code
    };
    error.message = parsed.error.message;
    error.field = parsed.error.details.fields.field;
    error.field_count = parsed.error.details.fields.field_count;
    error.reason = parsed.error.details.reason;
    Error::Api(error)
}

/// `details`: a list of `{path, code, message, info: {missingProperty}}`,
/// or an object with a `reason`.
#[derive(Default)]
struct Details {
    /// Only the fields' part of it is read.
    fields: ApiError,
    reason: Text<64>,
}

/// One entry of a `details` list.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Detail {
    path: Text<64>,
    code: Text<64>,
    info: Info,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Info {
    missing_property: Text<32>,
}

impl<'de> Deserialize<'de> for Details {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DetailsVisitor;

        impl<'de> Visitor<'de> for DetailsVisitor {
            type Value = Details;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of details or an object with a reason")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Details, A::Error> {
                let mut details = Details::default();
                while let Some(detail) = seq.next_element::<Detail>()? {
                    // The missing property names the field; else the path.
                    let field = if detail.info.missing_property.is_empty() {
                        Text::new(detail.path.trim_start_matches('/')).map_err(|_| overflow(32))?
                    } else {
                        detail.info.missing_property
                    };
                    details
                        .fields
                        .add_field(FieldError::new(field, detail.code));
                }
                Ok(details)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Details, A::Error> {
                let mut details = Details::default();
                while let Some(key) = map.next_key::<Text<32>>()? {
                    if key == "reason" {
                        details.reason = map.next_value()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(details)
            }

            // A string, a number, `null`: no details we know how to read.
            // (Refusing them would make serde quote the value, see json.rs.)
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Details, E> {
                Ok(Details::default())
            }

            fn visit_unit<E: de::Error>(self) -> Result<Details, E> {
                Ok(Details::default())
            }
        }

        deserializer.deserialize_ignored_any(DetailsVisitor)
    }
}
