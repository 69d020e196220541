//! The SSRF guard for every request to a shop-supplied URL (webhook endpoints).
//!
//! Two checks, because neither is enough alone:
//! - [`check_url`] before sending: scheme, no credentials, and the host when it is an IP
//!   literal. reqwest never calls the DNS resolver for literals, so only this catches
//!   `https://169.254.169.254/` or `http://[::ffff:127.0.0.1]/`.
//! - [`GuardedResolver`], installed by [`client`]: every hostname is resolved by us and the
//!   whole answer is refused if any address is denied, at connect time, so a name that resolves
//!   (or re-resolves, DNS rebinding) to a private address never gets a connection.
//!
//! The deny list covers every range that is not globally routable unicast; [`Policy::allow`]
//! punches holes in it (the local stack allows loopback so tests can receive webhooks).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// `User-Agent` of every outbound webhook request.
pub const USER_AGENT: &str = "Mostrador-Webhooks/1.0";
/// Whole-request timeout (the spec asks for 15–30 s; Lambda time is billed).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Connect timeout, so unroutable hosts fail fast.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

// Evaluated at compile time, so the assertion can never fire at run time.
const LOOPBACK_V4: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::LOCALHOST, 8);
const LOOPBACK_V6: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::LOCALHOST, 128);

/// What outbound requests may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Whether `http://` URLs are allowed (local stack only).
    pub allow_http: bool,
    /// Networks exempt from the deny list, checked before it.
    pub allow: Vec<IpNet>,
}

impl Policy {
    /// Production: https only, nothing private.
    pub fn production() -> Self {
        Self {
            allow_http: false,
            allow: Vec::new(),
        }
    }

    /// Local stack: http allowed and loopback (127.0.0.0/8, ::1) reachable, so tests can run
    /// receivers on the machine. Everything else stays denied.
    pub fn local_stack() -> Self {
        Self {
            allow_http: true,
            allow: vec![IpNet::V4(LOOPBACK_V4), IpNet::V6(LOOPBACK_V6)],
        }
    }

    fn allows(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|net| net.contains(&ip))
    }
}

/// Why an outbound request was refused. Stable: recorded in the attempt log.
#[derive(Debug, thiserror::Error)]
pub enum SsrfError {
    /// The address (or the IPv4 address embedded in it) is in a denied range, named by `range`.
    #[error("address {ip} is not allowed ({range})")]
    DeniedAddress {
        /// The address as given or resolved.
        ip: IpAddr,
        /// Which range denied it, e.g. `loopback`.
        range: &'static str,
    },
    /// The scheme is not https (nor http when the policy allows it).
    #[error("scheme `{0}` is not allowed")]
    SchemeNotAllowed(String),
    /// The URL carries a username or password.
    #[error("URLs with credentials are not allowed")]
    Credentials,
    /// The URL has no host.
    #[error("URL has no host")]
    MissingHost,
    /// The hostname resolved to no address at all.
    #[error("host {0} resolved to no address")]
    NoAddresses(String),
    /// The HTTP client could not be built (TLS backend initialisation).
    #[error("could not build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Refuses `ip` unless it is globally routable unicast or allow-listed by `policy`.
pub fn check_ip(ip: IpAddr, policy: &Policy) -> Result<(), SsrfError> {
    if policy.allows(ip) {
        return Ok(());
    }
    let denied = match ip {
        IpAddr::V4(v4) => denied_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            // The packet goes to the IPv4 address (or a translator for it): judge that one.
            Some(v4) => return check_ip(IpAddr::V4(v4), policy).map_err(|_| denial(ip, v4)),
            None => denied_v6(v6),
        },
    };
    match denied {
        Some(range) => Err(SsrfError::DeniedAddress { ip, range }),
        None => Ok(()),
    }
}

fn denial(ip: IpAddr, v4: Ipv4Addr) -> SsrfError {
    let range = denied_v4(v4).unwrap_or("embedded IPv4");
    SsrfError::DeniedAddress { ip, range }
}

/// Checks a URL before a request: scheme, credentials, and IP-literal hosts (which the resolver
/// never sees). Hostnames pass here and are checked by [`GuardedResolver`] at connect time.
pub fn check_url(url: &Url, policy: &Policy) -> Result<(), SsrfError> {
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        other => return Err(SsrfError::SchemeNotAllowed(other.to_owned())),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SsrfError::Credentials);
    }
    match url.host() {
        None => Err(SsrfError::MissingHost),
        Some(Host::Domain("")) => Err(SsrfError::MissingHost),
        Some(Host::Domain(_)) => Ok(()),
        Some(Host::Ipv4(v4)) => check_ip(IpAddr::V4(v4), policy),
        Some(Host::Ipv6(v6)) => check_ip(IpAddr::V6(v6), policy),
    }
}

/// A DNS resolver that refuses the whole answer if any address is denied by its policy.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<Policy>,
}

impl GuardedResolver {
    /// A resolver enforcing `policy`.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy: Arc::new(policy),
        }
    }

    async fn lookup(&self, host: &str) -> Result<Vec<SocketAddr>, BoxError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
        if addrs.is_empty() {
            return Err(Box::new(SsrfError::NoAddresses(host.to_owned())));
        }
        // All or nothing: connecting to the "good" subset would still let an attacker who
        // controls the zone steer us to the bad one on a retry.
        for addr in &addrs {
            check_ip(addr.ip(), &self.policy)?;
        }
        Ok(addrs)
    }
}

/// The error type reqwest's resolver interface carries.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let fut: Pin<Box<dyn Future<Output = Result<Addrs, BoxError>> + Send>> =
            Box::pin(async move {
                let addrs = this.lookup(name.as_str()).await?;
                Ok(Box::new(addrs.into_iter()) as Addrs)
            });
        fut
    }
}

/// The outbound webhook client: [`GuardedResolver`], no redirects (3xx is a failed attempt),
/// no proxies (a proxy would resolve names beyond our guard), https only unless the policy
/// allows http, [`REQUEST_TIMEOUT`], [`CONNECT_TIMEOUT`] and [`USER_AGENT`]. Callers still run
/// [`check_url`] on every URL, for IP literals.
pub fn client(policy: &Policy) -> Result<reqwest::Client, SsrfError> {
    reqwest::Client::builder()
        .dns_resolver(GuardedResolver::new(policy.clone()))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .https_only(!policy.allow_http)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(USER_AGENT)
        .build()
        .map_err(SsrfError::Client)
}

/// The guard's refusal inside a client error, if that is why the request failed (for the
/// attempt log: "refused: loopback" reads better than a connect error).
pub fn refusal(error: &reqwest::Error) -> Option<&SsrfError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(err) = source {
        if let Some(ssrf) = err.downcast_ref::<SsrfError>() {
            return Some(ssrf);
        }
        source = err.source();
    }
    None
}

/// Denied IPv4 ranges as (network, prefix length, label); first match names the range.
const DENIED_V4: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "this network"),
    ([10, 0, 0, 0], 8, "private"),
    ([100, 64, 0, 0], 10, "shared address space (CGNAT)"),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local (cloud metadata)"),
    ([172, 16, 0, 0], 12, "private"),
    ([192, 0, 0, 0], 24, "IETF protocol assignments"),
    ([192, 0, 2, 0], 24, "documentation"),
    ([192, 88, 99, 0], 24, "6to4 relay anycast"),
    ([192, 168, 0, 0], 16, "private"),
    ([198, 18, 0, 0], 15, "benchmarking"),
    ([198, 51, 100, 0], 24, "documentation"),
    ([203, 0, 113, 0], 24, "documentation"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([255, 255, 255, 255], 32, "broadcast"),
    ([240, 0, 0, 0], 4, "reserved"),
];

/// Denied IPv6 ranges as (network, prefix length, label). Forms embedding IPv4 are handled
/// before this table; anything outside 2000::/3 is refused after it.
const DENIED_V6: &[(u128, u8, &str)] = &[
    (0, 128, "unspecified"),
    (1, 128, "loopback"),
    (0x0064_ff9b_0001_u128 << 80, 48, "local-use NAT64"),
    (0x0100_u128 << 112, 64, "discard-only"),
    (
        0x2001_u128 << 112,
        23,
        "IETF protocol assignments (incl. Teredo)",
    ),
    (0x2001_0db8_u128 << 96, 32, "documentation"),
    (0x3fff_u128 << 112, 20, "documentation"),
    (0xfc00_u128 << 112, 7, "unique local"),
    (0xfe80_u128 << 112, 10, "link-local"),
    (0xfec0_u128 << 112, 10, "site-local (deprecated)"),
    (0xff00_u128 << 112, 8, "multicast"),
];

fn denied_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    DENIED_V4.iter().find_map(|(net, len, label)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
        (bits & mask == u32::from_be_bytes(*net)).then_some(*label)
    })
}

fn denied_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    let listed = DENIED_V6.iter().find_map(|(net, len, label)| {
        let mask = u128::MAX.checked_shl(128 - u32::from(*len)).unwrap_or(0);
        (bits & mask == *net).then_some(*label)
    });
    // Only 2000::/3 is allocated as global unicast; the rest is reserved or special-purpose.
    listed.or_else(|| (bits >> 125 != 0b001).then_some("not global unicast"))
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:0:0/96), IPv4-compatible
/// (::/96, deprecated), NAT64 well-known prefix (64:ff9b::/96) and 6to4 (2002::/16).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if bits >> 32 == 0 && bits > 1 {
        // `::` and `::1` share this prefix but are IPv6 addresses of their own.
        Some(low32)
    } else if bits >> 32 == 0x0064_ff9b_u128 << 64 {
        Some(low32)
    } else if bits >> 112 == 0x2002 {
        Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32))
    } else {
        None
    }
}

#[cfg(test)]
#[path = "ssrf_tests.rs"]
mod tests;
