//! Name resolution for the blocking (ureq) transport.
//!
//! ureq resolves the host of every request before it looks in its connection pool, and
//! with a timeout set (the transport always sets one) its default resolver runs each
//! lookup on a new OS thread, even for an IP literal: one thread per check. An IP
//! literal needs no lookup, so it is answered here directly; host names still go to
//! ureq's resolver, which keeps its timeout behaviour (and so the `dns` /
//! `connect_timeout` classification of a failed lookup).

use std::net::{IpAddr, SocketAddr};

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// IP literals without a lookup; everything else through [`DefaultResolver`].
#[derive(Debug, Default)]
pub(super) struct LiteralFirstResolver {
    names: DefaultResolver,
}

impl Resolver for LiteralFirstResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let Some(addr) = literal(uri) else {
            return self.names.resolve(uri, config, timeout);
        };
        let mut out = self.empty();
        for a in config.ip_family().keep_wanted(std::iter::once(addr)) {
            out.push(a);
        }
        if out.is_empty() {
            // The literal's family is excluded by the agent's `ip_family`, as ureq does.
            return Err(ureq::Error::HostNotFound);
        }
        Ok(out)
    }
}

/// The socket address of a URI whose host is an IP literal (`[..]` for IPv6), with the
/// scheme's default port when none is given; `None` for host names and unknown schemes
/// (the default resolver reports those).
fn literal(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    let port = match uri.port_u16() {
        Some(p) => p,
        None => match uri.scheme_str()? {
            "http" => 80,
            "https" => 443,
            _ => return None,
        },
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::config::{Config, IpFamily};
    use ureq::unversioned::transport::time::Duration;

    /// A timeout that has already run out: ureq's threaded lookup fails with it at once,
    /// so a success proves no lookup (and no thread) was involved.
    fn expired() -> NextTimeout {
        NextTimeout {
            after: Duration::Exact(std::time::Duration::ZERO),
            reason: ureq::Timeout::Resolve,
            ..NextTimeout::default()
        }
    }

    fn resolve(url: &str, config: &Config) -> Result<Vec<SocketAddr>, ureq::Error> {
        let uri: Uri = url.parse().unwrap();
        LiteralFirstResolver::default()
            .resolve(&uri, config, expired())
            .map(|a| a.to_vec())
    }

    #[test]
    fn ip_literals_resolve_without_a_lookup() {
        let c = Config::default();
        assert_eq!(
            resolve("http://127.0.0.1:8080/v1/checks", &c).unwrap(),
            ["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            resolve("https://10.1.2.3/v1", &c).unwrap(),
            ["10.1.2.3:443".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            resolve("http://[::1]/", &c).unwrap(),
            ["[::1]:80".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            resolve("https://[2001:db8::7]:8443/", &c).unwrap(),
            ["[2001:db8::7]:8443".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn a_literal_of_an_excluded_family_is_host_not_found_as_in_ureq() {
        let v4 = Config::builder().ip_family(IpFamily::Ipv4Only).build();
        assert!(matches!(
            resolve("http://[::1]:80/", &v4),
            Err(ureq::Error::HostNotFound)
        ));
        let v6 = Config::builder().ip_family(IpFamily::Ipv6Only).build();
        assert!(matches!(
            resolve("http://127.0.0.1:80/", &v6),
            Err(ureq::Error::HostNotFound)
        ));
    }

    #[test]
    fn host_names_go_through_ureqs_resolver() {
        let uri: Uri = "http://localhost:8080/".parse().unwrap();
        let addrs = LiteralFirstResolver::default()
            .resolve(&uri, &Config::default(), NextTimeout::default())
            .unwrap();
        assert!(
            addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 8080)
        );
        assert!(!addrs.is_empty());
    }

    #[test]
    fn unknown_schemes_are_left_to_ureq() {
        assert!(matches!(
            resolve("ftp://127.0.0.1/", &Config::default()),
            Err(ureq::Error::BadUri(_))
        ));
    }
}
