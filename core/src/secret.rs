//! Fixed-capacity buffers for secrets: credentials, tokens and request
//! bodies that carry them. They are wiped when cleared or dropped and never
//! show their contents through `Debug`, so a secret cannot reach a log line
//! by way of a `{:?}` on a struct that holds it.

use core::fmt;
use zeroize::Zeroize;

use crate::error::Error;

/// A byte buffer of at most `N` bytes that holds a secret.
///
/// ```
/// use authsession_core::SecretBuf;
///
/// let key = SecretBuf::<16>::from_text("hunter2", "password").unwrap();
/// assert_eq!(key.as_bytes(), b"hunter2");
/// assert_eq!(format!("{key:?}"), "[redacted]");
/// assert!(SecretBuf::<4>::from_text("hunter2", "password").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBuf<const N: usize> {
    /// A 16-bit length: no secret is 64 KiB long, and a session holds five
    /// of these buffers.
    bytes: heapless::Vec<u8, N, u16>,
}

impl<const N: usize> SecretBuf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        SecretBuf {
            bytes: heapless::Vec::new(),
        }
    }

    /// A buffer holding `text`; `what` names it in the overflow error.
    pub fn from_text(text: &str, what: &'static str) -> Result<Self, Error> {
        let mut buf = Self::new();
        buf.extend(text.as_bytes(), what)?;
        Ok(buf)
    }

    /// Appends `bytes`, or fails with [`Error::Overflow`] naming `what`
    /// without appending anything.
    pub fn extend(&mut self, bytes: &[u8], what: &'static str) -> Result<(), Error> {
        self.bytes
            .extend_from_slice(bytes)
            .map_err(|_| Error::Overflow { what, capacity: N })
    }

    /// Lets `write` fill the free space after the contents; it returns how
    /// many bytes it wrote, or `None` when they did not fit, which fails
    /// with [`Error::Overflow`] naming `what` and leaves the contents as
    /// they were.
    pub fn append_with(
        &mut self,
        what: &'static str,
        write: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> Result<(), Error> {
        let start = self.bytes.len();
        // Cannot fail: the buffer grows to exactly its capacity.
        let _ = self.bytes.resize(N, 0);
        let written = write(&mut self.bytes[start..]).filter(|n| start + n <= N);
        let end = start + written.unwrap_or(0);
        self.bytes[end..].zeroize();
        self.bytes.truncate(end);
        written
            .map(drop)
            .ok_or(Error::Overflow { what, capacity: N })
    }

    /// Wipes the contents and empties the buffer.
    pub fn clear(&mut self) {
        self.wipe();
        self.bytes.clear();
    }

    /// Zeroes the whole capacity, contents and spare room alike. Done as
    /// two slices because `heapless::Vec`'s own `Zeroize` goes through its
    /// storage array one volatile byte write at a time (half a microsecond
    /// for a 2 KiB token buffer), where a slice is zeroed in bulk behind an
    /// optimization barrier: the same bytes wiped, a tenth of the time.
    fn wipe(&mut self) {
        self.bytes.as_mut_slice().zeroize();
        self.bytes.spare_capacity_mut().zeroize();
    }

    /// The secret's bytes. Call this only where the secret leaves the
    /// process: a request being written to the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The secret as text, or `""` if it is not UTF-8 (every buffer the core
    /// fills from the network or from credentials is checked to be text).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes).unwrap_or("")
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Number of bytes held.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The most bytes the buffer can hold.
    pub const fn capacity(&self) -> usize {
        N
    }
}

impl<const N: usize> Drop for SecretBuf<N> {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl<const N: usize> fmt::Debug for SecretBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The buffers a [`Provider`](crate::Provider) chooses for its token and its
/// request bodies. Implemented by [`SecretBuf`] of any capacity, so a
/// provider picks the size its API needs and no more.
pub trait Buffer: Default + fmt::Debug {
    /// Appends `bytes` or fails with [`Error::Overflow`] naming `what`.
    fn extend(&mut self, bytes: &[u8], what: &'static str) -> Result<(), Error>;
    /// Lets `write` fill the free space (see [`SecretBuf::append_with`]).
    fn append_with(
        &mut self,
        what: &'static str,
        write: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> Result<(), Error>;
    /// Wipes and empties the buffer.
    fn clear(&mut self);
    /// The bytes held.
    fn as_bytes(&self) -> &[u8];
    /// The bytes held as text (`""` if they are not UTF-8).
    fn as_str(&self) -> &str;
}

impl<const N: usize> Buffer for SecretBuf<N> {
    fn extend(&mut self, bytes: &[u8], what: &'static str) -> Result<(), Error> {
        SecretBuf::extend(self, bytes, what)
    }
    fn append_with(
        &mut self,
        what: &'static str,
        write: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> Result<(), Error> {
        SecretBuf::append_with(self, what, write)
    }
    fn clear(&mut self) {
        SecretBuf::clear(self);
    }
    fn as_bytes(&self) -> &[u8] {
        SecretBuf::as_bytes(self)
    }
    fn as_str(&self) -> &str {
        SecretBuf::as_str(self)
    }
}
