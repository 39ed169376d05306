//! The only user of reqwest. One HTTP GET with gazette's limits: a timeout for the whole
//! exchange, the configured User-Agent, gzip/brotli/deflate, at most 10 redirects, and a hard
//! cap on the *decoded* body (a gzip bomb stops at the cap). Returns raw bytes: decoding is the
//! decode stage's job, never `text()`.

mod host;

pub use host::{HostLimits, HostPermit};

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

/// Maximum redirects followed before giving up (same as browsers' practical limit, well under
/// curl's 50).
pub const MAX_REDIRECTS: usize = 10;

/// Why a fetch failed. [`FetchError::is_transient`] says whether trying again later may help.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("fetching {url}: timed out after {}s", after.as_secs_f32())]
    Timeout { url: String, after: Duration },
    #[error("fetching {url}: cannot connect: {reason}")]
    Connect { url: String, reason: String },
    #[error("fetching {url}: HTTP {status}{}{}", reason.as_deref().map(|r| format!(" {r}")).unwrap_or_default(), retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    Status {
        url: String,
        status: u16,
        reason: Option<String>,
        /// `Retry-After` (RFC 9110 §10.2.3), seconds or an HTTP date, as a delay.
        retry_after: Option<Duration>,
    },
    #[error(
        "fetching {url}: body larger than the {limit}-byte limit (raise max_body if this is expected)"
    )]
    TooLarge { url: String, limit: u64 },
    #[error("fetching {url}: more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects { url: String },
    #[error("fetching {url}: {reason}")]
    Other { url: String, reason: String },
    #[error("not fetching {url}: {reason}")]
    Refused { url: String, reason: String },
}

impl FetchError {
    /// Timeouts, connection failures, 5xx, 408 and 429 may go away by themselves; everything
    /// else needs someone to change the source or the config.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout { .. } | FetchError::Connect { .. } => true,
            FetchError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            FetchError::TooLarge { .. }
            | FetchError::TooManyRedirects { .. }
            | FetchError::Refused { .. } => false,
            FetchError::Other { .. } => true,
        }
    }

    /// How long the server asked us to wait (`Retry-After` on a 429 or 503).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL after redirects.
    pub url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The decoded (decompressed) body, at most `max_body` bytes; empty for a 304.
    pub body: Vec<u8>,
    /// Where the resource now lives, when every redirect on the way was permanent (301/308).
    pub moved_to: Option<Url>,
    /// How long the response may be considered fresh (`Cache-Control: max-age`, else
    /// `Expires` − `Date`): no point asking again sooner.
    pub fresh_for: Option<Duration>,
}

impl Fetched {
    /// A 304 answer to a conditional request: the stored copy is still current.
    pub fn is_not_modified(&self) -> bool {
        self.status == 304
    }
}

/// Validators from an earlier response, sent back byte for byte (RFC 9110 §13.1).
#[derive(Debug, Clone, Copy, Default)]
pub struct Validators<'a> {
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

/// Per-request limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub max_body: u64,
    /// Redirects may lead to private, loopback and link-local addresses. When false (the
    /// default for sources), a redirect may go to the requested URL's own host and port, or to
    /// public addresses only: a source answering `301 Location: http://169.254.169.254/` must
    /// not make gazette fetch (and archive, and republish) what is there.
    pub private_redirects: bool,
}

/// A shared HTTP client (connection pools are per client, so make one and clone it).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// For links found in content: only this host may be private; others must be public.
    guard: Option<Arc<Guard>>,
}

/// Whether an address is on the public internet. Loopback, private (RFC 1918, RFC 4193),
/// link-local (169.254/16 — cloud metadata — and fe80::/10), CGNAT, unspecified, multicast,
/// broadcast and documentation ranges are not. An IPv6 address that carries an IPv4 one —
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, RFC 4291 §2.5.5.1, deprecated
/// but still routed by some stacks) or NAT64 (`64:ff9b::a.b.c.d`, RFC 6052; `64:ff9b:1::/48`,
/// RFC 8215) — is as public as the IPv4 address it carries.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            let embedded = || {
                let o = v6.octets();
                IpAddr::V4(std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]))
            };
            // IPv4-compatible: 96 zero bits, then IPv4 (:: and ::1 themselves are caught below)
            if seg[..6].iter().all(|&s| s == 0) && (seg[6] != 0 || seg[7] > 1) {
                return is_public(embedded());
            }
            // NAT64: the well-known prefix carries the IPv4 address in its last 32 bits; the
            // local-use prefix leads to a translator on the local network, so never public
            if seg[0] == 0x64 && seg[1] == 0xff9b {
                if seg[2..6].iter().all(|&s| s == 0) {
                    return is_public(embedded());
                }
                if seg[2] == 1 {
                    return false;
                }
            }
            let first = seg[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// Whether reqwest will send requests through a proxy from the environment.
fn proxy_configured() -> bool {
    ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"].iter().any(|v| {
        std::env::var_os(v).is_some_and(|x| !x.is_empty())
            || std::env::var_os(v.to_ascii_lowercase()).is_some_and(|x| !x.is_empty())
    })
}

/// Where a source's own URL may redirect: to its own host and port, or elsewhere only to
/// http(s) URLs whose host is (or resolves only to) public addresses. With a proxy configured
/// the name is resolved here, before the proxy is asked, so a private target is refused
/// either way.
async fn check_redirect(from: &Url, to: &Url) -> Result<(), String> {
    if !matches!(to.scheme(), "http" | "https") {
        return Err(format!(
            "only http and https are followed, not {}: (set `url` to the new address if it moved)",
            to.scheme()
        ));
    }
    let same_origin = to.host_str() == from.host_str()
        && to.port_or_known_default() == from.port_or_known_default();
    if same_origin {
        return Ok(());
    }
    let host = to.host_str().unwrap_or_default();
    let port = to.port_or_known_default().unwrap_or(80);
    let private = |ip: IpAddr| {
        format!(
            "{ip} is not a public address (set `allow_private = true` on the source to allow it)"
        )
    };
    match to.host() {
        Some(url::Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => Err(private(IpAddr::V4(ip))),
        Some(url::Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => Err(private(IpAddr::V6(ip))),
        Some(url::Host::Domain(_)) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect();
            match addrs.iter().find(|a| !is_public(a.ip())) {
                Some(a) => Err(format!("{host} resolves to {}", private(a.ip()))),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// The rule for links found in content (RSS-Bridge-style fetchers are a classic SSRF vector):
/// the source's own host is trusted, anything else must resolve to public addresses only.
struct Guard {
    trusted_host: Option<String>,
}

impl Guard {
    fn check_url(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "only http and https links are fetched, not {}:",
                url.scheme()
            ));
        }
        let host = url.host_str().unwrap_or_default();
        if self.is_trusted(host) {
            return Ok(());
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        match literal {
            Some(ip) if !is_public(ip) => Err(format!("{ip} is not a public address")),
            _ => Ok(()),
        }
    }

    /// With a proxy in the environment, reqwest asks the proxy for the name and never
    /// resolves it here, so the resolver's check is skipped: resolve and check the name before
    /// the request goes out (a private target is refused, not proxied).
    async fn check_resolved(&self, url: &Url) -> Result<(), String> {
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        if self.is_trusted(host) || !proxy_configured() {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        match addrs.iter().find(|a| !is_public(a.ip())) {
            Some(a) => Err(format!(
                "{host} resolves to {}, a non-public address; links found in content may not reach private networks (not sent to the proxy)",
                a.ip()
            )),
            None => Ok(()),
        }
    }

    fn is_trusted(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.trusted_host
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(host))
    }
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let trusted = self.is_trusted(&host);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| trusted || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves only to non-public addresses ({addrs:?}); links found in content may not reach private networks").into();
                return Err(err);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

impl Fetcher {
    /// A client sending `user_agent`.
    pub fn new(user_agent: &str) -> Result<Fetcher, FetchError> {
        Fetcher::build(user_agent, None)
    }

    /// A client for links found in content (list pages, `full_text`): `trusted_host` (the
    /// source's own) may be anywhere; every other host, and every redirect target, must be
    /// public.
    pub fn for_links(user_agent: &str, trusted_host: Option<&str>) -> Result<Fetcher, FetchError> {
        let guard = Arc::new(Guard {
            trusted_host: trusted_host.map(str::to_string),
        });
        Fetcher::build(user_agent, Some(guard))
    }

    fn build(user_agent: &str, guard: Option<Arc<Guard>>) -> Result<Fetcher, FetchError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent)
            // redirects are followed by hand, to see which ones were permanent (and to check
            // every hop against the guard)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .gzip(true)
            .brotli(true)
            .deflate(true);
        if let Some(g) = &guard {
            builder = builder.dns_resolver(Arc::clone(g));
        }
        let client = builder.build().map_err(|e| FetchError::Other {
            url: String::new(),
            reason: format!("cannot build HTTP client: {e}"),
        })?;
        Ok(Fetcher { client, guard })
    }

    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url` and returns the status;
    /// redirects are not followed and the answer's body is not read (WebSub publish pings).
    /// A status outside 2xx is an error.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<u16, FetchError> {
        let shown = crate::secrets::redact(url).to_string();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let sent = self
            .client
            .post(url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .timeout(timeout)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Err(FetchError::Timeout {
                    url: shown,
                    after: timeout,
                });
            }
            Err(e) => {
                return Err(FetchError::Connect {
                    url: shown,
                    reason: e.to_string(),
                });
            }
        };
        let status = response.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err(FetchError::Status {
                url: shown,
                status: status.as_u16(),
                reason: status.canonical_reason().map(str::to_string),
                retry_after: None,
            })
        }
    }

    /// GETs `url` within `limits`.
    pub async fn get(&self, url: &Url, limits: Limits) -> Result<Fetched, FetchError> {
        self.get_conditional(url, limits, Validators::default())
            .await
    }

    /// GETs `url` within `limits`, conditionally when `validators` has any: a `304 Not
    /// Modified` then comes back as a [`Fetched`] with an empty body (see
    /// [`Fetched::is_not_modified`]), not as an error.
    pub async fn get_conditional(
        &self,
        url: &Url,
        limits: Limits,
        validators: Validators<'_>,
    ) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(limits.timeout, self.get_inner(url, limits, validators)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout {
                url: url.to_string(),
                after: limits.timeout,
            }),
        }
    }

    async fn get_inner(
        &self,
        url: &Url,
        limits: Limits,
        validators: Validators<'_>,
    ) -> Result<Fetched, FetchError> {
        let name = url.to_string();
        let mut current = url.clone();
        let mut moved_to = None;
        let mut all_permanent = true;
        let mut hops = 0;
        let mut response = loop {
            if let Some(guard) = &self.guard {
                let checked = match guard.check_url(&current) {
                    Ok(()) => guard.check_resolved(&current).await,
                    Err(e) => Err(e),
                };
                checked.map_err(|reason| FetchError::Refused {
                    url: name.clone(),
                    reason: if hops > 0 {
                        format!("redirect to {current} refused: {reason}")
                    } else {
                        reason
                    },
                })?;
            }
            let mut request = self.client.get(current.clone());
            if let Some(etag) = validators.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = validators.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
            let response = request
                .header(
                    reqwest::header::ACCEPT,
                    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
                )
                .send()
                .await
                .map_err(|e| classify(&name, e, limits.timeout))?;
            let status = response.status();
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok());
            match (status.as_u16(), location) {
                (301 | 302 | 303 | 307 | 308, Some(location)) => {
                    hops += 1;
                    if hops > MAX_REDIRECTS {
                        return Err(FetchError::TooManyRedirects { url: name });
                    }
                    let next = current.join(location).map_err(|e| FetchError::Other {
                        url: name.clone(),
                        reason: format!("redirect to an invalid URL {location:?}: {e}"),
                    })?;
                    if self.guard.is_none() && !limits.private_redirects {
                        check_redirect(url, &next)
                            .await
                            .map_err(|reason| FetchError::Refused {
                                url: name.clone(),
                                reason: format!("redirect to {next} refused: {reason}"),
                            })?;
                    }
                    // RFC 9110 §15.4.2/§15.4.9: only 301 and 308 say "use the new URL from now on"
                    all_permanent &= matches!(status.as_u16(), 301 | 308);
                    moved_to = all_permanent.then(|| next.clone());
                    current = next;
                }
                _ => break response,
            }
        };
        let status = response.status();
        let conditional = validators.etag.is_some() || validators.last_modified.is_some();
        let not_modified = conditional && status == reqwest::StatusCode::NOT_MODIFIED;
        if !status.is_success() && !not_modified {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, Utc::now()));
            return Err(FetchError::Status {
                url: name,
                status: status.as_u16(),
                reason: status.canonical_reason().map(str::to_string),
                retry_after,
            });
        }
        let header = |h: reqwest::header::HeaderName| {
            response
                .headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        let final_url = response.url().clone();
        let fresh_for = freshness(
            header(reqwest::header::CACHE_CONTROL).as_deref(),
            header(reqwest::header::EXPIRES).as_deref(),
            header(reqwest::header::DATE).as_deref(),
            Utc::now(),
        );
        let too_large = || FetchError::TooLarge {
            url: name.clone(),
            limit: limits.max_body,
        };
        // Content-Length is the *encoded* size; a compressed body can only grow, so a declared
        // size over the cap is already too much.
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched {
                url: final_url,
                status: 304,
                content_type,
                etag,
                last_modified,
                body: Vec::new(),
                moved_to,
                fresh_for,
            });
        }
        if response
            .content_length()
            .is_some_and(|n| n > limits.max_body)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify(&name, e, limits.timeout))?
        {
            if body.len() as u64 + chunk.len() as u64 > limits.max_body {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            url: final_url,
            status: status.as_u16(),
            content_type,
            etag,
            last_modified,
            body,
            moved_to,
            fresh_for,
        })
    }
}

fn http_date(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(v)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// How long a response stays fresh: `Cache-Control: max-age` wins over `Expires`, which counts
/// from the response's `Date` (RFC 9111 §4.2.1). `no-cache`/`no-store` mean no hint.
pub fn freshness(
    cache_control: Option<&str>,
    expires: Option<&str>,
    date: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    if let Some(cc) = cache_control {
        let directives: Vec<String> = cc
            .split(',')
            .map(|d| d.trim().to_ascii_lowercase())
            .collect();
        if directives
            .iter()
            .any(|d| d == "no-cache" || d == "no-store")
        {
            return None;
        }
        if let Some(secs) = directives.iter().find_map(|d| {
            d.strip_prefix("max-age=")?
                .trim_matches('"')
                .parse::<u64>()
                .ok()
        }) {
            return Some(Duration::from_secs(secs));
        }
    }
    let expires = http_date(expires?)?;
    let base = date.and_then(http_date).unwrap_or(now);
    (expires - base).to_std().ok()
}

fn classify(url: &str, e: reqwest::Error, timeout: Duration) -> FetchError {
    let url = url.to_string();
    if e.is_timeout() {
        return FetchError::Timeout {
            url,
            after: timeout,
        };
    }
    if e.is_redirect() {
        let reason = root_cause(&e);
        if reason.contains("refused") {
            return FetchError::Refused { url, reason };
        }
        return FetchError::TooManyRedirects { url };
    }
    let reason = root_cause(&e);
    if reason.contains("non-public addresses") {
        return FetchError::Refused { url, reason };
    }
    if e.is_connect() {
        return FetchError::Connect {
            url,
            reason: root_cause(&e),
        };
    }
    FetchError::Other {
        url,
        reason: root_cause(&e),
    }
}

/// The innermost error message: reqwest's own is usually just "error sending request".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_private_addresses() {
        let cases = [
            ("8.8.8.8", true),
            ("93.184.216.34", true),
            ("2606:4700::1111", true),
            ("127.0.0.1", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("0.0.0.0", false),
            ("255.255.255.255", false),
            ("::1", false),
            ("fe80::1", false),
            ("fd00::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            // issue 16, defect 10: IPv4-compatible and NAT64 forms of private addresses
            ("::127.0.0.3", false),
            ("::169.254.169.254", false),
            ("::8.8.8.8", true),
            ("64:ff9b::a9fe:a9fe", false),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::808:808", true),
            ("64:ff9b:1::a00:1", false),
        ];
        for (ip, public) in cases {
            assert_eq!(is_public(ip.parse().expect("ip")), public, "{ip}");
        }
    }

    #[test]
    fn retry_after_and_freshness() {
        let now: DateTime<Utc> = "2016-05-04T07:00:00Z".parse().expect("date");
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 04 May 2016 07:10:00 GMT", now),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            retry_after("Wed, 04 May 2016 06:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        let cases = [
            (Some("public, max-age=3600"), None, None, Some(3600)),
            (
                Some("max-age=60"),
                Some("Wed, 04 May 2016 09:00:00 GMT"),
                None,
                Some(60),
            ),
            (
                Some("no-cache"),
                Some("Wed, 04 May 2016 09:00:00 GMT"),
                None,
                None,
            ),
            (
                None,
                Some("Wed, 04 May 2016 09:00:00 GMT"),
                Some("Wed, 04 May 2016 08:00:00 GMT"),
                Some(3600),
            ),
            (
                None,
                Some("Wed, 04 May 2016 09:00:00 GMT"),
                None,
                Some(7200),
            ),
            (None, Some("0"), None, None),
            (None, None, None, None),
        ];
        for (cc, exp, date, want) in cases {
            assert_eq!(
                freshness(cc, exp, date, now),
                want.map(Duration::from_secs),
                "{cc:?} {exp:?}"
            );
        }
    }

    #[test]
    fn guard_rules() {
        let g = Guard {
            trusted_host: Some("127.0.0.1".into()),
        };
        let check = |u: &str| g.check_url(&Url::parse(u).expect("url"));
        assert!(
            check("http://127.0.0.1:8080/a").is_ok(),
            "the source's own host"
        );
        assert!(check("http://169.254.169.254/latest/meta-data").is_err());
        assert!(check("http://[::1]/").is_err());
        assert!(check("http://10.0.0.1/").is_err());
        assert!(check("file:///etc/passwd").is_err());
        assert!(check("ftp://example.org/x").is_err());
        assert!(
            check("https://example.org/x").is_ok(),
            "names are checked when resolved"
        );
    }
}
