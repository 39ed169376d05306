//! Dates written for people: "7 June 2020", "June 7th, 2020", "juni 7, 2020", "7 de junio de
//! 2020", "7. Juni 2020", "29 июня 2020", "07.06.2020", "2020-06-07 10:30", "2020年6月7日",
//! "2020년 6월 7일", with a time of day and a stated offset ("GMT+10") when they follow. Day
//! first for numeric dates, as most of the world writes them, unless only the US order is a
//! valid date. Relative forms ("3 hours ago") are not read: gazette cannot tell from the page
//! when it was rendered, so they have no anchor.

use std::sync::OnceLock;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use regex::{Captures, Regex};

/// A date found in text, and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextDate {
    pub at: usize,
    pub naive: NaiveDateTime,
    /// Seconds east of UTC, when the text stated them ("GMT+10", "UTC-5").
    pub offset: Option<i32>,
    /// Whether a time of day was written (a date alone is midnight).
    pub has_time: bool,
}

/// Years a page date may have: the web's news starts in the mid-1990s, and a year far ahead is
/// a plan, not a publication date.
const YEARS: std::ops::RangeInclusive<i32> = 1995..=2100;

/// The time of day that may follow a date (matched where the date ends: one automaton for all
/// the date forms, built once).
const TIME: &str = r"^(?:,?\s*(?:at|à|a\s+las|às|um|alle|om|kl\.?|-|–|\|)?\s*([0-9]{1,2})[:h時시]([0-9]{2})(?::([0-9]{2}))?\s*([AaPp]\.?[Mm]\.?)?(?:\s*(?:GMT|UTC)\s*([+-])([0-9]{1,2})(?::?([0-9]{2}))?)?)?";

fn time_pattern() -> &'static Regex {
    static T: OnceLock<Regex> = OnceLock::new();
    T.get_or_init(|| Regex::new(TIME).unwrap_or_else(|e| unreachable!("static regex: {e}")))
}

fn patterns() -> &'static [(Regex, Order)] {
    static P: OnceLock<Vec<(Regex, Order)>> = OnceLock::new();
    P.get_or_init(|| {
        let build = |re: &str, order| {
            (
                Regex::new(re).unwrap_or_else(|e| unreachable!("static regex {re}: {e}")),
                order,
            )
        };
        vec![
            build(
                r"([0-9]{4})\s*[年년]\s*([0-9]{1,2})\s*[月월]\s*([0-9]{1,2})\s*[日일]",
                Order::Ymd,
            ),
            build(
                r"(?-u:\b)([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?:T|(?-u:\b))",
                Order::Ymd,
            ),
            build(
                r"(?-u:\b)([0-9]{1,2})[./-]([0-9]{1,2})[./-]([0-9]{4})(?-u:\b)",
                Order::Dmy,
            ),
            build(
                r"(?-u:\b)([0-9]{1,2})(?i:st|nd|rd|th|er)?\.?\s+(?i:de\s+)?([^\s0-9.,/()|:;!?<>\[\]]+)(?:\s*/\s*[^\s0-9.,/]+)?\.?,?\s+(?i:de\s+|del\s+)?([0-9]{4})(?-u:\b)",
                Order::DayName,
            ),
            build(
                r"([^\s0-9.,/()|:;!?<>\[\]]+)\.?\s+([0-9]{1,2})(?i:st|nd|rd|th)?,?\s+([0-9]{4})(?-u:\b)",
                Order::NameDay,
            ),
        ]
    })
}

#[derive(Debug, Clone, Copy)]
enum Order {
    Ymd,
    Dmy,
    DayName,
    NameDay,
}

/// The first date written in `text`.
pub fn first_date(text: &str) -> Option<TextDate> {
    let mut best: Option<TextDate> = None;
    for (re, order) in patterns() {
        // the search for this pattern can stop where the best so far starts
        let limit = best.map_or(text.len(), |b| b.at);
        for c in re.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            if m.start() >= limit {
                break;
            }
            // a month name is a whole word ("Plan 7, 2020" is not June)
            if text[..m.start()].ends_with(char::is_alphabetic) {
                continue;
            }
            let after = &text[m.end()..];
            let time = time_pattern()
                .captures(after)
                .filter(|t| t.get(1).is_some());
            if let Some(d) = read(&c, *order, after, time.as_ref()) {
                best = Some(TextDate { at: m.start(), ..d });
                break;
            }
        }
    }
    best
}

fn read(
    c: &Captures<'_>,
    order: Order,
    after: &str,
    time: Option<&Captures<'_>>,
) -> Option<TextDate> {
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let tnum = |i: usize| {
        time.and_then(|t| t.get(i))
            .and_then(|m| m.as_str().parse::<u32>().ok())
    };
    let (year, month, day) = match order {
        Order::Ymd => {
            // "2020/7/11-12" is a range of days and "2020.7.11.3" a version, not a date
            if after.starts_with(|ch: char| ch.is_ascii_digit())
                || (after.starts_with(['-', '/', '.'])
                    && after[1..].starts_with(|ch: char| ch.is_ascii_digit())
                    && time.is_none())
            {
                return None;
            }
            (num(1)?, num(2)?, num(3)?)
        }
        Order::Dmy => {
            let (a, b) = (num(1)?, num(2)?);
            let (day, month) = if b > 12 && a <= 12 { (b, a) } else { (a, b) };
            (num(3)?, month, day)
        }
        Order::DayName => (num(3)?, month_number(c.get(2)?.as_str())?, num(1)?),
        Order::NameDay => (num(3)?, month_number(c.get(1)?.as_str())?, num(2)?),
    };
    let year = i32::try_from(year).ok().filter(|y| YEARS.contains(y))?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let clock = match (tnum(1), tnum(2)) {
        (Some(h), Some(m)) => {
            let pm = time
                .and_then(|t| t.get(4))
                .map(|p| p.as_str().to_ascii_lowercase().starts_with('p'));
            let h = match pm {
                Some(true) if h < 12 => h + 12,
                Some(false) if h == 12 => 0,
                _ => h,
            };
            NaiveTime::from_hms_opt(h, m, tnum(3).unwrap_or(0))
        }
        _ => None,
    };
    let offset = time.and_then(|t| t.get(5)).and_then(|sign| {
        let hours = i32::try_from(tnum(6)?).ok()?;
        let minutes = i32::try_from(tnum(7).unwrap_or(0)).ok()?;
        let secs = hours * 3600 + minutes * 60;
        (hours <= 14 && clock.is_some()).then_some(if sign.as_str() == "-" { -secs } else { secs })
    });
    Some(TextDate {
        at: 0,
        naive: date.and_time(clock.unwrap_or(NaiveTime::MIN)),
        offset,
        has_time: clock.is_some(),
    })
}

/// Whether a lower-case word is a month's name or abbreviation ("june", "juin.", "июня").
pub fn is_month(word: &str) -> bool {
    month_number(word).is_some()
}

/// Month names and their usual abbreviations in the languages news is written in. (The
/// patterns match any run of non-space, non-digit, non-punctuation characters and leave the
/// rest to this lookup: a Unicode class such as `\p{L}` compiles to an automaton many times
/// larger, paid at every start of the program.)
fn month_number(name: &str) -> Option<u32> {
    if !(2..=12).contains(&name.chars().count()) {
        return None;
    }
    let name = name.to_lowercase();
    let name = name.trim_end_matches('.');
    MONTHS
        .iter()
        .enumerate()
        .find(|(_, names)| names.contains(&name))
        .and_then(|(i, _)| u32::try_from(i + 1).ok())
}

const MONTHS: [&[&str]; 12] = [
    &[
        "january",
        "jan",
        "enero",
        "ene",
        "janeiro",
        "gennaio",
        "gen",
        "janvier",
        "janv",
        "januar",
        "jän",
        "jänner",
        "januari",
        "janvāris",
        "январь",
        "января",
        "янв",
        "stycznia",
        "styczeń",
        "ocak",
        "siječnja",
        "siječanj",
        "sausio",
        "يناير",
        "كانون الثاني",
        "كانون الثاني",
        "ledna",
        "leden",
        "januára",
        "január",
        "ianuarie",
        "ιανουαρίου",
        "tammikuuta",
    ],
    &[
        "february",
        "feb",
        "febrero",
        "fevereiro",
        "fev",
        "febbraio",
        "février",
        "fevrier",
        "févr",
        "fevr",
        "februar",
        "februari",
        "февраль",
        "февраля",
        "фев",
        "lutego",
        "luty",
        "şubat",
        "veljače",
        "veljača",
        "vasario",
        "فبراير",
        "شباط",
        "února",
        "únor",
        "februára",
        "február",
        "februarie",
        "φεβρουαρίου",
        "helmikuuta",
    ],
    &[
        "march",
        "mar",
        "marzo",
        "março",
        "marco",
        "mars",
        "märz",
        "maerz",
        "mär",
        "mrt",
        "maart",
        "marts",
        "maret",
        "mart",
        "март",
        "марта",
        "marca",
        "marzec",
        "ožujka",
        "ožujak",
        "kovo",
        "مارس",
        "آذار",
        "března",
        "březen",
        "marca",
        "március",
        "martie",
        "μαρτίου",
        "maaliskuuta",
    ],
    &[
        "april",
        "apr",
        "abril",
        "abr",
        "aprile",
        "avril",
        "avr",
        "april",
        "апрель",
        "апреля",
        "апр",
        "kwietnia",
        "kwiecień",
        "nisan",
        "travnja",
        "travanj",
        "balandžio",
        "أبريل",
        "نيسان",
        "إبريل",
        "dubna",
        "duben",
        "apríla",
        "április",
        "aprilie",
        "απριλίου",
        "huhtikuuta",
    ],
    &[
        "may",
        "mayo",
        "maio",
        "maggio",
        "mai",
        "mei",
        "maj",
        "май",
        "мая",
        "maja",
        "mayıs",
        "svibnja",
        "svibanj",
        "gegužės",
        "مايو",
        "أيار",
        "května",
        "květen",
        "mája",
        "május",
        "mai",
        "μαΐου",
        "toukokuuta",
    ],
    &[
        "june",
        "jun",
        "junio",
        "junho",
        "giugno",
        "giu",
        "juin",
        "juni",
        "jun",
        "июнь",
        "июня",
        "июн",
        "czerwca",
        "czerwiec",
        "haziran",
        "lipnja",
        "lipanj",
        "birželio",
        "يونيو",
        "حزيران",
        "června",
        "červen",
        "júna",
        "június",
        "iunie",
        "ιουνίου",
        "kesäkuuta",
    ],
    &[
        "july",
        "jul",
        "julio",
        "julho",
        "luglio",
        "lug",
        "juillet",
        "juil",
        "juli",
        "jul",
        "июль",
        "июля",
        "июл",
        "lipca",
        "lipiec",
        "temmuz",
        "srpnja",
        "srpanj",
        "liepos",
        "يوليو",
        "تموز",
        "července",
        "červenec",
        "júla",
        "július",
        "iulie",
        "ιουλίου",
        "heinäkuuta",
    ],
    &[
        "august",
        "aug",
        "agosto",
        "ago",
        "août",
        "aout",
        "augustus",
        "augusti",
        "agustus",
        "avgust",
        "август",
        "августа",
        "авг",
        "sierpnia",
        "sierpień",
        "ağustos",
        "kolovoza",
        "kolovoz",
        "rugpjūčio",
        "أغسطس",
        "srpna",
        "srpen",
        "augusta",
        "augusztus",
        "august",
        "αυγούστου",
        "elokuuta",
    ],
    &[
        "september",
        "sep",
        "sept",
        "septiembre",
        "setiembre",
        "set",
        "setembro",
        "settembre",
        "septembre",
        "septembar",
        "сентябрь",
        "сентября",
        "сен",
        "września",
        "wrzesień",
        "eylül",
        "rujna",
        "rujan",
        "rugsėjo",
        "سبتمبر",
        "أيلول",
        "září",
        "septembra",
        "szeptember",
        "septembrie",
        "σεπτεμβρίου",
        "syyskuuta",
    ],
    &[
        "october",
        "oct",
        "octubre",
        "outubro",
        "out",
        "ottobre",
        "ott",
        "octobre",
        "oktober",
        "okt",
        "oktobar",
        "октябрь",
        "октября",
        "окт",
        "października",
        "październik",
        "ekim",
        "spalio",
        "أكتوبر",
        "října",
        "říjen",
        "októbra",
        "október",
        "octombrie",
        "οκτωβρίου",
        "lokakuuta",
    ],
    &[
        "november",
        "nov",
        "noviembre",
        "novembro",
        "novembre",
        "novembar",
        "ноябрь",
        "ноября",
        "ноя",
        "listopada",
        "listopad",
        "kasım",
        "studenoga",
        "studeni",
        "lapkričio",
        "نوفمبر",
        "listopadu",
        "novembra",
        "noiembrie",
        "νοεμβρίου",
        "marraskuuta",
    ],
    &[
        "december",
        "dec",
        "diciembre",
        "dic",
        "dezembro",
        "dez",
        "dicembre",
        "décembre",
        "decembre",
        "déc",
        "dezember",
        "desember",
        "decembar",
        "декабрь",
        "декабря",
        "дек",
        "grudnia",
        "grudzień",
        "aralık",
        "prosinca",
        "prosinac",
        "gruodžio",
        "ديسمبر",
        "prosince",
        "decembra",
        "december",
        "decembrie",
        "δεκεμβρίου",
        "joulukuuta",
    ],
];

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Option<String> {
        first_date(text).map(|d| {
            let mut s = d.naive.format("%Y-%m-%d %H:%M").to_string();
            if let Some(o) = d.offset {
                s.push_str(&format!(" {o:+}"));
            }
            s
        })
    }

    #[test]
    fn dates_as_people_write_them() {
        let cases = [
            ("Published 7 June 2020", Some("2020-06-07 00:00")),
            ("June 7th, 2020 at 3:45 pm", Some("2020-06-07 15:45")),
            ("Jan. 16, 2020", Some("2020-01-16 00:00")),
            ("juni 7, 2020", Some("2020-06-07 00:00")),
            ("Mié, 15 de Abril de 2020", Some("2020-04-15 00:00")),
            ("Publié le 7 juin 2020 à 10h30", Some("2020-06-07 10:30")),
            ("Berlin, 7. Juni 2020", Some("2020-06-07 00:00")),
            ("29 июня 2020, 00:16", Some("2020-06-29 00:16")),
            ("7 października 2020", Some("2020-10-07 00:00")),
            ("7 أكتوبر 2020", Some("2020-10-07 00:00")),
            // the Levantine and the Egyptian name side by side
            (
                "الجمعة 24 نيسان / أبريل 2020 09:22",
                Some("2020-04-24 09:22"),
            ),
            ("07.06.2020", Some("2020-06-07 00:00")),
            ("22/11/2020 - 04:30 - Fonte", Some("2020-11-22 04:30")),
            ("05/24/2020", Some("2020-05-24 00:00")),
            ("2020-06-07 10:30:15", Some("2020-06-07 10:30")),
            ("2020/6/7", Some("2020-06-07 00:00")),
            ("2020年6月7日 10:30", Some("2020-06-07 10:30")),
            ("2020年07月12日  |  ", Some("2020-07-12 00:00")),
            ("2020년 6월 7일", Some("2020-06-07 00:00")),
            ("13 Jan 2020, 22:11 GMT+10", Some("2020-01-13 22:11 +36000")),
            // the earliest date wins, whatever its form
            ("7 June 2020, updated 2020-06-09", Some("2020-06-07 00:00")),
            // not dates
            (
                "(2020/7/11-12, 18 horses) 2020年07月12日",
                Some("2020-07-12 00:00"),
            ),
            ("version 2020.7.11.3", None),
            ("Since 12.03.1987", None),
            ("31 February 2020", None),
            ("7 Smith 2020", None),
            ("3 hours ago", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(found(text).as_deref(), want, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_finds_only_real_days(s in "[0-9a-zA-Zéü年月日년월일 ./:,-]{0,80}") {
            if let Some(d) = first_date(&s) {
                proptest::prop_assert!(YEARS.contains(&chrono::Datelike::year(&d.naive)));
                proptest::prop_assert!(s.is_char_boundary(d.at));
            }
        }
    }
}
