//! The archive's key layout. Every index key ends in the article id so that entries are unique,
//! and timestamps are encoded so that byte order is time order. The six indexes (`by_time`,
//! `by_source`, `dedup`, `identity`, `topics`, `near`) are stored in chunks of entries, in the
//! trees `by_time/c` … `near/c` (see `chunks`); the keys below are their entries' keys.
//!
//! | tree        | key                                   | value            |
//! |-------------|---------------------------------------|------------------|
//! | `meta`      | `schema_version`                      | u32 big-endian   |
//! | `articles`  | id                                    | JSON [`Article`](crate::model::Article) |
//! | `by_time`   | ts · id                               | empty            |
//! | `by_source` | source · 0 · ts · id                  | arrival numbers (u64 BE each; schema 6) |
//! | `dedup`     | normalized title · 0 · ts · id        | empty            |
//! | `near`      | index word · 0 · ts · id              | normalized title |
//! | `identity`  | source · 0 · identity (`g:`/`l:`/`t:`)| id               |
//! | `sources`   | source                                | JSON [`PollState`](crate::model::PollState) |
//! | `topics`    | topic · 0 · ts · id                   | arrival numbers (u64 BE each; schema 6) |
//! | `arrivals`  | feed (topic, or 1 · source) · 0 · seq | id               |
//! | `meta`      | `topic_fp/` topic                     | query fingerprint|
//! | `meta`      | `article_count`                       | u64 big-endian   |
//! | `meta`      | `topic_count/` topic                  | u64 big-endian   |
//! | `meta`      | `arrival_count/` feed                 | u64 big-endian   |

use chrono::{DateTime, Utc};

/// Milliseconds since the epoch, sign bit flipped so big-endian bytes sort in time order.
pub fn ts(t: DateTime<Utc>) -> [u8; 8] {
    ((t.timestamp_millis() as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn ts_decode(bytes: &[u8]) -> Option<DateTime<Utc>> {
    let arr: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    DateTime::from_timestamp_millis((u64::from_be_bytes(arr) ^ (1 << 63)) as i64)
}

pub fn by_time(published: DateTime<Utc>, id: &str) -> Vec<u8> {
    [&ts(published)[..], id.as_bytes()].concat()
}

pub fn by_source(source: &str, published: DateTime<Utc>, id: &str) -> Vec<u8> {
    [source.as_bytes(), &[0], &ts(published)[..], id.as_bytes()].concat()
}

pub fn topic(topic: &str, published: DateTime<Utc>, id: &str) -> Vec<u8> {
    [topic.as_bytes(), &[0], &ts(published)[..], id.as_bytes()].concat()
}

/// Prefix of a source's (or a topic's) index entries.
pub fn source_prefix(source: &str) -> Vec<u8> {
    [source.as_bytes(), &[0]].concat()
}

pub fn dedup(title: &str, published: DateTime<Utc>, id: &str) -> Vec<u8> {
    [title.as_bytes(), &[0], &ts(published)[..], id.as_bytes()].concat()
}

pub fn dedup_prefix(title: &str) -> Vec<u8> {
    [title.as_bytes(), &[0]].concat()
}

/// Splits the tail of a `dedup` key (after the prefix) into time and id.
pub fn dedup_tail(tail: &[u8]) -> Option<(DateTime<Utc>, String)> {
    let t = ts_decode(tail)?;
    let id = std::str::from_utf8(tail.get(8..)?).ok()?.to_string();
    Some((t, id))
}

/// An entry of the `near` index: a dedup title's index word (`normalize::near`), its date and
/// the article; the value is the title, so a look-up compares titles without loading articles.
pub fn near(word: &str, published: DateTime<Utc>, id: &str) -> Vec<u8> {
    [word.as_bytes(), &[0], &ts(published)[..], id.as_bytes()].concat()
}

/// The `near` keys of `word` dated at `t` or later (`near_at(word, t)`), for ranges.
pub fn near_at(word: &str, t: DateTime<Utc>) -> Vec<u8> {
    [word.as_bytes(), &[0], &ts(t)[..]].concat()
}

pub fn topic_fingerprint(topic: &str) -> Vec<u8> {
    [b"topic_fp/".as_slice(), topic.as_bytes()].concat()
}

/// The `meta` key of a topic's member count.
pub fn topic_count(topic: &[u8]) -> Vec<u8> {
    [TOPIC_COUNT_PREFIX, topic].concat()
}

pub const TOPIC_COUNT_PREFIX: &[u8] = b"topic_count/";

/// The topic a `topics` index key belongs to.
pub fn topic_of(key: &[u8]) -> &[u8] {
    key.split(|b| *b == 0).next().unwrap_or(key)
}

/// An entry of the `arrivals` index (schema 6): a feed (a topic, or 1 · source) and its
/// arrival number, big-endian so byte order is arrival order; the value is the article id.
pub fn arrival(feed: &[u8], seq: u64) -> Vec<u8> {
    [feed, &[0], &seq.to_be_bytes()[..]].concat()
}

/// The `meta` key of a feed's arrival count (its highest arrival number).
pub fn arrival_count(feed: &[u8]) -> Vec<u8> {
    [ARRIVAL_COUNT_PREFIX, feed].concat()
}

pub const ARRIVAL_COUNT_PREFIX: &[u8] = b"arrival_count/";

pub fn identity(source: &str, identity: &str) -> Vec<u8> {
    [source.as_bytes(), &[0], identity.as_bytes()].concat()
}

/// An identity entry's value: the article id, then (when known) a 0 byte and the entry's
/// fingerprint, 8 bytes big-endian (issue 21). Article ids are hex, so the 0 never occurs in one;
/// values written before fingerprints (the id alone) still read.
pub fn identity_value(id: &str, fingerprint: Option<u64>) -> Vec<u8> {
    let mut v = Vec::with_capacity(id.len() + 9);
    v.extend_from_slice(id.as_bytes());
    if let Some(f) = fingerprint {
        v.push(0);
        v.extend_from_slice(&f.to_be_bytes());
    }
    v
}

/// The article id and the fingerprint an identity entry holds.
pub fn identity_target(value: &[u8]) -> (String, Option<u64>) {
    match value.iter().position(|&b| b == 0) {
        Some(at) => (
            String::from_utf8_lossy(&value[..at]).into_owned(),
            value[at + 1..].try_into().ok().map(u64::from_be_bytes),
        ),
        None => (String::from_utf8_lossy(value).into_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_values_carry_the_fingerprint_and_old_ones_still_read() {
        for (id, fp) in [
            ("0123abcd", Some(7u64)),
            ("0123abcd", None),
            ("", Some(0)),
            ("ff", Some(u64::MAX)),
        ] {
            assert_eq!(
                identity_target(&identity_value(id, fp)),
                (id.to_string(), fp)
            );
        }
        assert_eq!(identity_target(b"beef"), ("beef".to_string(), None));
        // a damaged tail is no fingerprint, never a wrong one
        assert_eq!(identity_target(b"beef\0\x01"), ("beef".to_string(), None));
    }

    #[test]
    fn timestamps_sort_in_time_order_and_round_trip() {
        let times = [
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "2016-05-04T07:00:36Z",
            "2100-01-01T00:00:00Z",
        ];
        let parsed: Vec<DateTime<Utc>> = times.iter().map(|t| t.parse().expect("valid")).collect();
        for pair in parsed.windows(2) {
            assert!(ts(pair[0]) < ts(pair[1]));
        }
        for t in parsed {
            assert_eq!(ts_decode(&ts(t)), Some(t));
        }
    }
}
