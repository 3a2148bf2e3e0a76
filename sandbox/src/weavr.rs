//! Weavr's Multi API as `PROVIDERS.md` §2 describes it, under `/multi`: the
//! account's `api-key` on every request; login by password to an auth
//! token, exchanged for a JWT-like access token per identity; tokens that
//! die after an idle time that every call restarts; calls that need a
//! stepped-up token, and step-up by SMS code or push (in `stepup`); logout.
//! Every answer carries a fresh `request-ref`.

mod replies;
mod stepup;
mod users;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::counters::Tally;
use super::exchange::{Incoming, Reply};
use super::ids;
use replies::{
    access_jwt, bad_request, identity_id, invalid_credentials, managed_account, not_found,
    required, stamped, statement,
};
use stepup::StepUp;
use users::{Identity, Profile, User};

pub use users::{
    WEAVR_API_KEY, WEAVR_CORPORATE_ID, WEAVR_EMAIL, WEAVR_EXPIRED_EMAIL, WEAVR_MANAGED_ACCOUNT_ID,
    WEAVR_OTP_CODE, WEAVR_PASSWORD, WEAVR_TWO_IDENTITIES_CONSUMER_ID,
    WEAVR_TWO_IDENTITIES_CORPORATE_ID, WEAVR_TWO_IDENTITIES_EMAIL,
};

pub(super) use replies::error;

/// The path prefix of every Weavr endpoint.
pub(super) const PREFIX: &str = "/multi";

/// The timings and switches of the emulated Weavr, from the sandbox's
/// configuration.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rules {
    pub idle_timeout: Duration,
    pub resend_interval: Duration,
    pub code_lifetime: Duration,
    pub lockout_after: u32,
    pub lock_duration: Duration,
    pub step_up_in_message: bool,
}

/// The emulated Weavr: its users and live tokens.
#[derive(Debug)]
pub(super) struct Weavr {
    rules: Rules,
    users: Vec<User>,
    tokens: HashMap<String, Token>,
    /// Push challenges waiting for the user's answer, by id: the access
    /// token each would step up.
    pushes: HashMap<String, String>,
    /// The id of the last push challenge started, for tests that answer it.
    last_push: Option<String>,
    /// The number of the next login: the tokens of one login share it, and
    /// logout ends them together.
    next_session: u64,
}

#[derive(Debug)]
struct Token {
    session: u64,
    user: &'static Profile,
    last_used: Instant,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// From a login: good for `GET /identities` and `POST /access_token`.
    Auth,
    /// From a login with an expired password: good for nothing here.
    Temporary,
    /// From the exchange: acts as one identity of the user.
    Access(Access),
}

#[derive(Debug)]
struct Access {
    identity: &'static Identity,
    step_up: StepUp,
}

/// The kind of token an endpoint takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    Auth,
    Access,
}

/// An endpoint, with its path parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route<'a> {
    Login,
    Identities,
    AccessToken,
    ManagedAccounts,
    Statement(&'a str),
    Otp(&'a str),
    Verify(&'a str),
    Push(&'a str),
    Logout,
}

impl<'a> Route<'a> {
    fn of(method: &str, path: &'a str) -> Option<Self> {
        let rest = path.strip_prefix(PREFIX)?.strip_prefix('/')?;
        let segments: Vec<&str> = rest.split('/').collect();
        Some(match (method, segments.as_slice()) {
            ("POST", ["login_with_password"]) => Route::Login,
            ("GET", ["identities"]) => Route::Identities,
            ("POST", ["access_token"]) => Route::AccessToken,
            ("GET", ["managed_accounts"]) => Route::ManagedAccounts,
            ("GET", ["managed_accounts", id, "statement"]) => Route::Statement(id),
            ("POST", ["stepup", "challenges", "otp", channel]) => Route::Otp(channel),
            ("POST", ["stepup", "challenges", "otp", channel, "verify"]) => Route::Verify(channel),
            ("POST", ["stepup", "challenges", "push", channel]) => Route::Push(channel),
            ("POST", ["logout"]) => Route::Logout,
            _ => return None,
        })
    }
}

impl Token {
    fn access_mut(&mut self) -> Option<&mut Access> {
        match &mut self.kind {
            Kind::Access(access) => Some(access),
            Kind::Auth | Kind::Temporary => None,
        }
    }
}

impl Weavr {
    pub fn new(rules: Rules) -> Self {
        Weavr {
            rules,
            users: User::all(),
            tokens: HashMap::new(),
            pushes: HashMap::new(),
            last_push: None,
            next_session: 0,
        }
    }

    /// The id of the last push challenge started, if it still waits for
    /// the user's answer.
    pub fn pending_push(&self) -> Option<&str> {
        self.last_push
            .as_deref()
            .filter(|id| self.pushes.contains_key(*id))
    }

    /// Answers a request under [`PREFIX`]. Unknown endpoints get a `404`
    /// before the `api-key` is looked at; a `401` counts as a rejected
    /// login on the login endpoint and as unauthorized anywhere else.
    pub fn serve(&mut self, tally: &mut Tally, request: &Incoming, now: Instant) -> Reply {
        let Some(route) = Route::of(&request.method, &request.path) else {
            return stamped(not_found("no such endpoint"));
        };
        let reply = if request.header("api-key") == Some(WEAVR_API_KEY) {
            self.route(tally, route, request, now)
        } else {
            Reply::empty(401)
        };
        match (reply.status, route) {
            (401, Route::Login) => tally.counters.rejected_logins += 1,
            (401, _) => tally.counters.unauthorized += 1,
            _ => {}
        }
        stamped(reply)
    }

    fn route(
        &mut self,
        tally: &mut Tally,
        route: Route,
        request: &Incoming,
        now: Instant,
    ) -> Reply {
        match route {
            Route::Login => self.login(tally, request, now),
            Route::Identities => self.identities(request, now),
            Route::AccessToken => self.access_token(tally, request, now),
            Route::ManagedAccounts => self.managed_accounts(tally, request, now),
            Route::Statement(account) => self.statement(tally, request, now, account),
            Route::Otp(channel) => self.otp_challenge(tally, request, now, channel),
            Route::Verify(channel) => self.verify(tally, request, now, channel),
            Route::Push(channel) => self.push_challenge(tally, request, now, channel),
            Route::Logout => self.logout(tally, request, now),
        }
    }

    fn login(&mut self, tally: &mut Tally, request: &Incoming, now: Instant) -> Reply {
        let Some(body) = json_body(request) else {
            return bad_request(&[]);
        };
        let [email, password] = match required([
            ("email", text(&body["email"])),
            ("password", text(&body["password"]["value"])),
        ]) {
            Ok(values) => values,
            Err(reply) => return reply,
        };
        let Rules {
            lockout_after,
            lock_duration,
            ..
        } = self.rules;
        let found = self
            .users
            .iter_mut()
            .find(|user| user.profile.email.eq_ignore_ascii_case(email));
        let Some(user) = found else {
            tally.counters.rejected_logins += 1;
            return invalid_credentials();
        };
        if user.locked(now, lock_duration) {
            tally.counters.rejected_logins += 1;
            return Reply::empty(423);
        }
        if user.profile.password != password {
            user.failed(now, lockout_after);
            tally.counters.rejected_logins += 1;
            return invalid_credentials();
        }
        user.succeeded();
        let profile = user.profile;
        self.forget_idle(now);
        let session = self.next_session;
        self.next_session += 1;
        let mut issue = |kind| {
            let token = ids::random_hex(48);
            let held = Token {
                session,
                user: profile,
                last_used: now,
                kind,
            };
            self.tokens.insert(token.clone(), held);
            token
        };
        if profile.password_expired {
            tally.counters.rejected_logins += 1;
            return Reply::json(409, &json!({ "token": issue(Kind::Temporary) }));
        }
        let token = issue(Kind::Auth);
        tally.logged_in(now);
        tally.counters.weavr_logins += 1;
        let Some(first) = profile.identities.first() else {
            return Reply::empty(500);
        };
        let body = json!({
            "token": token,
            "tokenType": "AUTH",
            "identity": identity_id(first),
            "credentials": { "type": "ROOT", "id": profile.credentials },
        });
        Reply::json(200, &body)
    }

    fn identities(&mut self, request: &Incoming, now: Instant) -> Reply {
        let Some(user) = self.live(request, now, Want::Auth).map(|token| token.user) else {
            return Reply::empty(401);
        };
        let identities = user.identities;
        let listed: Vec<Value> = identities
            .iter()
            .map(|identity| json!({ "id": identity_id(identity), "name": identity.name }))
            .collect();
        let body = json!({
            "identities": listed,
            "count": identities.len(),
            "responseCount": identities.len(),
        });
        Reply::json(200, &body)
    }

    fn access_token(&mut self, tally: &mut Tally, request: &Incoming, now: Instant) -> Reply {
        let Some((session, user)) = self
            .live(request, now, Want::Auth)
            .map(|token| (token.session, token.user))
        else {
            return Reply::empty(401);
        };
        let body = json_body(request).unwrap_or(Value::Null);
        let [kind, id] = match required([
            ("identity.type", text(&body["identity"]["type"])),
            ("identity.id", text(&body["identity"]["id"])),
        ]) {
            Ok(values) => values,
            Err(reply) => return reply,
        };
        let Some(identity) = user
            .identities
            .iter()
            .find(|identity| identity.kind == kind && identity.id == id)
        else {
            return Reply::empty(403);
        };
        let token = access_jwt(user.credentials, identity);
        let access = Access {
            identity,
            step_up: StepUp::default(),
        };
        let held = Token {
            session,
            user,
            last_used: now,
            kind: Kind::Access(access),
        };
        self.tokens.insert(token.clone(), held);
        tally.counters.weavr_exchanges += 1;
        let body = json!({
            "token": token,
            "identity": identity_id(identity),
            "credentials": { "type": "ROOT", "id": user.credentials },
            "status": "STANDARD",
        });
        Reply::json(200, &body)
    }

    fn managed_accounts(&mut self, tally: &mut Tally, request: &Incoming, now: Instant) -> Reply {
        let Some(access) = self.live_access(request, now) else {
            return Reply::empty(401);
        };
        let account = managed_account(access.identity);
        tally.counters.calls += 1;
        Reply::json(
            200,
            &json!({ "accounts": [account], "count": 1, "responseCount": 1 }),
        )
    }

    fn statement(
        &mut self,
        tally: &mut Tally,
        request: &Incoming,
        now: Instant,
        account: &str,
    ) -> Reply {
        let in_message = self.rules.step_up_in_message;
        let Some(access) = self.live_access(request, now) else {
            return Reply::empty(401);
        };
        if !access.step_up.stepped_up() {
            let field = if in_message { "message" } else { "errorCode" };
            return Reply::json(403, &json!({ field: "STEP_UP_REQUIRED" }));
        }
        if account != access.identity.account {
            return not_found("no such managed account");
        }
        tally.counters.calls += 1;
        Reply::json(200, &statement())
    }

    fn logout(&mut self, tally: &mut Tally, request: &Incoming, now: Instant) -> Reply {
        let Some(session) = self.live(request, now, Want::Access).map(|t| t.session) else {
            return Reply::empty(401);
        };
        self.end_session(session);
        tally.counters.logouts += 1;
        Reply::empty(204)
    }

    /// The request's bearer token if it is live and of the kind wanted,
    /// having restarted its idle timer; an idle-expired token is forgotten.
    fn live(&mut self, request: &Incoming, now: Instant, want: Want) -> Option<&mut Token> {
        let key = bearer(request)?;
        let idle_timeout = self.rules.idle_timeout;
        if self
            .tokens
            .get(key)
            .is_some_and(|token| now.duration_since(token.last_used) >= idle_timeout)
        {
            self.tokens.remove(key);
            return None;
        }
        let token = self.tokens.get_mut(key)?;
        let kind = match token.kind {
            Kind::Auth => Some(Want::Auth),
            Kind::Access(_) => Some(Want::Access),
            Kind::Temporary => None,
        };
        if kind != Some(want) {
            return None;
        }
        token.last_used = now;
        Some(token)
    }

    fn live_access(&mut self, request: &Incoming, now: Instant) -> Option<&mut Access> {
        self.live(request, now, Want::Access)
            .and_then(Token::access_mut)
    }

    /// Forgets every token of a login and its pending push challenges.
    fn end_session(&mut self, session: u64) {
        self.tokens.retain(|_, token| token.session != session);
        self.pushes
            .retain(|_, token| self.tokens.contains_key(token));
    }

    fn forget_idle(&mut self, now: Instant) {
        let idle_timeout = self.rules.idle_timeout;
        self.tokens
            .retain(|_, token| now.duration_since(token.last_used) < idle_timeout);
        self.pushes
            .retain(|_, token| self.tokens.contains_key(token));
    }
}

/// The body as a JSON object; `None` if it is not one.
fn json_body(request: &Incoming) -> Option<Value> {
    serde_json::from_slice::<Value>(&request.body)
        .ok()
        .filter(Value::is_object)
}

/// A string field that is present and not blank.
fn text(value: &Value) -> Option<&str> {
    value.as_str().filter(|text| !text.trim().is_empty())
}

fn bearer(request: &Incoming) -> Option<&str> {
    let value = request.header("Authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("Bearer").then(|| token.trim())
}
