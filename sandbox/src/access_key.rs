//! The access-key JWT API as `PROVIDERS.md` §3 describes it, under
//! `/access-key`: `POST /login` with `{"accessKey","secret"}` answers `201`
//! with a bare JWT, HS384-signed by the sandbox and carrying the seed's
//! claims; protected calls take it as `Authorization: Bearer` until its
//! end. There is no refresh and no logout.
//!
//! It is as strict as a real server: `iat` is its clock floored to the
//! second, `exp` is `iat` plus the lifetime, and a token is refused once
//! its clock, read to the millisecond, reaches `exp`. A token issued at
//! 12:00:00.900 with a 4 s lifetime therefore serves 3.1 s, not 4: a
//! client that plans from `exp - iat` without losing a second to the
//! claims' granularity uses it after its end.
//!
//! The API's clock can be skewed (by hours, in tests): its `iat` and `exp`
//! then disagree with the client's clock. The API judges its tokens by that
//! same clock, so the skew does not change how long a token lives in real
//! time; a client that compares `exp` with its own clock goes wrong, one
//! that counts `exp - iat` from its login does not.

mod replies;
mod token;

use std::time::{Duration, Instant};

use serde_json::Value;

use super::counters::Tally;
use super::exchange::{Incoming, Reply};
use token::{Claims, Clock, Invalid, Signer};

pub(super) use replies::error;

/// The access key every sandbox knows: the seed's example key.
///
/// ```
/// use authsession_sandbox::{ACCESS_KEY_ID, ACCESS_KEY_SECRET};
///
/// assert_eq!(ACCESS_KEY_ID.len(), 40);
/// assert_eq!(ACCESS_KEY_SECRET.len(), 48);
/// ```
pub const ACCESS_KEY_ID: &str = "986d8167a9b9a15e37db4ab4ad50877b01347a94";

/// The secret of [`ACCESS_KEY_ID`]: the seed's example secret.
pub const ACCESS_KEY_SECRET: &str = "79bPqahzbeYuIgyod1GBjsBy38wN7KuBBNNmN/emwjFCuAfq";

/// The path prefix of every endpoint of the access-key API.
pub(super) const PREFIX: &str = "/access-key";

/// The identity behind [`ACCESS_KEY_ID`], as the seed's token states it.
const UID: &str = "65d0f5c9-7fb0-455c-9036-9e72f0a8d0f6";
const KEY_UUID: &str = "45771ea1-b012-4b80-8ba4-49891c5d8d47";
const COMPANY_ACCOUNT: &str = "0ea70001-0f58-44a2-80ad-953633ff2cc7";
const COMPANY: &str = "29263739-2cf8-483d-af15-6151dc8448b4";
const REALM: &str = "Partner";
const DOMAIN: &str = "/partners-int";
const ROLES: [&str; 2] = ["Partner", "PartnerAdmin"];

/// The emulated access-key API: its signing key and its clock. A token's
/// end is its `exp` alone, so nothing is kept per token.
#[derive(Debug)]
pub(super) struct AccessKeyApi {
    /// A token's `exp - iat`, in whole seconds (at least one). Its real
    /// life is up to a second shorter: the fraction of the second it was
    /// issued in is lost to the floored `iat`.
    pub lifetime: Duration,
    /// How far the API's clock is from the real one, in seconds.
    pub clock_skew: i64,
    clock: Clock,
    signer: Signer,
}

/// An endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Login,
    Partner,
    Accounts,
}

impl Route {
    fn of(method: &str, path: &str) -> Option<Self> {
        let rest = path.strip_prefix(PREFIX)?;
        Some(match (method, rest) {
            ("POST", "/login") => Route::Login,
            ("GET", "/partners/me") => Route::Partner,
            ("GET", "/partners/me/accounts") => Route::Accounts,
            _ => return None,
        })
    }
}

impl AccessKeyApi {
    pub fn new(lifetime: Duration, clock_skew: i64, started: Instant) -> Self {
        AccessKeyApi {
            lifetime,
            clock_skew,
            clock: Clock::new(started),
            signer: Signer::random(),
        }
    }

    /// Answers a request under [`PREFIX`].
    pub fn serve(&mut self, tally: &mut Tally, request: &Incoming, now: Instant) -> Reply {
        match Route::of(&request.method, &request.path) {
            Some(Route::Login) => self.login(tally, request, now),
            Some(Route::Partner) => self.protected(tally, request, now, replies::partner),
            Some(Route::Accounts) => self.protected(tally, request, now, replies::accounts),
            None => error(404),
        }
    }

    fn lifetime_seconds(&self) -> u64 {
        self.lifetime.as_secs().max(1)
    }

    fn login(&mut self, tally: &mut Tally, request: &Incoming, now: Instant) -> Reply {
        let body = match serde_json::from_slice::<Value>(&request.body) {
            Ok(body) if body.is_object() => body,
            Ok(_) => return replies::invalid_body(&[replies::not_an_object("not an object")]),
            Err(error) => {
                return replies::invalid_body(&[replies::not_an_object(&error.to_string())]);
            }
        };
        let mut problems = Vec::new();
        let mut field = |name: &str| match body.get(name) {
            None => {
                problems.push(replies::missing(name));
                None
            }
            Some(Value::String(text)) if text.is_empty() => {
                problems.push(replies::empty(name));
                None
            }
            Some(Value::String(text)) => Some(text.as_str()),
            Some(_) => {
                problems.push(replies::not_a_string(name));
                None
            }
        };
        let (access_key, secret) = (field("accessKey"), field("secret"));
        let (Some(access_key), Some(secret)) = (access_key, secret) else {
            return replies::invalid_body(&problems);
        };
        if access_key != ACCESS_KEY_ID || secret != ACCESS_KEY_SECRET {
            tally.counters.rejected_logins += 1;
            return replies::unauthorized("AccessKeyUnauthorized");
        }
        let token = self.issue(now);
        tally.logged_in(now);
        tally.counters.access_key_logins += 1;
        Reply::text(201, "application/jwt", token)
    }

    /// A new token, issued at `now` by the API's clock, floored to the
    /// second as a JWT's `NumericDate` usually is. Two logins in the same
    /// second get the same token, as they would from a real server whose
    /// claims carry no nonce.
    fn issue(&self, now: Instant) -> String {
        let lifetime = self.lifetime_seconds();
        let issued_at = self.clock.unix_seconds(now, self.clock_skew);
        let claims = Claims {
            uid: UID.to_owned(),
            ar: ROLES.map(str::to_owned).to_vec(),
            ak: KEY_UUID.to_owned(),
            realm: REALM.to_owned(),
            ca: COMPANY_ACCOUNT.to_owned(),
            cid: COMPANY.to_owned(),
            domain: DOMAIN.to_owned(),
            iat: issued_at,
            exp: issued_at.saturating_add_unsigned(lifetime),
        };
        self.signer.sign(&claims)
    }

    fn protected(
        &mut self,
        tally: &mut Tally,
        request: &Incoming,
        now: Instant,
        answer: fn(&Claims) -> Value,
    ) -> Reply {
        let checked = match bearer(request) {
            Some(token) => self.check(token, now).map_err(|invalid| match invalid {
                Invalid::Forged => "InvalidToken",
                Invalid::Expired => "TokenExpired",
            }),
            None => Err("MissingToken"),
        };
        match checked {
            Ok(claims) => {
                tally.counters.calls += 1;
                Reply::json(200, &answer(&claims))
            }
            Err(reason) => {
                tally.counters.unauthorized += 1;
                replies::unauthorized(reason)
            }
        }
    }

    /// The claims of `token` if this API signed it and it has not ended.
    /// It ends when the API's own (skewed) clock, to the millisecond,
    /// reaches `exp`: `now >= exp`, the strict reading, so that a token is
    /// refused from the first millisecond of the second its `exp` names.
    fn check(&self, token: &str, now: Instant) -> Result<Claims, Invalid> {
        let claims = self.signer.verify(token)?;
        let now_millis = self.clock.unix_millis(now, self.clock_skew);
        if now_millis >= claims.exp.saturating_mul(1000) {
            return Err(Invalid::Expired);
        }
        Ok(claims)
    }
}

/// The token of an `Authorization: Bearer` header.
fn bearer(request: &Incoming) -> Option<&str> {
    let value = request.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("Bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::{AccessKeyApi, Invalid};
    use std::time::{Duration, Instant};

    /// The instant, from `started`, at which the API's clock reads
    /// `unix_millis`.
    fn at(api: &AccessKeyApi, started: Instant, unix_millis: i64) -> Instant {
        let offset = unix_millis - api.clock.unix_millis(started, api.clock_skew);
        started + Duration::from_millis(u64::try_from(offset).unwrap_or_default())
    }

    #[test]
    fn a_token_issued_late_in_its_second_ends_at_its_floored_exp() {
        for skew in [0, 3600, -3600] {
            let started = Instant::now();
            let api = AccessKeyApi::new(Duration::from_secs(4), skew, started);
            // 900 ms into the second after the one the API started in.
            let start_second = api.clock.unix_seconds(started, skew);
            let issued = at(&api, started, (start_second + 1) * 1000 + 900);
            let token = api.issue(issued);
            let claims = api
                .check(&token, issued)
                .unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(claims.iat, start_second + 1, "skew {skew}: iat floored");
            assert_eq!(claims.exp - claims.iat, 4);
            // 3.1 s of real time, not 4: alive a millisecond before `exp`,
            // refused at `exp` itself.
            let end = at(&api, started, claims.exp * 1000);
            assert_eq!(end - issued, Duration::from_millis(3100), "skew {skew}");
            let just_before = at(&api, started, claims.exp * 1000 - 1);
            assert!(api.check(&token, just_before).is_ok(), "skew {skew}");
            assert_eq!(api.check(&token, end), Err(Invalid::Expired));
        }
    }
}
