//! `multipart/form-data` bodies for [`Client::post_form`](crate::Client::post_form):
//! what Currencycloud's calls (payments among them) take.

use crate::error::Error;

/// The body and `Content-Type` of a `multipart/form-data` form with
/// `fields`, in order, for a request of your own ([`Client::post_form`]
/// builds one). The boundary is one that occurs in no value; a field name
/// may not be empty or hold a quote, CR or LF (it could not be written
/// unambiguously): [`Error::InvalidFormField`].
///
/// [`Client::post_form`]: crate::Client::post_form
///
/// ```
/// let (body, content_type) = authsession_std::multipart_form(&[("amount", "10.00")])?;
/// assert!(content_type.starts_with("multipart/form-data; boundary="));
/// assert!(String::from_utf8(body).unwrap().contains("name=\"amount\"\r\n\r\n10.00\r\n"));
/// # Ok::<(), authsession_std::Error>(())
/// ```
pub fn multipart(fields: &[(&str, &str)]) -> Result<(Vec<u8>, String), Error> {
    if let Some((name, _)) = fields
        .iter()
        .find(|(name, _)| name.is_empty() || name.contains(['"', '\r', '\n']))
    {
        return Err(Error::InvalidFormField {
            name: (*name).to_owned(),
        });
    }
    let boundary = (0..=u32::MAX)
        .map(|n| format!("authsession-form-{n:08x}"))
        .find(|boundary| {
            fields
                .iter()
                .all(|(_, value)| !value.contains(boundary.as_str()))
        })
        .unwrap_or_default();
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((body, format!("multipart/form-data; boundary={boundary}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_is_written_part_by_part_with_a_boundary_no_value_holds() {
        let (body, content_type) =
            multipart(&[("amount", "10.00"), ("reason", "authsession-form-00000000")]).unwrap();
        assert_eq!(
            content_type,
            "multipart/form-data; boundary=authsession-form-00000001"
        );
        let body = String::from_utf8(body).unwrap();
        assert_eq!(
            body,
            "--authsession-form-00000001\r\nContent-Disposition: form-data; name=\"amount\"\r\n\r\n10.00\r\n\
             --authsession-form-00000001\r\nContent-Disposition: form-data; name=\"reason\"\r\n\r\nauthsession-form-00000000\r\n\
             --authsession-form-00000001--\r\n"
        );
    }

    #[test]
    fn a_name_that_cannot_be_written_is_refused() {
        for name in ["", "a\"b", "a\r\nb"] {
            assert!(matches!(
                multipart(&[(name, "x")]),
                Err(Error::InvalidFormField { .. })
            ));
        }
    }
}
