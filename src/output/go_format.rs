//! Text as the Go tools berth mirrors print it: Go's `time.Time` and
//! `strconv.Quote`, go-units' human durations and sizes, docker/cli's
//! ellipsis. `ps --format json` prints compose's fields with them, so that
//! scripts written against compose read berth's output unchanged. Pure but
//! for [`local_zone`], which asks the C library for the local time zone.

/// A time zone offset and its abbreviation, for a container's creation time (`ps --format json`'s `CreatedAt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub offset_secs: i64,
    pub name: String,
}

/// docker/cli's `Ellipsis` for text of one-column characters: cut to `max`
/// characters, the last one `…`.
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Go's `strconv.Quote`: double quotes, with `"`, `\` and control
/// characters escaped.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `time.Time.String()` of a whole second: `2006-01-02 15:04:05 -0700
/// MST`.
pub fn go_time(secs: i64, zone: &Zone) -> String {
    let local = secs + zone.offset_secs;
    let (days, rem) = (local.div_euclid(86400), local.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    let sign = if zone.offset_secs < 0 { '-' } else { '+' };
    let off = zone.offset_secs.abs();
    let offset = format!("{sign}{:02}{:02}", off / 3600, off % 3600 / 60);
    // Go prints the offset again where the zone has no abbreviation.
    let name = if zone.name.is_empty() {
        offset.clone()
    } else {
        zone.name.clone()
    };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} {offset} {name}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The local time zone at an instant, as the C library reads `TZ` and
/// `/etc/localtime` (Go reads the same two).
pub fn local_zone(secs: i64) -> Zone {
    let t: libc::time_t = secs as libc::time_t;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe extern "C" {
        // POSIX; the libc crate does not declare it.
        fn tzset();
    }
    // SAFETY: tzset reads TZ; localtime_r writes only into `tm`, whose
    // tm_zone then points at the C library's static zone names.
    let ok = unsafe {
        tzset();
        !libc::localtime_r(&t, &mut tm).is_null()
    };
    if !ok {
        return Zone {
            offset_secs: 0,
            name: "UTC".into(),
        };
    }
    let name = if tm.tm_zone.is_null() {
        String::new()
    } else {
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    Zone {
        offset_secs: tm.tm_gmtoff,
        name,
    }
}

/// go-units' `HumanDuration` of a number of seconds: `Less than a second`,
/// `1 second`, `7 seconds`, `About a minute`, `5 minutes`, `About an
/// hour`, `3 hours`, `4 days`, `3 weeks`, `5 months`, `2 years`.
pub fn human_duration(secs: i64) -> String {
    let secs = secs.max(0);
    let minutes = secs / 60;
    // go-units rounds hours, and truncates everything else.
    let hours = (secs + 1800) / 3600;
    match secs {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..60 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", secs / 3600 / 24 / 365),
    }
}

/// Decimal units, three significant digits (Go's `%.3g`): `0B`, `21.5MB`.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes.max(0) as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    let decimals = match size {
        s if s >= 100.0 => 0,
        s if s >= 10.0 => 1,
        _ => 2,
    };
    let mut text = format!("{size:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{text}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_sizes_and_times_read_as_go_prints_them() {
        let cases = [
            (0, "Less than a second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (119, "About a minute"),
            (3599, "59 minutes"),
            (5399, "About an hour"),
            (5400, "2 hours"),
            (3 * 86400, "3 days"),
            (20 * 86400, "2 weeks"),
            (90 * 86400, "3 months"),
            (800 * 86400, "2 years"),
        ];
        for (secs, text) in cases {
            assert_eq!(human_duration(secs), text, "{secs}s");
        }
        assert_eq!(human_size(1_234_567), "1.23MB");
        assert_eq!(human_size(999), "999B");
        let paris = Zone {
            offset_secs: 3600,
            name: "CET".into(),
        };
        assert_eq!(
            go_time(1_796_024_167, &paris),
            "2026-11-30 08:36:07 +0100 CET"
        );
        let nameless = Zone {
            offset_secs: -5 * 3600 - 1800,
            name: String::new(),
        };
        assert_eq!(go_time(0, &nameless), "1969-12-31 18:30:00 -0530 -0530");
        assert_eq!(go_quote("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\x01""#);
    }
}
