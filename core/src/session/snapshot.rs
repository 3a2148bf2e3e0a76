//! A session written down so that another process can go on with it: the
//! token, its remaining life, idle deadline and refresh time, the
//! generation, whether it is stepped up, and the provider's own state. The
//! core has no clock of the world: the caller gives the wall-clock time at
//! both ends, so that remaining times survive a change of process (and of
//! monotonic clock).
//!
//! The format, version 1, all integers big-endian:
//!
//! ```text
//! "ASNP" version:u8
//! provider name: len:u8 bytes        scope: len:u8 bytes
//! generation:u64  flags:u8 (1 = stepped up)
//! expires_at, idle_deadline, refresh_at: (present:u8 unix_ms:u64) x 3
//! token: len:u16 bytes               provider state: len:u16 bytes
//! ```
//!
//! A snapshot holds the token in the clear: the store seals it. Restoring
//! checks everything it reads (the magic, the version, the provider, the
//! scope the caller binds it to, the lengths, the token's fitness for a
//! header, that it has not lapsed) and says what was wrong with a typed
//! [`SnapshotError`]; it never panics and never makes a half-restored
//! session.

use core::fmt;

use super::state::{State, StepUpState, TokenTimes};
use super::{EventKind, Session};
use crate::provider::{Provider, is_header_safe};
use crate::secret::Buffer;
use crate::time::Instant;

const MAGIC: &[u8; 4] = b"ASNP";
/// The format's version; a snapshot of another is refused.
pub const SNAPSHOT_VERSION: u8 = 1;
/// The most bytes of a scope (a base URL and a login identity, or a hash
/// of them).
pub const SCOPE_MAX: usize = 255;

/// Why a snapshot was not written or not restored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The session holds no usable token: there is nothing to write.
    NoToken,
    /// The buffer is too small; `needed` bytes would do.
    BufferTooSmall {
        /// The bytes the snapshot takes.
        needed: usize,
    },
    /// The scope is longer than [`SCOPE_MAX`].
    ScopeTooLong,
    /// Not a snapshot (its first bytes are not the magic).
    NotASnapshot,
    /// A snapshot of another version of the format.
    Version {
        /// The version it says.
        found: u8,
    },
    /// A snapshot of another API's session.
    OtherProvider,
    /// A snapshot of another scope (another base URL or login).
    OtherScope,
    /// A snapshot that ends too soon, or goes on after its end, or holds a
    /// value that cannot be (a flag of 2).
    Malformed,
    /// The token is empty, too long for the provider's buffer, or not fit
    /// for a header.
    BadToken,
    /// The provider refused its state.
    BadProviderState,
    /// The token has lapsed (or lapses now).
    Lapsed,
    /// The session has a token as new or newer (its generation), or is in
    /// a state that a restore must not override (refused credentials, a
    /// logout in flight).
    NotNewer,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::NoToken => f.write_str("the session holds no token to write down"),
            SnapshotError::BufferTooSmall { needed } => {
                write!(f, "the snapshot needs a buffer of {needed} bytes")
            }
            SnapshotError::ScopeTooLong => write!(f, "the scope is longer than {SCOPE_MAX} bytes"),
            SnapshotError::NotASnapshot => f.write_str("not a session snapshot"),
            SnapshotError::Version { found } => write!(
                f,
                "a snapshot of version {found}, this library reads {SNAPSHOT_VERSION}"
            ),
            SnapshotError::OtherProvider => f.write_str("a snapshot of another API's session"),
            SnapshotError::OtherScope => {
                f.write_str("a snapshot of another session (base URL or login)")
            }
            SnapshotError::Malformed => f.write_str("a malformed snapshot"),
            SnapshotError::BadToken => f.write_str("the snapshot's token cannot be used"),
            SnapshotError::BadProviderState => {
                f.write_str("the provider refused the snapshot's state")
            }
            SnapshotError::Lapsed => f.write_str("the snapshot's token has lapsed"),
            SnapshotError::NotNewer => f.write_str("the session already holds a newer token"),
        }
    }
}

impl core::error::Error for SnapshotError {}

/// What a snapshot says, read and checked but not yet applied.
struct Read<'a> {
    generation: u64,
    stepped_up: bool,
    expires_at: Option<u64>,
    idle_deadline: Option<u64>,
    refresh_at: Option<u64>,
    token: &'a [u8],
    provider_state: &'a [u8],
}

impl<P: Provider> Session<P> {
    /// Writes the session's token and times into `out`, bound to `scope`
    /// (the adapter passes the base URL and the login identity, or a hash
    /// of them), and returns how many bytes it wrote. `now` is the
    /// session's clock and `unix_now_ms` the wall clock at the same
    /// moment, in milliseconds since 1970.
    pub fn snapshot(
        &self,
        scope: &[u8],
        now: Instant,
        unix_now_ms: u64,
        out: &mut [u8],
    ) -> Result<usize, SnapshotError> {
        let State::Active(times) = self.state else {
            return Err(SnapshotError::NoToken);
        };
        if times.lapsed(now).is_some() {
            return Err(SnapshotError::NoToken);
        }
        if scope.len() > SCOPE_MAX {
            return Err(SnapshotError::ScopeTooLong);
        }
        let mut state = [0_u8; PROVIDER_STATE_MAX];
        let state_len = self
            .provider
            .save_state(&mut state)
            .map_err(|_| SnapshotError::BadProviderState)?;
        let state = state
            .get(..state_len)
            .ok_or(SnapshotError::BadProviderState)?;
        let unix = |at: Option<Instant>| {
            at.map(|at| {
                let ahead = at.saturating_duration_since(now).as_millis();
                unix_now_ms.saturating_add(u64::try_from(ahead).unwrap_or(u64::MAX))
            })
        };
        let mut writer = Writer { out, len: 0 };
        writer.bytes(MAGIC);
        writer.bytes(&[SNAPSHOT_VERSION]);
        writer.short(P::NAME.as_bytes());
        writer.short(scope);
        writer.bytes(&self.generation.to_be_bytes());
        let stepped_up = times.step_up == StepUpState::SteppedUp;
        writer.bytes(&[u8::from(stepped_up)]);
        for at in [times.expires_at, times.idle_deadline, times.refresh_at] {
            match unix(at) {
                Some(ms) => {
                    writer.bytes(&[1]);
                    writer.bytes(&ms.to_be_bytes());
                }
                None => writer.bytes(&[0; 9]),
            }
        }
        writer.long(self.token.as_bytes());
        writer.long(state);
        writer.finish()
    }

    /// Takes the token of `snapshot`, written by [`snapshot`](Self::snapshot)
    /// in this or another process for the same `scope`, if it is good and
    /// newer than the session's own: the session becomes `Active` with its
    /// generation (a login in flight is dropped: another process did it).
    /// Emits [`Event::Restored`](crate::Event::Restored).
    ///
    /// `last_used_ms` is the fleet's last use of the token (Unix
    /// milliseconds), if the store knows it: for an API whose tokens idle
    /// out, the idle deadline runs from it when it is later than the
    /// snapshot's own.
    pub fn restore(
        &mut self,
        snapshot: &[u8],
        scope: &[u8],
        now: Instant,
        unix_now_ms: u64,
        last_used_ms: Option<u64>,
    ) -> Result<(), SnapshotError> {
        let read = read(snapshot, P::NAME, scope)?;
        match self.state {
            State::Rejected | State::LoggingOut => return Err(SnapshotError::NotNewer),
            State::Active(_) if read.generation <= self.generation => {
                return Err(SnapshotError::NotNewer);
            }
            _ => {}
        }
        let instant = |ms: Option<u64>| {
            ms.map(|ms| now + core::time::Duration::from_millis(ms.saturating_sub(unix_now_ms)))
        };
        let mut idle_deadline = instant(read.idle_deadline);
        if let (Some(used), Some(idle)) = (last_used_ms, self.provider.idle_timeout()) {
            // On the wall clock: the use may be older than this clock.
            let span = self.idle_deadline(Instant::ZERO, idle).as_millis();
            let from_use = instant(Some(used.saturating_add(span)));
            idle_deadline = idle_deadline
                .max(from_use)
                .filter(|_| idle_deadline.is_some());
        }
        let lapsed = read.expires_at.is_some_and(|ms| ms <= unix_now_ms)
            || idle_deadline.is_some_and(|deadline| deadline <= now);
        if lapsed {
            return Err(SnapshotError::Lapsed);
        }
        if read.token.is_empty() || !is_header_safe(read.token) {
            return Err(SnapshotError::BadToken);
        }
        let mut token = P::Token::default();
        token
            .extend(read.token, "token")
            .map_err(|_| SnapshotError::BadToken)?;
        self.provider
            .restore_state(read.provider_state)
            .map_err(|_| SnapshotError::BadProviderState)?;
        self.forget_token();
        self.token = token;
        self.generation = read.generation;
        self.last_error = None;
        self.state = State::Active(TokenTimes {
            idle_deadline,
            expires_at: instant(read.expires_at),
            refresh_at: instant(read.refresh_at),
            refresh: None,
            refresh_failures: 0,
            step_up: if read.stepped_up {
                StepUpState::SteppedUp
            } else {
                StepUpState::NotNeeded
            },
        });
        self.emit(EventKind::Restored {
            generation: self.generation,
        });
        Ok(())
    }
}

impl<P: Provider> Session<P> {
    /// Notes that the fleet sharing this session's store has counted
    /// logins up to `generation`: the session's next login counts from
    /// there, so that its snapshot is newer than every one stored before
    /// (a store refuses an older generation).
    pub fn note_generation(&mut self, generation: u64) {
        self.generation = self.generation.max(generation);
    }
}

/// The most bytes of a provider's own state in a snapshot.
pub const PROVIDER_STATE_MAX: usize = 128;

/// Reads and checks a snapshot of provider `name` for `scope`.
fn read<'a>(snapshot: &'a [u8], name: &str, scope: &[u8]) -> Result<Read<'a>, SnapshotError> {
    let mut reader = Reader { rest: snapshot };
    if reader.take(MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err(SnapshotError::NotASnapshot);
    }
    let version = reader.byte()?;
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::Version { found: version });
    }
    if reader.short()? != name.as_bytes() {
        return Err(SnapshotError::OtherProvider);
    }
    if reader.short()? != scope {
        return Err(SnapshotError::OtherScope);
    }
    let generation = reader.u64()?;
    let stepped_up = match reader.byte()? {
        0 => false,
        1 => true,
        _ => return Err(SnapshotError::Malformed),
    };
    let mut times = [None; 3];
    for time in &mut times {
        let present = reader.byte()?;
        let ms = reader.u64()?;
        *time = match present {
            0 if ms == 0 => None,
            1 => Some(ms),
            _ => return Err(SnapshotError::Malformed),
        };
    }
    let [expires_at, idle_deadline, refresh_at] = times;
    let token = reader.long()?;
    let provider_state = reader.long()?;
    if !reader.rest.is_empty() {
        return Err(SnapshotError::Malformed);
    }
    Ok(Read {
        generation,
        stepped_up,
        expires_at,
        idle_deadline,
        refresh_at,
        token,
        provider_state,
    })
}

/// Writes into a caller's buffer, counting what did not fit.
struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(slot) = self.out.get_mut(self.len..end) {
            slot.copy_from_slice(bytes);
        }
        self.len = end;
    }

    /// Bytes after a one-byte length (at most 255: checked by the caller).
    fn short(&mut self, bytes: &[u8]) {
        self.bytes(&[u8::try_from(bytes.len()).unwrap_or(u8::MAX)]);
        self.bytes(bytes);
    }

    /// Bytes after a two-byte length (a token or state buffer's, which is
    /// below 64 KiB).
    fn long(&mut self, bytes: &[u8]) {
        self.bytes(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
        self.bytes(bytes);
    }

    fn finish(self) -> Result<usize, SnapshotError> {
        if self.len > self.out.len() {
            // Nothing half-written is left for the caller to take.
            self.out.fill(0);
            return Err(SnapshotError::BufferTooSmall { needed: self.len });
        }
        Ok(self.len)
    }
}

/// Reads a snapshot front to back; running out is `Malformed`.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        Some(taken)
    }

    fn byte(&mut self) -> Result<u8, SnapshotError> {
        self.take(1)
            .and_then(|bytes| bytes.first().copied())
            .ok_or(SnapshotError::Malformed)
    }

    fn u64(&mut self) -> Result<u64, SnapshotError> {
        let bytes = self.take(8).ok_or(SnapshotError::Malformed)?;
        let bytes: [u8; 8] = bytes.try_into().map_err(|_| SnapshotError::Malformed)?;
        Ok(u64::from_be_bytes(bytes))
    }

    fn short(&mut self) -> Result<&'a [u8], SnapshotError> {
        let len = usize::from(self.byte()?);
        self.take(len).ok_or(SnapshotError::Malformed)
    }

    fn long(&mut self) -> Result<&'a [u8], SnapshotError> {
        let len = self.take(2).ok_or(SnapshotError::Malformed)?;
        let len: [u8; 2] = len.try_into().map_err(|_| SnapshotError::Malformed)?;
        let len = usize::from(u16::from_be_bytes(len));
        self.take(len).ok_or(SnapshotError::Malformed)
    }
}
