//! Where a client may send its token: the base URL's own origin, over
//! `https://`, or plain `http://` to this machine only. A request path is
//! joined to the base URL, and an absolute URL to any other origin is
//! refused, so a token never travels to another host.

use std::net::IpAddr;

use http::Uri;
use http::uri::{Authority, Scheme};

use crate::error::Error;

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
        let uri: Uri = base
            .parse()
            .map_err(|_| Error::Config(format!("{base:?} is not a URL")))?;
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(Error::Config(format!("{base:?} is not an absolute URL")));
        };
        if authority.as_str().contains('@') {
            return Err(Error::Config(
                "the base URL must not hold credentials".into(),
            ));
        }
        let allowed =
            *scheme == Scheme::HTTPS || (*scheme == Scheme::HTTP && is_loopback(authority.host()));
        if !allowed {
            return Err(Error::Config(format!(
                "{base:?}: only https:// is allowed, or http:// to a loopback address"
            )));
        }
        if uri.query().is_some() {
            return Err(Error::Config("the base URL must not have a query".into()));
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
        let uri = if target.starts_with('/') && !target.starts_with("//") {
            let joined = format!(
                "{}://{}{}{}",
                self.scheme, self.authority, self.prefix, target
            );
            joined
                .parse()
                .map_err(|_| Error::Config(format!("{target:?} is not a valid path")))?
        } else {
            let uri: Uri = target
                .parse()
                .map_err(|_| Error::Config(format!("{target:?} is not a path or URL")))?;
            match (uri.scheme(), uri.authority()) {
                (Some(scheme), Some(authority))
                    if *scheme == self.scheme && *authority == self.authority =>
                {
                    uri
                }
                _ => {
                    return Err(Error::Config(format!(
                        "{target:?} is not on the API's origin; the token goes nowhere else"
                    )));
                }
            }
        };
        if !self.stays_under_prefix(uri.path()) {
            return Err(Error::Config(format!(
                "{target:?} climbs out of the API's path {:?}",
                self.prefix
            )));
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
        for bad in [
            "http://api.currencycloud.com",
            "http://10.0.0.1",
            "http://128.0.0.1",
            "ftp://127.0.0.1",
            "/v2",
            "https://user:pw@api.example.com",
            "not a url",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn paths_join_under_the_prefix_and_other_origins_are_refused() {
        let base = BaseUrl::parse("http://127.0.0.1:9/multi/").unwrap();
        assert_eq!(
            base.join("/managed_accounts?x=1").unwrap().to_string(),
            "http://127.0.0.1:9/multi/managed_accounts?x=1"
        );
        assert!(base.join("http://127.0.0.1:9/multi/x").is_ok());
        for bad in [
            "http://127.0.0.2:9/x",
            "https://127.0.0.1:9/x",
            "//evil.example/x",
            "x",
        ] {
            assert!(base.join(bad).is_err(), "{bad}");
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
            assert!(matches!(base.join(bad), Err(Error::Config(_))), "{bad}");
        }
        // Without a base path, a path may go anywhere on the origin.
        let root = BaseUrl::parse("http://127.0.0.1:9").unwrap();
        assert!(root.join("/../x").is_ok());
    }
}
