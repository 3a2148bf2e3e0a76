//! Currencycloud's error answers: `{"error_code", "error_messages": {field:
//! [{code, message, params}]}}`, and what their words say of a payment's
//! strong customer authentication.

use core::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{ApiError, Error, ErrorKind, FieldError, PaymentScaError};
use crate::json::Text;
use crate::kit::error_body;
use crate::response::Response;

/// The error a Currencycloud error answer carries.
///
/// ```
/// use authsession_core::providers::currencycloud::error_of;
/// use authsession_core::{Error, ResponseParts};
///
/// let body = br#"{"error_code":"auth_failed","error_messages":{"username":[
///     {"code":"invalid_supplied_credentials","message":"Authentication failed","params":{}}]}}"#;
/// let response = ResponseParts::new(401, body).with_headers(&[("X-Request-Id", b"r-1")]);
/// let Error::Api(error) = error_of(&response) else { panic!() };
/// assert_eq!(error.code, "auth_failed");
/// assert_eq!(error.field.unwrap().field, "username");
/// assert_eq!(error.request_id, "r-1");
/// ```
pub fn error_of<R: Response + ?Sized>(response: &R) -> Error {
    match parse_error(response) {
        Ok(read) => Error::Api(read.error),
        Err(error) => error,
    }
}

/// A payment's error answer: [`ErrorKind::PaymentSca`] when it speaks of
/// the payment's challenge, whatever its status.
pub(super) fn payment_error(response: &dyn Response) -> Error {
    match parse_error(response) {
        Ok(ReadError {
            mut error,
            sca: Some(problem),
        }) => {
            error.kind = ErrorKind::PaymentSca(problem);
            Error::Api(error)
        }
        Ok(read) => Error::Api(read.error),
        Err(error) => error,
    }
}

/// An error answer, and what its words (the code, a field's name, code or
/// message) say of a payment's SCA, if they speak of it.
struct ReadError {
    error: ApiError,
    sca: Option<PaymentScaError>,
}

fn parse_error<R: Response + ?Sized>(response: &R) -> Result<ReadError, Error> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ErrorBody {
        error_code: Text<64>,
        error_messages: FieldMessages,
    }

    let (mut error, body) = error_body::<_, ErrorBody>(response, "X-Request-Id")?;
    // An entry says more than the code (`sca_check_failed` files them all).
    let sca = match (
        body.error_messages.sca,
        sca_problem(&[&body.error_code], ""),
    ) {
        (Some(PaymentScaError::Other) | None, Some(from_code)) => Some(from_code),
        (from_entries, _) => from_entries,
    };
    error.code = body.error_code;
    error.field = body.error_messages.first;
    error.field_count = body.error_messages.count;
    Ok(ReadError { error, sca })
}

/// `error_messages`: an object whose keys are field names (any names: the
/// seed says `username`, other references `api_key`) and whose values are
/// lists of `{code, message, params}`. The first problem is kept, the
/// others counted, and all of them read for what they say of SCA.
#[derive(Default)]
struct FieldMessages {
    first: Option<FieldError>,
    count: u16,
    /// The most telling SCA problem of the entries.
    sca: Option<PaymentScaError>,
}

impl<'de> Deserialize<'de> for FieldMessages {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MessagesVisitor;

        impl<'de> Visitor<'de> for MessagesVisitor {
            type Value = FieldMessages;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of field errors")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldMessages, A::Error> {
                let mut messages = FieldMessages::default();
                while let Some(field) = map.next_key::<Text<32>>()? {
                    map.next_value_seed(FieldEntries {
                        field: &field,
                        out: &mut messages,
                    })?;
                }
                Ok(messages)
            }
        }

        deserializer.deserialize_map(MessagesVisitor)
    }
}

/// The list of problems of one field, added to the messages read so far.
struct FieldEntries<'f> {
    field: &'f Text<32>,
    out: &'f mut FieldMessages,
}

impl<'de> DeserializeSeed<'de> for FieldEntries<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

/// One problem of a field: `{code, message, params}`. The message is read
/// for its SCA words only; the parameters are skipped.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Entry {
    code: Text<64>,
    message: Text<128>,
    params: IgnoredAny,
}

impl<'de> Visitor<'de> for FieldEntries<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of field errors")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<Entry>()? {
            let out = &mut *self.out;
            let problem = sca_problem(&[self.field.as_str(), &entry.code], &entry.message);
            if out.sca.is_none_or(|known| known == PaymentScaError::Other) {
                out.sca = problem.or(out.sca);
            }
            out.count = out.count.saturating_add(1);
            if out.first.is_none() {
                out.first = Some(FieldError::new(self.field.clone(), entry.code));
            }
        }
        Ok(())
    }
}

/// What `words` (codes and field names) and `message` say of a payment's
/// SCA, if they speak of it. Only the token's own refusal (`auth_failed`,
/// or words we do not know) is not about the payment.
fn sca_problem(words: &[&str], message: &str) -> Option<PaymentScaError> {
    let said = |code: &str| words.contains(&code);
    if said("sca_required") {
        return Some(PaymentScaError::Required);
    }
    if said("invalid_request_body") {
        return Some(PaymentScaError::BodyChanged);
    }
    if said("invalid_x_sca_id") || said("missing_x_sca_token") || said("invalid_extra_x_sca_id") {
        return Some(PaymentScaError::BadChallenge);
    }
    let about_sca = words
        .iter()
        .chain([&message])
        .any(|word| word.starts_with("sca_") || word.starts_with("x-sca"));
    if !about_sca {
        return None;
    }
    let says = |part: &str| contains_ignoring_case(message, part);
    Some(if says("expired") {
        PaymentScaError::CodeExpired
    } else if says("attempts") {
        PaymentScaError::TooManyAttempts
    } else if says("used") {
        PaymentScaError::CodeUsed
    } else if said("x-sca-token") {
        PaymentScaError::CodeRefused
    } else {
        PaymentScaError::Other
    })
}

fn contains_ignoring_case(text: &str, part: &str) -> bool {
    text.as_bytes()
        .windows(part.len())
        .any(|window| window.eq_ignore_ascii_case(part.as_bytes()))
}
