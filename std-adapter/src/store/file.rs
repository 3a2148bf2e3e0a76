//! [`FileStore`]: the sessions of one host in a directory, one file each.

use std::fmt::Write as _;
use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Budget, Record, RefusedMark, SessionStore, StoreError, StoreKey, seal};

/// The first line of a session file: the format and its version.
const HEADER: &str = "authsession-store 2";
/// The last line: a file cut short does not parse.
const END: &str = "end";
/// How long an operation waits for another process's operation on the
/// same session (each holds the file lock for one read and one write).
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// The sessions of one host, in a directory: one file per session, for
/// the processes of one user (a cron job that runs every minute, a few
/// services on one machine). A fleet on many hosts shares a `RedisStore`
/// instead (feature `redis-store`).
///
/// - A session's file, `<hex>.session` (the hex digits of its
///   [`StoreKey`]), is created `0600` in a directory created `0700`, and
///   is only ever replaced whole: written to `<hex>.tmp` in the same
///   directory, synced, then renamed over the old one, so that a reader
///   sees the old file or the new one, never a mix.
/// - Each change (read, change, write) holds an advisory lock
///   (`flock`) on `<hex>.lock`, so that the changes of two processes or
///   two threads never interleave: a fenced write or a login lock taken
///   by one is seen by the other. The lock file stays when the session is
///   removed (deleting a lock file that another process may hold would let
///   two of them lock two different files).
/// - The login lock of [`try_lock`](SessionStore::try_lock) is not the
///   advisory lock: it is a field of the file (its holder and its expiry
///   in Unix milliseconds), so that it outlives the call that took it and
///   expires by time if its holder dies.
///
/// The file is text, one field a line:
///
/// ```text
/// authsession-store 2
/// snapshot <generation> <sealed snapshot, hex>
/// lock <expires at, Unix ms> <holder>
/// refused <at, Unix ms> <credentials' keyed hash, hex> <the API's error>
/// used <last use, Unix ms>
/// logins <Unix ms of each login of the last minute, oldest first>
/// end
/// ```
///
/// Every field line is optional; texts (the holder, the error) escape
/// `\`, CR and LF as `\\`, `\r` and `\n`. The snapshot is sealed by the
/// client before the store sees it; the file holds no token in the clear
/// when the client is given a [`SealKey`](super::SealKey). A file that
/// does not parse (another format, a newer version, cut short, changed
/// by hand) makes every operation but [`remove`](SessionStore::remove)
/// fail with [`StoreError::Corrupt`]; `remove` deletes it.
///
/// A holder that already holds the login lock gets `true` again from
/// `try_lock` (its expiry unchanged), so that a call retried after an
/// error does not lock its own caller out.
///
/// ```
/// use std::time::Duration;
/// use authsession_std::store::{FileStore, SessionStore, StoreKey};
///
/// # let dir = std::env::temp_dir().join(format!("authsession-doc-{}", std::process::id()));
/// let store = FileStore::new(&dir)?; // or FileStore::in_cache_dir()?
/// let key = StoreKey::new("currencycloud", "https://devapi.currencycloud.com", "login@example.com");
/// assert!(store.try_lock(&key, "attempt-1", Duration::from_secs(30))?);
/// assert!(!store.try_lock(&key, "attempt-2", Duration::from_secs(30))?);
/// assert!(store.write(&key, 1, b"sealed snapshot")?);
/// assert!(!store.write(&key, 1, b"another one of the same generation")?);
/// store.unlock(&key, "attempt-1")?;
/// assert_eq!(store.read(&key)?.snapshot, Some((1, b"sealed snapshot".to_vec())));
/// store.remove(&key)?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir`, created (`0700`) if it does not exist.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(unavailable)?;
        Ok(FileStore { dir })
    }

    /// A store in the user's cache directory: `$XDG_CACHE_HOME/authsession`,
    /// or `$HOME/.cache/authsession` when `XDG_CACHE_HOME` is not set (or
    /// not an absolute path, which the XDG specification says to ignore).
    pub fn in_cache_dir() -> Result<Self, StoreError> {
        let absolute = |name: &str| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .filter(|path| path.is_absolute())
        };
        let cache = absolute("XDG_CACHE_HOME")
            .or_else(|| absolute("HOME").map(|home| home.join(".cache")))
            .ok_or_else(|| {
                StoreError::Unavailable(
                    "no cache directory: neither XDG_CACHE_HOME nor HOME is an absolute path"
                        .into(),
                )
            })?;
        Self::new(cache.join("authsession"))
    }

    /// The store's own sealing key, for processes of one host that were
    /// given none: 64 hex digits in `seal.key` in the store's directory,
    /// created `0600` with a random key on first use (by whichever process
    /// comes first; the others read it). The session files then hold no
    /// token in the clear, and a copy of them without the key file is of
    /// no use; the key file is exactly as private as the user's files. A
    /// fleet on many hosts gives every process one key instead (see
    /// [`SealKey::from_hex`](super::SealKey::from_hex)).
    ///
    /// A key file that others than its owner may read, or that does not
    /// hold a key, is an error, not replaced.
    ///
    /// ```
    /// use authsession_std::store::FileStore;
    ///
    /// # let dir = std::env::temp_dir().join(format!("authsession-key-doc-{}", std::process::id()));
    /// let store = FileStore::new(&dir)?;
    /// let sealed = store.local_key()?.seal(b"snapshot", b"scope")?;
    /// // The next process reads the same key.
    /// let next = FileStore::new(&dir)?.local_key()?;
    /// assert_eq!(next.open(&sealed, b"scope")?.as_slice(), b"snapshot");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn local_key(&self) -> Result<super::SealKey, StoreError> {
        use std::io::Read as _;
        use std::os::unix::fs::PermissionsExt;

        let path = self.dir.join("seal.key");
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match created {
            Ok(mut file) => {
                let hex = super::SealKey::generate_hex()
                    .map_err(|error| StoreError::Unavailable(Box::new(error)))?;
                file.write_all(hex.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(unavailable)?;
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(unavailable(error)),
        }
        // Another process may have created it a moment ago: it may still
        // be writing it.
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            let mut file = File::open(&path).map_err(unavailable)?;
            let mode = file.metadata().map_err(unavailable)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(StoreError::Corrupt(
                    "seal.key (others than its owner may read it)",
                ));
            }
            let mut hex = zeroize::Zeroizing::new(String::new());
            file.read_to_string(&mut hex).map_err(unavailable)?;
            match super::SealKey::from_hex(&hex) {
                Ok(key) => return Ok(key),
                Err(_) if hex.len() < 64 && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return Err(StoreError::Corrupt("seal.key (not a key)")),
            }
        }
    }

    /// The directory of the store.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds the session of `key`.
    pub fn path(&self, key: &StoreKey) -> PathBuf {
        self.dir.join(format!("{}.session", file_stem(key)))
    }

    fn lock_path(&self, key: &StoreKey) -> PathBuf {
        self.dir.join(format!("{}.lock", file_stem(key)))
    }

    fn temp_path(&self, key: &StoreKey) -> PathBuf {
        self.dir.join(format!("{}.tmp", file_stem(key)))
    }

    /// Runs `change` on the session's contents under the file lock, and
    /// writes them back if it says they changed.
    fn update<R>(
        &self,
        key: &StoreKey,
        change: impl FnOnce(&mut Contents) -> (R, bool),
    ) -> Result<R, StoreError> {
        let _lock = self.lock(key)?;
        let path = self.path(key);
        let mut contents = load(&path)?.unwrap_or_default();
        let (result, changed) = change(&mut contents);
        if changed {
            self.save(key, &path, &contents)?;
        }
        Ok(result)
    }

    /// The advisory lock on the session's lock file, released on drop.
    fn lock(&self, key: &StoreKey) -> Result<File, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.lock_path(key))
            .map_err(unavailable)?;
        let deadline = Instant::now() + LOCK_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(16));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::Unavailable(
                        "another process held the session file's lock for too long".into(),
                    ));
                }
                Err(TryLockError::Error(error)) => return Err(unavailable(error)),
            }
        }
    }

    /// Writes `contents` to the temporary file and renames it over `path`.
    fn save(&self, key: &StoreKey, path: &Path, contents: &Contents) -> Result<(), StoreError> {
        let temp = self.temp_path(key);
        // Left by a process that died between create and rename (we hold
        // the lock, so no live one is writing it).
        match fs::remove_file(&temp) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(unavailable(error)),
        }
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(contents.encode().as_bytes())?;
            file.sync_all()?;
            fs::rename(&temp, path)
        })();
        if let Err(error) = written {
            let _ = fs::remove_file(&temp);
            return Err(unavailable(error));
        }
        Ok(())
    }
}

impl SessionStore for FileStore {
    fn read(&self, key: &StoreKey) -> Result<Record, StoreError> {
        // No lock: a file is only ever replaced whole, by rename.
        let contents = load(&self.path(key))?.unwrap_or_default();
        Ok(Record {
            snapshot: contents.snapshot,
            refused: contents.refused,
            last_used_ms: contents.last_used_ms,
        })
    }

    fn write(&self, key: &StoreKey, generation: u64, sealed: &[u8]) -> Result<bool, StoreError> {
        self.update(key, |contents| {
            if contents
                .snapshot
                .as_ref()
                .is_some_and(|(stored, _)| *stored >= generation)
            {
                return (false, false);
            }
            contents.snapshot = Some((generation, sealed.to_vec()));
            contents.refused = None;
            (true, true)
        })
    }

    fn try_lock(&self, key: &StoreKey, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = now_ms();
        self.update(key, |contents| match &contents.lock {
            Some(lock) if lock.expires_at_ms > now => (lock.holder == holder, false),
            _ => {
                contents.lock = Some(LoginLock {
                    holder: holder.to_owned(),
                    expires_at_ms: now.saturating_add(millis(ttl)),
                });
                (true, true)
            }
        })
    }

    fn unlock(&self, key: &StoreKey, holder: &str) -> Result<(), StoreError> {
        self.update(key, |contents| {
            if contents
                .lock
                .as_ref()
                .is_some_and(|lock| lock.holder == holder)
            {
                contents.lock = None;
                ((), true)
            } else {
                ((), false)
            }
        })
    }

    fn set_refused(&self, key: &StoreKey, mark: Option<&RefusedMark>) -> Result<(), StoreError> {
        self.update(key, |contents| {
            let changed = contents.refused.as_ref() != mark;
            contents.refused = mark.cloned();
            ((), changed)
        })
    }

    fn take_budget(
        &self,
        key: &StoreKey,
        per_minute: u32,
        now_ms: u64,
    ) -> Result<Budget, StoreError> {
        self.update(key, |contents| {
            let (budget, logins) = super::take_from_window(&contents.logins, per_minute, now_ms);
            let changed = logins != contents.logins;
            contents.logins = logins;
            (budget, changed)
        })
    }

    fn touch(&self, key: &StoreKey, now_ms: u64) -> Result<(), StoreError> {
        self.update(key, |contents| {
            if contents.last_used_ms.is_some_and(|used| used >= now_ms) {
                ((), false)
            } else {
                contents.last_used_ms = Some(now_ms);
                ((), true)
            }
        })
    }

    fn remove(&self, key: &StoreKey) -> Result<(), StoreError> {
        let _lock = self.lock(key)?;
        for path in [self.path(key), self.temp_path(key)] {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(unavailable(error)),
            }
        }
        Ok(())
    }
}

/// The fleet's login lock, as the file keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LoginLock {
    holder: String,
    expires_at_ms: u64,
}

/// Everything a session file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Contents {
    snapshot: Option<(u64, Vec<u8>)>,
    lock: Option<LoginLock>,
    refused: Option<RefusedMark>,
    last_used_ms: Option<u64>,
    /// When the logins of the last minute were taken (Unix ms), oldest
    /// first.
    logins: Vec<u64>,
}

impl Contents {
    fn encode(&self) -> String {
        let mut out = String::new();
        out.push_str(HEADER);
        out.push('\n');
        // Writing to a String cannot fail.
        if let Some((generation, sealed)) = &self.snapshot {
            let _ = writeln!(out, "snapshot {generation} {}", seal::hex(sealed));
        }
        if let Some(lock) = &self.lock {
            let _ = writeln!(out, "lock {} {}", lock.expires_at_ms, escape(&lock.holder));
        }
        if let Some(mark) = &self.refused {
            let _ = writeln!(
                out,
                "refused {} {} {}",
                mark.at_ms,
                seal::hex(&mark.credentials),
                escape(&mark.error)
            );
        }
        if let Some(used) = self.last_used_ms {
            let _ = writeln!(out, "used {used}");
        }
        if !self.logins.is_empty() {
            out.push_str("logins");
            for at in &self.logins {
                let _ = write!(out, " {at}");
            }
            out.push('\n');
        }
        out.push_str(END);
        out.push('\n');
        out
    }

    fn decode(text: &str) -> Result<Self, StoreError> {
        let corrupt = |what| StoreError::Corrupt(what);
        let mut lines: Vec<&str> = text.split('\n').collect();
        if lines.first() != Some(&HEADER) {
            return Err(corrupt("session file (not this format or version)"));
        }
        // The text ends with "end\n": its last two pieces are "end" and "".
        if lines.len() < 3 || lines.pop() != Some("") || lines.pop() != Some(END) {
            return Err(corrupt("session file (cut short)"));
        }
        let mut contents = Contents::default();
        for &line in &lines[1..] {
            let (field, value) = line.split_once(' ').ok_or(corrupt("session file line"))?;
            match field {
                "snapshot" if contents.snapshot.is_none() => {
                    let (generation, sealed) =
                        value.split_once(' ').ok_or(corrupt("snapshot line"))?;
                    contents.snapshot = Some((
                        number(generation).ok_or(corrupt("snapshot generation"))?,
                        unhex(sealed).ok_or(corrupt("snapshot"))?,
                    ));
                }
                "lock" if contents.lock.is_none() => {
                    let (expires, holder) = value.split_once(' ').ok_or(corrupt("lock line"))?;
                    contents.lock = Some(LoginLock {
                        holder: unescape(holder).ok_or(corrupt("lock holder"))?,
                        expires_at_ms: number(expires).ok_or(corrupt("lock expiry"))?,
                    });
                }
                "refused" if contents.refused.is_none() => {
                    let mut parts = value.splitn(3, ' ');
                    let (Some(at), Some(credentials), Some(error)) =
                        (parts.next(), parts.next(), parts.next())
                    else {
                        return Err(corrupt("refused line"));
                    };
                    contents.refused = Some(RefusedMark {
                        credentials: unhex(credentials)
                            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                            .ok_or(corrupt("refused credentials' hash"))?,
                        error: unescape(error).ok_or(corrupt("refused error"))?,
                        at_ms: number(at).ok_or(corrupt("refused time"))?,
                    });
                }
                "used" if contents.last_used_ms.is_none() => {
                    contents.last_used_ms = Some(number(value).ok_or(corrupt("last use"))?);
                }
                "logins" if contents.logins.is_empty() => {
                    contents.logins = value
                        .split(' ')
                        .map(number)
                        .collect::<Option<_>>()
                        .ok_or(corrupt("logins line"))?;
                }
                _ => return Err(corrupt("session file line (unknown or repeated)")),
            }
        }
        Ok(contents)
    }
}

/// The contents of the file at `path`, or `None` if there is none.
fn load(path: &Path) -> Result<Option<Contents>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| StoreError::Corrupt("session file (not text)"))?;
            Contents::decode(text).map(Some)
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(unavailable(error)),
    }
}

/// The hex digits inside the key's `{…}`: the name of its files.
fn file_stem(key: &StoreKey) -> String {
    let inner = key
        .as_str()
        .split_once('{')
        .and_then(|(_, rest)| rest.split_once('}'))
        .map(|(inner, _)| inner)
        .filter(|inner| !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit()));
    match inner {
        Some(inner) => inner.to_ascii_lowercase(),
        // Not a key of `StoreKey::new`: a name from its hash all the same.
        None => seal::hex(&seal::digest(&[key.as_str().as_bytes()])[..16]),
    }
}

fn unavailable(error: io::Error) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A decimal `u64` written as this module writes one (no sign, no
/// leading zero).
fn number(text: &str) -> Option<u64> {
    let canonical = text == "0" || (!text.starts_with('0') && !text.is_empty());
    if canonical && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// Lowercase hexadecimal as bytes (what `seal::hex` writes).
pub(super) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                _ => return None,
            },
            '\r' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_survive_encoding_and_every_cut_is_corrupt() {
        let contents = Contents {
            snapshot: Some((7, vec![0, 1, 0xfe, 0xff])),
            lock: Some(LoginLock {
                holder: "a holder \\ with\nodd\r text".to_owned(),
                expires_at_ms: 1_700_000_000_000,
            }),
            refused: Some(RefusedMark {
                credentials: [0xab; 32],
                error: "401 auth_failed: Authentication failed with the supplied credentials"
                    .to_owned(),
                at_ms: 12,
            }),
            last_used_ms: Some(0),
            logins: vec![1_700_000_000_000, 1_700_000_000_001],
        };
        let text = contents.encode();
        assert_eq!(Contents::decode(&text).unwrap(), contents);
        assert_eq!(
            Contents::decode(&Contents::default().encode()).unwrap(),
            Contents::default()
        );
        for cut in 0..text.len() {
            assert!(
                Contents::decode(&text[..cut]).is_err(),
                "cut at {cut} parsed"
            );
        }
        for bad in [
            "authsession-store 1\nend\n",
            "authsession-store 2\nused 01\nend\n",
            "authsession-store 2\nused 1\nused 2\nend\n",
            "authsession-store 2\nsnapshot 1 abc\nend\n",
            "authsession-store 2\nsnapshot 1 AB\nend\n",
            "authsession-store 2\nlogins 1  2\nend\n",
            "authsession-store 2\nlogins 1\nlogins 2\nend\n",
            "authsession-store 2\nwhat 1\nend\n",
            "authsession-store 2\nlock 1 bad\\x\nend\n",
            "authsession-store 2\nrefused 1 ab error\nend\n",
        ] {
            assert!(Contents::decode(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_file_is_named_by_the_keys_hex_digits() {
        let key = StoreKey::new("p", "https://x", "id");
        let stem = file_stem(&key);
        assert_eq!(stem.len(), 32);
        assert!(key.as_str().contains(&format!("{{{stem}}}")));
    }
}
