//! Reading a JWT's `iat` and `exp` without a heap, to plan the next login.
//! The client holds no key and checks no signature: the server does that.
//! Only the token's shape is checked (three base64url parts, no padding),
//! so that nothing else is ever stored or sent as a token.

use core::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::error::Error;

/// The most bytes a decoded JWT payload may have.
pub const PAYLOAD_CAPACITY: usize = 1536;

/// The times a JWT states, in Unix seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    /// `iat`: when it was issued.
    pub issued_at: Option<u64>,
    /// `exp`: when it ends.
    pub expires_at: Option<u64>,
}

impl Claims {
    /// The token's whole life as far as it can be known: `exp - iat`, less
    /// one second, when both are stated and in order. Counted from our own
    /// clock, it needs no agreement with the server's.
    ///
    /// The second is the claims' granularity: a token issued at 12:00:00.900
    /// says `iat` 12:00:00, and a server that refuses it at `now >= exp`
    /// gives it up to a second less than `exp - iat`.
    pub fn lifetime(&self) -> Option<core::time::Duration> {
        let life = self.expires_at?.checked_sub(self.issued_at?)?;
        Some(core::time::Duration::from_secs(life.saturating_sub(1)))
    }
}

/// Why a token is not a JWT we can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtError {
    /// Not three non-empty parts separated by dots.
    NotThreeParts,
    /// A part holds a character outside base64url, or padding.
    NotBase64Url,
    /// The payload is not a JSON object.
    PayloadNotJson,
    /// `iat` or `exp` is not a non-negative number.
    BadTime,
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JwtError::NotThreeParts => "the token is not three dot-separated parts",
            JwtError::NotBase64Url => "the token is not base64url without padding",
            JwtError::PayloadNotJson => "the token's payload is not a JSON object",
            JwtError::BadTime => "the token's iat or exp is not a time",
        })
    }
}

/// Reads the claims of `token`.
///
/// ```
/// use authsession_core::jwt::{decode_claims, JwtError};
/// use authsession_core::Error;
///
/// // {"alg":"none"} . {"iat":1000,"exp":4600,"sub":"x"} . signature
/// let claims = decode_claims("eyJhbGciOiJub25lIn0.eyJpYXQiOjEwMDAsImV4cCI6NDYwMCwic3ViIjoieCJ9.c2ln")?;
/// assert_eq!(claims.lifetime().unwrap().as_secs(), 3599); // a second lost to rounding
/// assert_eq!(decode_claims("a.b"), Err(Error::InvalidJwt(JwtError::NotThreeParts)));
/// # Ok::<(), Error>(())
/// ```
pub fn decode_claims(token: &str) -> Result<Claims, Error> {
    #[derive(Deserialize)]
    struct Times {
        iat: Option<f64>,
        exp: Option<f64>,
    }

    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::InvalidJwt(JwtError::NotThreeParts));
    };
    for part in [header, payload, signature] {
        if part.is_empty() {
            return Err(Error::InvalidJwt(JwtError::NotThreeParts));
        }
        // A fold of bitwise operators rather than `all`: without an early
        // exit or a branch the check runs many bytes at a time; it was a
        // third of the time of the whole decoding, on a token of 500 bytes.
        #[allow(clippy::needless_bitwise_bool)]
        let base64url = part.bytes().fold(true, |base64url, b| {
            base64url & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_'))
        });
        if !base64url {
            return Err(Error::InvalidJwt(JwtError::NotBase64Url));
        }
    }
    let mut decoded = [0u8; PAYLOAD_CAPACITY];
    let length = URL_SAFE_NO_PAD
        .decode_slice(payload, &mut decoded)
        .map_err(|error| match error {
            base64::DecodeSliceError::OutputSliceTooSmall => Error::Overflow {
                what: "JWT payload",
                capacity: PAYLOAD_CAPACITY,
            },
            base64::DecodeSliceError::DecodeError(_) => Error::InvalidJwt(JwtError::NotBase64Url),
        })?;
    let json = decoded.get(..length).unwrap_or_default();
    let times: Times = match crate::json::parse(json, "JWT payload", 0) {
        Ok(times) => times,
        Err(error @ Error::Overflow { .. }) => return Err(error),
        // The vendor's own example token has a payload that is not quite
        // JSON (its first key lacks the opening quote). The times are still
        // there to read, and a plan is worth more than a refusal.
        Err(_) => match (scan_number(json, b"\"iat\""), scan_number(json, b"\"exp\"")) {
            (None, None) => return Err(Error::InvalidJwt(JwtError::PayloadNotJson)),
            (iat, exp) => Times { iat, exp },
        },
    };
    Ok(Claims {
        issued_at: times.iat.map(seconds).transpose()?,
        expires_at: times.exp.map(seconds).transpose()?,
    })
}

/// The number after the first `key:` in a payload that is not quite JSON
/// (`"exp": 1691154857`), if there is one.
fn scan_number(json: &[u8], key: &[u8]) -> Option<f64> {
    let start = json.windows(key.len()).position(|window| window == key)? + key.len();
    let rest = json.get(start..)?.trim_ascii_start().strip_prefix(b":")?;
    let rest = rest.trim_ascii_start();
    let end = rest
        .iter()
        .position(|byte| !(byte.is_ascii_digit() || *byte == b'.'))
        .unwrap_or(rest.len());
    core::str::from_utf8(rest.get(..end)?).ok()?.parse().ok()
}

/// A `NumericDate` as whole seconds (fractions dropped: plans are made to
/// the second, with margins).
fn seconds(value: f64) -> Result<u64, Error> {
    // 2^64: the first value that does not fit.
    if (0.0..18_446_744_073_709_551_616.0).contains(&value) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(value as u64)
    } else {
        Err(Error::InvalidJwt(JwtError::BadTime))
    }
}
