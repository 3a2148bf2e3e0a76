//! What the emulated Weavr answers, apart from the logic that picks it:
//! its error bodies, the `request-ref` stamp, and the bodies of tokens,
//! identities and managed accounts.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::super::exchange::Reply;
use super::super::ids;
use super::users::Identity;

/// An error of the API as a whole, as a fault answers it: a bare `401`,
/// a `429` with Weavr's rate-limit headers, otherwise a JSON message.
pub fn error(status: u16) -> Reply {
    let reply = match status {
        401 => Reply::empty(401),
        404 => not_found("no such endpoint"),
        429 => Reply::json(429, &json!({ "message": "Too many requests" }))
            .with_header("x-ratelimit-limit", "100".to_owned())
            .with_header("x-ratelimit-reset", "1".to_owned()),
        400 => Reply::json(400, &json!({ "message": "Bad request" })),
        503 => Reply::json(503, &json!({ "message": "Service unavailable" })),
        _ => Reply::json(status, &json!({ "message": "Internal server error" })),
    };
    stamped(reply)
}

/// Weavr's request refs look like UUIDs.
pub(super) fn stamped(reply: Reply) -> Reply {
    let mut uuid = ids::random_hex(32);
    for at in [20, 16, 12, 8] {
        uuid.insert(at, '-');
    }
    reply.with_header("request-ref", uuid)
}

pub(super) fn not_found(message: &str) -> Reply {
    Reply::json(404, &json!({ "error": "not_found", "message": message }))
}

/// A `400` naming each required field that is missing or blank.
pub(super) fn bad_request(missing: &[&str]) -> Reply {
    let fields: Vec<Value> = missing
        .iter()
        .map(|field| json!({ "params": [], "fieldName": field, "error": "REQUIRED" }))
        .collect();
    let body = json!({
        "message": "Bad request: the body is not valid",
        "syntaxErrors": { "invalidFields": fields },
    });
    Reply::json(400, &body)
}

/// The values of required fields, or the `400` that names those missing
/// or blank.
pub(super) fn required<'a, const N: usize>(
    fields: [(&'static str, Option<&'a str>); N],
) -> Result<[&'a str; N], Reply> {
    if fields.iter().all(|(_, value)| value.is_some()) {
        return Ok(fields.map(|(_, value)| value.unwrap_or_default()));
    }
    let missing: Vec<&str> = fields
        .iter()
        .filter(|(_, value)| value.is_none())
        .map(|(field, _)| *field)
        .collect();
    Err(bad_request(&missing))
}

/// A step-up refusal.
pub(super) fn conflict(code: &str) -> Reply {
    Reply::json(409, &json!({ "errorCode": code }))
}

pub(super) fn invalid_credentials() -> Reply {
    Reply::json(403, &json!({ "errorCode": "INVALID_CREDENTIALS" }))
}

pub(super) fn identity_id(identity: &Identity) -> Value {
    json!({ "type": identity.kind, "id": identity.id })
}

/// An access token shaped like Weavr's: a JWT whose signature is random.
pub(super) fn access_jwt(credentials: &str, identity: &Identity) -> String {
    let issued_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let header = json!({ "alg": "HS256", "typ": "JWT" });
    let payload = json!({
        "sub": credentials,
        "iat": issued_at,
        "jti": ids::random_hex(32),
        "identity": identity_id(identity),
    });
    let signature: Vec<u8> = (0..4)
        .flat_map(|_| ids::random_u64().to_le_bytes())
        .collect();
    format!(
        "{}.{}.{}",
        ids::base64url(header.to_string().as_bytes()),
        ids::base64url(payload.to_string().as_bytes()),
        ids::base64url(&signature),
    )
}

pub(super) fn managed_account(identity: &Identity) -> Value {
    json!({
        "id": identity.account,
        "profileId": "110138374263767040",
        "friendlyName": format!("{} EUR account", identity.name),
        "currency": "EUR",
        "balances": { "availableBalance": 2_500_000, "actualBalance": 2_500_000 },
        "state": { "state": "ACTIVE" },
        "creationTimestamp": 1_705_312_800_000_u64,
    })
}

pub(super) fn statement() -> Value {
    let entry = |id: &str, amount: i64, after: i64, at: u64| {
        json!({
            "transactionId": { "type": "TRANSFER", "id": id },
            "txAmount": { "currency": "EUR", "amount": amount },
            "balanceAfter": { "currency": "EUR", "amount": after },
            "processedTimestamp": at,
        })
    };
    json!({
        "entry": [
            entry("110138374263767328", 2_600_000, 2_600_000, 1_709_280_000_000),
            entry("110138374263767360", -100_000, 2_500_000, 1_709_366_400_000),
        ],
        "count": 2,
        "responseCount": 2,
    })
}
