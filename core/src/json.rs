//! Reading JSON bodies without a heap, on `serde-json-core`.
//!
//! Every string lands in a [`Text`] of fixed capacity. A string that does
//! not fit fails the whole parse with [`Error::Overflow`] instead of being
//! cut: the overflow travels through serde as a custom error whose message
//! carries a marker and the capacity, and [`parse`] turns it back into the
//! typed error.

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Param};

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
pub struct Text<const N: usize>(heapless::String<N>);

impl<const N: usize> Text<N> {
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

/// Reads `body` as JSON into `T`; `what` and `status` name the response in
/// the error.
pub(crate) fn parse<'a, T: Deserialize<'a>>(
    body: &'a [u8],
    what: &'static str,
    status: u16,
) -> Result<T, Error> {
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

/// A JSON object of parameters (`"params": {"length": 64}`), kept as names
/// with their string values. Numbers and nested values are skipped because
/// the alloc-free reader cannot read a value of unknown type.
#[derive(Default)]
pub(crate) struct ParamObject(pub heapless::Vec<Param, 2>);

impl<'de> Deserialize<'de> for ParamObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamsVisitor;

        impl<'de> Visitor<'de> for ParamsVisitor {
            type Value = ParamObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of parameters")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ParamObject, A::Error> {
                let mut params = heapless::Vec::new();
                while let Some(name) = map.next_key::<Text<24>>()? {
                    let value = map.next_value::<ScalarString<32>>()?.0;
                    params
                        .push(Param { name, value })
                        .map_err(|_| overflow(params.capacity()))?;
                }
                Ok(ParamObject(params))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ParamObject, A::Error> {
                // Weavr sends its parameters as a list; their names are not known.
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ParamObject::default())
            }
        }

        deserializer.deserialize_ignored_any(ParamsVisitor)
    }
}

/// A value kept if it is a string and skipped (as `None`) otherwise.
pub(crate) struct ScalarString<const N: usize>(pub Option<Text<N>>);

impl<'de, const N: usize> Deserialize<'de> for ScalarString<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor<const N: usize>(PhantomData<[(); N]>);

        impl<'de, const N: usize> Visitor<'de> for ScalarVisitor<N> {
            type Value = ScalarString<N>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<ScalarString<N>, E> {
                heapless::String::try_from(text)
                    .map(|text| ScalarString(Some(Text(text))))
                    .map_err(|_| overflow(N))
            }

            // serde-json-core reports numbers, booleans and null as a unit
            // when asked to skip a value.
            fn visit_unit<E: de::Error>(self) -> Result<ScalarString<N>, E> {
                Ok(ScalarString(None))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ScalarString<N>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ScalarString(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScalarString<N>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(ScalarString(None))
            }
        }

        deserializer.deserialize_ignored_any(ScalarVisitor::<N>(PhantomData))
    }
}
