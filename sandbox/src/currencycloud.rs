//! Currencycloud's API as `PROVIDERS.md` §1 describes it: login by form
//! (multipart or urlencoded) with the real API's validation, lockout and
//! login rate limit; tokens that die after an idle time that every call
//! restarts; logout; a few protected calls to spend a token on; and SCA
//! for API payments (`POST /v2/payments/validate`, `POST
//! /v2/payments/create`, in [`payments`]). Every answer is JSON and
//! carries a fresh `X-Request-Id`.

mod payments;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::counters::Tally;
use super::exchange::{Incoming, Reply};
use super::{form, ids};
use payments::Payments;

pub use payments::CURRENCYCLOUD_SCA_CODE;
pub(super) use payments::Rules as ScaRules;

/// The login id of the user every sandbox starts with.
///
/// ```
/// use authsession_sandbox::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID};
///
/// assert_eq!(CURRENCYCLOUD_LOGIN_ID, "demo@example.com");
/// assert_eq!(CURRENCYCLOUD_API_KEY.len(), 64);
/// ```
pub const CURRENCYCLOUD_LOGIN_ID: &str = "demo@example.com";

/// The API key of [`CURRENCYCLOUD_LOGIN_ID`]: the seed's example key.
///
/// ```
/// use authsession_sandbox::CURRENCYCLOUD_API_KEY;
///
/// assert!(CURRENCYCLOUD_API_KEY.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
/// ```
pub const CURRENCYCLOUD_API_KEY: &str =
    "1f6a3e944f8c4ebdc6658d6fc1103f12ebbc33f5ed05ca3549fdbc3883556544";

/// The path prefix of every Currencycloud endpoint.
pub(super) const PREFIX: &str = "/v2";

const LOGIN_RATE_WINDOW: Duration = Duration::from_secs(60);
const LOGIN_ID_MAX_CHARS: usize = 255;
const API_KEY_CHARS: usize = 64;
/// Where `GET /v2/redirect` points: a host that must never see a token.
const REDIRECT_TARGET: &str = "http://127.0.0.2:9/steal";

/// The emulated Currencycloud: its users, live tokens and login history.
#[derive(Debug)]
pub(super) struct Currencycloud {
    pub idle_timeout: Duration,
    login_rate_limit: usize,
    lockout_after: u32,
    users: HashMap<String, User>,
    tokens: HashMap<String, Token>,
    /// Login requests within the last rate window, oldest first.
    recent_logins: VecDeque<Instant>,
    payments: Payments,
}

#[derive(Debug)]
struct User {
    api_key: String,
    /// Failed logins since the last success; at `lockout_after` the account
    /// is disabled for good, as support alone re-enables a real one.
    failures: u32,
}

#[derive(Debug)]
struct Token {
    last_used: Instant,
    /// Whose token it is: what a payment's SCA challenge is bound to, so
    /// that it outlives the token.
    login_id: String,
}

impl Currencycloud {
    pub fn new(
        idle_timeout: Duration,
        login_rate_limit: u32,
        lockout_after: u32,
        sca: ScaRules,
    ) -> Self {
        let mut api = Currencycloud {
            idle_timeout,
            login_rate_limit: usize::try_from(login_rate_limit).unwrap_or(usize::MAX),
            lockout_after,
            users: HashMap::new(),
            tokens: HashMap::new(),
            recent_logins: VecDeque::new(),
            payments: Payments::new(sca),
        };
        api.add_user(CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_API_KEY);
        api
    }

    /// Adds a user, or gives an existing one a new key and a clean record.
    pub fn add_user(&mut self, login_id: &str, api_key: &str) {
        let user = User {
            api_key: api_key.to_owned(),
            failures: 0,
        };
        self.users.insert(login_id.to_owned(), user);
    }

    pub fn serve(&mut self, tally: &mut Tally, request: &Incoming, now: Instant) -> Reply {
        let reply = match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/v2/authenticate/api") => self.login(tally, request, now),
            ("POST", "/v2/authenticate/close_session") => self.logout(tally, request, now),
            ("GET", "/v2/accounts/current") => {
                self.protected(tally, request, now, |_, _, _| Reply::json(200, &account()))
            }
            ("GET", "/v2/balances/find") => {
                self.protected(tally, request, now, |_, _, _| Reply::json(200, &balances()))
            }
            ("GET", "/v2/redirect") => self.protected(tally, request, now, |_, _, _| {
                Reply::json(302, &json!({})).with_header("Location", REDIRECT_TARGET.to_owned())
            }),
            ("POST", "/v2/payments/validate") => {
                self.protected(tally, request, now, |tally, payments, login_id| {
                    payments.validate(tally, request, login_id, now)
                })
            }
            ("POST", "/v2/payments/create") => {
                self.protected(tally, request, now, |tally, payments, login_id| {
                    payments.create(tally, request, login_id, now)
                })
            }
            _ => plain_error(404),
        };
        stamped(reply)
    }

    fn login(&mut self, tally: &mut Tally, request: &Incoming, now: Instant) -> Reply {
        while self
            .recent_logins
            .front()
            .is_some_and(|at| now.duration_since(*at) >= LOGIN_RATE_WINDOW)
        {
            self.recent_logins.pop_front();
        }
        if self.recent_logins.len() >= self.login_rate_limit {
            tally.counters.rate_limited += 1;
            return plain_error(429);
        }
        self.recent_logins.push_back(now);

        let Some(fields) = form::fields(request.header("Content-Type"), &request.body) else {
            return plain_error(400);
        };
        let (login_id, api_key) = (
            form::field(&fields, "login_id"),
            form::field(&fields, "api_key"),
        );
        let problems = login_problems(login_id, api_key);
        let (Some(login_id), Some(api_key), true) = (login_id, api_key, problems.is_empty()) else {
            let body = json!({
                "error_code": "auth_invalid_user_login_details",
                "error_messages": problems,
            });
            return Reply::json(400, &body);
        };

        let accepted = match self.users.get_mut(login_id) {
            Some(user) if user.failures < self.lockout_after && user.api_key == api_key => {
                user.failures = 0;
                true
            }
            Some(user) => {
                user.failures = user.failures.saturating_add(1);
                false
            }
            None => false,
        };
        if !accepted {
            tally.counters.rejected_logins += 1;
            return auth_failed();
        }
        let idle_timeout = self.idle_timeout;
        self.tokens
            .retain(|_, token| now.duration_since(token.last_used) < idle_timeout);
        let auth_token = ids::random_hex(32);
        let token = Token {
            last_used: now,
            login_id: login_id.to_owned(),
        };
        self.tokens.insert(auth_token.clone(), token);
        tally.logged_in(now);
        Reply::json(200, &json!({ "auth_token": auth_token }))
    }

    fn logout(&mut self, tally: &mut Tally, request: &Incoming, now: Instant) -> Reply {
        let Some((token, _)) = self.live_token(request, now) else {
            tally.counters.unauthorized += 1;
            return auth_failed();
        };
        self.tokens.remove(&token);
        tally.counters.logouts += 1;
        Reply::json(200, &json!({}))
    }

    /// A call that needs a live token: `answer` gets the login id behind
    /// it.
    fn protected(
        &mut self,
        tally: &mut Tally,
        request: &Incoming,
        now: Instant,
        answer: impl FnOnce(&mut Tally, &mut Payments, &str) -> Reply,
    ) -> Reply {
        let Some((_, login_id)) = self.live_token(request, now) else {
            tally.counters.unauthorized += 1;
            return auth_failed();
        };
        let reply = answer(tally, &mut self.payments, &login_id);
        if (200..300).contains(&reply.status) {
            tally.counters.calls += 1;
        }
        reply
    }

    /// The request's token and its login id if it is live, having
    /// restarted its idle timer; an idle-expired token is forgotten.
    fn live_token(&mut self, request: &Incoming, now: Instant) -> Option<(String, String)> {
        let token = request.header("X-Auth-Token")?;
        let live = self.tokens.get_mut(token)?;
        if now.duration_since(live.last_used) < self.idle_timeout {
            live.last_used = now;
            return Some((token.to_owned(), live.login_id.clone()));
        }
        self.tokens.remove(token);
        None
    }
}

/// The field errors of a login form, by field, in the real API's words: a
/// missing field also fails the length rule, as it does there.
fn login_problems(login_id: Option<&str>, api_key: Option<&str>) -> Map<String, Value> {
    let mut login_id_problems = Vec::new();
    if login_id.is_none() {
        login_id_problems.push(problem(
            "login_id_is_required",
            "login_id is required",
            &json!({}),
        ));
    }
    match login_id.map_or(0, |id| id.chars().count()) {
        0 => login_id_problems.push(problem(
            "login_id_is_too_short",
            "login_id can not be shorter than 1 character(s)",
            &json!({ "minlength": 1 }),
        )),
        n if n > LOGIN_ID_MAX_CHARS => login_id_problems.push(problem(
            "login_id_is_too_long",
            "login_id can not be longer than 255 character(s)",
            &json!({ "maxlength": LOGIN_ID_MAX_CHARS }),
        )),
        _ => {}
    }
    let mut api_key_problems = Vec::new();
    if api_key.is_none() {
        api_key_problems.push(problem(
            "api_key_is_required",
            "api_key is required",
            &json!({}),
        ));
    }
    if api_key.map_or(0, |key| key.chars().count()) != API_KEY_CHARS {
        api_key_problems.push(problem(
            "api_key_length_is_invalid",
            "api_key should be 64 character(s) long",
            &json!({ "length": API_KEY_CHARS }),
        ));
    }
    let mut problems = Map::new();
    for (field, list) in [
        ("login_id", login_id_problems),
        ("api_key", api_key_problems),
    ] {
        if !list.is_empty() {
            problems.insert(field.to_owned(), Value::Array(list));
        }
    }
    problems
}

fn problem(code: &str, message: &str, params: &Value) -> Value {
    json!({ "code": code, "message": message, "params": params })
}

/// The answer to bad credentials and to a token that is not (or no
/// longer) valid: the seed's body, word for word.
fn auth_failed() -> Reply {
    let body = json!({
        "error_code": "auth_failed",
        "error_messages": {
            "username": [problem(
                "invalid_supplied_credentials",
                "Authentication failed with the supplied credentials",
                &json!({}),
            )],
        },
    });
    Reply::json(401, &body)
}

/// An error of the API as a whole (not of a field), stamped with a request
/// id: what a fault answers.
pub(super) fn error(status: u16) -> Reply {
    stamped(plain_error(status))
}

fn plain_error(status: u16) -> Reply {
    let (code, message) = match status {
        401 => return auth_failed(),
        400 => ("invalid_request", "The request could not be read"),
        403 => (
            "permission_denied",
            "You do not have permission to perform this action",
        ),
        404 => ("not_found", "Resource not found"),
        429 => (
            "too_many_requests",
            "Too many requests have been made to the api. Please refer to the Developer Center for more information",
        ),
        503 => ("service_unavailable", "Service is temporarily unavailable"),
        500..=599 => ("internal_server_error", "Internal server error"),
        _ => ("invalid_request", "The request could not be completed"),
    };
    let body = json!({
        "error_code": code,
        "error_messages": { "base": [problem(code, message, &json!({}))] },
    });
    Reply::json(status, &body)
}

/// Currencycloud's request ids are long decimal numbers.
fn stamped(reply: Reply) -> Reply {
    reply.with_header("X-Request-Id", ids::random_u64().to_string())
}

fn account() -> Value {
    json!({
        "id": "8ec3a69b-02d1-4f09-9a6b-6bd54a61b3a8",
        "account_name": "Demo Sandbox Ltd",
        "brand": "currencycloud",
        "your_reference": "DEMO-0001",
        "status": "enabled",
        "street": "12 Steward Street",
        "city": "London",
        "state_or_province": null,
        "country": "GB",
        "postal_code": "E1 6FQ",
        "spread_table": "flat_0.01",
        "legal_entity_type": "company",
        "created_at": "2024-01-15T10:00:00+00:00",
        "updated_at": "2024-01-15T10:00:00+00:00",
        "identification_type": null,
        "identification_value": null,
        "short_reference": "240115-00001",
        "api_trading": true,
        "online_trading": true,
        "phone_trading": true,
        "process_third_party_funds": false,
        "settlement_type": "net",
        "agent_or_reliance": false,
        "terms_and_conditions_accepted": null,
        "bank_account_verified": "yes",
    })
}

fn balances() -> Value {
    let account_id = "8ec3a69b-02d1-4f09-9a6b-6bd54a61b3a8";
    json!({
        "balances": [
            {
                "id": "c5a990eb-d4d7-482f-bfb1-695261fb1e4d",
                "account_id": account_id,
                "currency": "EUR",
                "amount": "25000.00",
                "created_at": "2024-01-15T10:00:00+00:00",
                "updated_at": "2024-03-01T09:30:00+00:00",
            },
            {
                "id": "7e0dd5d9-0ad0-46c9-9f4c-3a8bfc1d7c35",
                "account_id": account_id,
                "currency": "GBP",
                "amount": "10350.75",
                "created_at": "2024-01-15T10:00:00+00:00",
                "updated_at": "2024-03-02T14:05:00+00:00",
            },
        ],
        "pagination": {
            "total_entries": 2,
            "total_pages": 1,
            "current_page": 1,
            "per_page": 25,
            "previous_page": -1,
            "next_page": -1,
            "order": "created_at",
            "order_asc_desc": "asc",
        },
    })
}
