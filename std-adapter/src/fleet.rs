//! The client's side of a shared [`SessionStore`]: one session for every
//! process that shares the store.
//!
//! Before a login, the thread that would send it asks the store: a newer
//! token stored by another process is taken instead (no login); a refusal
//! of these credentials recorded by another process ends the login
//! unsent; otherwise it takes the fleet's login lock and one login of the
//! fleet's budget, logs in, stores the sealed snapshot (fenced by the
//! generation) and releases the lock. The others wait for the snapshot.
//! A call with a token the process holds asks the store nothing, but for
//! recording the token's use, at most once per tenth of the API's idle
//! timeout.
//!
//! When the store cannot be reached, the process goes on alone: it keeps
//! its token, logs in within a local budget of one login a minute, says
//! so once, and rejoins when the store answers again.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant as StdInstant, SystemTime, UNIX_EPOCH};

use authsession_core::{Provider, Session, SessionState};
use zeroize::Zeroizing;

use crate::client::Client;
use crate::error::Error;
use crate::store::{Budget, RefusedMark, SealKey, SessionStore, StoreError, StoreKey};

/// How long the fleet's login lock lasts: a holder that dies frees it
/// after this.
const LOCK_TTL: Duration = Duration::from_secs(15);
/// How often a process waiting for another's login looks at the store.
const POLL: Duration = Duration::from_millis(50);
/// The logins a minute a process allows itself while the store is away.
const ALONE_BUDGET: Duration = Duration::from_secs(60);

/// A store, the key it is sealed with, and what this client is in it.
pub(crate) struct Fleet {
    store: Arc<dyn SessionStore>,
    seal: SealKey,
    key: StoreKey,
    /// The keyed hash of this client's credentials.
    credentials: [u8; 32],
    /// What its snapshots are bound to: the session's key and the
    /// credentials' hash, so that a client with other credentials (a
    /// wrong key for the same login) never takes up this token.
    scope: Vec<u8>,
    budget_per_minute: u32,
    /// Recording the token's use: at most this often.
    touch_every: Option<Duration>,
    local: Mutex<Local>,
}

#[derive(Default)]
struct Local {
    last_touch: Option<StdInstant>,
    /// Whether the store is away (said once, until it answers again).
    alone: bool,
    last_alone_login: Option<StdInstant>,
}

/// What the store says about a login this process is about to send.
pub(crate) enum BeforeLogin {
    /// Send it.
    Send(FleetLogin),
    /// Another process's token was taken instead: nothing to send.
    Restored,
    /// Another process saw these credentials refused: ended unsent.
    Refused,
}

impl Fleet {
    pub(crate) fn new<P: Provider>(
        store: Arc<dyn SessionStore>,
        seal: SealKey,
        session: &Session<P>,
        base_url: &str,
        budget_per_minute: u32,
    ) -> Self {
        let provider = session.provider();
        let credentials = session.credentials();
        let key = StoreKey::new(P::NAME, base_url, provider.login_identity(credentials));
        let mut parts: Vec<Zeroizing<Vec<u8>>> = vec![Zeroizing::new(P::NAME.as_bytes().to_vec())];
        provider.feed_credentials(credentials, &mut |part| {
            parts.push(Zeroizing::new(part.to_vec()));
        });
        let borrowed: Vec<&[u8]> = parts.iter().map(|part| part.as_slice()).collect();
        let credentials = seal.keyed_hash(&borrowed);
        let scope = format!("{key} {}", crate::store::hex(&credentials)).into_bytes();
        Fleet {
            scope,
            store,
            seal,
            key,
            credentials,
            budget_per_minute: budget_per_minute.max(1),
            touch_every: provider.idle_timeout().map(|idle| idle / 10),
            local: Mutex::new(Local::default()),
        }
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes the session from the store (it was closed on the server).
    pub(crate) fn forget(&self) -> Result<(), StoreError> {
        self.store.remove(&self.key)
    }

    /// Clears the mark of a refused login.
    pub(crate) fn clear_refusal(&self) -> Result<(), StoreError> {
        self.store.set_refused(&self.key, None)
    }

    /// The store answered: if it was away, say it is back.
    fn answered(&self) {
        let mut local = self.local();
        if local.alone {
            local.alone = false;
            tracing::info!(key = %self.key, "the session store answers again: back with the fleet");
        }
    }

    /// The store is away: say so once.
    fn note_away(&self, local: &mut Local, error: &StoreError) {
        if !local.alone {
            local.alone = true;
            tracing::warn!(key = %self.key, %error, "the session store is unavailable: going on alone");
        }
    }

    /// The store is away before a login: it goes within the local budget.
    fn away(&self, error: &StoreError) -> Result<BeforeLogin, Error> {
        let mut local = self.local();
        self.note_away(&mut local, error);
        let now = StdInstant::now();
        if let Some(last) = local.last_alone_login
            && now.duration_since(last) < ALONE_BUDGET
        {
            return Err(Error::RateLimited {
                retry_after: ALONE_BUDGET.saturating_sub(now.duration_since(last)),
            });
        }
        local.last_alone_login = Some(now);
        Ok(BeforeLogin::Send(FleetLogin::Alone))
    }

    /// Takes one login of the fleet's budget, waiting for the next minute
    /// within the call's patience.
    fn take_budget(&self, started: StdInstant, patience: Duration) -> Result<(), Error> {
        loop {
            let budget = self
                .store
                .take_budget(&self.key, self.budget_per_minute, unix_now_ms());
            match budget {
                Ok(Budget::Granted) => return Ok(()),
                Ok(Budget::Spent { retry_in }) => {
                    if started.elapsed() + retry_in > patience {
                        return Err(Error::RateLimited {
                            retry_after: retry_in,
                        });
                    }
                    tracing::info!(key = %self.key, ?retry_in, "the fleet's login budget is spent: waiting");
                    // The lock may expire meanwhile and another process
                    // take it: it waits for the same budget.
                    std::thread::sleep(retry_in);
                }
                // A store that fails here fails the login's decision: the
                // login goes without the budget, as when the store is away.
                Err(error) => return self.away(&error).map(drop),
            }
        }
    }

    /// The fleet used the token at `last_used_ms`: if that is within the
    /// touch interval, this process need not record its own use yet (a
    /// new process's first call then costs no store round trip).
    fn used_lately(&self, last_used_ms: Option<u64>) {
        let (Some(every), Some(used)) = (self.touch_every, last_used_ms) else {
            return;
        };
        let ago = Duration::from_millis(unix_now_ms().saturating_sub(used));
        if ago < every {
            // As if this process had touched `ago` ago.
            self.local().last_touch = StdInstant::now().checked_sub(ago);
        }
    }

    /// Whether the token's use is due to be recorded.
    #[cfg(feature = "tokio")]
    pub(crate) fn touch_due(&self) -> bool {
        self.touch_every.is_some_and(|every| {
            self.local()
                .last_touch
                .is_none_or(|last| last.elapsed() >= every)
        })
    }

    /// Records the token's use, at most once per tenth of the idle timeout.
    pub(crate) fn touch(&self) {
        let Some(every) = self.touch_every else {
            return;
        };
        {
            let mut local = self.local();
            let now = StdInstant::now();
            if local
                .last_touch
                .is_some_and(|last| now.duration_since(last) < every)
            {
                return;
            }
            local.last_touch = Some(now);
        }
        match self.store.touch(&self.key, unix_now_ms()) {
            Ok(()) => self.answered(),
            Err(error) => self.note_away(&mut self.local(), &error),
        }
    }
}

pub(crate) fn unix_now_ms() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// Whether the session is about to send the first step of a login (its
/// own, or a refresh's).
pub(crate) fn starts_login<P: Provider>(session: &Session<P>) -> bool {
    matches!(
        session.state(),
        SessionState::LoggingIn { step } | SessionState::Refreshing { step }
            if step == authsession_core::LoginStep::FIRST
    )
}

/// A random id for one holder of the lock.
fn holder_id() -> String {
    let mut bytes = [0_u8; 16];
    // Without randomness the id is a time: unique enough among processes
    // that start apart.
    if getrandom::fill(&mut bytes).is_err() {
        bytes[..8].copy_from_slice(&unix_now_ms().to_be_bytes());
    }
    crate::store::hex(&bytes)
}

impl<P: Provider> Client<P> {
    /// Asks the store before a login: see the module's documentation.
    /// Waits for another process's login at most `patience`.
    pub(crate) fn before_login(
        &self,
        fleet: &Fleet,
        patience: Duration,
    ) -> Result<BeforeLogin, Error> {
        let started = StdInstant::now();
        let holder = holder_id();
        loop {
            match self.look_at_store(fleet) {
                Ok(Some(decided)) => return Ok(decided),
                Ok(None) => {}
                Err(error) => return fleet.away(&error),
            }
            match fleet.store.try_lock(&fleet.key, &holder, LOCK_TTL) {
                Ok(true) => {
                    // A login may have landed just before the lock was
                    // ours: look again before one of the budget is spent.
                    let decided = match self.look_at_store(fleet) {
                        Ok(Some(decided)) => Ok(decided),
                        Ok(None) => fleet
                            .take_budget(started, patience)
                            .map(|()| BeforeLogin::Send(FleetLogin::Locked(holder.clone()))),
                        Err(error) => fleet.away(&error),
                    };
                    if !matches!(decided, Ok(BeforeLogin::Send(FleetLogin::Locked(_)))) {
                        let _ = fleet.store.unlock(&fleet.key, &holder);
                    }
                    return decided;
                }
                Ok(false) => {}
                Err(error) => return fleet.away(&error),
            }
            // Another process logs in: wait for its snapshot.
            let waited = started.elapsed();
            if waited + POLL > patience {
                return Err(Error::Timeout { waited });
            }
            std::thread::sleep(POLL);
        }
    }

    /// What the store decides by itself: a refusal of these credentials,
    /// or a newer token, which the session takes.
    fn look_at_store(&self, fleet: &Fleet) -> Result<Option<BeforeLogin>, StoreError> {
        let record = fleet.store.read(&fleet.key)?;
        fleet.answered();
        if let Some(mark) = &record.refused
            && mark.credentials == fleet.credentials
        {
            tracing::warn!(key = %fleet.key, error = %mark.error, "these credentials were refused in the fleet: not logging in");
            return Ok(Some(BeforeLogin::Refused));
        }
        let Some((generation, sealed)) = record.snapshot else {
            return Ok(None);
        };
        let mut shared = self.lock();
        let own = shared.session.generation();
        // The token this process let idle out may still be alive: the
        // fleet's use of it decides (restore checks it).
        let idled_out = shared.idled_out == Some(own);
        if generation < own || (generation == own && !idled_out) {
            return Ok(None);
        }
        // Whatever comes of it, the next login counts past this one.
        shared.session.note_generation(generation);
        let snapshot = match fleet.seal.open(&sealed, &fleet.scope) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                tracing::warn!(key = %fleet.key, %error, "the stored session cannot be opened: logging in");
                return Ok(None);
            }
        };
        let now = self.now();
        match shared.session.restore(
            &snapshot,
            &fleet.scope,
            now,
            unix_now_ms(),
            record.last_used_ms,
        ) {
            Ok(()) => {
                fleet.used_lately(record.last_used_ms);
                Ok(Some(BeforeLogin::Restored))
            }
            Err(error) => {
                tracing::info!(key = %fleet.key, %error, "the stored session cannot serve: logging in");
                Ok(None)
            }
        }
    }
}

/// What a finished login leaves for the fleet to learn, taken from the
/// session under its lock and stored without it.
pub(crate) enum LoginOutcome {
    /// The new token's sealed snapshot, and its generation.
    Token(u64, Vec<u8>),
    /// The credentials were refused.
    Refused(RefusedMark),
    /// Nothing to store (the login failed for a passing reason).
    Nothing,
}

/// A login this process sends for the fleet.
pub(crate) enum FleetLogin {
    /// With the fleet's lock, held by this id: released after the login.
    Locked(String),
    /// Alone, the store being away: no lock to release.
    Alone,
}

/// Whether the session's login goes on with a further step (Weavr's three):
/// the fleet's lock is kept until the last one is answered.
pub(crate) fn login_goes_on<P: Provider>(session: &Session<P>) -> bool {
    matches!(
        session.state(),
        SessionState::LoggingIn { step } | SessionState::Refreshing { step }
            if step != authsession_core::LoginStep::FIRST
    )
}

impl Fleet {
    /// What the finished login of `session` leaves for the fleet (`now`:
    /// the session's clock).
    pub(crate) fn outcome_of<P: Provider>(
        &self,
        session: &Session<P>,
        now: authsession_core::Instant,
    ) -> LoginOutcome {
        match session.state() {
            SessionState::Active | SessionState::Refreshing { .. } => self
                .sealed_snapshot(session, now)
                .map_or(LoginOutcome::Nothing, |sealed| {
                    LoginOutcome::Token(session.generation(), sealed)
                }),
            SessionState::Rejected => LoginOutcome::Refused(RefusedMark {
                credentials: self.credentials,
                error: session
                    .last_error()
                    .map_or_else(|| "refused".to_owned(), ToString::to_string),
                at_ms: unix_now_ms(),
            }),
            _ => LoginOutcome::Nothing,
        }
    }

    /// Stores a login's outcome and releases the fleet's lock, if this
    /// process took it.
    /// Store I/O: never under the session's lock.
    pub(crate) fn record(&self, outcome: &LoginOutcome, login: &FleetLogin) {
        let stored = match outcome {
            LoginOutcome::Token(generation, sealed) => {
                self.store.write(&self.key, *generation, sealed).map(drop)
            }
            LoginOutcome::Refused(mark) => self.store.set_refused(&self.key, Some(mark)),
            LoginOutcome::Nothing => Ok(()),
        };
        if let Err(error) = stored {
            tracing::warn!(key = %self.key, %error, "the login's outcome could not be stored");
        }
        if let FleetLogin::Locked(holder) = login {
            let _ = self.store.unlock(&self.key, holder);
        }
    }

    /// The session's snapshot, sealed for the fleet; `None` if the session
    /// cannot write one (it has no token).
    fn sealed_snapshot<P: Provider>(
        &self,
        session: &Session<P>,
        now: authsession_core::Instant,
    ) -> Option<Vec<u8>> {
        let mut buffer = Zeroizing::new(vec![0_u8; 4096]);
        let unix_now = unix_now_ms();
        let written = match session.snapshot(&self.scope, now, unix_now, &mut buffer) {
            Err(authsession_core::SnapshotError::BufferTooSmall { needed }) => {
                buffer = Zeroizing::new(vec![0_u8; needed]);
                session.snapshot(&self.scope, now, unix_now, &mut buffer)
            }
            other => other,
        };
        let len = written.ok()?;
        match self.seal.seal(&buffer[..len], &self.scope) {
            Ok(sealed) => Some(sealed),
            Err(error) => {
                tracing::warn!(key = %self.key, %error, "the session could not be sealed");
                None
            }
        }
    }
}
