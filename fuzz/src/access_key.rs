//! The access-key API's reading of answers (its bare-JWT login, its error
//! body, the reply to a call) and the JWT claims decoding, fed fuzz bytes.

use authsession_core::jwt::decode_claims;
use authsession_core::kit::{Classification, LoginOutcome, is_header_safe, retry_after};
use authsession_core::providers::access_key::{self, AccessKey};
use authsession_core::{Error, Level, LoginStep, Provider, Response, SecretBuf};

use crate::frame::Frame;

/// The login answer, the error body, and the reply at each level.
pub fn access_key_replies(data: &[u8]) {
    let frame = Frame::read(data);
    let response = frame.parts();

    let mut provider = AccessKey;
    let mut token = SecretBuf::<{ access_key::TOKEN_CAPACITY }>::new();
    match provider.read_login(LoginStep::FIRST, &response, &mut token) {
        LoginOutcome::LoggedIn(new_token) => {
            assert!(
                is_header_safe(token.as_bytes()),
                "a token unfit for a header was kept"
            );
            // The token is the body, trimmed: whole, never cut.
            let body = core::str::from_utf8(response.body()).unwrap_or_default();
            assert_eq!(token.as_bytes(), body.trim().as_bytes());
            let claims = decode_claims(body.trim()).unwrap_or_default();
            assert_eq!(new_token.lifetime, claims.lifetime());
        }
        LoginOutcome::Next(step) => panic!("a one-step login went on to {step:?}"),
        LoginOutcome::Rejected(error) => {
            assert!(!matches!(response.status(), 429 | 500..=599));
            // A success is refused only for a token no retry can change.
            if matches!(response.status(), 200..=299) {
                assert!(
                    matches!(error, Error::UnusableToken(_) | Error::Overflow { .. }),
                    "a success refused for {error:?}"
                );
            }
            print(&error);
        }
        LoginOutcome::Retry(hint) => {
            print(&hint.error);
            if hint.retry_after.is_some() {
                assert_eq!(hint.retry_after, retry_after(&response));
            }
        }
    }

    let error = access_key::error_of(&response);
    print(&error);
    if let Error::Api(api) = &error {
        assert_eq!(api.status, response.status());
    }

    for level in [Level::Account, Level::User, Level::SteppedUp] {
        let reply = provider.classify(level, &response);
        match (response.status(), level) {
            (401, Level::Account) => {
                assert!(matches!(reply, Classification::Fatal(_)), "{reply:?}");
            }
            (401, _) => assert_eq!(reply, Classification::TokenRefused),
            (429, _) => assert_eq!(reply, Classification::RateLimited(retry_after(&response))),
            _ => assert_eq!(reply, Classification::Fine),
        }
    }
}

/// A token's claims: what is read must be what the token says.
pub fn jwt_claims(data: &[u8]) {
    let Ok(token) = core::str::from_utf8(data) else {
        return;
    };
    match decode_claims(token) {
        Ok(claims) => {
            let parts: Vec<&str> = token.split('.').collect();
            assert_eq!(parts.len(), 3, "claims read from {} parts", parts.len());
            assert!(parts.iter().all(|part| !part.is_empty()));
            assert!(
                token
                    .bytes()
                    .all(|b| b == b'.' || b == b'-' || b == b'_' || b.is_ascii_alphanumeric()),
                "claims read from a token that is not base64url"
            );
            // The lifetime is `exp - iat` less the second the whole-second
            // claims may hide.
            if let (Some(issued), Some(expires)) = (claims.issued_at, claims.expires_at) {
                assert_eq!(
                    claims.lifetime().map(|life| life.as_secs()),
                    expires
                        .checked_sub(issued)
                        .map(|life| life.saturating_sub(1))
                );
            }
        }
        Err(error) => {
            print(&error);
        }
    }
}

fn print(error: &Error) -> String {
    format!("{error} {error:?}")
}
