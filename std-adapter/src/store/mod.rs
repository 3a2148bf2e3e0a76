//! Session stores: where a client keeps its session so that it outlives
//! the process and serves every process that shares the store (a fleet
//! of replicas, a cron job run every minute).
//!
//! A store keeps, per session (a provider, a base URL and a login
//! identity, named by a [`StoreKey`]):
//!
//! - the sealed snapshot of the current token and its generation, written
//!   only if newer than the one stored (a writer that stalled cannot put an
//!   older session back);
//! - the fleet's login lock, with an expiry, so that one process logs in
//!   while the others wait for its snapshot;
//! - the mark of a refused login, with a keyed hash of the credentials it
//!   refused, so that no process tries them again;
//! - the login budget of the current minute, shared by the fleet;
//! - the last use of the token, for APIs whose tokens idle out.
//!
//! Two stores come with the crate: [`FileStore`] (one host: a file per
//! session in a directory, the user's cache directory by default) and
//! `RedisStore` (a fleet, feature `redis-store`: the keys of a session on
//! one Redis, or on one slot of a Redis Cluster). The client seals the
//! snapshot with XChaCha20-Poly1305 under the fleet's [`SealKey`] before
//! any store sees it.

use std::fmt;
use std::time::Duration;

mod file;
#[cfg(feature = "redis-store")]
mod redis;
mod seal;

pub use file::FileStore;
#[cfg(feature = "redis-store")]
pub use redis::RedisStore;
pub(crate) use seal::hex;
pub use seal::{SealError, SealKey};

/// The name of one session in a store: derived from the provider, the base
/// URL and the login identity (never a secret). Redis keys of one session
/// share it inside `{…}`, a hash tag, so that they live on one node of a
/// Redis Cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreKey(String);

impl StoreKey {
    /// The key of the session of `provider` at `base_url` for the login
    /// `identity`: `authsession:{<32 hex digits>}`, a hash, so that a
    /// login id does not appear in the store's key space.
    pub fn new(provider: &str, base_url: &str, identity: &str) -> Self {
        let digest = seal::digest(&[
            provider.as_bytes(),
            base_url.as_bytes(),
            identity.as_bytes(),
        ]);
        StoreKey(format!("authsession:{{{}}}", seal::hex(&digest[..16])))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The bytes a snapshot is bound to (its scope).
    pub fn scope(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A refused login, as the fleet remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedMark {
    /// A keyed hash of the refused credentials: new credentials clear the
    /// mark by not matching it.
    pub credentials: [u8; 32],
    /// What the API said (its status, code and message; never a secret).
    pub error: String,
    /// When, in Unix milliseconds.
    pub at_ms: u64,
}

/// What a store holds for one session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// The current snapshot, sealed, and its generation.
    pub snapshot: Option<(u64, Vec<u8>)>,
    /// The mark of a refused login.
    pub refused: Option<RefusedMark>,
    /// The token's last use by any process, in Unix milliseconds.
    pub last_used_ms: Option<u64>,
}

/// What the login budget said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// One login is taken from the budget.
    Granted,
    /// The budget is spent: as many logins as it allows were taken in the
    /// last minute; the oldest of them leaves the window in `retry_in`.
    Spent {
        /// How long until the budget allows one more login.
        retry_in: Duration,
    },
}

/// The login budget's window: at most `per_minute` logins in any minute.
pub(crate) const BUDGET_WINDOW_MS: u64 = 60_000;

/// Takes one login at `now_ms` from a budget of `per_minute` logins in any
/// minute, given the `logins` taken so far (Unix ms, oldest first): what
/// the budget says, and the logins that are still in the window after it.
/// A sliding window, not a calendar minute: a fleet that spent its budget
/// at the end of one minute cannot spend it again at the start of the
/// next.
pub(crate) fn take_from_window(logins: &[u64], per_minute: u32, now_ms: u64) -> (Budget, Vec<u64>) {
    let window_start = now_ms.saturating_sub(BUDGET_WINDOW_MS);
    let mut kept: Vec<u64> = logins
        .iter()
        .copied()
        .filter(|&at| at > window_start)
        .collect();
    if kept.len() < usize::try_from(per_minute).unwrap_or(usize::MAX) {
        kept.push(now_ms);
        return (Budget::Granted, kept);
    }
    let oldest = kept.first().copied().unwrap_or(now_ms);
    let retry_in = Duration::from_millis(
        oldest
            .saturating_add(BUDGET_WINDOW_MS)
            .saturating_sub(now_ms)
            .max(1),
    );
    (Budget::Spent { retry_in }, kept)
}

/// A store's failure: it could not be reached, or what it holds cannot be
/// read. No variant carries a secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or did not answer (Redis down, a
    /// file system error).
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// What the store holds is not a record of this library, or was
    /// written with another key, or was tampered with.
    Corrupt(&'static str),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(error) => {
                write!(f, "the session store is unavailable: {error}")
            }
            StoreError::Corrupt(what) => write!(f, "the session store holds a bad {what}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Unavailable(error) => Some(error.as_ref()),
            StoreError::Corrupt(_) => None,
        }
    }
}

/// Where a client keeps its session. Every method is one short exchange
/// with the store; the client calls none of them on the hot path (a call
/// made with a token it holds), except [`touch`](Self::touch), at most once
/// per tenth of the API's idle timeout.
///
/// The snapshot a store is given is already sealed by the client under the
/// fleet's [`SealKey`]; a store never sees a token in the clear.
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Everything stored for `key`.
    fn read(&self, key: &StoreKey) -> Result<Record, StoreError>;

    /// Stores `sealed` as the snapshot of `generation`, unless the stored
    /// one is of the same or a newer generation: then `Ok(false)`, and the
    /// stored one stays (a writer that stalled past its lock cannot put an
    /// older session back). A stored refused mark is cleared: a login
    /// succeeded.
    fn write(&self, key: &StoreKey, generation: u64, sealed: &[u8]) -> Result<bool, StoreError>;

    /// Takes the fleet's login lock for `holder` (a random id of this
    /// attempt) for `ttl`, if no one holds it: `Ok(true)` when taken.
    fn try_lock(&self, key: &StoreKey, holder: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Releases the login lock if `holder` still holds it (it may have
    /// expired and been taken by another).
    fn unlock(&self, key: &StoreKey, holder: &str) -> Result<(), StoreError>;

    /// Records a refused login, or clears the mark (`None`).
    fn set_refused(&self, key: &StoreKey, mark: Option<&RefusedMark>) -> Result<(), StoreError>;

    /// Takes one login at `now_ms` (Unix milliseconds) from the fleet's
    /// budget: at most `per_minute` logins in any minute (a sliding
    /// window) for the whole fleet.
    fn take_budget(
        &self,
        key: &StoreKey,
        per_minute: u32,
        now_ms: u64,
    ) -> Result<Budget, StoreError>;

    /// Records that the token was used at `now_ms` (kept if later than the
    /// stored last use).
    fn touch(&self, key: &StoreKey, now_ms: u64) -> Result<(), StoreError>;

    /// Forgets the session: snapshot, marks, lock, last use.
    fn remove(&self, key: &StoreKey) -> Result<(), StoreError>;
}

/// A boxed store is a store (for a store chosen at run time).
impl<S: SessionStore + ?Sized> SessionStore for Box<S> {
    fn read(&self, key: &StoreKey) -> Result<Record, StoreError> {
        (**self).read(key)
    }
    fn write(&self, key: &StoreKey, generation: u64, sealed: &[u8]) -> Result<bool, StoreError> {
        (**self).write(key, generation, sealed)
    }
    fn try_lock(&self, key: &StoreKey, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        (**self).try_lock(key, holder, ttl)
    }
    fn unlock(&self, key: &StoreKey, holder: &str) -> Result<(), StoreError> {
        (**self).unlock(key, holder)
    }
    fn set_refused(&self, key: &StoreKey, mark: Option<&RefusedMark>) -> Result<(), StoreError> {
        (**self).set_refused(key, mark)
    }
    fn take_budget(
        &self,
        key: &StoreKey,
        per_minute: u32,
        now_ms: u64,
    ) -> Result<Budget, StoreError> {
        (**self).take_budget(key, per_minute, now_ms)
    }
    fn touch(&self, key: &StoreKey, now_ms: u64) -> Result<(), StoreError> {
        (**self).touch(key, now_ms)
    }
    fn remove(&self, key: &StoreKey) -> Result<(), StoreError> {
        (**self).remove(key)
    }
}
