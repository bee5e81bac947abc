//! The engine's timestamps (UTC RFC 3339, `2024-05-01T10:11:12.123456789Z`)
//! as Unix seconds, and the time now: enough to compare an engine's time
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
}
