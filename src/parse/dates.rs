//! Lenient timestamps. Feeds write dates in every way imaginable; feed-rs alone keeps only
//! RFC 2822 and RFC 3339, so gazette installs this parser into it (and uses it for JSON Feed and
//! pages too). A date without an offset is wall-clock time in the *source's* zone, and a zone
//! abbreviation is read the way that zone writes it: "CST" on an Asia/Shanghai source is China
//! Standard Time (+08:00), elsewhere US Central (-06:00).

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::{OffsetName, Tz};
use regex::Regex;

/// Parses `input` as a point in time; `tz` is the zone for dates written without an offset.
pub fn parse_date(input: &str, tz: Tz) -> Option<DateTime<Utc>> {
    parse_date_local(input, tz).map(|d| d.with_timezone(&Utc))
}

/// [`parse_date`], keeping the date as written: with the offset the text gave, else the
/// offset `tz` has at that moment. A page that says "4 May 2016" in Beijing keeps its day.
pub fn parse_date_local(input: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let s = input.trim();
    if s.is_empty() || s.len() > 120 {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return sane(d);
    }
    // chrono reads every RFC 822 zone name its own way ("CST" is always US Central), so
    // abbreviations go the slow way, where the source's zone is consulted first.
    let last = s.rsplit(' ').next().unwrap_or(s);
    let named_zone = last.chars().all(|c| c.is_ascii_alphabetic())
        && !matches!(last, "GMT" | "UT" | "UTC" | "Z");
    if !named_zone && let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return sane(d);
    }
    let cleaned = clean(s);
    let (rest, zone) = split_zone(&cleaned);
    let naive = parse_naive(rest)?;
    let in_source_zone = |utc: DateTime<Utc>| utc.with_timezone(&tz).fixed_offset();
    let local = match zone {
        Zone::Offset(secs) => FixedOffset::east_opt(secs)?
            .from_local_datetime(&naive)
            .single()?,
        Zone::Name(name) => match source_zone_if_named(tz, &naive, &name) {
            Some(d) => in_source_zone(d),
            None => {
                let secs = abbreviation_offset(&name)?;
                FixedOffset::east_opt(secs)?
                    .from_local_datetime(&naive)
                    .single()?
            }
        },
        Zone::Local => in_source_zone(in_zone(tz, &naive)?),
    };
    sane(local)
}

/// Whether `input` states its offset or zone ("Z", "+08:00", "GMT", "EST"), as opposed to
/// wall-clock time in a zone it leaves unsaid.
pub fn states_offset(input: &str) -> bool {
    let s = input.trim();
    DateTime::parse_from_rfc3339(s).is_ok()
        || DateTime::parse_from_rfc2822(s).is_ok()
        || split_zone(&clean(s)).1 != Zone::Local
}

/// Wall-clock time in `tz`: in a DST fold take the earlier instant, in a gap move forward an hour.
pub fn in_zone(tz: Tz, naive: &NaiveDateTime) -> Option<DateTime<Utc>> {
    let local = tz.from_local_datetime(naive).earliest().or_else(|| {
        tz.from_local_datetime(&(*naive + chrono::Duration::hours(1)))
            .earliest()
    })?;
    Some(local.with_timezone(&Utc))
}

fn sane(d: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
    (1970..=2200)
        .contains(&d.with_timezone(&Utc).year())
        .then_some(d)
}

#[derive(Debug, PartialEq)]
enum Zone {
    Local,
    Offset(i32),
    Name(String),
}

/// Drops weekday names, commas, CJK date words and "T", and collapses white space.
fn clean(s: &str) -> String {
    static RULES: OnceLock<[(Regex, &'static str); 4]> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            // "2016/05/04", "2016.05.04" → "2016-05-04"
            (
                Regex::new(r"([0-9]{4})[./]([0-9]{1,2})[./]([0-9]{1,2})").expect("static regex"),
                "$1-$2-$3",
            ),
            // "2016-05-04T15:00" → "2016-05-04 15:00"
            (
                Regex::new(r"([0-9])[Tt]([0-9])").expect("static regex"),
                "$1 $2",
            ),
            // "3:00 p.m." → "3:00 PM"
            (
                Regex::new(r"(?i)\b([ap])\.?m\b\.?").expect("static regex"),
                "${1}M",
            ),
            // "September", "Sept." → "Sep" (chrono's %b wants the short form)
            (
                Regex::new(
                    r"(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(\s|$)",
                )
                .expect("static regex"),
                "$1$2",
            ),
        ]
    });
    let mut t = s
        .replace(['年', '月'], "-")
        .replace('日', " ")
        .replace(['时', '点', '分', '：'], ":")
        .replace('秒', "")
        .replace(',', " ");
    for (re, with) in rules {
        t = re.replace_all(&t, *with).into_owned();
    }
    let words: Vec<&str> = t.split_whitespace().filter(|w| !is_weekday(w)).collect();
    let mut out = words.join(" ");
    while out.ends_with([':', '-', ' ']) {
        out.pop();
    }
    out
}

/// Whether a word is a weekday's name or abbreviation ("Tue.", "Wednesday", "星期三").
pub fn is_weekday(word: &str) -> bool {
    const NAMES: [&str; 25] = [
        "mon",
        "tue",
        "tues",
        "wed",
        "weds",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "星期一",
        "星期二",
        "星期三",
        "星期四",
        "星期五",
        "星期六",
        "星期日",
    ];
    let w = word.trim_end_matches('.').to_lowercase();
    NAMES.contains(&w.as_str())
}

/// Splits a trailing zone ("Z", "+0800", "+08:00", "GMT+8", "EST", "(CST)") off the text.
fn split_zone(s: &str) -> (&str, Zone) {
    static NUMERIC: OnceLock<Regex> = OnceLock::new();
    let numeric = NUMERIC.get_or_init(|| {
        Regex::new(r"^(.*[0-9]:[0-9]{2}(?::[0-9]{2})?(?:[.,][0-9]+)?)\s*(?:Z|(?i:UTC|GMT|UT)?\s*([+-])([0-9]{1,2})(?::?([0-9]{2}))?)$")
            .expect("static regex")
    });
    if let Some(c) = numeric.captures(s) {
        let head = c.get(1).map_or("", |m| m.as_str());
        let Some(sign_match) = c.get(2) else {
            return (head, Zone::Offset(0));
        };
        let sign = if sign_match.as_str() == "-" { -1 } else { 1 };
        let hours: i32 = c.get(3).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
        let minutes: i32 = c.get(4).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
        if hours <= 14 && minutes < 60 {
            return (head, Zone::Offset(sign * (hours * 3600 + minutes * 60)));
        }
        return (s, Zone::Local);
    }
    if let Some(head) = s
        .strip_suffix('Z')
        .filter(|h| h.ends_with(|c: char| c.is_ascii_digit()))
    {
        return (head.trim_end(), Zone::Offset(0));
    }
    if let Some((head, last)) = s.rsplit_once(' ') {
        let name = last.trim_matches(['(', ')']);
        if (1..=5).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphabetic())
            && !is_month_or_meridiem(name)
        {
            return (head, Zone::Name(name.to_ascii_uppercase()));
        }
    }
    (s, Zone::Local)
}

fn is_month_or_meridiem(w: &str) -> bool {
    let w = w.to_ascii_lowercase();
    matches!(w.as_str(), "am" | "pm" | "a" | "p")
        || [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
            "dec",
        ]
        .contains(&w.as_str())
}

/// When the zone abbreviation is the one the source's own zone uses at that time, trust the
/// source's zone ("CST" in Asia/Shanghai, "IST" in Asia/Kolkata, "BST" in Europe/London).
fn source_zone_if_named(tz: Tz, naive: &NaiveDateTime, name: &str) -> Option<DateTime<Utc>> {
    let local = tz.from_local_datetime(naive).earliest()?;
    let abbr = local.offset().abbreviation()?;
    abbr.eq_ignore_ascii_case(name)
        .then(|| local.with_timezone(&Utc))
}

/// RFC 822 §5.1 zones plus the abbreviations feeds commonly use.
fn abbreviation_offset(name: &str) -> Option<i32> {
    let hours: f32 = match name {
        "UT" | "UTC" | "GMT" | "Z" | "WET" => 0.0,
        "EST" => -5.0,
        "EDT" => -4.0,
        "CST" => -6.0,
        "CDT" => -5.0,
        "MST" => -7.0,
        "MDT" => -6.0,
        "PST" => -8.0,
        "PDT" => -7.0,
        "AKST" => -9.0,
        "AKDT" => -8.0,
        "HST" => -10.0,
        "AST" => -4.0,
        "ADT" => -3.0,
        "NST" => -3.5,
        "BST" | "CET" | "WEST" | "MET" => 1.0,
        "CEST" | "EET" | "MEST" | "SAST" => 2.0,
        "EEST" | "MSK" => 3.0,
        "IST" => 5.5,
        "ICT" | "WIB" => 7.0,
        "HKT" | "SGT" | "AWST" | "PHT" => 8.0,
        "JST" | "KST" => 9.0,
        "ACST" => 9.5,
        "AEST" => 10.0,
        "ACDT" => 10.5,
        "AEDT" => 11.0,
        "NZST" => 12.0,
        "NZDT" => 13.0,
        _ => return None,
    };
    Some((hours * 3600.0) as i32)
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    const DATETIME: &[&str] = &[
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %I:%M:%S %p",
        "%Y-%m-%d %I:%M %p",
        "%d %b %Y %H:%M:%S%.f",
        "%d %b %Y %H:%M",
        "%d %b %Y %I:%M:%S %p",
        "%d %b %Y %I:%M %p",
        "%d-%b-%Y %H:%M:%S",
        "%d-%b-%Y %H:%M",
        "%b %d %Y %H:%M:%S%.f",
        "%b %d %Y %H:%M",
        "%b %d %Y %I:%M:%S %p",
        "%b %d %Y %I:%M %p",
        "%b %d %Y at %I:%M %p",
        "%b %d %H:%M:%S %Y",
    ];
    const DATE: &[&str] = &["%Y-%m-%d", "%d %b %Y", "%d-%b-%Y", "%b %d %Y", "%Y%m%d"];
    let s = s.trim();
    for f in DATETIME {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d);
        }
    }
    for f in DATE {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Some(d.and_time(NaiveTime::MIN));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Asia};

    #[test]
    fn formats_feeds_really_use() {
        // (input, source zone, expected RFC 3339 UTC)
        let cases = [
            (
                "2016-05-04 15:00:36",
                Asia::Shanghai,
                "2016-05-04T07:00:36+00:00",
            ),
            (
                "2016/05/04 15:00",
                Asia::Shanghai,
                "2016-05-04T07:00:00+00:00",
            ),
            (
                "2016年05月04日 15:00",
                Asia::Shanghai,
                "2016-05-04T07:00:00+00:00",
            ),
            ("2016-05-04", Tz::UTC, "2016-05-04T00:00:00+00:00"),
            ("May 4, 2016", Tz::UTC, "2016-05-04T00:00:00+00:00"),
            (
                "May 4, 2016 3:00 PM",
                America::New_York,
                "2016-05-04T19:00:00+00:00",
            ),
            ("Wed, 04 May 2016", Tz::UTC, "2016-05-04T00:00:00+00:00"),
            (
                "Wed, 04 May 2016 15:00:36 GMT",
                Tz::UTC,
                "2016-05-04T15:00:36+00:00",
            ),
            (
                "Wed, 04 May 2016 10:00:00 EST",
                Tz::UTC,
                "2016-05-04T15:00:00+00:00",
            ),
            (
                "Wed, 4 May 2016 08:00:00 PDT",
                Tz::UTC,
                "2016-05-04T15:00:00+00:00",
            ),
            (
                "Wed, 04 May 2016 15:00:36 CST",
                Asia::Shanghai,
                "2016-05-04T07:00:36+00:00",
            ),
            (
                "Wed, 04 May 2016 15:00:36 CST",
                Tz::UTC,
                "2016-05-04T21:00:36+00:00",
            ),
            (
                "Wednesday, 04 May 2016 15:00:36 +0800",
                Tz::UTC,
                "2016-05-04T07:00:36+00:00",
            ),
            (
                "Thurs, 05 May 2016 15:00 +0000",
                Tz::UTC,
                "2016-05-05T15:00:00+00:00",
            ),
            (
                "Wed May  4 15:00:36 2016",
                Tz::UTC,
                "2016-05-04T15:00:36+00:00",
            ),
            (
                "2016-05-04T15:00:36+08:00",
                Tz::UTC,
                "2016-05-04T07:00:36+00:00",
            ),
            (
                "2016-05-04T15:00:36.123Z",
                Tz::UTC,
                "2016-05-04T15:00:36.123+00:00",
            ),
            (
                "2016-05-04T15:00+0800",
                Tz::UTC,
                "2016-05-04T07:00:00+00:00",
            ),
            (
                "2016-05-04 15:00:36 +08",
                Tz::UTC,
                "2016-05-04T07:00:36+00:00",
            ),
            (
                "2016-05-04T15:00:36",
                Asia::Shanghai,
                "2016-05-04T07:00:36+00:00",
            ),
            (
                "04 May 2016 15:00:36 UTC",
                Tz::UTC,
                "2016-05-04T15:00:36+00:00",
            ),
            (
                "4 September 2016 9:05",
                Tz::UTC,
                "2016-09-04T09:05:00+00:00",
            ),
            ("2016.05.04 15:00", Tz::UTC, "2016-05-04T15:00:00+00:00"),
            (
                "2016-05-04 15:00:36 GMT+8",
                Tz::UTC,
                "2016-05-04T07:00:36+00:00",
            ),
        ];
        for (input, tz, want) in cases {
            let got = parse_date(input, tz).map(|d| d.to_rfc3339());
            assert_eq!(got.as_deref(), Some(want), "{input:?} in {tz}");
        }
    }

    #[test]
    fn garbage_is_none() {
        for bad in [
            "",
            "yesterday",
            "not a date",
            "2016-13-45",
            "99:99",
            "0000-00-00",
            "Mon, 32 Foo 2016",
            "1800-01-01",
        ] {
            assert_eq!(parse_date(bad, Tz::UTC), None, "{bad:?}");
        }
    }

    #[test]
    fn dst_gap_and_fold_do_not_fail() {
        // 02:30 does not exist in New York on 2016-03-13; it does twice on 2016-11-06 01:30.
        assert!(parse_date("2016-03-13 02:30", America::New_York).is_some());
        assert_eq!(
            parse_date("2016-11-06 01:30", America::New_York)
                .map(|d| d.to_rfc3339())
                .as_deref(),
            Some("2016-11-06T05:30:00+00:00")
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = parse_date(&s, Asia::Shanghai);
        }
    }
}
