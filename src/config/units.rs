//! Human-friendly durations ("90s", "30m", "1h", "2d") and sizes ("512KiB", "10MiB") as written in
//! `feeds.toml`. Pure parsing; the caller attaches file/line context to errors.

use std::time::Duration;

/// Parses a duration such as `90s`, `30m`, `1h`, `2d`, `1w` or a compound `1h30m`.
///
/// A bare number is rejected on purpose: `interval = 30` is ambiguous (seconds? minutes?).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration (write e.g. \"90s\", \"30m\", \"1h\", \"2d\")".into());
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "invalid duration {text:?} (write e.g. \"90s\", \"30m\", \"1h\", \"2d\")"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: number too large"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let millis_per: u64 = match unit {
            "ms" => 1,
            "s" | "sec" | "secs" => 1_000,
            "m" | "min" | "mins" => 60_000,
            "h" | "hr" | "hrs" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            "w" | "week" | "weeks" => 604_800_000,
            "" => {
                return Err(format!(
                    "invalid duration {text:?}: missing unit (write e.g. \"{n}s\" or \"{n}m\")"
                ));
            }
            other => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {other:?} (use ms, s, m, h, d or w)"
                ));
            }
        };
        total = n
            .checked_mul(millis_per)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("invalid duration {text:?}: too large"))?;
        rest = rest[unit_len..].trim_start();
    }
    Ok(Duration::from_millis(total))
}

/// Parses a size such as `512KiB`, `10MiB`, `1GB` or a plain byte count `4096`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let digits = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    if digits == 0 {
        return Err(format!(
            "invalid size {text:?} (write e.g. \"512KiB\" or \"10MiB\")"
        ));
    }
    let n: f64 = s[..digits]
        .parse()
        .map_err(|_| format!("invalid size {text:?} (write e.g. \"512KiB\" or \"10MiB\")"))?;
    let unit = s[digits..].trim();
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "invalid size {text:?}: unknown unit {unit:?} (use B, KiB, MiB, GiB, KB, MB or GB)"
            ));
        }
    };
    let bytes = n * mult;
    if !bytes.is_finite() || !(1.0..=1e15).contains(&bytes) {
        return Err(format!("invalid size {text:?}: out of range"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("90s", 90),
            ("30m", 1800),
            ("1h", 3600),
            ("2d", 172_800),
            ("1h30m", 5400),
            (" 1w ", 604_800),
        ];
        for (input, secs) in ok {
            assert_eq!(
                parse_duration(input),
                Ok(Duration::from_secs(secs)),
                "{input}"
            );
        }
        for bad in [
            "",
            "30",
            "h",
            "5 parsecs",
            "-1h",
            "1.5h",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn sizes() {
        let ok = [
            ("512KiB", 512 * 1024),
            ("10MiB", 10 * 1024 * 1024),
            ("1GB", 1_000_000_000),
            ("4096", 4096),
            ("1.5MiB", 1_572_864),
        ];
        for (input, bytes) in ok {
            assert_eq!(parse_size(input), Ok(bytes), "{input}");
        }
        for bad in ["", "MiB", "10 parsecs", "0", "-5KiB"] {
            assert!(parse_size(bad).is_err(), "{bad} should be rejected");
        }
    }
}
