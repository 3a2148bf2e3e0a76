//! Form bodies as the vendors' login endpoints take them: `multipart/form-data`
//! (what Currencycloud documents) and `application/x-www-form-urlencoded`
//! (what its SDKs send). Hand-parsed: a login form has two short fields.

/// The fields of a form body, in order; `None` if the body does not match
/// its content type. A content type that is not a form gives no fields, as a
/// form server finds none in it.
pub(super) fn fields(content_type: Option<&str>, body: &[u8]) -> Option<Vec<(String, String)>> {
    let content_type = content_type.unwrap_or_default();
    let (media_type, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    match media_type.trim().to_ascii_lowercase().as_str() {
        "multipart/form-data" => multipart(body, &boundary(params)?),
        "application/x-www-form-urlencoded" => urlencoded(body),
        _ => Some(Vec::new()),
    }
}

/// The value of the first field called `name`.
pub(super) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn boundary(params: &str) -> Option<String> {
    params.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (key.trim().eq_ignore_ascii_case("boundary") && !value.is_empty()).then(|| value.to_owned())
    })
}

fn multipart(body: &[u8], boundary: &str) -> Option<Vec<(String, String)>> {
    let delimiter = format!("--{boundary}");
    let part_end = format!("\r\n{delimiter}");
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    let mut fields = Vec::new();
    // Each turn consumes at least one delimiter, so the loop ends.
    while !rest.starts_with(b"--") {
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, part_end.as_bytes())?;
        let (headers, value) = split_part(&rest[..end])?;
        if let Some(name) = headers.lines().find_map(disposition_name) {
            fields.push((name, String::from_utf8(value.to_vec()).ok()?));
        }
        rest = &rest[end + part_end.len()..];
    }
    Some(fields)
}

/// A part's header block and its content.
fn split_part(part: &[u8]) -> Option<(&str, &[u8])> {
    let (headers, value) = if let Some(value) = part.strip_prefix(b"\r\n") {
        (&b""[..], value)
    } else {
        let at = find(part, b"\r\n\r\n")?;
        (&part[..at], &part[at + 4..])
    };
    Some((std::str::from_utf8(headers).ok()?, value))
}

/// The `name` parameter of a `Content-Disposition: form-data` header line.
fn disposition_name(line: &str) -> Option<String> {
    let (header, value) = line.split_once(':')?;
    if !header.trim().eq_ignore_ascii_case("content-disposition") {
        return None;
    }
    value.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("name")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn urlencoded(body: &[u8]) -> Option<Vec<(String, String)>> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(key)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(text: &str) -> Option<String> {
    let mut decoded = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        decoded.push(match byte {
            b'+' => b' ',
            b'%' => hex_digit(bytes.next()?)? << 4 | hex_digit(bytes.next()?)?,
            other => other,
        });
    }
    String::from_utf8(decoded).ok()
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::fields;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn multipart_fields_are_read_with_a_quoted_boundary_and_a_preamble() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"login_id\"\r\n\r\na@b.c\r\n--XyZ\r\ncontent-disposition: form-data; name=api_key\r\nContent-Type: text/plain\r\n\r\nk\r\ney\r\n--XyZ--\r\n";
        let found = fields(Some("multipart/form-data; boundary=\"XyZ\""), body);
        assert_eq!(
            found,
            Some(pairs(&[("login_id", "a@b.c"), ("api_key", "k\r\ney")]))
        );
    }

    #[test]
    fn a_file_name_is_not_taken_for_the_field_name() {
        let body =
            b"--b\r\nContent-Disposition: form-data; filename=\"x\"; name=\"f\"\r\n\r\nv\r\n--b--";
        assert_eq!(
            fields(Some("multipart/form-data;boundary=b"), body),
            Some(pairs(&[("f", "v")]))
        );
    }

    #[test]
    fn broken_multipart_is_refused() {
        let ct = Some("multipart/form-data; boundary=b");
        assert_eq!(fields(Some("multipart/form-data"), b"--b--"), None);
        assert_eq!(fields(ct, b"no delimiter"), None);
        assert_eq!(
            fields(
                ct,
                b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nunterminated"
            ),
            None
        );
        assert_eq!(
            fields(
                ct,
                b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\n\xff\r\n--b--"
            ),
            None
        );
        assert_eq!(fields(ct, b"--b"), None);
    }

    #[test]
    fn urlencoded_fields_are_decoded() {
        let found = fields(
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            b"login_id=demo%40example.com&api_key=a+b&&flag",
        );
        assert_eq!(
            found,
            Some(pairs(&[
                ("login_id", "demo@example.com"),
                ("api_key", "a b"),
                ("flag", "")
            ]))
        );
        assert_eq!(
            fields(Some("application/x-www-form-urlencoded"), b"a=%zz"),
            None
        );
        assert_eq!(
            fields(Some("application/x-www-form-urlencoded"), b"a=%4"),
            None
        );
    }

    #[test]
    fn other_content_types_have_no_fields() {
        assert_eq!(fields(None, b"login_id=x"), Some(Vec::new()));
        assert_eq!(fields(Some("application/json"), b"{}"), Some(Vec::new()));
    }
}
