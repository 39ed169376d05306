//! The only user of reqwest. One HTTP GET with gazette's limits: a timeout for the whole
//! exchange, the configured User-Agent, gzip/brotli/deflate, at most 10 redirects, and a hard
//! cap on the *decoded* body (a gzip bomb stops at the cap). Returns raw bytes: decoding is the
//! decode stage's job, never `text()`.

use std::time::Duration;

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
    #[error("fetching {url}: HTTP {status}{}", reason.as_deref().map(|r| format!(" {r}")).unwrap_or_default())]
    Status {
        url: String,
        status: u16,
        reason: Option<String>,
    },
    #[error(
        "fetching {url}: body larger than the {limit}-byte limit (raise max_body if this is expected)"
    )]
    TooLarge { url: String, limit: u64 },
    #[error("fetching {url}: more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects { url: String },
    #[error("fetching {url}: {reason}")]
    Other { url: String, reason: String },
}

impl FetchError {
    /// Timeouts, connection failures, 5xx, 408 and 429 may go away by themselves; everything
    /// else needs someone to change the source or the config.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout { .. } | FetchError::Connect { .. } => true,
            FetchError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            FetchError::TooLarge { .. } | FetchError::TooManyRedirects { .. } => false,
            FetchError::Other { .. } => true,
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
    /// The decoded (decompressed) body, at most `max_body` bytes.
    pub body: Vec<u8>,
}

/// Per-request limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub max_body: u64,
}

/// A shared HTTP client (connection pools are per client, so make one and clone it).
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
}

impl Fetcher {
    /// A client sending `user_agent`.
    pub fn new(user_agent: &str) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .connect_timeout(Duration::from_secs(10))
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .build()
            .map_err(|e| FetchError::Other {
                url: String::new(),
                reason: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(Fetcher { client })
    }

    /// GETs `url` within `limits`.
    pub async fn get(&self, url: &Url, limits: Limits) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(limits.timeout, self.get_inner(url, limits)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout {
                url: url.to_string(),
                after: limits.timeout,
            }),
        }
    }

    async fn get_inner(&self, url: &Url, limits: Limits) -> Result<Fetched, FetchError> {
        let name = url.to_string();
        let mut response = self
            .client
            .get(url.clone())
            .header(
                reqwest::header::ACCEPT,
                "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
            )
            .send()
            .await
            .map_err(|e| classify(&name, e, limits.timeout))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: name,
                status: status.as_u16(),
                reason: status.canonical_reason().map(str::to_string),
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
        let too_large = || FetchError::TooLarge {
            url: name.clone(),
            limit: limits.max_body,
        };
        // Content-Length is the *encoded* size; a compressed body can only grow, so a declared
        // size over the cap is already too much.
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
        })
    }
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
        return FetchError::TooManyRedirects { url };
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
