//! Currencycloud's SCA for API payments, as `PROVIDERS.md` ("SCA for API
//! payments", "SCA errors") describes it: `POST /v2/payments/validate`
//! starts a challenge when the caller opts in and the amount needs one, an
//! SMS code "sent" to the user; `POST /v2/payments/create` takes the same
//! payment with the challenge's id and its code.
//!
//! A challenge is bound to the user behind the token (a new login keeps
//! it) and to the payment's fields in any order. Every SMS code is
//! [`CURRENCYCLOUD_SCA_CODE`]; each validate sends a new one, and the
//! older challenges of the same payment stay good until they expire.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::super::counters::Tally;
use super::super::exchange::{Incoming, Reply};
use super::super::{form, ids};
use super::{plain_error, problem};

/// The code of every Currencycloud SCA challenge sent by SMS: what the
/// user would read on their phone.
///
/// ```
/// use authsession_sandbox::CURRENCYCLOUD_SCA_CODE;
///
/// assert_eq!(CURRENCYCLOUD_SCA_CODE, "123456");
/// ```
pub const CURRENCYCLOUD_SCA_CODE: &str = "123456";

/// The window of the limit on SMS codes sent for the same payment.
const SMS_LIMIT_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Wrong codes a challenge takes; every create on it after them is
/// refused with "Too many attempts", whatever its code.
const CODE_ATTEMPTS: u32 = 5;
/// How long past its code's lifetime a challenge is remembered, so that a
/// late code is told "expired" rather than "unknown".
const REMEMBER_EXPIRED: Duration = Duration::from_secs(60 * 60);

/// The configured rules of payment SCA.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    /// Amounts at or above this (in whole units of the payment's currency)
    /// need an SMS code.
    pub threshold: u64,
    /// SMS codes that may go out for the same payment within
    /// [`SMS_LIMIT_WINDOW`]; past it, `429`.
    pub sms_limit: u32,
    /// How long a challenge's code can be used.
    pub code_lifetime: Duration,
}

/// A payment form's fields, sorted: the same fields in any order are the
/// same payment.
type PaymentData = Vec<(String, String)>;

/// The SCA state of Currencycloud's payments.
#[derive(Debug)]
pub(super) struct Payments {
    rules: Rules,
    /// By `x-sca-id`.
    challenges: HashMap<String, Challenge>,
    /// When SMS codes went out, by user and payment, oldest first, within
    /// the window.
    sms_sent: HashMap<(String, PaymentData), VecDeque<Instant>>,
}

/// What a validate with `x-sca-opt-in: true` started.
#[derive(Debug)]
struct Challenge {
    login_id: String,
    data: PaymentData,
    /// `SMS` (a code was sent), else `NONE` (no code needed).
    sms: bool,
    /// `x-sca-to-authenticated-user: true`: the code went to the
    /// authenticated user rather than the customer. Recorded only.
    to_authenticated_user: bool,
    created: Instant,
    wrong_codes: u32,
    /// A payment was created with it.
    spent: bool,
}

impl Challenge {
    /// Whether the challenge may still be used at `now`; the refusal is
    /// the `x-sca-token` message.
    fn usable(&self, now: Instant, lifetime: Duration) -> Result<(), &'static str> {
        if self.spent {
            return Err("x-sca-token has already been used");
        }
        if self.sms && self.wrong_codes >= CODE_ATTEMPTS {
            return Err("Too many attempts");
        }
        if self.sms && now.duration_since(self.created) >= lifetime {
            return Err("x-sca-token has expired");
        }
        Ok(())
    }

    /// Compares a code; a wrong one counts as an attempt.
    fn compare(&mut self, code: &str) -> Result<(), &'static str> {
        if code == CURRENCYCLOUD_SCA_CODE {
            Ok(())
        } else {
            self.wrong_codes = self.wrong_codes.saturating_add(1);
            Err("x-sca-token is invalid")
        }
    }
}

/// The fields of a payment form that the sandbox reads.
struct Payment<'a> {
    currency: &'a str,
    beneficiary_id: &'a str,
    amount: &'a str,
    /// The amount's whole units (saturated).
    whole: u64,
    reason: Option<&'a str>,
    reference: Option<&'a str>,
}

impl Payment<'_> {
    fn needs_sca(&self, rules: &Rules) -> bool {
        self.whole >= rules.threshold
    }
}

impl Payments {
    pub fn new(rules: Rules) -> Self {
        Payments {
            rules,
            challenges: HashMap::new(),
            sms_sent: HashMap::new(),
        }
    }

    /// `POST /v2/payments/validate` for `login_id`.
    pub fn validate(
        &mut self,
        tally: &mut Tally,
        request: &Incoming,
        login_id: &str,
        now: Instant,
    ) -> Reply {
        if request.header("x-sca-id").is_some() {
            return sca_error(
                400,
                "invalid_extra_x_sca_id",
                "x-sca-id",
                "x-sca-id must not be sent to validate a payment",
            );
        }
        let Some(fields) = form::fields(request.header("Content-Type"), &request.body) else {
            return plain_error(400);
        };
        let payment = match read(&fields) {
            Ok(payment) => payment,
            Err(reply) => return reply,
        };
        let success = Reply::json(200, &json!({ "validation_result": "success" }));
        if !flag(request, "x-sca-opt-in") {
            tally.counters.payment_validations += 1;
            return success;
        }
        self.forget(now);
        let data = canonical(&fields);
        let sms = payment.needs_sca(&self.rules);
        if sms {
            let limit = usize::try_from(self.rules.sms_limit).unwrap_or(usize::MAX);
            let sent = self
                .sms_sent
                .entry((login_id.to_owned(), data.clone()))
                .or_default();
            if sent.len() >= limit {
                return plain_error(429);
            }
            sent.push_back(now);
            tally.counters.payment_sms_sent += 1;
        }
        let sca_id = ids::uuid();
        let challenge = Challenge {
            login_id: login_id.to_owned(),
            data,
            sms,
            to_authenticated_user: flag(request, "x-sca-to-authenticated-user"),
            created: now,
            wrong_codes: 0,
            spent: false,
        };
        if sms {
            tracing::debug!(
                %sca_id,
                to_authenticated_user = challenge.to_authenticated_user,
                "sandbox: a Currencycloud payment's SCA code goes out by SMS"
            );
        }
        self.challenges.insert(sca_id.clone(), challenge);
        tally.counters.payment_validations += 1;
        success
            .with_header("x-sca-id", sca_id)
            .with_header("x-sca-type", (if sms { "SMS" } else { "NONE" }).to_owned())
            .with_header("x-sca-required", sms.to_string())
    }

    /// `POST /v2/payments/create` for `login_id`.
    pub fn create(
        &mut self,
        tally: &mut Tally,
        request: &Incoming,
        login_id: &str,
        now: Instant,
    ) -> Reply {
        let Some(fields) = form::fields(request.header("Content-Type"), &request.body) else {
            return plain_error(400);
        };
        let payment = match read(&fields) {
            Ok(payment) => payment,
            Err(reply) => return reply,
        };
        let Some(sca_id) = request.header("x-sca-id") else {
            if payment.needs_sca(&self.rules) {
                return sca_failed("x-sca-id", "sca_required", "SCA required");
            }
            return created(tally, &payment);
        };
        let invalid_id = || sca_error(400, "invalid_x_sca_id", "x-sca-id", "x-sca-id is invalid");
        if !flag(request, "x-sca-opt-in") {
            return invalid_id();
        }
        let lifetime = self.rules.code_lifetime;
        let Some(challenge) = self
            .challenges
            .get_mut(sca_id.trim())
            .filter(|challenge| challenge.login_id == login_id)
        else {
            return invalid_id();
        };
        let token = request
            .header("x-sca-token")
            .map(str::trim)
            .filter(|token| !token.is_empty());
        if challenge.sms && token.is_none() {
            return sca_error(
                400,
                "missing_x_sca_token",
                "x-sca-token",
                "x-sca-token is required",
            );
        }
        if challenge.data != canonical(&fields) {
            return sca_error(
                400,
                "invalid_request_body",
                "base",
                "The request body differs from the validated one",
            );
        }
        if let Err(message) = challenge.usable(now, lifetime) {
            return sca_failed("x-sca-token", "x-sca-token", message);
        }
        if let (true, Some(token)) = (challenge.sms, token) {
            tally.counters.payment_codes_checked += 1;
            if let Err(message) = challenge.compare(token) {
                return sca_failed("x-sca-token", "x-sca-token", message);
            }
        }
        challenge.spent = true;
        created(tally, &payment)
    }

    /// Forgets the challenges long expired and the SMS codes sent before
    /// the limit's window.
    fn forget(&mut self, now: Instant) {
        let remembered = self.rules.code_lifetime.saturating_add(REMEMBER_EXPIRED);
        self.challenges
            .retain(|_, challenge| now.duration_since(challenge.created) < remembered);
        self.sms_sent.retain(|_, sent| {
            while sent
                .front()
                .is_some_and(|at| now.duration_since(*at) >= SMS_LIMIT_WINDOW)
            {
                sent.pop_front();
            }
            !sent.is_empty()
        });
    }
}

/// The payment in a form, or the `400` listing its field errors.
fn read(fields: &[(String, String)]) -> Result<Payment<'_>, Reply> {
    let value = |name| form::field(fields, name).filter(|value| !value.is_empty());
    let mut problems = Map::new();
    let mut complain = |field: &str, code: &str, message: &str, params: Value| {
        let entry = problem(code, message, &params);
        problems.insert(field.to_owned(), Value::Array(vec![entry]));
    };
    let currency = value("currency");
    match currency {
        None => complain(
            "currency",
            "currency_is_required",
            "currency is required",
            json!({}),
        ),
        Some(code) if !(code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())) => {
            complain(
                "currency",
                "currency_is_in_invalid_format",
                "currency is not a valid ISO 4217 currency code",
                json!({ "type": "currency" }),
            );
        }
        Some(_) => {}
    }
    let beneficiary_id = value("beneficiary_id");
    match beneficiary_id {
        None => complain(
            "beneficiary_id",
            "beneficiary_id_is_required",
            "beneficiary_id is required",
            json!({}),
        ),
        Some(id) if !is_uuid(id) => complain(
            "beneficiary_id",
            "beneficiary_id_is_not_valid_uuid",
            "beneficiary_id should be in UUID format",
            json!({}),
        ),
        Some(_) => {}
    }
    let amount = value("amount");
    let whole = amount.and_then(whole_units);
    match (amount, whole) {
        (None, _) => complain(
            "amount",
            "amount_is_required",
            "amount is required",
            json!({}),
        ),
        (Some(_), None) => complain(
            "amount",
            "amount_type_is_wrong",
            "amount should be of numeric type",
            json!({ "type": "numeric" }),
        ),
        (Some(_), Some(_)) => {}
    }
    let (Some(currency), Some(beneficiary_id), Some(amount), Some(whole), true) =
        (currency, beneficiary_id, amount, whole, problems.is_empty())
    else {
        let body = json!({
            "error_code": "payment_invalid_request",
            "error_messages": problems,
        });
        return Err(Reply::json(400, &body));
    };
    Ok(Payment {
        currency,
        beneficiary_id,
        amount,
        whole,
        reason: form::field(fields, "reason"),
        reference: form::field(fields, "reference"),
    })
}

/// The whole units of a decimal amount (`1250`, `99.99`; saturated), or
/// `None` if it is not one.
fn whole_units(amount: &str) -> Option<u64> {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(whole) && digits(fraction)) {
        return None;
    }
    // Only digits: the parse fails on overflow alone.
    Some(whole.parse().unwrap_or(u64::MAX))
}

/// Whether `id` is shaped like a UUID: hex digits in groups of 8-4-4-4-12.
fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn canonical(fields: &[(String, String)]) -> PaymentData {
    let mut data = fields.to_vec();
    data.sort();
    data
}

/// Whether the header `name` says `true`.
fn flag(request: &Incoming, name: &str) -> bool {
    request
        .header(name)
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
}

fn created(tally: &mut Tally, payment: &Payment<'_>) -> Reply {
    tally.counters.payments_created += 1;
    let body = json!({
        "id": ids::uuid(),
        "amount": payment.amount,
        "currency": payment.currency,
        "beneficiary_id": payment.beneficiary_id,
        "reason": payment.reason.unwrap_or_default(),
        "reference": payment.reference.unwrap_or_default(),
        "status": "ready_to_send",
    });
    Reply::json(200, &body)
}

/// An SCA error with its code both as `error_code` and as the one entry
/// under `field`.
fn sca_error(status: u16, code: &str, field: &str, message: &str) -> Reply {
    let body = json!({
        "error_code": code,
        "error_messages": { field: [problem(code, message, &json!({}))] },
    });
    Reply::json(status, &body)
}

/// A `401 sca_check_failed`: about the SCA headers, not the session's
/// token.
fn sca_failed(field: &str, code: &str, message: &str) -> Reply {
    let body = json!({
        "error_code": "sca_check_failed",
        "error_messages": { field: [problem(code, message, &json!({}))] },
    });
    Reply::json(401, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFETIME: Duration = Duration::from_secs(600);

    fn challenge(sms: bool, created: Instant) -> Challenge {
        Challenge {
            login_id: "a@b.c".to_owned(),
            data: Vec::new(),
            sms,
            to_authenticated_user: false,
            created,
            wrong_codes: 0,
            spent: false,
        }
    }

    #[test]
    fn amounts_are_decimals_compared_by_their_whole_units() {
        assert_eq!(whole_units("100"), Some(100));
        assert_eq!(whole_units("99.99"), Some(99));
        assert_eq!(whole_units("0.5"), Some(0));
        assert_eq!(whole_units("99999999999999999999999"), Some(u64::MAX));
        for bad in ["", ".5", "5.", "1e3", "-1", "1,000", "12.3.4", " 1"] {
            assert_eq!(whole_units(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uuids_are_recognised_by_shape() {
        assert!(is_uuid("5b2c9f0e-8d1a-4c3b-9e7f-0a1b2c3d4e5f"));
        assert!(is_uuid(&ids::uuid()));
        assert!(!is_uuid("5b2c9f0e8d1a4c3b9e7f0a1b2c3d4e5f"));
        assert!(!is_uuid("5b2c9f0e-8d1a-4c3b-9e7f-0a1b2c3d4e5g"));
    }

    #[test]
    fn codes_are_refused_when_spent_exhausted_or_expired() {
        let start = Instant::now();
        let mut sms = challenge(true, start);
        assert_eq!(sms.usable(start, LIFETIME), Ok(()));
        assert_eq!(
            sms.usable(start + LIFETIME, LIFETIME),
            Err("x-sca-token has expired")
        );
        for _ in 0..CODE_ATTEMPTS {
            assert_eq!(sms.usable(start, LIFETIME), Ok(()));
            assert_eq!(sms.compare("000000"), Err("x-sca-token is invalid"));
        }
        assert_eq!(sms.usable(start, LIFETIME), Err("Too many attempts"));

        let mut none = challenge(false, start);
        assert_eq!(none.usable(start + LIFETIME * 2, LIFETIME), Ok(()));
        none.spent = true;
        assert_eq!(
            none.usable(start, LIFETIME),
            Err("x-sca-token has already been used")
        );
    }

    #[test]
    fn payment_data_is_order_independent() {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let one = [pair("amount", "10"), pair("currency", "EUR")];
        let other = [pair("currency", "EUR"), pair("amount", "10")];
        assert_eq!(canonical(&one), canonical(&other));
        assert_ne!(canonical(&one), canonical(&[pair("amount", "11")]));
    }
}
