//! A local emulator of the APIs that authsession speaks, on a real HTTP
//! server, so that the client, the test suites and `authsession demo` run
//! against the vendors' protocols without the vendors: short timeouts for
//! tests, counters of what it saw, and faults on demand.
//!
//! Each API lives in its own module and answers under its own path prefix:
//! `/v2` is Currencycloud, `/multi` is Weavr, `/access-key` is the
//! access-key JWT API; any other prefix gets a `404`.
//!
//! Currencycloud's endpoints: `POST /v2/authenticate/api` (login, by
//! multipart or urlencoded form), `POST /v2/authenticate/close_session`,
//! `GET /v2/accounts/current`, `GET /v2/balances/find`, `GET
//! /v2/redirect` (a `302` to another host), and SCA for API payments:
//! `POST /v2/payments/validate` and `POST /v2/payments/create`, whose SMS
//! code is always [`CURRENCYCLOUD_SCA_CODE`] (the amount from which a
//! payment needs one, the limit on codes sent and their lifetime are
//! [`SandboxConfig`]'s `currencycloud_sca_*` fields).
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use authsession_sandbox::{Sandbox, SandboxConfig};
//!
//! let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
//! let mut stream = TcpStream::connect(sandbox.addr())?;
//! stream.write_all(b"GET /v2/accounts/current HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut answer = String::new();
//! stream.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 401"));
//! assert_eq!(sandbox.counters().unauthorized, 1);
//! # Ok::<(), std::io::Error>(())
//! ```

mod access_key;
mod counters;
mod currencycloud;
mod exchange;
mod faults;
mod form;
mod ids;
mod server;
mod weavr;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming as Body};

pub use access_key::{ACCESS_KEY_ID, ACCESS_KEY_SECRET};
pub use counters::Counters;
pub use currencycloud::{CURRENCYCLOUD_API_KEY, CURRENCYCLOUD_LOGIN_ID, CURRENCYCLOUD_SCA_CODE};
pub use faults::Fault;
pub use weavr::{
    WEAVR_API_KEY, WEAVR_CORPORATE_ID, WEAVR_EMAIL, WEAVR_EXPIRED_EMAIL, WEAVR_MANAGED_ACCOUNT_ID,
    WEAVR_OTP_CODE, WEAVR_PASSWORD, WEAVR_TWO_IDENTITIES_CONSUMER_ID,
    WEAVR_TWO_IDENTITIES_CORPORATE_ID, WEAVR_TWO_IDENTITIES_EMAIL,
};

use access_key::AccessKeyApi;
use counters::Tally;
use currencycloud::Currencycloud;
use exchange::{Incoming, Reply};
use faults::FaultQueue;
use server::{Dropped, Server};
use weavr::Weavr;

/// How a [`Sandbox`] is set up.
///
/// ```
/// use std::time::Duration;
/// use authsession_sandbox::SandboxConfig;
///
/// let config = SandboxConfig {
///     idle_timeout: Duration::from_millis(200),
///     lockout_after: 2,
///     ..SandboxConfig::for_tests()
/// };
/// assert_eq!(config.login_rate_limit, 10_000);
/// assert_eq!(SandboxConfig::default().idle_timeout, Duration::from_secs(30 * 60));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Where to listen; the default, `127.0.0.1:0`, takes a free port.
    pub listen: SocketAddr,
    /// How long a Currencycloud token lives without a call (30 minutes, as
    /// the real API).
    pub idle_timeout: Duration,
    /// Login requests allowed in any 60 s; past it, `429` (60, as the real
    /// API).
    pub login_rate_limit: u32,
    /// Failed logins after which an account is disabled (4, as the real
    /// API).
    pub lockout_after: u32,
    /// The amount from which a Currencycloud payment validated with
    /// `x-sca-opt-in: true` needs an SMS code, in whole units of its
    /// currency, compared with the payment's decimal amount (`99.99` is
    /// below 100); below it the validate answers `x-sca-type: NONE` (100).
    pub currencycloud_sca_threshold: u64,
    /// SMS codes Currencycloud sends for the same payment (user and
    /// fields) within 10 minutes; the validate after them gets `429` (5).
    pub currencycloud_sca_sms_limit: u32,
    /// How long a Currencycloud payment's SMS code can be used (10
    /// minutes, as the real API).
    pub currencycloud_sca_code_lifetime: Duration,
    /// Threads serving requests (16).
    pub worker_threads: usize,
    /// How long a Weavr token lives without a call (5 minutes, as the real
    /// API).
    pub weavr_idle_timeout: Duration,
    /// How long after a Weavr step-up challenge the next may be asked for;
    /// sooner, `409 RETRY_IN_15SEC` (15 s, as the real API).
    pub weavr_resend_interval: Duration,
    /// How long a Weavr SMS code can be verified (5 minutes, as the real
    /// API).
    pub weavr_code_lifetime: Duration,
    /// Consecutive failed Weavr logins after which the user is locked out
    /// (5).
    pub weavr_lockout_after: u32,
    /// How long a Weavr lockout lasts: `423` to every login meanwhile
    /// (30 minutes, as the real API).
    pub weavr_lock_duration: Duration,
    /// Whether Weavr says `STEP_UP_REQUIRED` in `message`, as its web app
    /// sees it, rather than in `errorCode` (false).
    pub weavr_step_up_in_message: bool,
    /// How long an access-key JWT lives: its `exp - iat`, and how long the
    /// sandbox accepts it. Whole seconds, as a JWT states times; a fraction
    /// is dropped and anything under a second counts as one (3600 s, as the
    /// seed's token).
    pub access_key_token_lifetime: Duration,
    /// How many seconds the access-key API's clock is ahead of the real
    /// one (negative: behind), so that the `iat` and `exp` of its tokens
    /// disagree with the client's clock; it judges its tokens by the same
    /// clock, so they live their lifetime of real time all the same (0).
    pub access_key_clock_skew: i64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            idle_timeout: Duration::from_secs(30 * 60),
            login_rate_limit: 60,
            lockout_after: 4,
            currencycloud_sca_threshold: 100,
            currencycloud_sca_sms_limit: 5,
            currencycloud_sca_code_lifetime: Duration::from_secs(10 * 60),
            worker_threads: 16,
            weavr_idle_timeout: Duration::from_secs(5 * 60),
            weavr_resend_interval: Duration::from_secs(15),
            weavr_code_lifetime: Duration::from_secs(5 * 60),
            weavr_lockout_after: 5,
            weavr_lock_duration: Duration::from_secs(30 * 60),
            weavr_step_up_in_message: false,
            access_key_token_lifetime: Duration::from_secs(3600),
            access_key_clock_skew: 0,
        }
    }
}

impl SandboxConfig {
    /// The real APIs' rules with their timeouts cut short (idle timeouts
    /// 300 ms, Weavr's resend interval 200 ms) and a login rate limit
    /// (10 000 a minute) that a test suite does not reach by accident.
    /// Lockouts and code lifetimes keep the real APIs' values.
    ///
    /// ```
    /// use std::time::Duration;
    /// use authsession_sandbox::SandboxConfig;
    ///
    /// let config = SandboxConfig::for_tests();
    /// assert_eq!(config.idle_timeout, Duration::from_millis(300));
    /// assert_eq!(config.weavr_idle_timeout, Duration::from_millis(300));
    /// assert_eq!(config.weavr_resend_interval, Duration::from_millis(200));
    /// ```
    pub fn for_tests() -> Self {
        SandboxConfig {
            idle_timeout: Duration::from_millis(300),
            login_rate_limit: 10_000,
            weavr_idle_timeout: Duration::from_millis(300),
            weavr_resend_interval: Duration::from_millis(200),
            ..SandboxConfig::default()
        }
    }
}

/// The running emulator. Dropping it stops the server, closes every
/// connection and joins its threads.
///
/// ```
/// use authsession_sandbox::{Sandbox, SandboxConfig};
///
/// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
/// let base = sandbox.currencycloud_url(); // e.g. "http://127.0.0.1:41234"
/// assert!(base.starts_with("http://127.0.0.1:"));
/// drop(sandbox); // the port is closed again
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Sandbox {
    shared: Arc<Shared>,
    server: Server,
    worker_threads: usize,
}

/// What the requests' tasks share.
struct Shared {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tally: Tally,
    faults: FaultQueue,
    currencycloud: Currencycloud,
    weavr: Weavr,
    access_key: AccessKeyApi,
}

/// Which emulated API a request is for, by its path prefix.
#[derive(Clone, Copy, Debug)]
enum Api {
    Currencycloud,
    Weavr,
    AccessKey,
    None,
}

impl Api {
    fn of(url: &str) -> Self {
        let path = url.split_once('?').map_or(url, |(path, _)| path);
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under(currencycloud::PREFIX) {
            Api::Currencycloud
        } else if under(weavr::PREFIX) {
            Api::Weavr
        } else if under(access_key::PREFIX) {
            Api::AccessKey
        } else {
            Api::None
        }
    }

    /// The API's own answer for an error status.
    fn error(self, status: u16) -> Reply {
        match self {
            Api::Currencycloud => currencycloud::error(status),
            Api::Weavr => weavr::error(status),
            Api::AccessKey => access_key::error(status),
            Api::None => Reply::no_api(status),
        }
    }
}

impl Sandbox {
    /// Starts the server and its workers.
    ///
    /// ```
    /// use authsession_sandbox::{Sandbox, SandboxConfig};
    ///
    /// let sandbox = Sandbox::start(SandboxConfig { worker_threads: 2, ..SandboxConfig::for_tests() })?;
    /// assert_ne!(sandbox.addr().port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(config: SandboxConfig) -> io::Result<Sandbox> {
        let state = State {
            tally: Tally::default(),
            faults: FaultQueue::default(),
            currencycloud: Currencycloud::new(
                config.idle_timeout,
                config.login_rate_limit,
                config.lockout_after,
                currencycloud::ScaRules {
                    threshold: config.currencycloud_sca_threshold,
                    sms_limit: config.currencycloud_sca_sms_limit,
                    code_lifetime: config.currencycloud_sca_code_lifetime,
                },
            ),
            weavr: Weavr::new(weavr::Rules {
                idle_timeout: config.weavr_idle_timeout,
                resend_interval: config.weavr_resend_interval,
                code_lifetime: config.weavr_code_lifetime,
                lockout_after: config.weavr_lockout_after,
                lock_duration: config.weavr_lock_duration,
                step_up_in_message: config.weavr_step_up_in_message,
            }),
            access_key: AccessKeyApi::new(
                config.access_key_token_lifetime,
                config.access_key_clock_skew,
                Instant::now(),
            ),
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
        });
        let handler = {
            let shared = shared.clone();
            move |request| shared.clone().handle(request)
        };
        let on_accept_failure = {
            let shared = shared.clone();
            move |_: &io::Error| shared.lock().tally.counters.accept_failures += 1
        };
        let worker_threads = config.worker_threads.max(1);
        let server = Server::start(config.listen, worker_threads, handler, on_accept_failure)?;
        Ok(Sandbox {
            shared,
            server,
            worker_threads,
        })
    }

    /// The address clients connect to.
    ///
    /// ```
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// assert!(sandbox.addr().ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The base URL of the emulated Currencycloud, without a trailing slash;
    /// its paths start with `/v2`, as the real API's do.
    ///
    /// ```
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// let login_url = format!("{}/v2/authenticate/api", sandbox.currencycloud_url());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn currencycloud_url(&self) -> String {
        format!("http://{}", server::loopback(self.addr()))
    }

    /// The base URL of the emulated Weavr Multi API, without a trailing
    /// slash: like the real `https://sandbox.weavr.io/multi`, it ends in
    /// `/multi`.
    ///
    /// ```
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// let login_url = format!("{}/login_with_password", sandbox.weavr_url());
    /// assert!(login_url.ends_with("/multi/login_with_password"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn weavr_url(&self) -> String {
        format!("http://{}/multi", server::loopback(self.addr()))
    }

    /// The base URL of the emulated access-key API, without a trailing
    /// slash: it ends in `/access-key`, and the login is `POST
    /// {url}/login`, as the seed's `POST /login`.
    ///
    /// ```
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// let login_url = format!("{}/login", sandbox.access_key_url());
    /// assert!(login_url.starts_with("http://127.0.0.1:"));
    /// assert!(login_url.ends_with("/access-key/login"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn access_key_url(&self) -> String {
        format!(
            "http://{}{}",
            server::loopback(self.addr()),
            access_key::PREFIX
        )
    }

    /// Skews the access-key API's clock by `seconds` from the real one
    /// (negative: behind): the `iat` and `exp` of the tokens issued from
    /// now on move with it, and every token is judged by it. A token
    /// issued before a change lapses early if the clock jumped ahead.
    ///
    /// ```
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// sandbox.set_access_key_clock_skew(-3600); // an hour behind
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_access_key_clock_skew(&self, seconds: i64) {
        self.shared.lock().access_key.clock_skew = seconds;
    }

    /// Changes the lifetime of the access-key tokens issued from now on
    /// (whole seconds, at least one); the live tokens keep theirs.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// sandbox.set_access_key_token_lifetime(Duration::from_secs(2));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_access_key_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().access_key.lifetime = lifetime;
    }

    /// Answers a Weavr push challenge (`POST /multi/stepup/challenges/push/
    /// {AUTHY|BIOMETRIC}` gave its id) as the user would in their app:
    /// approval steps the challenge's token up, a decline leaves it as it
    /// was. The real API tells the application by webhook. `false` if no
    /// such challenge waits for an answer or its token is gone.
    ///
    /// ```
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// assert!(!sandbox.approve_weavr_push("no-such-challenge", true));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn approve_weavr_push(&self, challenge_id: &str, approved: bool) -> bool {
        let mut state = self.shared.lock();
        let now = Instant::now();
        let State { tally, weavr, .. } = &mut *state;
        weavr.answer_push(tally, challenge_id, approved, now)
    }

    /// The id of the last Weavr push challenge started, while it waits for
    /// the user's answer: what the real API's webhook would name, for a
    /// program (or a test) that answers it with
    /// [`approve_weavr_push`](Self::approve_weavr_push).
    ///
    /// ```
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// assert_eq!(sandbox.last_weavr_push_challenge(), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn last_weavr_push_challenge(&self) -> Option<String> {
        self.shared.lock().weavr.pending_push().map(str::to_owned)
    }

    /// A snapshot of the counters.
    ///
    /// ```
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// assert_eq!(sandbox.counters().logins, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn counters(&self) -> Counters {
        self.shared.lock().tally.counters
    }

    /// The instants of the successful logins of every API, oldest first.
    ///
    /// ```
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// assert!(sandbox.login_times().is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn login_times(&self) -> Vec<Instant> {
        self.shared.lock().tally.login_times.clone()
    }

    /// Applies `fault` to the next `times` requests, whatever API they are
    /// for, after the faults already waiting.
    ///
    /// ```
    /// # use authsession_sandbox::{Fault, Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// sandbox.inject(Fault::Status(503), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn inject(&self, fault: Fault, times: u32) {
        self.shared.lock().faults.push(fault, times);
    }

    /// Changes the Currencycloud idle timeout; it applies to the live tokens
    /// too.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// sandbox.set_idle_timeout(Duration::from_millis(200));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_idle_timeout(&self, idle_timeout: Duration) {
        self.shared.lock().currencycloud.idle_timeout = idle_timeout;
    }

    /// Adds a Currencycloud user, or gives an existing one a new key and
    /// re-enables it.
    ///
    /// ```
    /// # use authsession_sandbox::{Sandbox, SandboxConfig};
    /// let sandbox = Sandbox::start(SandboxConfig::for_tests())?;
    /// sandbox.add_currencycloud_user("ops@example.com", &"ab".repeat(32));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn add_currencycloud_user(&self, login_id: &str, api_key: &str) {
        self.shared.lock().currencycloud.add_user(login_id, api_key);
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr())
            .field("workers", &self.worker_threads)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers one request: the next fault, if one waits, else the API
    /// the path is under.
    async fn handle(
        self: Arc<Self>,
        request: http::Request<Body>,
    ) -> Result<http::Response<Full<Bytes>>, Dropped> {
        let api = Api::of(request.uri().path());
        let fault = {
            let mut state = self.lock();
            let fault = state.faults.take();
            state.tally.counters.faults += u64::from(fault.is_some());
            fault
        };
        if fault == Some(Fault::Drop) {
            return Err(Dropped);
        }
        // Read whole before any answer, even a fault's, so that no unread
        // body turns the close of the connection into a reset.
        let incoming = Incoming::read(request).await;
        if let Some(Fault::Delay(delay)) = fault {
            tokio::time::sleep(delay).await;
        }
        let reply = match (fault, incoming) {
            (Some(Fault::Status(status)), _) => api.error(status),
            (Some(Fault::StatusRetryAfter(status, seconds)), _) => api
                .error(status)
                .with_header("Retry-After", seconds.to_string()),
            (Some(Fault::Answer(status, body)), _) => Reply::bytes(status, body),
            (_, Some(incoming)) => self.serve(api, &incoming),
            (_, None) => api.error(400),
        };
        Ok(reply.into_response())
    }

    fn serve(&self, api: Api, request: &Incoming) -> Reply {
        let mut state = self.lock();
        // Read under the lock, so that instants reach the state in order.
        let now = Instant::now();
        let State {
            tally,
            currencycloud,
            weavr,
            access_key,
            ..
        } = &mut *state;
        match api {
            Api::Currencycloud => currencycloud.serve(tally, request, now),
            Api::Weavr => weavr.serve(tally, request, now),
            Api::AccessKey => access_key.serve(tally, request, now),
            Api::None => Reply::no_api(404),
        }
    }
}
