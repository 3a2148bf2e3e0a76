//! Secrets at rest: a snapshot sealed with XChaCha20-Poly1305 under the
//! fleet's key, bound to its session's key (so a sealed snapshot cannot be
//! moved to another session), and the keyed hash of credentials a refused
//! mark keeps.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// The first byte of a sealed snapshot: the sealing's version.
const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 24;

/// The fleet's secret key: 32 bytes, given as 64 hexadecimal digits (in
/// `AUTHSESSION_STORE_KEY` for the command). Wiped on drop; `Debug` shows
/// none of it.
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl SealKey {
    /// The key written as 64 hexadecimal digits.
    pub fn from_hex(hex: &str) -> Result<Self, SealError> {
        let hex = hex.trim().as_bytes();
        if hex.len() != 64 {
            return Err(SealError::BadKey);
        }
        let mut key = [0_u8; 32];
        for (byte, pair) in key.iter_mut().zip(hex.chunks_exact(2)) {
            let digit = |c: u8| (c as char).to_digit(16).ok_or(SealError::BadKey);
            let (high, low) = (digit(pair[0])?, digit(pair[1])?);
            *byte = u8::try_from(high * 16 + low).map_err(|_| SealError::BadKey)?;
        }
        Ok(SealKey(key))
    }

    /// A new random key, as 64 hexadecimal digits (for an operator to
    /// keep); it is not kept here.
    pub fn generate_hex() -> Result<Zeroizing<String>, SealError> {
        let mut key = Zeroizing::new([0_u8; 32]);
        getrandom::fill(key.as_mut()).map_err(|_| SealError::NoRandomness)?;
        Ok(Zeroizing::new(hex(key.as_ref())))
    }

    /// Seals `snapshot` for the session `scope`.
    pub fn seal(&self, snapshot: &[u8], scope: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0_u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::NoRandomness)?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: snapshot,
                    aad: scope,
                },
            )
            .map_err(|_| SealError::Tampered)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`seal`](Self::seal) sealed for `scope`; anything else
    /// (another key, another session, a changed byte) is
    /// [`SealError::Tampered`].
    pub fn open(&self, sealed: &[u8], scope: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::Tampered)?;
        if version != SEALED_V1 || rest.len() < NONCE_LEN {
            return Err(SealError::Tampered);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: scope,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Tampered)
    }

    /// A keyed hash of `parts` (credentials, fed by the provider): the
    /// store can tell whether they changed without holding them.
    pub fn keyed_hash(&self, parts: &[&[u8]]) -> [u8; 32] {
        keyed_hash(&self.0, parts)
    }
}

impl Drop for SealKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey([redacted])")
    }
}

/// Why sealing or opening failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The key is not 64 hexadecimal digits.
    BadKey,
    /// The system gave no randomness for a nonce.
    NoRandomness,
    /// The sealed bytes were not sealed with this key for this session,
    /// or were changed.
    Tampered,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealError::BadKey => "the store key is not 64 hexadecimal digits",
            SealError::NoRandomness => "the system gave no randomness",
            SealError::Tampered => {
                "the stored session was sealed with another key, for another session, or changed"
            }
        })
    }
}

impl std::error::Error for SealError {}

/// `bytes` as lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// HMAC-SHA-256 of `parts`, each length-prefixed so that parts cannot run
/// into one another.
pub(crate) fn keyed_hash(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // Cannot fail: HMAC takes keys of any length.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// SHA-256 of `parts`, each length-prefixed (for names, not secrets).
pub(crate) fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn a_sealed_snapshot_opens_only_with_its_key_and_scope_and_unchanged() {
        let key = SealKey::from_hex(KEY).unwrap();
        let sealed = key.seal(b"token-bytes", b"scope-a").unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"token-bytes"));
        assert_eq!(&**key.open(&sealed, b"scope-a").unwrap(), b"token-bytes");
        assert_eq!(key.open(&sealed, b"scope-b"), Err(SealError::Tampered));
        let other = SealKey::from_hex(&"f".repeat(64)).unwrap();
        assert_eq!(other.open(&sealed, b"scope-a"), Err(SealError::Tampered));
        for at in 0..sealed.len() {
            let mut changed = sealed.clone();
            changed[at] ^= 1;
            assert_eq!(key.open(&changed, b"scope-a"), Err(SealError::Tampered));
        }
        assert_eq!(
            key.open(&sealed[..10], b"scope-a"),
            Err(SealError::Tampered)
        );
        assert_eq!(format!("{key:?}"), "SealKey([redacted])");
    }

    #[test]
    fn a_key_is_64_hex_digits() {
        assert!(SealKey::from_hex(KEY).is_ok());
        for bad in ["", "00", &"g".repeat(64), &"0".repeat(63), &"0".repeat(65)] {
            assert_eq!(SealKey::from_hex(bad).err(), Some(SealError::BadKey));
        }
        let generated = SealKey::generate_hex().unwrap();
        assert!(SealKey::from_hex(&generated).is_ok());
    }
}
