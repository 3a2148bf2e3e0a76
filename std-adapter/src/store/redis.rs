//! [`RedisStore`]: the sessions of a fleet on Redis.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use ::redis::{Client, Connection, ErrorKind, RedisError, Value};

use super::file::unhex;
use super::{
    BUDGET_WINDOW_MS, Budget, Record, RefusedMark, SessionStore, StoreError, StoreKey, seal,
};

/// How long a connection, a command and its answer may take by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// The version of the hashes this store writes (field `v`).
const VERSION: &str = "1";

/// `a > b` for two decimal numbers without leading zeros, exactly (Lua's
/// numbers are doubles: they cannot hold every `u64`).
const NEWER: &str = "local function newer(a, b) \
    if #a ~= #b then return #a > #b end \
    return a > b end ";

/// The fenced write: the snapshot of `ARGV[1]` only if newer than the
/// stored one; a written snapshot clears the refused mark.
const WRITE: &str = "local stored = redis.call('HGET', KEYS[1], 'generation') \
    if stored and not newer(ARGV[1], stored) then return 0 end \
    redis.call('DEL', KEYS[1]) \
    redis.call('HSET', KEYS[1], 'v', ARGV[3], 'generation', ARGV[1], 'sealed', ARGV[2]) \
    redis.call('DEL', KEYS[2]) \
    return 1";

/// The login lock: taken if free (`SET NX PX`), or already ours.
const LOCK: &str = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end \
    if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end \
    return 0";

/// Releases the login lock only if its holder is `ARGV[1]`.
const UNLOCK: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('DEL', KEYS[1]) end \
    return 0";

/// One login of the budget (`ARGV`: now, the window, the logins allowed
/// in it): the logins of the window are a sorted set scored by their Unix
/// ms; those older than the window are dropped, and a login is taken if
/// fewer than allowed remain. Answers -1 when taken, else the oldest
/// login's time. The set expires a window after its newest login. Each
/// member is the time and the count before it, unique within the set.
const BUDGET: &str = "local now = tonumber(ARGV[1]) \
    local window = tonumber(ARGV[2]) \
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window) \
    local taken = redis.call('ZCARD', KEYS[1]) \
    if taken < tonumber(ARGV[3]) then \
    redis.call('ZADD', KEYS[1], now, ARGV[1] .. ':' .. taken) \
    redis.call('PEXPIRE', KEYS[1], window) \
    return -1 end \
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES') \
    return tonumber(oldest[2])";

/// Everything stored for a session, in one answer (a pipeline's answers
/// are read one by one, each with its own timeout).
const READ: &str = "return { \
    redis.call('HMGET', KEYS[1], 'v', 'generation', 'sealed'), \
    redis.call('HMGET', KEYS[2], 'v', 'credentials', 'at_ms', 'error'), \
    redis.call('GET', KEYS[3]) }";

/// Sets the refused mark (`ARGV`: version, credentials, time, error), or
/// deletes it (no `ARGV`).
const SET_REFUSED: &str = "redis.call('DEL', KEYS[1]) \
    if #ARGV > 0 then \
    redis.call('HSET', KEYS[1], 'v', ARGV[1], 'credentials', ARGV[2], 'at_ms', ARGV[3], \
    'error', ARGV[4]) end \
    return 1";

/// The last use: kept if later than the stored one.
const TOUCH: &str = "local stored = redis.call('GET', KEYS[1]) \
    if stored and not newer(ARGV[1], stored) then return 0 end \
    redis.call('SET', KEYS[1], ARGV[1]) \
    return 1";

/// The sessions of a fleet on one Redis (or one slot of a Redis Cluster):
/// every process that opens the same URL and asks for the same
/// [`StoreKey`] shares one session, one login lock, one refused mark and
/// one login budget.
///
/// The keys of a session all begin with its [`StoreKey`],
/// `authsession:{<32 hex digits>}`, whose `{…}` is a hash tag: Redis
/// Cluster puts them on one slot, and the store's scripts (which name them
/// all) run there. No key holds a secret: the key is a hash of the
/// provider, the base URL and the login, the snapshot is sealed by the
/// client before the store sees it, and the refused mark keeps a keyed
/// hash of the credentials.
///
/// | key | type | what |
/// | --- | --- | --- |
/// | `<key>:snapshot` | hash `v` (`1`), `generation` (decimal), `sealed` (bytes) | the sealed snapshot; written by a Lua script only if its generation is newer, which also deletes `:refused` |
/// | `<key>:lock` | string: the holder, with `PX` expiry | the login lock: `SET NX PX`, released by a compare-and-delete script |
/// | `<key>:refused` | hash `v` (`1`), `credentials` (hex), `at_ms`, `error` | the refused login |
/// | `<key>:budget` | sorted set of the last minute's logins, scored by their Unix ms; expires a minute after the newest | the login budget: at most the allowed logins in any minute, taken by a script |
/// | `<key>:used` | decimal Unix ms | the token's last use, raised by a script, never lowered |
///
/// The snapshot, the mark and the last use do not expire; the budget's
/// logins are kept by [`remove`](SessionStore::remove), so that a removed
/// session does not reset the fleet's budget.
///
/// Each operation is one round trip on one connection: one is kept for
/// the next operation, another is opened for a thread that calls while
/// the kept one is in use, and none is kept after an error. A connection,
/// a command and its answer may take 1 second each (see
/// [`open_with_timeout`](Self::open_with_timeout)): a Redis that is down
/// or does not answer is [`StoreError::Unavailable`] within that time,
/// and the store reconnects once it is back. An operation that fails
/// because a kept connection was found closed (Redis restarted) is sent
/// once more on a new connection. Sending one twice does what sending it
/// once does, but in the rare case that the first sending was carried out
/// and only its answer lost: a budget then counts one login twice (which
/// only spends it sooner), and a write answers `false` (the snapshot
/// stored is then its own). A holder that already holds the login lock
/// gets `true` again from `try_lock`, so that a lock sent twice is still
/// taken.
///
/// [`StoreError::Unavailable`] does not mean "not done": a command that
/// Redis received but did not answer in time (it was busy, or frozen) may
/// still be carried out. A failed `write` may be stored (its generation is
/// then taken), a failed `try_lock` may hold the lock until its ttl, a
/// failed `take_budget` may have taken a login.
///
/// `Debug` and errors show the server's address, never a password of
/// the URL; nothing is logged.
///
/// ```no_run
/// use std::time::Duration;
/// use authsession_std::store::{Budget, RedisStore, SessionStore, StoreKey};
///
/// let store = RedisStore::open("redis://127.0.0.1:6379/0")?;
/// let key = StoreKey::new("currencycloud", "https://devapi.currencycloud.com", "login@example.com");
/// if store.try_lock(&key, "attempt-7f3a", Duration::from_secs(30))? {
///     if store.take_budget(&key, 10, 1_700_000_000_000)? == Budget::Granted {
///         // ... log in, seal the snapshot ...
///         store.write(&key, 1, b"sealed snapshot")?;
///     }
///     store.unlock(&key, "attempt-7f3a")?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedisStore {
    client: Client,
    connection: Mutex<Option<Connection>>,
    timeout: Duration,
}

impl RedisStore {
    /// A store on the Redis at `url`, `redis://HOST:PORT[/DB]` (a
    /// password as `redis://:PASSWORD@HOST:PORT`). It connects on its
    /// first operation, not here: this fails only on a URL that is not
    /// one of a Redis.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with_timeout(url, DEFAULT_TIMEOUT)
    }

    /// [`open`](Self::open), with `timeout` for a connection, a command
    /// and its answer instead of 1 second.
    pub fn open_with_timeout(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        // The URL's own error may quote the URL, and so its password.
        let client = Client::open(url).map_err(|_| {
            StoreError::Unavailable(
                "not the URL of a Redis (redis://HOST:PORT[/DB]; TLS is not built in)".into(),
            )
        })?;
        Ok(RedisStore {
            client,
            connection: Mutex::new(None),
            timeout: timeout.max(Duration::from_millis(1)),
        })
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let connection = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(unavailable)?;
        connection
            .set_read_timeout(Some(self.timeout))
            .map_err(unavailable)?;
        connection
            .set_write_timeout(Some(self.timeout))
            .map_err(unavailable)?;
        Ok(connection)
    }

    /// Runs `operation` on the kept connection (or a new one). A kept
    /// connection that turns out closed is replaced and the operation sent
    /// once more; after any other error the connection is dropped, and the
    /// next operation connects anew. The mutex is held only to take the
    /// kept connection and to put one back: threads that call at once use
    /// connections of their own (one is kept), so that none waits for
    /// another's timeout.
    fn run<T>(
        &self,
        operation: impl Fn(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, StoreError> {
        let kept = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let (mut connection, reused) = match kept {
            Some(connection) => (connection, true),
            None => (self.connect()?, false),
        };
        let answer = match operation(&mut connection) {
            Err(error) if reused && closed(&error) => {
                connection = self.connect()?;
                operation(&mut connection)
            }
            answer => answer,
        };
        match answer {
            Ok(value) => {
                let mut kept = self
                    .connection
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if kept.is_none() {
                    *kept = Some(connection);
                }
                Ok(value)
            }
            Err(error) => Err(store_error(error)),
        }
    }

    fn script(&self, script: &str, keys: &[&str], args: &[&[u8]]) -> Result<Value, StoreError> {
        self.run(|connection| {
            let mut command = ::redis::cmd("EVAL");
            command.arg(script).arg(keys.len()).arg(keys);
            for arg in args {
                command.arg(*arg);
            }
            command.query::<Value>(connection)
        })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.client.get_connection_info();
        f.debug_struct("RedisStore")
            .field("address", &info.addr.to_string())
            .field("db", &info.redis.db)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The names of one session's keys.
struct Keys {
    snapshot: String,
    lock: String,
    refused: String,
    used: String,
}

impl Keys {
    fn of(key: &StoreKey) -> Self {
        let key = key.as_str();
        Keys {
            snapshot: format!("{key}:snapshot"),
            lock: format!("{key}:lock"),
            refused: format!("{key}:refused"),
            used: format!("{key}:used"),
        }
    }
}

impl SessionStore for RedisStore {
    fn read(&self, key: &StoreKey) -> Result<Record, StoreError> {
        let keys = Keys::of(key);
        let answer = self.script(READ, &[&keys.snapshot, &keys.refused, &keys.used], &[])?;
        let Value::Array(answers) = answer else {
            return Err(StoreError::Corrupt("answer of Redis (not an array)"));
        };
        let [snapshot, refused, used] =
            <[Value; 3]>::try_from(answers).map_err(|_| StoreError::Corrupt("answer of Redis"))?;
        Ok(Record {
            snapshot: parse_snapshot(snapshot)?,
            refused: parse_refused(refused)?,
            last_used_ms: bulk(used)?
                .map(|used| number(&used).ok_or(StoreError::Corrupt("last use")))
                .transpose()?,
        })
    }

    fn write(&self, key: &StoreKey, generation: u64, sealed: &[u8]) -> Result<bool, StoreError> {
        let keys = Keys::of(key);
        let script = format!("{NEWER}{WRITE}");
        let generation = generation.to_string();
        let answer = self.script(
            &script,
            &[&keys.snapshot, &keys.refused],
            &[generation.as_bytes(), sealed, VERSION.as_bytes()],
        )?;
        Ok(integer(&answer)? == 1)
    }

    fn try_lock(&self, key: &StoreKey, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let keys = Keys::of(key);
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let answer = self.script(
            LOCK,
            &[&keys.lock],
            &[holder.as_bytes(), ttl.to_string().as_bytes()],
        )?;
        Ok(integer(&answer)? == 1)
    }

    fn unlock(&self, key: &StoreKey, holder: &str) -> Result<(), StoreError> {
        let keys = Keys::of(key);
        let answer = self.script(UNLOCK, &[&keys.lock], &[holder.as_bytes()])?;
        integer(&answer).map(drop)
    }

    fn set_refused(&self, key: &StoreKey, mark: Option<&RefusedMark>) -> Result<(), StoreError> {
        let keys = Keys::of(key);
        let answer = match mark {
            None => self.script(SET_REFUSED, &[&keys.refused], &[])?,
            Some(mark) => self.script(
                SET_REFUSED,
                &[&keys.refused],
                &[
                    VERSION.as_bytes(),
                    seal::hex(&mark.credentials).as_bytes(),
                    mark.at_ms.to_string().as_bytes(),
                    mark.error.as_bytes(),
                ],
            )?,
        };
        integer(&answer).map(drop)
    }

    fn take_budget(
        &self,
        key: &StoreKey,
        per_minute: u32,
        now_ms: u64,
    ) -> Result<Budget, StoreError> {
        if per_minute == 0 {
            return Ok(Budget::Spent {
                retry_in: Duration::from_millis(BUDGET_WINDOW_MS),
            });
        }
        let budget_key = format!("{}:budget", key.as_str());
        let answer = self.script(
            BUDGET,
            &[&budget_key],
            &[
                now_ms.to_string().as_bytes(),
                BUDGET_WINDOW_MS.to_string().as_bytes(),
                per_minute.to_string().as_bytes(),
            ],
        )?;
        let oldest = integer(&answer)?;
        Ok(match u64::try_from(oldest) {
            // -1: taken.
            Err(_) => Budget::Granted,
            Ok(oldest) => Budget::Spent {
                retry_in: Duration::from_millis(
                    oldest
                        .saturating_add(BUDGET_WINDOW_MS)
                        .saturating_sub(now_ms)
                        .max(1),
                ),
            },
        })
    }

    fn touch(&self, key: &StoreKey, now_ms: u64) -> Result<(), StoreError> {
        let keys = Keys::of(key);
        let script = format!("{NEWER}{TOUCH}");
        let answer = self.script(&script, &[&keys.used], &[now_ms.to_string().as_bytes()])?;
        integer(&answer).map(drop)
    }

    fn remove(&self, key: &StoreKey) -> Result<(), StoreError> {
        let keys = Keys::of(key);
        self.run(|connection| {
            ::redis::cmd("DEL")
                .arg(&keys.snapshot)
                .arg(&keys.lock)
                .arg(&keys.refused)
                .arg(&keys.used)
                .query::<()>(connection)
        })
    }
}

/// Whether `error` says that the connection was closed under us (so the
/// command may be sent again on a new one).
fn closed(error: &RedisError) -> bool {
    error.is_connection_dropped()
}

fn unavailable(error: RedisError) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// A Redis error as a store's: what Redis holds under our keys that is not
/// ours is `Corrupt` (the error would quote the value); the rest is
/// `Unavailable`.
fn store_error(error: RedisError) -> StoreError {
    if error.kind() == ErrorKind::TypeError || error.code() == Some("WRONGTYPE") {
        StoreError::Corrupt("value in Redis (not a record of this library)")
    } else {
        unavailable(error)
    }
}

fn integer(value: &Value) -> Result<i64, StoreError> {
    match value {
        Value::Int(n) => Ok(*n),
        _ => Err(StoreError::Corrupt("answer of Redis (not an integer)")),
    }
}

/// A bulk string, or `None` for a missing key or field.
fn bulk(value: Value) -> Result<Option<Vec<u8>>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        Value::BulkString(bytes) => Ok(Some(bytes)),
        Value::SimpleString(text) => Ok(Some(text.into_bytes())),
        _ => Err(StoreError::Corrupt("answer of Redis (not a string)")),
    }
}

/// The fields of an `HMGET`: all missing (`None`), or all there.
fn fields<const N: usize>(
    value: Value,
    what: &'static str,
) -> Result<Option<[Vec<u8>; N]>, StoreError> {
    let Value::Array(items) = value else {
        return Err(StoreError::Corrupt("answer of Redis (not an array)"));
    };
    let items: Vec<Option<Vec<u8>>> = items.into_iter().map(bulk).collect::<Result<_, _>>()?;
    if items.iter().all(Option::is_none) {
        return Ok(None);
    }
    let items: Vec<Vec<u8>> = items
        .into_iter()
        .collect::<Option<_>>()
        .ok_or(StoreError::Corrupt(what))?;
    let items = <[Vec<u8>; N]>::try_from(items).map_err(|_| StoreError::Corrupt(what))?;
    if items[0] != VERSION.as_bytes() {
        return Err(StoreError::Corrupt(what));
    }
    Ok(Some(items))
}

fn parse_snapshot(value: Value) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
    let Some([_, generation, sealed]) = fields::<3>(value, "snapshot")? else {
        return Ok(None);
    };
    let generation = number(&generation).ok_or(StoreError::Corrupt("snapshot generation"))?;
    Ok(Some((generation, sealed)))
}

fn parse_refused(value: Value) -> Result<Option<RefusedMark>, StoreError> {
    let Some([_, credentials, at_ms, error]) = fields::<4>(value, "refused mark")? else {
        return Ok(None);
    };
    let credentials = std::str::from_utf8(&credentials)
        .ok()
        .and_then(unhex)
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or(StoreError::Corrupt("refused credentials' hash"))?;
    Ok(Some(RefusedMark {
        credentials,
        error: String::from_utf8(error).map_err(|_| StoreError::Corrupt("refused error"))?,
        at_ms: number(&at_ms).ok_or(StoreError::Corrupt("refused time"))?,
    }))
}

/// A decimal `u64` without sign or leading zero.
fn number(bytes: &[u8]) -> Option<u64> {
    let canonical = bytes == b"0" || (!bytes.is_empty() && bytes[0] != b'0');
    if canonical && bytes.iter().all(u8::is_ascii_digit) {
        std::str::from_utf8(bytes).ok()?.parse().ok()
    } else {
        None
    }
}
