//! Secrets in source URLs never leave the process: user-info (`user:password@`) and query
//! parameters whose names say they are credentials (`token`, `key`, `secret`, `password`,
//! `auth`, `sig`…) are redacted wherever a URL is shown — pages, feeds, OPML, logs, `poll`
//! output and errors. Only `gazette status --show-secrets` prints them, to the local operator.

use url::Url;

/// What a redacted part reads as.
pub const REDACTED: &str = "REDACTED";

/// Parts of a query parameter's name that mark it as a credential (compared lower-cased).
const SECRET_NAMES: &[&str] = &[
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "pass",
    "pwd",
    "auth",
    "sig",
    "signature",
    "session",
    "credential",
    "access",
    "bearer",
    "hash",
];

/// Whether a query parameter name looks like a credential (`api_key`, `accessToken`, `sig`).
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| lower.contains(s))
}

/// `url` with its user-info and credential-like query values replaced by [`REDACTED`].
pub fn redact(url: &Url) -> Url {
    let mut out = url.clone();
    if !out.username().is_empty() {
        let _ = out.set_username(REDACTED);
    }
    if out.password().is_some() {
        let _ = out.set_password(Some(REDACTED));
    }
    if url.query().is_some() && url.query_pairs().any(|(k, _)| is_secret_name(&k)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    REDACTED.to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        out.query_pairs_mut().clear().extend_pairs(pairs);
    }
    out
}

/// [`redact`] for a URL held as text: an unparsable one is shown as it is (it cannot carry
/// user-info that a client would send).
pub fn redact_str(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => redact(&u).to_string(),
        Err(_) => url.to_string(),
    }
}

/// Redacts every URL written inside a longer text (an error message, a log line).
pub fn redact_text(text: &str) -> String {
    if !text.contains('@') && !text.contains('?') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = ["http://", "https://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')'))
            .unwrap_or(tail.len());
        let (candidate, trailing) = {
            let u = &tail[..end];
            // a sentence's punctuation after a URL is not part of it
            let trimmed = u.trim_end_matches([',', '.', ';', ':']);
            (trimmed, &u[trimmed.len()..])
        };
        out.push_str(&redact_str(candidate));
        out.push_str(trailing);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted_and_the_rest_kept() {
        let cases = [
            (
                "https://example.org/feed.xml",
                "https://example.org/feed.xml",
            ),
            (
                "https://pat:hunter2@example.org/feed",
                "https://REDACTED:REDACTED@example.org/feed",
            ),
            (
                "https://example.org/rss?token=abc123&lang=en",
                "https://example.org/rss?token=REDACTED&lang=en",
            ),
            (
                "https://example.org/rss?api_key=1&AccessToken=2&sig=3&page=4",
                "https://example.org/rss?api_key=REDACTED&AccessToken=REDACTED&sig=REDACTED&page=4",
            ),
            (
                "https://example.org/rss?category=ip&page=2",
                "https://example.org/rss?category=ip&page=2",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(redact_str(raw), want, "{raw}");
        }
        assert_eq!(
            redact_text(
                "fetching https://u:p@x.example/f?key=s3cret: HTTP 500; moved to http://y.example/?auth=z."
            ),
            "fetching https://REDACTED:REDACTED@x.example/f?key=REDACTED: HTTP 500; moved to http://y.example/?auth=REDACTED."
        );
        assert_eq!(redact_text("no url here"), "no url here");
    }
}
