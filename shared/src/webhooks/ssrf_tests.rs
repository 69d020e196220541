use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn denied_as(addr: &str, policy: &Policy) -> Option<&'static str> {
    match check_ip(ip(addr), policy) {
        Ok(()) => None,
        Err(SsrfError::DeniedAddress { range, .. }) => Some(range),
        Err(other) => panic!("unexpected error {other}"),
    }
}

const DENIED: &[(&str, &str)] = &[
    ("0.0.0.0", "this network"),
    ("0.1.2.3", "this network"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("100.64.0.1", "shared address space (CGNAT)"),
    ("100.127.255.254", "shared address space (CGNAT)"),
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("169.254.169.254", "link-local (cloud metadata)"),
    ("169.254.0.1", "link-local (cloud metadata)"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.0.0.8", "IETF protocol assignments"),
    ("192.0.2.10", "documentation"),
    ("192.88.99.1", "6to4 relay anycast"),
    ("192.168.1.1", "private"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fc00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local"),
    ("fe80::1", "link-local"),
    ("febf::1", "link-local"),
    ("fec0::1", "site-local (deprecated)"),
    ("ff02::1", "multicast"),
    ("100::1", "discard-only"),
    ("2001:db8::1", "documentation"),
    ("2001::1", "IETF protocol assignments (incl. Teredo)"),
    ("3fff::1", "documentation"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    ("4000::1", "not global unicast"),
    // IPv6 forms that reach an IPv4 address: judged by that address.
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "link-local (cloud metadata)"),
    ("::ffff:10.1.2.3", "private"),
    ("::ffff:0.0.0.0", "this network"),
    ("::127.0.0.1", "loopback"),
    ("::192.168.0.1", "private"),
    ("64:ff9b::10.0.0.1", "private"),
    ("64:ff9b::169.254.169.254", "link-local (cloud metadata)"),
    ("64:ff9b::7f00:1", "loopback"),
    ("2002:7f00:1::", "loopback"),
    ("2002:a9fe:a9fe::1", "link-local (cloud metadata)"),
];

const ALLOWED: &[&str] = &[
    "1.1.1.1",
    "8.8.8.8",
    "9.255.255.255",
    "11.0.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "126.255.255.255",
    "128.0.0.1",
    "169.253.255.255",
    "172.15.255.255",
    "172.32.0.1",
    "192.0.1.1",
    "192.167.255.255",
    "192.169.0.1",
    "198.17.255.255",
    "198.20.0.1",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
];

#[test]
fn denied_ranges_table() {
    let policy = Policy::production();
    for (addr, range) in DENIED {
        assert_eq!(denied_as(addr, &policy), Some(*range), "{addr}");
    }
}

#[test]
fn public_addresses_pass() {
    let policy = Policy::production();
    for addr in ALLOWED {
        assert_eq!(denied_as(addr, &policy), None, "{addr}");
    }
}

#[test]
fn allow_list_exempts_loopback_only() {
    let local = Policy::local_stack();
    for addr in [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "::ffff:127.0.0.1",
        "64:ff9b::7f00:1",
    ] {
        assert_eq!(denied_as(addr, &local), None, "{addr}");
    }
    for addr in [
        "10.0.0.1",
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "fd00::1",
        "0.0.0.0",
    ] {
        assert!(denied_as(addr, &local).is_some(), "{addr}");
    }
    let metadata_ok = Policy {
        allow_http: false,
        allow: vec!["169.254.169.254/32".parse().unwrap()],
    };
    assert_eq!(denied_as("169.254.169.254", &metadata_ok), None);
    assert!(denied_as("169.254.169.253", &metadata_ok).is_some());
}

#[test]
fn url_checks() {
    let prod = Policy::production();
    let local = Policy::local_stack();
    let url = |s: &str| Url::parse(s).unwrap();
    assert!(check_url(&url("https://shop.example.com/hooks"), &prod).is_ok());
    assert!(check_url(&url("https://8.8.8.8/hooks"), &prod).is_ok());
    assert!(matches!(
        check_url(&url("http://shop.example.com/"), &prod),
        Err(SsrfError::SchemeNotAllowed(s)) if s == "http"
    ));
    assert!(check_url(&url("http://shop.example.com/"), &local).is_ok());
    for scheme in [
        "ftp://x.example/",
        "file:///etc/passwd",
        "gopher://x.example/",
    ] {
        assert!(matches!(
            check_url(&url(scheme), &local),
            Err(SsrfError::SchemeNotAllowed(_))
        ));
    }
    for creds in [
        "https://user@shop.example/",
        "https://user:pw@shop.example/",
        "https://:pw@shop.example/",
    ] {
        assert!(
            matches!(check_url(&url(creds), &prod), Err(SsrfError::Credentials)),
            "{creds}"
        );
    }
    // IP literals in every spelling the URL parser normalises.
    for literal in [
        "https://127.0.0.1/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:a9fe:a9fe]/",
        "https://[fd00::1]:8443/",
        "https://0.0.0.0/",
    ] {
        assert!(
            matches!(
                check_url(&url(literal), &prod),
                Err(SsrfError::DeniedAddress { .. })
            ),
            "{literal}"
        );
    }
    assert!(check_url(&url("http://127.0.0.1:9000/"), &local).is_ok());
    assert!(check_url(&url("http://[::1]:9000/"), &local).is_ok());
    // Hostnames are left to the resolver.
    assert!(check_url(&url("https://localhost/"), &prod).is_ok());
}

#[test]
fn client_builds_for_both_policies() {
    assert!(client(&Policy::production()).is_ok());
    assert!(client(&Policy::local_stack()).is_ok());
}

async fn one_shot_server() -> (u16, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = socket.read(&mut buf).await.unwrap();
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .await
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    (port, handle)
}

#[tokio::test]
async fn hostname_resolving_to_loopback_is_refused_at_connect_time() {
    let (port, server) = one_shot_server().await;
    let policy = Policy {
        allow_http: true,
        allow: Vec::new(),
    };
    let url = Url::parse(&format!("http://localhost:{port}/hook")).unwrap();
    assert!(
        check_url(&url, &policy).is_ok(),
        "hostnames are the resolver's job"
    );
    let err = client(&policy).unwrap().post(url).send().await.unwrap_err();
    let refusal = refusal(&err).expect("the guard's error is in the chain");
    assert!(
        matches!(
            refusal,
            SsrfError::DeniedAddress {
                range: "loopback",
                ..
            }
        ),
        "{refusal:?}"
    );
    server.abort();
}

#[tokio::test]
async fn hostname_resolving_to_allowed_loopback_connects() {
    let (port, server) = one_shot_server().await;
    let url = Url::parse(&format!("http://localhost:{port}/hook")).unwrap();
    let response = client(&Policy::local_stack())
        .unwrap()
        .post(url)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /hook HTTP/1.1\r\n"), "{request}");
    assert!(request
        .to_ascii_lowercase()
        .contains("user-agent: mostrador-webhooks/1.0"));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = socket.read(&mut buf).await.unwrap();
        socket
            .write_all(b"HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
    });
    let url = Url::parse(&format!("http://localhost:{port}/")).unwrap();
    let response = client(&Policy::local_stack())
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    server.await.unwrap();
}

#[tokio::test]
async fn https_only_client_refuses_http() {
    let url = Url::parse("http://localhost:9/").unwrap();
    let err = client(&Policy::production())
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_builder() || err.is_request(), "{err:?}");
}
