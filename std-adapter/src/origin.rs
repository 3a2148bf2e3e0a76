//! Where a client may send its token: the base URL's own origin, over
//! `https://`, or plain `http://` to this machine only. A request path is
//! joined to the base URL, and an absolute URL to any other origin is
//! refused, so a token never travels to another host.

use std::net::IpAddr;

use http::Uri;
use http::uri::{Authority, Scheme};

use crate::error::{BaseUrlError, Error, PathError};

/// A checked base URL: scheme, authority and a path prefix without the
/// trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    scheme: Scheme,
    authority: Authority,
    prefix: String,
}

impl BaseUrl {
    pub(crate) fn parse(base: &str) -> Result<Self, Error> {
        let refused = |why| Err(Error::BaseUrl(why));
        let Ok(uri) = base.parse::<Uri>() else {
            return refused(BaseUrlError::Invalid);
        };
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return refused(BaseUrlError::Invalid);
        };
        // Checked first: no later message may echo a password.
        if authority.as_str().contains('@') {
            return refused(BaseUrlError::Credentials);
        }
        if *scheme == Scheme::HTTP && !is_loopback(authority.host()) {
            return refused(BaseUrlError::PlainHttpNotLoopback);
        }
        if *scheme != Scheme::HTTPS && *scheme != Scheme::HTTP {
            return refused(BaseUrlError::NotHttps);
        }
        if uri.query().is_some() {
            return refused(BaseUrlError::Query);
        }
        Ok(BaseUrl {
            scheme: scheme.clone(),
            authority: authority.clone(),
            prefix: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// [`join`](Self::join) for a request's URI: a bare path is joined as
    /// it is, without being written out again.
    pub(crate) fn join_uri(&self, target: &Uri) -> Result<Uri, Error> {
        match (target.scheme(), target.authority(), target.path_and_query()) {
            (None, None, Some(path)) => self.join(path.as_str()),
            _ => self.join(&target.to_string()),
        }
    }

    /// The URL of `target`: a path under the base URL, or an absolute URL
    /// of the same origin, whose path stays under the base URL's path.
    pub(crate) fn join(&self, target: &str) -> Result<Uri, Error> {
        let refused = |why| Err(Error::Path(why));
        let uri = if target.starts_with("//") {
            // A network-path reference: an authority of its own.
            return refused(PathError::OtherOrigin);
        } else if target.starts_with('/') {
            // One string, parsed once: the URI keeps its bytes.
            let scheme = self.scheme.as_str();
            let authority = self.authority.as_str();
            let mut joined = String::with_capacity(
                scheme.len() + "://".len() + authority.len() + self.prefix.len() + target.len(),
            );
            for part in [scheme, "://", authority, &self.prefix, target] {
                joined.push_str(part);
            }
            let Ok(uri) = Uri::try_from(joined) else {
                return refused(PathError::Invalid);
            };
            uri
        } else {
            let Ok(uri) = target.parse::<Uri>() else {
                return refused(PathError::Invalid);
            };
            match (uri.scheme(), uri.authority()) {
                (Some(scheme), Some(authority))
                    if *scheme == self.scheme && *authority == self.authority =>
                {
                    uri
                }
                (Some(_), Some(_)) => return refused(PathError::OtherOrigin),
                // `v2/accounts`, `host:443`: not a path, not a URL.
                _ => return refused(PathError::Invalid),
            }
        };
        if !self.stays_under_prefix(uri.path()) {
            return refused(PathError::ClimbsOut);
        }
        Ok(uri)
    }

    /// Whether `path`, with its `.` and `..` segments resolved as a server
    /// would (`%2e` too), lies under the base URL's path: a `/v2/../admin`
    /// must not carry the token to another application on the same host.
    fn stays_under_prefix(&self, path: &str) -> bool {
        let segments = path.split('/').filter(|segment| !segment.is_empty());
        let prefix = self.prefix.split('/').filter(|segment| !segment.is_empty());
        if !path.bytes().any(|byte| byte == b'.' || byte == b'%') {
            // Nothing to resolve (the usual path): no list to build, and
            // segments to compare only under a prefix.
            if self.prefix.is_empty() {
                return true;
            }
            let mut segments = segments;
            return prefix
                .into_iter()
                .all(|expected| segments.next() == Some(expected));
        }
        let mut resolved: Vec<&str> = Vec::new();
        for segment in segments {
            match dots(segment) {
                0 => resolved.push(segment),
                1 => {}
                _ => {
                    resolved.pop();
                }
            }
        }
        let mut resolved = resolved.into_iter();
        prefix
            .into_iter()
            .all(|expected| resolved.next() == Some(expected))
    }

    /// The base URL's scheme and authority: those of every URL it joins.
    pub(crate) fn origin(&self) -> (&Scheme, &Authority) {
        (&self.scheme, &self.authority)
    }

    /// The base URL as text.
    pub(crate) fn as_string(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

/// 1 for a `.` segment, 2 for a `..` one, each dot written `.` or `%2e`
/// (either case), as a server reads them; 0 for any other segment.
fn dots(segment: &str) -> usize {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() && dots < 3 {
        rest = match rest {
            [b'.', after @ ..] | [b'%', b'2', b'e' | b'E', after @ ..] => after,
            _ => return 0,
        };
        dots += 1;
    }
    if rest.is_empty() && dots <= 2 {
        dots
    } else {
        0
    }
}

/// `localhost`, `127.0.0.0/8` and `::1`.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_to_loopback() {
        for good in [
            "https://api.currencycloud.com",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:1/multi",
            "http://[::1]:99",
        ] {
            assert!(BaseUrl::parse(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            (
                "http://api.currencycloud.com",
                BaseUrlError::PlainHttpNotLoopback,
            ),
            ("http://10.0.0.1", BaseUrlError::PlainHttpNotLoopback),
            ("http://128.0.0.1", BaseUrlError::PlainHttpNotLoopback),
            ("ftp://127.0.0.1", BaseUrlError::NotHttps),
            ("/v2", BaseUrlError::Invalid),
            ("https://user:pw@api.example.com", BaseUrlError::Credentials),
            ("http://user:pw@api.example.com", BaseUrlError::Credentials),
            ("https://api.example.com/?key=1", BaseUrlError::Query),
            ("not a url", BaseUrlError::Invalid),
        ] {
            match BaseUrl::parse(bad) {
                Err(Error::BaseUrl(found)) => assert_eq!(found, why, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let error = BaseUrl::parse("https://user:hunter2@api.example.com").unwrap_err();
        assert!(!format!("{error} {error:?}").contains("hunter2"));
    }

    #[test]
    fn paths_join_under_the_prefix_and_other_origins_are_refused() {
        let base = BaseUrl::parse("http://127.0.0.1:9/multi/").unwrap();
        assert_eq!(
            base.join("/managed_accounts?x=1").unwrap().to_string(),
            "http://127.0.0.1:9/multi/managed_accounts?x=1"
        );
        assert!(base.join("http://127.0.0.1:9/multi/x").is_ok());
        for (bad, why) in [
            ("http://127.0.0.2:9/x", PathError::OtherOrigin),
            ("https://127.0.0.1:9/x", PathError::OtherOrigin),
            ("https://user:pw@127.0.0.1:9/x", PathError::OtherOrigin),
            ("//evil.example/x", PathError::OtherOrigin),
            ("x", PathError::Invalid),
            ("multi/x", PathError::Invalid),
            ("/a b", PathError::Invalid),
        ] {
            match base.join(bad) {
                Err(Error::Path(found)) => assert_eq!(found, why, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn dot_segments_may_not_climb_above_the_base_path() {
        let base = BaseUrl::parse("http://127.0.0.1:9/multi").unwrap();
        for good in [
            "/a/../b",
            "/./x",
            "/a/b/../../c",
            "http://127.0.0.1:9/multi/a/../b",
        ] {
            assert!(base.join(good).is_ok(), "{good}");
        }
        for bad in [
            "/../admin",
            "/a/../../admin",
            "/%2e%2e/admin",
            "/.%2E/admin",
            "/..",
            "http://127.0.0.1:9/multi/../admin",
            "http://127.0.0.1:9/admin",
        ] {
            assert!(
                matches!(base.join(bad), Err(Error::Path(PathError::ClimbsOut))),
                "{bad}"
            );
        }
        // Without a base path, a path may go anywhere on the origin.
        let root = BaseUrl::parse("http://127.0.0.1:9").unwrap();
        assert!(root.join("/../x").is_ok());
    }

    /// What `stays_under_prefix` made of a segment before it stopped
    /// allocating: `dots` must agree on every segment.
    fn dots_as_before(segment: &str) -> usize {
        match segment.to_ascii_lowercase().replace("%2e", ".").as_str() {
            "." => 1,
            ".." => 2,
            _ => 0,
        }
    }

    #[test]
    fn dot_segments_are_read_as_before() {
        let alphabet = [".", "%", "2", "e", "E", "x", "\u{e9}"];
        let mut segments = vec![String::new()];
        for _ in 0..6 {
            let longer: Vec<String> = segments
                .iter()
                .flat_map(|segment| alphabet.iter().map(move |c| format!("{segment}{c}")))
                .collect();
            for segment in &longer {
                assert_eq!(dots(segment), dots_as_before(segment), "{segment:?}");
            }
            segments = longer;
        }
    }

    /// `join` before it built its URL once: the same answer for every
    /// target.
    fn join_as_before(base: &BaseUrl, target: &str) -> Result<Uri, Error> {
        if target.starts_with('/') && !target.starts_with("//") {
            let joined = format!(
                "{}://{}{}{}",
                base.scheme, base.authority, base.prefix, target
            );
            let Ok(uri) = joined.parse::<Uri>() else {
                return Err(Error::Path(PathError::Invalid));
            };
            let mut resolved: Vec<&str> = Vec::new();
            for segment in uri.path().split('/').filter(|segment| !segment.is_empty()) {
                match dots_as_before(segment) {
                    0 => resolved.push(segment),
                    1 => {}
                    _ => {
                        resolved.pop();
                    }
                }
            }
            let mut resolved = resolved.into_iter();
            let under = base
                .prefix
                .split('/')
                .filter(|segment| !segment.is_empty())
                .all(|expected| resolved.next() == Some(expected));
            if under {
                Ok(uri)
            } else {
                Err(Error::Path(PathError::ClimbsOut))
            }
        } else {
            base.join(target)
        }
    }

    #[test]
    fn paths_join_as_before() {
        let pieces = [
            "/", "v2", "multi", "Multi", "..", ".", "%2e", "%2E%2e", ".%2e", "x%2", "%", "?",
            "?a=1", "#f", "\\", " ", "\t", "\u{e9}", "%20", "//", "@", ":", "a.b", "...",
        ];
        for base in [
            "http://127.0.0.1:9",
            "http://127.0.0.1:9/",
            "http://127.0.0.1:9/multi",
            "https://api.example.com/multi/v2/",
        ] {
            let base = BaseUrl::parse(base).unwrap();
            for a in pieces {
                for b in pieces {
                    for c in pieces {
                        let target = format!("/{a}{b}/{c}");
                        let (now, before) = (base.join(&target), join_as_before(&base, &target));
                        match (&now, &before) {
                            (Ok(now), Ok(before)) => {
                                assert_eq!(now, before, "{target:?}");
                                assert_eq!(now.to_string(), before.to_string(), "{target:?}");
                            }
                            (Err(Error::Path(now)), Err(Error::Path(before))) => {
                                assert_eq!(now, before, "{target:?}");
                            }
                            _ => panic!("{target:?}: {now:?} against {before:?}"),
                        }
                    }
                }
            }
        }
        let long = format!("/multi/{}", "a".repeat(usize::from(u16::MAX)));
        let base = BaseUrl::parse("http://127.0.0.1:9/multi").unwrap();
        assert!(matches!(
            base.join(&long),
            Err(Error::Path(PathError::Invalid))
        ));
        assert!(matches!(
            join_as_before(&base, &long),
            Err(Error::Path(PathError::Invalid))
        ));
    }
}
