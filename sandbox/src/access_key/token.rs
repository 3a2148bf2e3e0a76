//! The emulated API's JWTs: HS384-signed with a key of the sandbox's own,
//! carrying the seed's claims, and checked on every protected call; and the
//! API's wall clock, which can be skewed away from ours.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha384;

use super::super::ids;

type HmacSha384 = Hmac<Sha384>;

/// The header of every token, as the seed's: `{"alg":"HS384","typ":"JWT"}`.
const HEADER: &str = r#"{"alg":"HS384","typ":"JWT"}"#;

/// The bytes of the signing key: as long as the hash, as RFC 7518 §3.2
/// asks of an HS384 key.
const KEY_BYTES: usize = 48;

/// A token's claims, in the seed's order. The client reads only `iat` and
/// `exp`; the rest is there so that a token looks like the real API's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Claims {
    /// The user the key belongs to.
    pub uid: String,
    /// The user's roles.
    pub ar: Vec<String>,
    /// The id of the access key (not the key itself).
    pub ak: String,
    pub realm: String,
    /// The company account.
    pub ca: String,
    /// The company.
    pub cid: String,
    pub domain: String,
    /// Issued at, in the API's (possibly skewed) Unix seconds.
    pub iat: i64,
    /// Expires at, in the API's (possibly skewed) Unix seconds.
    pub exp: i64,
}

/// Why a bearer token is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Invalid {
    /// Not a JWT signed by this sandbox with HS384, or claims it cannot
    /// read.
    Forged,
    /// Signed by this sandbox, and past its end.
    Expired,
}

/// Signs and checks tokens with a key drawn when the sandbox starts, so a
/// token of one sandbox is worthless to another.
pub(super) struct Signer {
    key: [u8; KEY_BYTES],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer([redacted])")
    }
}

impl Signer {
    pub fn random() -> Self {
        let mut key = [0; KEY_BYTES];
        for chunk in key.chunks_mut(8) {
            chunk.copy_from_slice(&ids::random_u64().to_le_bytes());
        }
        Signer { key }
    }

    fn mac(&self) -> HmacSha384 {
        // HMAC takes a key of any length: this cannot fail.
        <HmacSha384 as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    /// The compact JWT of `claims`: header, payload and HS384 signature,
    /// each in unpadded base64url.
    pub fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = mac.finalize().into_bytes();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The claims of `token` if this sandbox signed it with HS384 (the
    /// signature checked in constant time, the header's `alg` checked so
    /// that `none` is refused); its time is not looked at here.
    pub fn verify(&self, token: &str) -> Result<Claims, Invalid> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Invalid::Forged);
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| Invalid::Forged);
        let signature = decode(signature)?;
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).map_err(|_| Invalid::Forged)?;
        let header: serde_json::Value =
            serde_json::from_slice(&decode(header)?).map_err(|_| Invalid::Forged)?;
        if header["alg"] != "HS384" {
            return Err(Invalid::Forged);
        }
        serde_json::from_slice(&decode(payload)?).map_err(|_| Invalid::Forged)
    }
}

/// The API's wall clock: the system clock read once when the sandbox
/// starts, moved on by the monotonic clock (so a change of the system
/// clock does not disturb it), and shifted by a skew.
#[derive(Debug)]
pub(super) struct Clock {
    started: Instant,
    unix_millis_at_start: i64,
}

impl Clock {
    pub fn new(started: Instant) -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Clock {
            started,
            unix_millis_at_start: i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// The API's Unix time in milliseconds at `now`, `skew` seconds off
    /// the real one.
    pub fn unix_millis(&self, now: Instant, skew: i64) -> i64 {
        let elapsed = now.saturating_duration_since(self.started).as_millis();
        self.unix_millis_at_start
            .saturating_add(i64::try_from(elapsed).unwrap_or(i64::MAX))
            .saturating_add(skew.saturating_mul(1000))
    }

    /// The API's Unix time in whole seconds (rounded down, as a JWT's
    /// `iat` is) at `now`.
    pub fn unix_seconds(&self, now: Instant, skew: i64) -> i64 {
        self.unix_millis(now, skew).div_euclid(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::{Claims, Clock, Invalid, Signer};
    use std::time::{Duration, Instant};

    fn claims() -> Claims {
        Claims {
            uid: "u".into(),
            ar: vec!["Partner".into()],
            ak: "k".into(),
            realm: "Partner".into(),
            ca: "a".into(),
            cid: "c".into(),
            domain: "/d".into(),
            iat: 1000,
            exp: 4600,
        }
    }

    #[test]
    fn a_signed_token_verifies_and_any_change_breaks_it() {
        let signer = Signer::random();
        let token = signer.sign(&claims());
        assert_eq!(signer.verify(&token), Ok(claims()));
        assert!(token.starts_with("eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9."));
        let signature = token.rsplit('.').next().unwrap_or_default();
        assert_eq!(signature.len(), 64, "48 bytes of HS384 in base64url");

        let other = Signer::random();
        assert_eq!(other.verify(&token), Err(Invalid::Forged));
        let mut longer = claims();
        longer.exp += 3600;
        let forged_payload = signer.sign(&longer);
        let spliced = format!(
            "{}.{}.{}",
            token.split('.').next().unwrap_or_default(),
            forged_payload.split('.').nth(1).unwrap_or_default(),
            signature
        );
        assert_eq!(signer.verify(&spliced), Err(Invalid::Forged));
        for broken in ["", "a.b", "a.b.c.d", &format!("{token}x"), &token[1..]] {
            assert_eq!(signer.verify(broken), Err(Invalid::Forged), "{broken}");
        }
    }

    #[test]
    fn the_clock_moves_with_the_monotonic_clock_and_is_skewed_by_seconds() {
        let start = Instant::now();
        let clock = Clock::new(start);
        let later = start + Duration::from_millis(1500);
        assert_eq!(
            clock.unix_millis(later, 0) - clock.unix_millis(start, 0),
            1500
        );
        assert_eq!(
            clock.unix_millis(start, -3600) - clock.unix_millis(start, 0),
            -3_600_000
        );
        assert_eq!(
            clock.unix_seconds(start, 3600) - clock.unix_seconds(start, 0),
            3600
        );
    }
}
