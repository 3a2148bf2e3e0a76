//! Fresh tokens and request ids. They only need to be unguessable enough
//! that two sandboxes or two logins never share one, so std's randomly
//! keyed hasher serves instead of a random-number crate. And base64url, for
//! tokens shaped like JWTs.

use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A new random number: the counter makes two draws differ even when the
/// hasher keys and the clock repeat.
pub(super) fn random_u64() -> u64 {
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(DRAWS.fetch_add(1, Ordering::Relaxed));
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(since_epoch.as_nanos());
    hasher.finish()
}

/// `len` random lowercase hex digits.
pub(super) fn random_hex(len: usize) -> String {
    let mut hex = String::with_capacity(len + 16);
    while hex.len() < len {
        let _ = write!(hex, "{:016x}", random_u64());
    }
    hex.truncate(len);
    hex
}

/// A new random UUID (version 4, RFC 4122 variant), lowercase and
/// hyphenated: `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`.
pub(super) fn uuid() -> String {
    let hex = random_hex(32);
    let variant = char::from(b"89ab"[usize::from(hex.as_bytes()[16]) % 4]);
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..]
    )
}

/// `bytes` in unpadded base64url, the encoding of a JWT's parts.
pub(super) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk.iter().enumerate().fold(0_usize, |group, (i, byte)| {
            group | usize::from(*byte) << (16 - 8 * i)
        });
        for i in 0..=chunk.len() {
            text.push(char::from(ALPHABET[(group >> (18 - 6 * i)) & 63]));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{base64url, random_hex, uuid};

    #[test]
    fn base64url_is_unpadded_and_url_safe() {
        let cases: [(&[u8], &str); 6] = [
            (b"", ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (&[0xfb, 0xff], "-_8"),
        ];
        for (bytes, text) in cases {
            assert_eq!(base64url(bytes), text);
        }
    }

    #[test]
    fn random_hex_has_the_length_asked_and_differs_between_draws() {
        let first = random_hex(32);
        assert_eq!(first.len(), 32);
        assert!(
            first
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(first, random_hex(32));
        assert_eq!(random_hex(5).len(), 5);
    }

    #[test]
    fn uuids_are_version_4_and_differ_between_draws() {
        let first = uuid();
        assert_eq!(first.len(), 36);
        for (at, byte) in first.bytes().enumerate() {
            if [8, 13, 18, 23].contains(&at) {
                assert_eq!(byte, b'-', "{first}");
            } else {
                assert!(
                    byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase(),
                    "{first}"
                );
            }
        }
        assert_eq!(first.as_bytes()[14], b'4', "{first}");
        assert!(b"89ab".contains(&first.as_bytes()[19]), "{first}");
        assert_ne!(first, uuid());
    }
}
