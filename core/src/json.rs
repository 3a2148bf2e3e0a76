//! Reading JSON bodies without a heap, on `serde-json-core`.
//!
//! Every string lands in a [`Text`] of fixed capacity. A string that does
//! not fit fails the whole parse with [`Error::Overflow`] instead of being
//! cut: the overflow travels through serde as a custom error whose message
//! carries a marker and the capacity, and [`parse`] turns it back into the
//! typed error.
//!
//! Every visitor here accepts every kind of value serde-json-core can hand
//! it, or fails with a short message of its own: serde's default refusals
//! quote the value, and serde-json-core panics on a message longer than 64
//! bytes (its issue #93), which a server's body must never cause.

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;

use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

use crate::error::Error;
use crate::secret::Buffer;

/// How many bytes the longest escaped string of a body may unescape to.
const UNESCAPE_CAPACITY: usize = 256;

/// The prefix of the custom serde error that means "a [`Text`] overflowed".
const OVERFLOW_MARKER: &str = "authsession-overflow:";

/// A string of at most `N` bytes, read from a server or given by the caller.
///
/// ```
/// use authsession_core::Text;
///
/// let code = Text::<16>::new("auth_failed").unwrap();
/// assert_eq!(&*code, "auth_failed");
/// assert!(Text::<4>::new("auth_failed").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text<const N: usize>(heapless::String<N, u16>);

impl<const N: usize> Text<N> {
    /// The empty text.
    pub const fn new_empty() -> Self {
        Text(heapless::String::new())
    }

    /// The text `text`, or [`Error::Overflow`] if it is longer than `N` bytes.
    pub fn new(text: &str) -> Result<Self, Error> {
        heapless::String::try_from(text)
            .map(Text)
            .map_err(|_| Error::Overflow {
                what: "text",
                capacity: N,
            })
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> Deref for Text<N> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> fmt::Display for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const N: usize> fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl<const N: usize> PartialEq<str> for Text<N> {
    fn eq(&self, other: &str) -> bool {
        self.0.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for Text<N> {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_str() == *other
    }
}

impl<const N: usize> Serialize for Text<N> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// The serde error that reports an overflow of a buffer of `capacity`.
pub(crate) fn overflow<E: de::Error>(capacity: usize) -> E {
    E::custom(format_args!("{OVERFLOW_MARKER}{capacity}"))
}

impl<'de, const N: usize> Deserialize<'de> for Text<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<const N: usize>;

        impl<const N: usize> Visitor<'_> for TextVisitor<N> {
            type Value = Text<N>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a string of at most {N} bytes")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<N>, E> {
                heapless::String::try_from(text)
                    .map(Text)
                    .map_err(|_| overflow(N))
            }
        }

        deserializer.deserialize_str(TextVisitor::<N>)
    }
}

/// The deepest nesting of arrays and objects a body may have. serde-json-core
/// recurses once per level, skipped values included, with no limit of its
/// own: a body of a hundred thousand `[` would overflow the stack. The APIs'
/// bodies nest five deep at most.
const MAX_DEPTH: usize = 16;

/// Whether `body` nests arrays and objects deeper than [`MAX_DEPTH`]
/// (brackets inside strings do not count).
fn too_deep(body: &[u8]) -> bool {
    // No body nests deeper than it has openers. Counting them takes one
    // pass without branches, sixteen bytes at a time (byte-wide counters,
    // reset every 128 bytes so they cannot overflow; `[` is 0x5b, `{` 0x7b,
    // and no other byte is 0x7b with bit 0x20 set), where the exact scan
    // below goes a byte at a time: on a login answer it cost as much as
    // the parse.
    let openers: usize = body
        .chunks(128)
        .map(|chunk| {
            let count = chunk
                .iter()
                .fold(0u8, |count, &byte| count + u8::from(byte | 0x20 == b'{'));
            usize::from(count)
        })
        .sum();
    if openers <= MAX_DEPTH {
        return false;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in body {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return true;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    false
}

/// Reads `body` as JSON into `T`; `what` and `status` name the response in
/// the error. A string longer than its [`Text`] fails with
/// [`Error::Overflow`]; anything else unreadable with [`Error::Malformed`].
pub fn parse<'a, T: Deserialize<'a>>(
    body: &'a [u8],
    what: &'static str,
    status: u16,
) -> Result<T, Error> {
    if too_deep(body) {
        return Err(Error::Malformed { what, status });
    }
    let mut unescaped = [0u8; UNESCAPE_CAPACITY];
    match serde_json_core::from_slice_escaped::<T>(body, &mut unescaped) {
        Ok((value, _)) => Ok(value),
        Err(serde_json_core::de::Error::EscapedStringIsTooLong) => Err(Error::Overflow {
            what,
            capacity: UNESCAPE_CAPACITY,
        }),
        Err(serde_json_core::de::Error::CustomErrorWithMessage(message)) => {
            match message.strip_prefix(OVERFLOW_MARKER) {
                Some(capacity) => Err(Error::Overflow {
                    what,
                    capacity: capacity.parse().unwrap_or(0),
                }),
                None => Err(Error::Malformed { what, status }),
            }
        }
        Err(_) => Err(Error::Malformed { what, status }),
    }
}

/// Writes `value` as JSON at the end of `out`, escaping strings as JSON
/// requires; fails with [`Error::Overflow`] naming `what` if it does not fit.
pub fn write<T: Serialize, B: Buffer>(
    value: &T,
    out: &mut B,
    what: &'static str,
) -> Result<(), Error> {
    out.append_with(what, |free| serde_json_core::to_slice(value, free).ok())
}

/// A JSON list read for its first element and its length: a long list
/// costs no more memory than one element, and is not an overflow.
pub(crate) struct FirstOf<T> {
    pub first: Option<T>,
    pub count: u16,
}

impl<T> Default for FirstOf<T> {
    fn default() -> Self {
        FirstOf {
            first: None,
            count: 0,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for FirstOf<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FirstVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
            type Value = FirstOf<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstOf<T>, A::Error> {
                let mut list = FirstOf::default();
                while let Some(item) = seq.next_element::<T>()? {
                    list.first.get_or_insert(item);
                    list.count = list.count.saturating_add(1);
                }
                Ok(list)
            }
        }

        deserializer.deserialize_seq(FirstVisitor(PhantomData))
    }
}

/// A string as the body spells it: borrowed when it has no escapes, and
/// only noted as escaped otherwise. Tokens and codes are plain ASCII, so an
/// escaped one is no such value and is refused rather than copied out of
/// the parser's scratch buffer (a plain `&str` field would refuse it too,
/// but with serde's message quoting the value, see the top of this file).
#[derive(Clone, Copy)]
pub(crate) enum RawStr<'a> {
    Plain(&'a str),
    Escaped,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawStrVisitor;

        impl<'de> Visitor<'de> for RawStrVisitor {
            type Value = RawStr<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<RawStr<'de>, E> {
                Ok(RawStr::Plain(text))
            }

            fn visit_str<E: de::Error>(self, _text: &str) -> Result<RawStr<'de>, E> {
                Ok(RawStr::Escaped)
            }
        }

        deserializer.deserialize_str(RawStrVisitor)
    }
}
