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

    /// The URL of `target`: a path under the base URL, or an absolute URL
    /// of the same origin, whose path stays under the base URL's path.
    pub(crate) fn join(&self, target: &str) -> Result<Uri, Error> {
        let refused = |why| Err(Error::Path(why));
        let uri = if target.starts_with("//") {
            // A network-path reference: an authority of its own.
            return refused(PathError::OtherOrigin);
        } else if target.starts_with('/') {
            let joined = format!(
                "{}://{}{}{}",
                self.scheme, self.authority, self.prefix, target
            );
            let Ok(uri) = joined.parse::<Uri>() else {
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
        let mut resolved: Vec<&str> = Vec::new();
        for segment in path.split('/').filter(|segment| !segment.is_empty()) {
            match segment.to_ascii_lowercase().replace("%2e", ".").as_str() {
                "." => {}
                ".." => {
                    resolved.pop();
                }
                _ => resolved.push(segment),
            }
        }
        let prefix = self.prefix.split('/').filter(|segment| !segment.is_empty());
        let mut resolved = resolved.into_iter();
        prefix
            .into_iter()
            .all(|expected| resolved.next() == Some(expected))
    }

    /// The base URL as text.
    pub(crate) fn as_string(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.prefix)
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
}
