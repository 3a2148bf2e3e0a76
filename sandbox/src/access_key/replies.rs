//! What the emulated access-key API answers, apart from the logic that
//! picks it: its error bodies (`{"statusCode":"Error","error":{...}}`, as in
//! the seed) and the bodies of its protected calls.

use serde_json::{Value, json};

use super::super::exchange::Reply;
use super::token::Claims;

/// The seed's message of a `400`.
const INVALID_BODY_MESSAGE: &str =
    "The request body is invalid. See error object `details` property for more info";
/// The seed's message of a `401`.
const UNAUTHORIZED_MESSAGE: &str = "Service was unable to complete your request.";

/// An error of the API as a whole, as a fault answers it.
pub fn error(status: u16) -> Reply {
    let (name, message) = match status {
        400 => return invalid_body(&[]),
        401 => return unauthorized("InvalidToken"),
        403 => ("ForbiddenError", "Forbidden"),
        404 => ("NotFoundError", "Endpoint not found"),
        429 => ("TooManyRequestsError", "Too many requests"),
        503 => ("ServiceUnavailableError", "Service unavailable"),
        _ => ("InternalServerError", "Internal server error"),
    };
    failure(status, name, message, &Value::Null)
}

fn failure(status: u16, name: &str, message: &str, details: &Value) -> Reply {
    let mut error = json!({ "message": message, "name": name, "code": name });
    if !details.is_null() {
        error["details"] = details.clone();
    }
    Reply::json(status, &json!({ "statusCode": "Error", "error": error }))
}

/// `401 AuthenticationError` with `details.reason`: `AccessKeyUnauthorized`
/// for a refused key, the seed's body word for word; otherwise why a
/// bearer token was refused.
pub fn unauthorized(reason: &str) -> Reply {
    failure(
        401,
        "AuthenticationError",
        UNAUTHORIZED_MESSAGE,
        &json!({ "reason": reason }),
    )
}

/// `400 InvalidRequestFormatError` with one entry of `details` for each
/// problem of the body. The seed's body has no `code` beside the `name`.
pub fn invalid_body(details: &[Value]) -> Reply {
    let body = json!({
        "statusCode": "Error",
        "error": {
            "name": "InvalidRequestFormatError",
            "message": INVALID_BODY_MESSAGE,
            "details": details,
        },
    });
    Reply::json(400, &body)
}

/// A `details` entry for a property the body lacks, as the seed shows it.
pub fn missing(property: &str) -> Value {
    json!({
        "path": "",
        "code": "required",
        "message": format!("must have required property '{property}'"),
        "info": { "missingProperty": property },
    })
}

/// A `details` entry for a property that is not a string.
pub fn not_a_string(property: &str) -> Value {
    json!({
        "path": format!("/{property}"),
        "code": "type",
        "message": "must be string",
        "info": { "type": "string" },
    })
}

/// A `details` entry for an empty string.
pub fn empty(property: &str) -> Value {
    json!({
        "path": format!("/{property}"),
        "code": "minLength",
        "message": "must NOT have fewer than 1 characters",
        "info": { "limit": 1 },
    })
}

/// A `details` entry for a body that is not a JSON object.
pub fn not_an_object(why: &str) -> Value {
    json!({
        "path": "",
        "code": "parse",
        "message": format!("the body is not a JSON object: {why}"),
        "info": {},
    })
}

/// `GET /partners/me`: the partner the token's claims name.
pub fn partner(claims: &Claims) -> Value {
    json!({
        "id": claims.cid,
        "name": "Demo Partner Ltd",
        "realm": claims.realm,
        "domain": claims.domain,
        "user": { "id": claims.uid, "roles": claims.ar },
        "accessKeyId": claims.ak,
    })
}

/// `GET /partners/me/accounts`: the company account and its balances.
pub fn accounts(claims: &Claims) -> Value {
    json!({
        "items": [{
            "id": claims.ca,
            "companyId": claims.cid,
            "currency": "EUR",
            "balance": "125000.00",
            "status": "ACTIVE",
        }],
        "count": 1,
    })
}
