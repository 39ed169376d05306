//! The zone a page is written for, when the source's config names none. Pages often write their
//! machine dates in UTC ("…T23:15:00Z") while their readers live in one country; the day such a
//! page means is the day in that country. Evidence, strongest first: an offset another date on
//! the page states, then the country of the host's country-code domain, then the region of the
//! page's declared locale (`og:locale`, `<html lang>`). Without evidence the zone is UTC.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Where a page's dates are read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SiteZone {
    /// The source's configured zone: authoritative.
    Configured(Tz),
    /// An offset another date on the page stated.
    Offset(FixedOffset),
    /// The zones of the country the page is written for, the most populous first.
    Country(&'static [Tz]),
    /// No evidence.
    Utc,
}

impl SiteZone {
    /// The named zone dates without an offset are read in.
    pub fn naive_zone(&self) -> Tz {
        match self {
            Self::Configured(tz) => *tz,
            Self::Country(zones) => zones.first().copied().unwrap_or(Tz::UTC),
            Self::Offset(_) | Self::Utc => Tz::UTC,
        }
    }

    /// Wall-clock time on this page, for a date written without an offset.
    pub fn resolve_naive(&self, naive: &NaiveDateTime) -> Option<DateTime<FixedOffset>> {
        match self {
            Self::Offset(o) => o.from_local_datetime(naive).single(),
            _ => {
                let tz = self.naive_zone();
                crate::parse::dates::in_zone(tz, naive)
                    .map(|utc| utc.with_timezone(&tz).fixed_offset())
            }
        }
    }

    /// A moment the page stated in UTC, as its readers' clocks showed it. For a country with
    /// several zones only when the day is the same in all of them; otherwise it stays UTC (a
    /// guessed day is worse than the UTC one).
    pub fn express(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        match self {
            Self::Configured(tz) => at.with_timezone(tz).fixed_offset(),
            Self::Offset(o) => at.with_timezone(o),
            Self::Country(zones) => {
                let days: Vec<_> = zones
                    .iter()
                    .map(|z| at.with_timezone(z).date_naive())
                    .collect();
                match zones.first() {
                    Some(main) if days.windows(2).all(|w| w[0] == w[1]) => {
                        at.with_timezone(main).fixed_offset()
                    }
                    _ => at.fixed_offset(),
                }
            }
            Self::Utc => at.fixed_offset(),
        }
    }
}

/// The zone of a page of `host` whose declared locale is `locale` ("en_US", "fr-CA") and whose
/// other dates stated `offsets` (seconds east of UTC, in page order).
pub fn site_zone(
    configured: Option<Tz>,
    offsets: &[i32],
    host: Option<&str>,
    locale: Option<&str>,
) -> SiteZone {
    if let Some(tz) = configured {
        return SiteZone::Configured(tz);
    }
    if let Some(o) = offsets
        .iter()
        .find(|o| **o != 0)
        .and_then(|o| FixedOffset::east_opt(*o))
    {
        return SiteZone::Offset(o);
    }
    let from_host = host
        .and_then(|h| h.trim_end_matches('.').rsplit('.').next())
        .filter(|tld| tld.len() == 2)
        .and_then(country_zones);
    // a generic domain: the locale's region ("en_US", "es-MX"), if it names one
    let from_locale = || {
        locale
            .and_then(|l| l.split(['_', '-']).nth(1))
            .filter(|r| r.len() == 2)
            .and_then(country_zones)
    };
    match from_host.or_else(from_locale) {
        Some(zones) => SiteZone::Country(zones),
        None => SiteZone::Utc,
    }
}

/// The zones of a country (ISO 3166 code, which is also its domain), the most populous first,
/// with the others that bound its range of offsets. Countries whose news gazette is likely to
/// read; one zone where a country keeps one clock.
fn country_zones(code: &str) -> Option<&'static [Tz]> {
    use chrono_tz::{
        Africa, America, Asia, Atlantic, Australia, Europe, Indian, Pacific,
        Tz::Canada__Newfoundland,
    };
    let code = code.to_ascii_lowercase();
    let zones: &'static [Tz] = match code.as_str() {
        "us" => &[
            America::New_York,
            America::Chicago,
            America::Denver,
            America::Los_Angeles,
        ],
        "ca" => &[
            America::Toronto,
            Canada__Newfoundland,
            America::Halifax,
            America::Winnipeg,
            America::Edmonton,
            America::Vancouver,
        ],
        "mx" => &[America::Mexico_City, America::Cancun, America::Tijuana],
        "br" => &[America::Sao_Paulo, America::Manaus, America::Noronha],
        "ar" => &[America::Argentina::Buenos_Aires],
        "cl" => &[America::Santiago],
        "co" => &[America::Bogota],
        "pe" => &[America::Lima],
        "ve" => &[America::Caracas],
        "ec" => &[America::Guayaquil],
        "uy" => &[America::Montevideo],
        "py" => &[America::Asuncion],
        "bo" => &[America::La_Paz],
        "cu" => &[America::Havana],
        "do" => &[America::Santo_Domingo],
        "gt" => &[America::Guatemala],
        "cr" => &[America::Costa_Rica],
        "pa" => &[America::Panama],
        "sv" => &[America::El_Salvador],
        "hn" => &[America::Tegucigalpa],
        "ni" => &[America::Managua],
        "pr" => &[America::Puerto_Rico],
        "jm" => &[America::Jamaica],
        "uk" | "gb" => &[Europe::London],
        "ie" => &[Europe::Dublin],
        "pt" => &[Europe::Lisbon, Atlantic::Azores],
        "es" => &[Europe::Madrid, Atlantic::Canary],
        "fr" => &[Europe::Paris],
        "be" => &[Europe::Brussels],
        "nl" => &[Europe::Amsterdam],
        "lu" => &[Europe::Luxembourg],
        "de" => &[Europe::Berlin],
        "at" => &[Europe::Vienna],
        "ch" => &[Europe::Zurich],
        "it" => &[Europe::Rome],
        "dk" => &[Europe::Copenhagen],
        "no" => &[Europe::Oslo],
        "se" => &[Europe::Stockholm],
        "fi" => &[Europe::Helsinki],
        "is" => &[Atlantic::Reykjavik],
        "pl" => &[Europe::Warsaw],
        "cz" => &[Europe::Prague],
        "sk" => &[Europe::Bratislava],
        "hu" => &[Europe::Budapest],
        "si" => &[Europe::Ljubljana],
        "hr" => &[Europe::Zagreb],
        "ba" => &[Europe::Sarajevo],
        "rs" => &[Europe::Belgrade],
        "me" => &[Europe::Podgorica],
        "mk" => &[Europe::Skopje],
        "al" => &[Europe::Tirane],
        "gr" => &[Europe::Athens],
        "bg" => &[Europe::Sofia],
        "ro" => &[Europe::Bucharest],
        "md" => &[Europe::Chisinau],
        "ua" => &[Europe::Kyiv],
        "by" => &[Europe::Minsk],
        "lt" => &[Europe::Vilnius],
        "lv" => &[Europe::Riga],
        "ee" => &[Europe::Tallinn],
        "ru" => &[
            Europe::Moscow,
            Europe::Kaliningrad,
            Asia::Yekaterinburg,
            Asia::Novosibirsk,
            Asia::Vladivostok,
        ],
        "tr" => &[Europe::Istanbul],
        "cy" => &[Asia::Nicosia],
        "il" => &[Asia::Jerusalem],
        "ps" => &[Asia::Gaza],
        "lb" => &[Asia::Beirut],
        "jo" => &[Asia::Amman],
        "sy" => &[Asia::Damascus],
        "iq" => &[Asia::Baghdad],
        "ir" => &[Asia::Tehran],
        "sa" => &[Asia::Riyadh],
        "ae" => &[Asia::Dubai],
        "qa" => &[Asia::Qatar],
        "kw" => &[Asia::Kuwait],
        "bh" => &[Asia::Bahrain],
        "om" => &[Asia::Muscat],
        "ye" => &[Asia::Aden],
        "eg" => &[Africa::Cairo],
        "ly" => &[Africa::Tripoli],
        "tn" => &[Africa::Tunis],
        "dz" => &[Africa::Algiers],
        "ma" => &[Africa::Casablanca],
        "ng" => &[Africa::Lagos],
        "gh" => &[Africa::Accra],
        "ke" => &[Africa::Nairobi],
        "tz" => &[Africa::Dar_es_Salaam],
        "ug" => &[Africa::Kampala],
        "et" => &[Africa::Addis_Ababa],
        "za" => &[Africa::Johannesburg],
        "zw" => &[Africa::Harare],
        "sn" => &[Africa::Dakar],
        "ci" => &[Africa::Abidjan],
        "cm" => &[Africa::Douala],
        "pk" => &[Asia::Karachi],
        "af" => &[Asia::Kabul],
        "in" => &[Asia::Kolkata],
        "np" => &[Asia::Kathmandu],
        "bd" => &[Asia::Dhaka],
        "lk" => &[Asia::Colombo],
        "mm" => &[Asia::Yangon],
        "th" => &[Asia::Bangkok],
        "vn" => &[Asia::Ho_Chi_Minh],
        "kh" => &[Asia::Phnom_Penh],
        "my" => &[Asia::Kuala_Lumpur],
        "sg" => &[Asia::Singapore],
        "id" => &[Asia::Jakarta, Asia::Makassar, Asia::Jayapura],
        "ph" => &[Asia::Manila],
        "cn" => &[Asia::Shanghai],
        "hk" => &[Asia::Hong_Kong],
        "mo" => &[Asia::Macau],
        "tw" => &[Asia::Taipei],
        "kr" => &[Asia::Seoul],
        "jp" => &[Asia::Tokyo],
        "mn" => &[Asia::Ulaanbaatar],
        "kz" => &[Asia::Almaty, Asia::Aqtobe],
        "uz" => &[Asia::Tashkent],
        "ge" => &[Asia::Tbilisi],
        "am" => &[Asia::Yerevan],
        "az" => &[Asia::Baku],
        "au" => &[
            Australia::Sydney,
            Australia::Brisbane,
            Australia::Adelaide,
            Australia::Perth,
        ],
        "nz" => &[Pacific::Auckland],
        "fj" => &[Pacific::Fiji],
        "mu" => &[Indian::Mauritius],
        _ => return None,
    };
    Some(zones)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zone_a_page_is_written_for() {
        use chrono_tz::{America, Asia, Europe};
        type Case = (
            Option<Tz>,
            &'static [i32],
            Option<&'static str>,
            Option<&'static str>,
            SiteZone,
        );
        let cases: [Case; 7] = [
            // the config decides
            (
                Some(Asia::Shanghai),
                &[3600],
                Some("x.it"),
                None,
                SiteZone::Configured(Asia::Shanghai),
            ),
            // another date on the page stated its offset
            (
                None,
                &[0, 19800],
                Some("x.com"),
                None,
                SiteZone::Offset(FixedOffset::east_opt(19800).unwrap()),
            ),
            (
                None,
                &[],
                Some("www.lagazzetta.it"),
                Some("en_US"),
                SiteZone::Country(&[Europe::Rome]),
            ),
            (
                None,
                &[],
                Some("abc7ny.com"),
                Some("en_US"),
                SiteZone::Country(&[
                    America::New_York,
                    America::Chicago,
                    America::Denver,
                    America::Los_Angeles,
                ]),
            ),
            (None, &[], Some("example.com"), Some("en"), SiteZone::Utc),
            (None, &[], Some("example.com"), None, SiteZone::Utc),
            (None, &[], None, Some("xx_ZZ"), SiteZone::Utc),
        ];
        for (configured, offsets, host, locale, want) in cases {
            assert_eq!(
                site_zone(configured, offsets, host, locale),
                want,
                "{host:?} {locale:?}"
            );
        }
    }

    #[test]
    fn a_utc_moment_is_shown_on_its_readers_day_only_when_every_zone_agrees() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let us = site_zone(None, &[], Some("abc7ny.com"), None);
        let us = match us {
            SiteZone::Utc => site_zone(None, &[], Some("x.com"), Some("en_US")),
            z => z,
        };
        // 02:54 UTC is the evening before everywhere in the lower 48
        assert_eq!(
            us.express(at("2020-05-02T02:54:29Z")).to_rfc3339(),
            "2020-05-01T22:54:29-04:00"
        );
        // 06:30 UTC is the 2nd in New York but the 1st in Los Angeles: UTC stays
        assert_eq!(
            us.express(at("2020-05-02T06:30:00Z")).to_rfc3339(),
            "2020-05-02T06:30:00+00:00"
        );
        let it = site_zone(None, &[], Some("lagazzettadelmezzogiorno.it"), None);
        assert_eq!(
            it.express(at("2020-12-05T23:15:00Z")).to_rfc3339(),
            "2020-12-06T00:15:00+01:00"
        );
        assert_eq!(
            SiteZone::Utc
                .express(at("2020-12-05T23:15:00Z"))
                .to_rfc3339(),
            "2020-12-05T23:15:00+00:00"
        );
    }
}
