//! The requests the clients' convenience calls make (`post_json`,
//! `post_form`, `call`), built once for the blocking and the async client.

use crate::error::Error;

/// `POST path` with a JSON body.
pub(crate) fn json(path: &str, json: Vec<u8>) -> Result<http::Request<Vec<u8>>, Error> {
    http::Request::post(path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(json)
        .map_err(|error| Error::from_http(&error, "POST"))
}

/// `POST path` with a `multipart/form-data` body of `fields`.
pub(crate) fn form(path: &str, fields: &[(&str, &str)]) -> Result<http::Request<Vec<u8>>, Error> {
    let (body, content_type) = crate::form::multipart(fields)?;
    http::Request::post(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(body)
        .map_err(|error| Error::from_http(&error, "POST"))
}

/// `method path` with `body`.
pub(crate) fn plain(
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> Result<http::Request<Vec<u8>>, Error> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .body(body)
        .map_err(|error| Error::from_http(&error, method))
}
