//! The engine's timestamps (UTC RFC 3339, `2024-05-01T10:11:12.123456789Z`)
//! as Unix seconds and back, and the time now: enough to compare an engine's time
//! with berth's own without a date crate.

/// Seconds since the epoch of a UTC RFC 3339 time (or a date alone); the
/// fraction is dropped.
pub fn timestamp_secs(stamp: &str) -> Option<i64> {
    let stamp = stamp.trim_end_matches('Z');
    let (date, time) = stamp.split_once('T').unwrap_or((stamp, "00:00:00"));
    let time = time.split('.').next()?;
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let ([y, m, day], [hh, mm, ss]) = (d[..].try_into().ok()?, t[..].try_into().ok()?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146097 + doe - 719468) * 86400 + hh * 3600 + mm * 60 + ss)
}

/// Unix seconds as a UTC RFC 3339 time, `2026-05-01T10:11:12Z`: the
/// inverse of [`timestamp_secs`] (fraction aside).
pub fn rfc3339(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_times_read_as_unix_seconds() {
        assert_eq!(timestamp_secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            timestamp_secs("2026-11-30T04:11:52.055797343Z"),
            Some(1_796_011_912)
        );
        assert_eq!(timestamp_secs("2000-02-29"), Some(951_782_400));
        assert_eq!(timestamp_secs("yesterday"), None);
    }

    #[test]
    fn unix_seconds_print_as_the_engine_times_they_were_read_from() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_011_912), "2026-11-30T04:11:52Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        for secs in [0, 59, 86_399, 951_868_799, 1_700_000_000, 4_102_444_800] {
            assert_eq!(timestamp_secs(&rfc3339(secs)), Some(secs), "{secs}");
        }
    }
}
