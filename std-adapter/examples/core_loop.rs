//! The core's loop, written out by hand: a Currencycloud `Session` of
//! `authsession-core` driven over `ureq`, which makes its application call
//! (`GET /v2/accounts/current`), prints the answer and logs out. It is the
//! loop of the README's "Driving the core" and of the core's crate docs.
//!
//! ```sh
//! cargo run -p authsession-std --example core_loop               # starts a sandbox
//! cargo run -p authsession-std --example core_loop -- http://127.0.0.1:8080/currencycloud
//! ```
//!
//! The base URL comes from the first argument or `CURRENCYCLOUD_URL`;
//! without one the example starts the local sandbox and uses its demo
//! login. Against another server, give `CURRENCYCLOUD_LOGIN_ID` and
//! `CURRENCYCLOUD_API_KEY`.
//!
//! The rule: after every input to the session (`authorize`,
//! `handle_reply`, `handle_response`, `handle_failure`, `handle_timeout`,
//! `logout`), drain `poll_transmit` and `poll_event`. Sleep, until
//! `poll_timeout`, only when there was nothing to send and no call could
//! go: the session is then waiting out a backoff or a timer.

use std::error::Error;
use std::io::Read;
use std::time::Duration;

use authsession_core::providers::{Currencycloud, CurrencycloudCredentials};
use authsession_core::{Event, Headers, Instant, Level, NotReady, Session, Verdict};
use authsession_std::HttpResponse;

/// The application's call.
const ACCOUNT: &str = "/v2/accounts/current";
/// Rounds of the loop before it gives up: a login, a call, a replay and a
/// few backoffs take far fewer.
const MAX_ROUNDS: usize = 20;
/// The most bytes of an answer this example reads.
const BODY_LIMIT: u64 = 1024 * 1024;

/// The caller's monotonic clock, as the core's `Instant` (milliseconds).
#[derive(Debug)]
pub struct Clock(std::time::Instant);

impl Clock {
    pub fn start() -> Self {
        Clock(std::time::Instant::now())
    }

    pub fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    pub fn sleep_until(&self, at: Instant) {
        std::thread::sleep(at.saturating_duration_since(self.now()));
    }
}

/// Any HTTP client will do; this one is `ureq`, with HTTP statuses as
/// values (they are the session's business) and no redirects (one could
/// carry the token to another host).
#[derive(Debug)]
pub struct Http {
    agent: ureq::Agent,
    base_url: String,
}

impl Http {
    pub fn new(base_url: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        Http {
            agent,
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Sends one request and reads the whole answer; an error is a failed
    /// transport (no answer), never an HTTP status.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &Headers<'_>,
        body: &[u8],
    ) -> Result<http::Response<Vec<u8>>, Box<dyn Error>> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base_url));
        for header in headers.iter() {
            let mut value = String::new();
            header.value.write_to(&mut value)?;
            request = request.header(header.name, value);
        }
        let response = if body.is_empty() {
            self.agent.run(request.body(())?)?
        } else {
            self.agent.run(request.body(body)?)?
        };
        let (parts, body) = response.into_parts();
        let mut bytes = Vec::new();
        body.into_with_config()
            .limit(BODY_LIMIT)
            .reader()
            .read_to_end(&mut bytes)?;
        Ok(http::Response::from_parts(parts, bytes))
    }
}

/// The loop's second half, the drain: sends what the session wants sent,
/// hands each answer back (or the failure), and prints what happened.
/// Returns whether anything was sent. A refused login or a session that
/// gave up ends the program.
fn drain(
    session: &mut Session<Currencycloud>,
    http: &Http,
    clock: &Clock,
) -> Result<bool, Box<dyn Error>> {
    let mut sent = false;
    // Each transmit is one request the session wants sent; an answer can
    // queue the next (a step-up, say), so drain until none is left.
    while let Some(transmit) = session.poll_transmit() {
        let id = transmit.id;
        let answer = http.send(
            transmit.method.as_str(),
            transmit.path,
            &transmit.headers,
            transmit.body,
        );
        sent = true;
        match answer {
            Ok(response) => session.handle_response(id, &HttpResponse(&response), clock.now()),
            Err(_) => session.handle_failure(id, clock.now()),
        }
    }
    while let Some(event) = session.poll_event() {
        println!("event: {event:?}");
        if let Event::LoginRejected(error) | Event::GaveUp(error) = event {
            return Err(format!("no session: {error}").into());
        }
    }
    Ok(sent)
}

/// Logs in to the Currencycloud API at `base_url`, makes the call, logs
/// out; the call's status and body.
pub fn run(base_url: &str, login_id: &str, api_key: &str) -> Result<(u16, String), Box<dyn Error>> {
    let http = Http::new(base_url);
    let clock = Clock::start();
    let credentials = CurrencycloudCredentials::new(login_id, api_key)?;
    let mut session = Session::new(Currencycloud::default(), credentials);

    let mut answer = None;
    let mut replayed = false;
    for _ in 0..MAX_ROUNDS {
        // The call goes as soon as the session authorizes it; if it cannot
        // yet, the session has queued what it needs (a login).
        let call_went = match session.authorize(Level::User, clock.now()) {
            Ok(grant) => {
                let ticket = grant.ticket;
                let response = http.send("GET", ACCOUNT, &grant.headers, b"")?;
                match session.handle_reply(ticket, &HttpResponse(&response), clock.now()) {
                    Verdict::Ok => answer = Some(response),
                    // The token was refused: the session logs in again,
                    // and the call goes once more.
                    Verdict::Replay if !replayed => replayed = true,
                    other => return Err(format!("GET {ACCOUNT}: {other:?}").into()),
                }
                true
            }
            Err(NotReady::LoggingIn | NotReady::Backoff { .. }) => false,
            Err(other) => return Err(format!("GET {ACCOUNT} cannot go: {other:?}").into()),
        };
        let sent = drain(&mut session, &http, &clock)?;
        if answer.is_some() {
            break;
        }
        // Nothing was sent and no call could go: only time can change
        // that. `poll_timeout` is the end of a backoff, of the token, or of
        // a request in flight (`Config::request_timeout` bounds each one).
        if !sent && !call_went {
            let at = session
                .poll_timeout()
                .ok_or("the session waits for nothing")?;
            clock.sleep_until(at);
            session.handle_timeout(clock.now());
            drain(&mut session, &http, &clock)?;
        }
    }
    let response = answer.ok_or("no answer after all the rounds")?;

    session.logout(clock.now());
    drain(&mut session, &http, &clock)?;

    let body = String::from_utf8_lossy(response.body()).into_owned();
    Ok((response.status().as_u16(), body))
}

fn main() -> Result<(), Box<dyn Error>> {
    let base_url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("CURRENCYCLOUD_URL").ok());
    let (status, account) = match base_url {
        Some(base_url) => {
            let login_id = std::env::var("CURRENCYCLOUD_LOGIN_ID")?;
            let api_key = std::env::var("CURRENCYCLOUD_API_KEY")?;
            run(&base_url, &login_id, &api_key)?
        }
        None => on_a_sandbox()?,
    };
    println!("GET {ACCOUNT}: HTTP {status}\n{account}");
    Ok(())
}

/// Runs the example against a sandbox of its own, with its demo login.
fn on_a_sandbox() -> Result<(u16, String), Box<dyn Error>> {
    use authsession_sandbox::{
        CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, Sandbox, SandboxConfig,
    };

    let sandbox = Sandbox::start(SandboxConfig::default())?;
    println!("sandbox at {}", sandbox.currencycloud_url());
    run(
        &sandbox.currencycloud_url(),
        CURRENCYCLOUD_LOGIN_ID,
        CURRENCYCLOUD_API_KEY,
    )
}
