//! Durations as people write and read them: [`parse_duration`] reads a
//! parameter such as `"6h"` or `"1h30m"`, [`human`] writes an age such as
//! `6h48m` into a finding.

/// Seconds of a duration such as `90s`, `45m`, `6h`, `1d`, `2w`, `1h30m` or
/// `1.5h` (Go's units plus `d` and `w`; `ms` and smaller are refused as
/// meaningless for a check). The error says what is wrong, without naming the
/// parameter: callers prefix its name.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("an empty duration".into());
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?} is not a duration such as \"6h\" or \"1h30m\""))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "w" => 7.0 * 86400.0,
            _ => {
                return Err(format!(
                    "{text:?} is not a duration such as \"6h\" or \"1h30m\" (units s, m, h, d, w)"
                ));
            }
        };
        rest = &rest[unit_len..];
        total += number * unit;
    }
    Ok(total)
}

/// A duration for people, in its two largest units (the smaller one left out
/// when it is 0), truncated: `42s`, `1m35s`, `2m`, `6h`, `6h48m`, `2d`, `2d3h`,
/// `279d5h`. Negative durations are `0s`.
pub fn human(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    let (d, h, m, sec) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit}{small}{small_unit}")
        }
    };
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, m) => two(m, "m", sec, "s"),
        (0, h, m) => two(h, "h", m, "m"),
        (d, h, _) => two(d, "d", h, "h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read() {
        assert_eq!(parse_duration("90s"), Ok(90.0));
        assert_eq!(parse_duration("6h"), Ok(21600.0));
        assert_eq!(parse_duration(" 6h "), Ok(21600.0));
        assert_eq!(parse_duration("1h30m"), Ok(5400.0));
        assert_eq!(parse_duration("1.5h"), Ok(5400.0));
        assert_eq!(parse_duration("2d"), Ok(172_800.0));
        assert_eq!(parse_duration("1d12h"), Ok(129_600.0));
        assert_eq!(parse_duration("2w"), Ok(1_209_600.0));
        assert_eq!(parse_duration("0h"), Ok(0.0));
    }

    #[test]
    fn what_is_not_a_duration_says_so() {
        for bad in ["", "6", "h", "6x", "1h-", "6 h", "10ms", "a month", "1..5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("  "), Err("an empty duration".into()));
        assert_eq!(
            parse_duration("an hour"),
            Err("\"an hour\" is not a duration such as \"6h\" or \"1h30m\"".into())
        );
        assert_eq!(
            parse_duration("6x"),
            Err(
                "\"6x\" is not a duration such as \"6h\" or \"1h30m\" (units s, m, h, d, w)".into()
            )
        );
    }

    #[test]
    fn durations_for_people_in_two_units() {
        assert_eq!(human(0.0), "0s");
        assert_eq!(human(-5.0), "0s");
        assert_eq!(human(42.0), "42s");
        assert_eq!(human(42.9), "42s");
        assert_eq!(human(95.0), "1m35s");
        assert_eq!(human(120.0), "2m");
        assert_eq!(human(3363.0), "56m3s");
        assert_eq!(human(3600.0), "1h");
        assert_eq!(human(5400.0), "1h30m");
        assert_eq!(human(21600.0), "6h");
        // Seconds are left out from an hour on, minutes from a day on.
        assert_eq!(human(6.0 * 3600.0 + 48.0 * 60.0 + 59.0), "6h48m");
        assert_eq!(human(25.0 * 3600.0), "1d1h");
        assert_eq!(human(2.0 * 86400.0 + 7200.0 + 1800.0), "2d2h");
        assert_eq!(human(30.0 * 86400.0), "30d");
        assert_eq!(human(279.0 * 86400.0 + 5.0 * 3600.0 + 7.0), "279d5h");
    }
}
