//! The period of a cron schedule: the longest gap between two of its runs, so
//! that a backup older than that (plus a grace) is late whatever the time of day.
//! Durations are read and written by [`vitals_plugin::units`].

use vitals_plugin::units::parse_duration;

/// How much longer than its period a schedule in a time zone with daylight
/// saving time can leave between two runs: the hour the clocks go back.
pub const TIME_ZONE_SLACK: f64 = 3600.0;

/// How many days from 2024-01-01 (a Monday; a leap year) the runs are looked for:
/// two years, so that every gap of a schedule that runs at least once a year is
/// seen, the one over the turn of the year included.
const WINDOW_DAYS: i64 = 731;

/// The longest gap, in seconds, between two runs of a cron schedule as Velero
/// (and K3s/RKE2) read it (robfig/cron's standard parser): five fields
/// `min hour dom month dow` with `*`, `?`, lists, ranges, steps and month and
/// day names, or a descriptor (`@hourly`, `@daily`, `@every 6h`, ...).
///
/// A `CRON_TZ=`/`TZ=` prefix runs the schedule in that time zone, where a day
/// can have 25 hours when daylight saving time ends: unless the zone is UTC,
/// the period is [`TIME_ZONE_SLACK`] (an hour) longer. A schedule that runs on
/// one day only in two years (`0 0 29 2 *`) is refused: its period cannot be
/// judged, set a maximum age instead.
pub fn cron_period(expr: &str) -> Result<f64, String> {
    let mut e = expr.trim();
    let mut slack = 0.0;
    if let Some(tz) = e.strip_prefix("CRON_TZ=").or_else(|| e.strip_prefix("TZ=")) {
        let (zone, rest) = tz.split_once(' ').unwrap_or((tz, ""));
        e = rest.trim();
        if !matches!(
            zone,
            "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Zulu" | "Etc/Zulu"
        ) {
            slack = TIME_ZONE_SLACK;
        }
    }
    if let Some(every) = e.strip_prefix("@every ") {
        // A fixed interval, whatever the time zone.
        let d = parse_duration(every)?;
        return if d >= 1.0 {
            Ok(d)
        } else {
            Err(format!("@every {every}: too short"))
        };
    }
    let fields = match e {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other if other.starts_with('@') => return Err(format!("unknown descriptor {other}")),
        other => other,
    };
    let f: Vec<&str> = fields.split_whitespace().collect();
    if f.len() != 5 {
        return Err(format!(
            "{} fields, expected 5 (minute hour day-of-month month day-of-week)",
            f.len()
        ));
    }
    const MONTHS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let minutes = field(f[0], 0, 59, &[], "minute")?;
    let hours = field(f[1], 0, 23, &[], "hour")?;
    let dom = field(f[2], 1, 31, &[], "day of month")?;
    let months = field(f[3], 1, 12, MONTHS, "month")?;
    let mut dow = field(f[4], 0, 7, DAYS, "day of week")?;
    if dow.set & (1 << 7) != 0 {
        dow.set |= 1; // 7 is Sunday too
    }
    // The runs of one day, in minutes since midnight.
    let times: Vec<i64> = (0..24)
        .filter(|h| hours.set & (1 << h) != 0)
        .flat_map(|h| {
            (0..60)
                .filter(move |m| minutes.set & (1u64 << m) != 0)
                .map(move |m| h * 60 + m)
        })
        .collect();
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return Err("it never runs".into());
    };
    let mut gap = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    // With robfig's rule: day of month and day of week both restricted means either.
    let runs_on = |day: i64| {
        let (_, month, mday) = civil(19_723 + day);
        let wday = (day + 1) % 7;
        let dom_ok = dom.set & (1 << mday) != 0;
        let dow_ok = dow.set & (1 << wday) != 0;
        let day_ok = if dom.star || dow.star {
            dom_ok && dow_ok
        } else {
            dom_ok || dow_ok
        };
        months.set & (1 << month) != 0 && day_ok
    };
    let days: Vec<i64> = (0..WINDOW_DAYS).filter(|d| runs_on(*d)).collect();
    match days.len() {
        0 => return Err("it never runs".into()),
        1 => {
            return Err("it runs too rarely to judge, on one day in two years".into());
        }
        _ => {}
    }
    // The gaps between run days, and the one from the window's last run day to
    // the next one after the window (its first day again, a year on).
    let after = (WINDOW_DAYS..WINDOW_DAYS + 366).find(|d| runs_on(*d));
    for (a, b) in days.windows(2).map(|w| (w[0], w[1])).chain(
        after
            .into_iter()
            .map(|next| (*days.last().unwrap_or(&0), next)),
    ) {
        gap = gap.max((b - a) * 1440 + first - last);
    }
    Ok(gap as f64 * 60.0 + slack)
}

/// The values a cron field allows, as a bit set; `star` when it is `*` or `?`.
struct Field {
    set: u64,
    star: bool,
}

fn field(text: &str, min: u32, max: u32, names: &[&str], what: &str) -> Result<Field, String> {
    let bad = |why: &str| format!("{what} field {text:?}: {why}");
    let value = |s: &str| -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + if names.len() == 12 { 1 } else { 0 });
        }
        let v: u32 = s
            .parse()
            .map_err(|_| bad(&format!("{s:?} is not a value")))?;
        if v < min || v > max {
            return Err(bad(&format!("{v} is outside {min}-{max}")));
        }
        Ok(v)
    };
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| bad("a step is not a number"))?;
                if step == 0 {
                    return Err(bad("a step of 0"));
                }
                (r, Some(step))
            }
            None => (part, None),
        };
        let (lo, hi) = match range {
            "*" | "?" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `a/n` runs from a to the end, as in robfig/cron.
                None if step.is_some() => (value(r)?, max),
                None => {
                    let v = value(r)?;
                    (v, v)
                }
            },
        };
        if lo > hi {
            return Err(bad(&format!("the range {lo}-{hi} is empty")));
        }
        let mut v = lo;
        while v <= hi {
            set |= 1 << v;
            v += step.unwrap_or(1);
        }
    }
    Ok(Field {
        set,
        star: text == "*" || text == "?",
    })
}

/// (year, month, day) of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub(crate) fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_schedules() {
        let h = 3600.0;
        assert_eq!(cron_period("@every 6h"), Ok(6.0 * h));
        assert_eq!(cron_period("@every 1h30m"), Ok(1.5 * h));
        assert_eq!(cron_period("@daily"), Ok(24.0 * h));
        assert_eq!(cron_period("@hourly"), Ok(h));
        assert_eq!(cron_period("@weekly"), Ok(7.0 * 24.0 * h));
        assert_eq!(cron_period("0 */6 * * *"), Ok(6.0 * h));
        assert_eq!(cron_period("0 3 * * *"), Ok(24.0 * h));
        assert_eq!(cron_period("*/15 * * * *"), Ok(900.0));
        assert_eq!(cron_period("30 1,13 * * *"), Ok(12.0 * h));
        // Uneven: 02:00 and 08:00 leave 18 hours to the next 02:00.
        assert_eq!(cron_period("0 2,8 * * *"), Ok(18.0 * h));
    }

    #[test]
    fn a_time_zone_with_daylight_saving_time_adds_an_hour() {
        let h = 3600.0;
        // 03:00 in Berlin: 25 hours apart when the clocks go back in October.
        assert_eq!(cron_period("CRON_TZ=Europe/Berlin 0 3 * * *"), Ok(25.0 * h));
        assert_eq!(cron_period("TZ=America/New_York 0 */6 * * *"), Ok(7.0 * h));
        assert_eq!(cron_period("CRON_TZ=UTC 0 3 * * *"), Ok(24.0 * h));
        assert_eq!(cron_period("CRON_TZ=Etc/UTC @daily"), Ok(24.0 * h));
        // A fixed interval does not care.
        assert_eq!(cron_period("CRON_TZ=Europe/Berlin @every 6h"), Ok(6.0 * h));
        assert!(cron_period("CRON_TZ=Europe/Berlin").is_err());
    }

    #[test]
    fn a_schedule_that_runs_on_one_day_in_years_is_not_judged() {
        for rare in ["0 0 29 2 *", "*/15 * 29 2 *", "0 */6 29 feb ?"] {
            let e = cron_period(rare).unwrap_err();
            assert!(e.contains("runs too rarely to judge"), "{rare}: {e}");
        }
        // Twice in the window (the 28th of February is every year): a year,
        // over the 29th in 2024.
        assert_eq!(cron_period("0 0 28 2 *"), Ok(366.0 * 86400.0));
        // The 29th of every month: February 2025 has none.
        assert_eq!(cron_period("0 0 29 * *"), Ok(59.0 * 86400.0));
        // The gap after the window's last run counts too: the last Sunday of
        // 2025 is the 28th of December, the next the 4th of January.
        assert_eq!(cron_period("0 0 * * sun"), Ok(7.0 * 86400.0));
        assert_eq!(cron_period("0 0 * dec *"), Ok(335.0 * 86400.0));
    }

    #[test]
    fn weekdays_months_and_names() {
        let day = 86400.0;
        // Monday to Friday at 01:00: Friday to Monday is three days.
        assert_eq!(cron_period("0 1 * * 1-5"), Ok(3.0 * day));
        assert_eq!(cron_period("0 1 * * MON-FRI"), Ok(3.0 * day));
        assert_eq!(cron_period("0 0 * * 0"), Ok(7.0 * day));
        assert_eq!(cron_period("0 0 * * 7"), Ok(7.0 * day));
        // The 1st of every month: at most 31 days apart.
        assert_eq!(cron_period("0 0 1 * *"), Ok(31.0 * day));
        assert_eq!(cron_period("@monthly"), Ok(31.0 * day));
        // Both day fields restricted: either matches (the 15th or any Sunday).
        let p = cron_period("0 0 15 * SUN").unwrap();
        assert!(p <= 7.0 * day, "{p}");
        assert_eq!(cron_period("0 0 1 jan *"), Ok(366.0 * day));
    }

    #[test]
    fn what_is_not_a_schedule() {
        for bad in [
            "",
            "0 3 * *",
            "0 3 * * * *",
            "61 * * * *",
            "0 24 * * *",
            "0 */0 * * *",
            "x * * * *",
            "@fortnightly",
            "@every soon",
            "0 0 31 2 *",
            "5-1 * * * *",
        ] {
            assert!(cron_period(bad).is_err(), "{bad:?}: {:?}", cron_period(bad));
        }
    }
}
