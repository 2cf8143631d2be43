//! TLS options of the built-in transport against a loopback rustls server whose
//! certificates come from a private CA generated here (rcgen): trusting a bank's private
//! CA, mutual TLS (the server demands a client certificate from the same CA), and typed
//! errors for unusable PEM.

#![cfg(feature = "https")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use andal::tls::{PemInput, TlsConfig, TlsConfigError, TrustRoots};
use andal::transport::UreqTransport;
use andal::{FailureKind, HttpRequest, Method, Transport};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A private CA and what it issued: a server certificate for `localhost` and a client
/// certificate for mutual TLS.
struct Pki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server: (CertificateDer<'static>, PrivateKeyDer<'static>),
    client_pem: (String, String),
}

fn pki(ca_name: &str) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "bank-a teller gateway");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();

    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().clone(),
        server: (
            server_cert.der().clone(),
            PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
        ),
        client_pem: (client_cert.pem(), client_key.serialize_pem()),
    }
}

/// A loopback HTTPS server answering every request with 200 `{"ok":true}`; with
/// `client_ca`, it requires a client certificate issued by that CA. Serves `conns`
/// connections, then stops.
fn server(pki: &Pki, client_ca: Option<&CertificateDer<'static>>, conns: usize) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = Arc::new(
        builder
            .with_single_cert(vec![pki.server.0.clone()], pki.server.1.clone_key())
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(conns) {
            let Ok(mut tcp) = stream else { continue };
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
            // Read the request head (a GET: no body), then answer and close.
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            if head.is_empty() {
                continue; // handshake refused
            }
            let _ = tls.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}",
            );
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    format!("https://localhost:{port}/v1/health")
}

fn get(transport: &UreqTransport, url: &str) -> Result<andal::HttpResponse, andal::TransportError> {
    let req = HttpRequest {
        method: Method::Get,
        url: url.to_string(),
        headers: vec![],
        body: vec![],
    };
    transport.send(&req, Duration::from_secs(5), 1024)
}

fn transport(tls: TlsConfig) -> UreqTransport {
    UreqTransport::builder().tls(tls).build().unwrap()
}

/// Trust the private CA only.
fn trusting(pki: &Pki) -> TlsConfig {
    TlsConfig::builder()
        .root_certificates_pem(&pki.ca_pem)
        .build()
        .unwrap()
}

/// Trust the private CA and present its client certificate.
fn with_client_certificate(pki: &Pki) -> TlsConfig {
    let tls = TlsConfig::builder()
        .root_certificates_pem(&pki.ca_pem)
        .client_identity_pem(&pki.client_pem.0, &pki.client_pem.1)
        .build()
        .unwrap();
    assert!(tls.client_identity().is_some());
    tls
}

/// A gateway that wants a client certificate and got none ends the handshake: an alert
/// (TLS) or, depending on timing, a reset or a truncated exchange.
fn assert_refused_without_client_certificate(err: &andal::TransportError) {
    assert!(
        matches!(
            err.kind,
            FailureKind::Tls | FailureKind::Reset | FailureKind::Protocol
        ),
        "{err}"
    );
}

#[test]
fn a_private_ca_is_trusted_when_configured_and_only_then() {
    let pki = pki("Bank A private CA");
    let url = server(&pki, None, 2);

    // Default (WebPKI roots): the private CA is unknown.
    let err = get(&UreqTransport::default(), &url).unwrap_err();
    assert_eq!(err.kind, FailureKind::Tls, "{err}");

    let tls = TlsConfig::builder()
        .root_certificates_pem(&pki.ca_pem)
        .build()
        .unwrap();
    assert_eq!(tls.root_certificate_count(), 1);
    let resp = get(&transport(tls), &url).unwrap();
    assert_eq!((resp.status, &resp.body[..]), (200, &b"{\"ok\":true}"[..]));
}

#[test]
fn custom_roots_replace_the_public_ones() {
    // A server of CA "one" is refused by a client that trusts only CA "two".
    let one = pki("CA one");
    let two = pki("CA two");
    let url = server(&one, None, 1);
    let tls = TlsConfig::builder()
        .root_certificates_pem(&two.ca_pem)
        .build()
        .unwrap();
    assert_eq!(
        get(&transport(tls), &url).unwrap_err().kind,
        FailureKind::Tls
    );
}

#[test]
fn mutual_tls_presents_the_client_certificate() {
    let pki = pki("Bank A gateway CA");
    let url = server(&pki, Some(&pki.ca_der), 2);

    // Without a client certificate the gateway refuses the handshake.
    let err = get(&transport(trusting(&pki)), &url).unwrap_err();
    assert_refused_without_client_certificate(&err);

    let resp = get(&transport(with_client_certificate(&pki)), &url).unwrap();
    assert_eq!(resp.status, 200);
}

#[test]
fn unusable_pem_is_a_typed_error_that_does_not_echo_the_input() {
    let pki = pki("CA");
    let bad = |b: andal::tls::TlsConfigBuilder| b.build().unwrap_err();

    // Not PEM at all, or PEM without a certificate.
    let e = bad(TlsConfig::builder().root_certificates_pem("not a pem file"));
    assert!(
        matches!(
            e,
            TlsConfigError::BadPem {
                input: PemInput::RootCertificates,
                ..
            }
        ),
        "{e}"
    );
    let e = bad(TlsConfig::builder().root_certificates_pem(&pki.client_pem.1));
    assert!(
        matches!(
            e,
            TlsConfigError::BadPem {
                input: PemInput::RootCertificates,
                ..
            }
        ),
        "{e}"
    );
    // A CERTIFICATE section that is not a certificate.
    let e = bad(TlsConfig::builder().root_certificates_pem(
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    ));
    assert!(
        matches!(
            e,
            TlsConfigError::BadPem {
                input: PemInput::RootCertificates,
                ..
            }
        ),
        "{e}"
    );
    // Truncated: no END line.
    let truncated = &pki.ca_pem[..pki.ca_pem.len() - 30];
    let e = bad(TlsConfig::builder().root_certificates_pem(truncated));
    assert!(e.to_string().contains("root certificates"), "{e}");

    // The key file given as the certificate and the certificate as the key.
    let e = bad(TlsConfig::builder().client_identity_pem(&pki.client_pem.1, &pki.client_pem.1));
    assert!(
        matches!(
            e,
            TlsConfigError::BadPem {
                input: PemInput::ClientCertificate,
                ..
            }
        ),
        "{e}"
    );
    let e = bad(TlsConfig::builder().client_identity_pem(&pki.client_pem.0, &pki.client_pem.0));
    assert!(
        matches!(
            e,
            TlsConfigError::BadPem {
                input: PemInput::ClientKey,
                ..
            }
        ),
        "{e}"
    );

    // Messages and Debug never carry key material.
    let key_body: String = pki.client_pem.1.lines().nth(1).unwrap().to_string();
    let ok = TlsConfig::builder()
        .client_identity_pem(&pki.client_pem.0, &pki.client_pem.1)
        .build()
        .unwrap();
    assert!(!format!("{ok:?}").contains(&key_body));
    assert!(format!("{ok:?}").contains("<redacted>"));
    assert!(!e.to_string().contains(&key_body));

    // Custom roots and the platform verifier exclude each other.
    let e = bad(TlsConfig::builder()
        .root_certificates_pem(&pki.ca_pem)
        .platform_verifier(true));
    assert_eq!(e, TlsConfigError::ConflictingRoots);
}

#[test]
fn the_platform_verifier_is_an_option_of_builds_that_have_it() {
    let r = TlsConfig::builder().platform_verifier(true).build();
    if cfg!(feature = "platform-verifier") {
        let tls = r.unwrap();
        assert_eq!(tls.roots(), &TrustRoots::Platform);
        // The OS store does not know a CA generated a moment ago.
        let pki = pki("Unknown to the OS");
        let url = server(&pki, None, 1);
        assert_eq!(
            get(&transport(tls), &url).unwrap_err().kind,
            FailureKind::Tls
        );
    } else {
        assert_eq!(r.unwrap_err(), TlsConfigError::PlatformVerifierUnavailable);
    }
}

#[test]
fn a_proxy_url_is_checked_and_never_echoed() {
    let e = UreqTransport::builder()
        .proxy("::not a url:: secret-pw")
        .build()
        .unwrap_err();
    assert!(!e.to_string().contains("secret-pw"));
    assert!(
        UreqTransport::builder()
            .proxy("http://user:pw@127.0.0.1:3128")
            .build()
            .is_ok()
    );
}

#[test]
fn requests_go_through_the_configured_proxy() {
    // A loopback proxy that accepts the CONNECT tunnel, then answers the request sent
    // through it, and records both request lines.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut lines = Vec::new();
        for answer in [
            &b"HTTP/1.1 200 Connection established\r\n\r\n"[..],
            &b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"[..],
        ] {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "the client closed early");
                head.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&head).into_owned();
            lines.push(text.lines().next().unwrap_or("").to_string());
            s.write_all(answer).unwrap();
        }
        lines
    });
    let t = UreqTransport::builder()
        .proxy(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let resp = get(&t, "http://registry.example/v1/health").unwrap();
    assert_eq!(resp.status, 204);
    assert_eq!(
        seen.join().unwrap(),
        [
            "CONNECT registry.example:80 HTTP/1.1",
            "GET /v1/health HTTP/1.1"
        ]
    );
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused_when_built() {
    // ureq would only find out at the first handshake (and panic there): the shared
    // rustls check in `TlsConfigBuilder::build` refuses it up front, for both transports.
    let one = pki("CA one");
    let two = pki("CA two");
    let e = TlsConfig::builder()
        .client_identity_pem(&one.client_pem.0, &two.client_pem.1)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &e,
            TlsConfigError::BadPem {
                input: PemInput::ClientKey,
                reason,
            } if reason.contains("does not match")
        ),
        "{e}"
    );
}

/// The same options on the async transport (`HyperTransport`, feature `tokio`), against
/// the same loopback servers.
#[cfg(feature = "tokio")]
mod on_hyper {
    use super::*;
    use andal::AsyncTransport;
    use andal::transport::{HyperTransport, HyperTransportError};

    async fn get(
        transport: &HyperTransport,
        url: &str,
    ) -> Result<andal::HttpResponse, andal::TransportError> {
        let req = HttpRequest {
            method: Method::Get,
            url: url.to_string(),
            headers: vec![],
            body: vec![],
        };
        transport.send(&req, Duration::from_secs(5), 1024).await
    }

    fn transport(tls: TlsConfig) -> HyperTransport {
        HyperTransport::builder().tls(tls).build().unwrap()
    }

    #[tokio::test]
    async fn a_private_ca_is_trusted_when_configured_and_only_then() {
        let pki = pki("Bank A private CA");
        let url = server(&pki, None, 2);

        let err = get(&HyperTransport::default(), &url).await.unwrap_err();
        assert_eq!(err.kind, FailureKind::Tls, "{err}");

        let resp = get(&transport(trusting(&pki)), &url).await.unwrap();
        assert_eq!((resp.status, &resp.body[..]), (200, &b"{\"ok\":true}"[..]));
    }

    #[tokio::test]
    async fn custom_roots_replace_the_public_ones() {
        let one = pki("CA one");
        let two = pki("CA two");
        let url = server(&one, None, 1);
        let err = get(&transport(trusting(&two)), &url).await.unwrap_err();
        assert_eq!(err.kind, FailureKind::Tls, "{err}");
    }

    #[tokio::test]
    async fn mutual_tls_presents_the_client_certificate() {
        let pki = pki("Bank A gateway CA");
        let url = server(&pki, Some(&pki.ca_der), 2);

        let err = get(&transport(trusting(&pki)), &url).await.unwrap_err();
        assert_refused_without_client_certificate(&err);

        let resp = get(&transport(with_client_certificate(&pki)), &url)
            .await
            .unwrap();
        assert_eq!(resp.status, 200);
    }

    #[tokio::test]
    async fn the_platform_verifier_is_an_option_of_builds_that_have_it() {
        let r = TlsConfig::builder().platform_verifier(true).build();
        if !cfg!(feature = "platform-verifier") {
            assert_eq!(r.unwrap_err(), TlsConfigError::PlatformVerifierUnavailable);
            return;
        }
        let tls = r.unwrap();
        match HyperTransport::builder().tls(tls).build() {
            // The OS store does not know a CA generated a moment ago.
            Ok(t) => {
                let pki = pki("Unknown to the OS");
                let url = server(&pki, None, 1);
                assert_eq!(get(&t, &url).await.unwrap_err().kind, FailureKind::Tls);
            }
            // A machine without a system trust store: refused when built, with a reason.
            Err(e) => assert!(
                matches!(
                    e,
                    HyperTransportError::Tls(TlsConfigError::PlatformVerifierFailed(_))
                ),
                "{e}"
            ),
        }
    }

    #[test]
    fn a_proxy_url_is_checked_and_never_echoed() {
        for bad in [
            "::not a url:: secret-pw",
            "socks5://user:secret-pw@127.0.0.1:1080",
            "http://user:secret-pw@127.0.0.1:3128/path",
            "http://user:secret-pw@",
            "http://user:secret%zz@127.0.0.1:3128",
        ] {
            let builder = HyperTransport::builder().proxy(bad);
            assert!(!format!("{builder:?}").contains("secret"), "{builder:?}");
            let e = builder.build().unwrap_err();
            assert!(matches!(e, HyperTransportError::Proxy(_)), "{bad}: {e}");
            assert!(!e.to_string().contains("secret"));
        }
        let t = HyperTransport::builder()
            .proxy("http://user:secret-pw@127.0.0.1:3128")
            .build()
            .unwrap();
        let debug = format!("{t:?}");
        assert!(
            debug.contains("127.0.0.1:3128") && !debug.contains("secret"),
            "{debug}"
        );
        // No scheme: http, port 80 when left out (as ureq reads it).
        let t = HyperTransport::builder()
            .proxy("proxy.bank.internal")
            .build()
            .unwrap();
        assert!(format!("{t:?}").contains("proxy.bank.internal:80"));
    }

    /// Reads one request head from `s`: its first line and `Proxy-Authorization` value.
    fn read_head(s: &mut std::net::TcpStream) -> (String, Option<String>) {
        let mut head = Vec::new();
        let mut buf = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "the client closed early");
            head.push(buf[0]);
        }
        let text = String::from_utf8(head).unwrap();
        let line = text.lines().next().unwrap_or("").to_string();
        let auth = text.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("proxy-authorization")
                .then(|| value.trim().to_string())
        });
        (line, auth)
    }

    fn pipe(mut from: std::net::TcpStream, mut to: std::net::TcpStream) {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
    }

    #[tokio::test]
    async fn https_goes_through_a_connect_tunnel_with_the_proxy_credentials() {
        let pki = pki("Bank A private CA");
        let url = server(&pki, None, 1);
        // A loopback proxy: accepts one CONNECT, dials the target, pipes both ways.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let (line, auth) = read_head(&mut s);
            let target = line.split(' ').nth(1).unwrap().to_string();
            let upstream = std::net::TcpStream::connect(target).unwrap();
            s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            pipe(s.try_clone().unwrap(), upstream.try_clone().unwrap());
            pipe(upstream, s);
            (line, auth)
        });
        let t = HyperTransport::builder()
            .tls(trusting(&pki))
            .proxy(format!("http://teller:p%40ss@127.0.0.1:{port}"))
            .build()
            .unwrap();
        // TLS end to end through the tunnel: the private CA still decides.
        let resp = get(&t, &url).await.unwrap();
        assert_eq!(resp.status, 200);
        let (line, auth) = seen.join().unwrap();
        let server_port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
        assert_eq!(line, format!("CONNECT localhost:{server_port} HTTP/1.1"));
        // "teller:p@ss" (percent-decoded) in Basic.
        assert_eq!(auth.as_deref(), Some("Basic dGVsbGVyOnBAc3M="));
    }

    #[tokio::test]
    async fn plain_http_goes_to_the_proxy_in_absolute_form() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let head = read_head(&mut s);
            s.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
            head
        });
        let t = HyperTransport::builder()
            .proxy(format!("http://teller:pw@127.0.0.1:{port}"))
            .build()
            .unwrap();
        // registry.example is never resolved: only the proxy is dialled.
        let resp = get(&t, "http://registry.example/v1/health").await.unwrap();
        assert_eq!(resp.status, 204);
        let (line, auth) = seen.join().unwrap();
        assert_eq!(line, "GET http://registry.example/v1/health HTTP/1.1");
        assert_eq!(auth.as_deref(), Some("Basic dGVsbGVyOnB3"));
    }

    #[tokio::test]
    async fn an_unreachable_proxy_is_a_classified_transport_failure() {
        // A port that was just free: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let t = HyperTransport::builder()
            .proxy(format!("http://user:secret-pw@127.0.0.1:{port}"))
            .build()
            .unwrap();
        for url in [
            "https://registry.example/v1/health",
            "http://registry.example/",
        ] {
            let err = get(&t, url).await.unwrap_err();
            assert_eq!(err.kind, FailureKind::Refused, "{err}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }
}
