//! Sizes, durations and numbers as Docker and compose (Go) write them: read
//! by the loader, printed by the model, sent by `spec`, so they live with the
//! model, below all three.
//!
//! Hand-written on purpose: Docker reads memory sizes in binary units (`6m` is
//! 6 MiB) where crates such as bytesize are decimal, and compose prints durations
//! the way Go's `time.Duration` does (`1m30s`), which no Rust crate reproduces.
//! Only parsing and printing live here; limits (the engine's 6 MiB minimum) are
//! checked by the caller, which knows the key. What does not fit in 64 bits is
//! "too large" (or "too long") here, however it is written: digits, an
//! exponent (`9e18g`), or the text of a YAML float (`1e+19`, `+Inf`).

/// Go's `%v` for a float64 (strconv's shortest `%g`): the shortest digits that
/// read back the same, in exponent form when the exponent is below -4 or at
/// least 6 (`1e+06`, `1.5e-07`, but `123456.5`).
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits, like Go's.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// The largest size: the engine takes sizes as signed 64-bit byte counts.
pub const MAX_BYTES: &str = "8 EiB - 1 byte (9223372036854775807 bytes)";

/// The value of a number written with an exponent or as an infinity: what a
/// YAML float becomes as text (`1e+19`, `+Inf`, from `1e19`, `1e400` or
/// `.inf`), or a size or duration's number part written so (`9e18` of
/// `9e18g`). `None` for any other text, plain decimals included, so that
/// those keep their own, exact, reading.
fn exponent_form(num: &str) -> Option<f64> {
    let lower = num.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if !(unsigned.contains('e') || unsigned == "inf" || unsigned == "infinity") {
        return None;
    }
    lower.parse::<f64>().ok().filter(|f| !f.is_nan())
}

/// Why a text is not a whole number in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whole {
    /// Not a number, or one with a fraction.
    Invalid,
    /// Above [`i64::MAX`].
    TooLarge,
    /// Below [`i64::MIN`].
    TooSmall,
}

/// Reads a whole number that fits in 64 bits, as compose reads integer keys:
/// a float that is whole (`1e3`, which YAML reads as a float) is that
/// number; one past 64 bits, however written (`99999999999999999999`,
/// `1e400`), is too large rather than "not a number".
pub fn parse_whole(text: &str) -> Result<i64, Whole> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(if t.starts_with('-') {
            Whole::TooSmall
        } else {
            Whole::TooLarge
        });
    }
    let Some(f) = exponent_form(t).or_else(|| t.parse::<f64>().ok().filter(|f| f.is_finite()))
    else {
        return Err(Whole::Invalid);
    };
    // 2^63 is `i64::MAX as f64`, and does not fit; -2^63 does.
    if f >= i64::MAX as f64 {
        Err(Whole::TooLarge)
    } else if f < i64::MIN as f64 {
        Err(Whole::TooSmall)
    } else if f.fract() != 0.0 {
        Err(Whole::Invalid)
    } else {
        Ok(f as i64)
    }
}

/// Parses a size in Docker's binary units: `1024`, `6m`, `1.5g`, `50M`, `1mb`,
/// `2GiB`. Returns bytes.
pub fn parse_bytes(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let too_large = || format!("`{text}` is too large: the largest size is {MAX_BYTES}");
    // A YAML float (`1e+19`, `+Inf`), or a number with an exponent and a
    // unit (`9e18g`): Docker reads neither, but a huge one is first of all
    // too large, whatever its unit.
    let (num, unit) = split_number(t);
    if let Some(f) = exponent_form(num) {
        let shift = size_shift(&unit.trim_start().to_ascii_lowercase()).unwrap_or(0);
        if f * (1u64 << shift) as f64 >= i64::MAX as f64 {
            return Err(too_large());
        }
        if f < 0.0 {
            return Err(format!("`{text}` is not a size"));
        }
        if unit.is_empty() && f.fract() == 0.0 {
            return Ok(f as i64);
        }
        return Err(format!(
            "`{text}` is not a size: write it without an exponent, such as `512m` or `1073741824`"
        ));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim_start();
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') || num.matches('.').count() > 1
    {
        return Err(format!("`{text}` is not a size"));
    }
    let Some(shift) = size_shift(&unit.to_ascii_lowercase()) else {
        return Err(format!("`{text}` has an unknown unit `{unit}`"));
    };
    // Whole numbers are computed exactly, so that a size just past 2^63
    // bytes is refused rather than rounded (a float cast would clamp it to
    // i64::MAX without a word); only fractions go through f64.
    if !num.contains('.') {
        let n: u128 = num.parse().map_err(|_| too_large())?;
        return n
            .checked_mul(1u128 << shift)
            .and_then(|b| i64::try_from(b).ok())
            .ok_or_else(too_large);
    }
    let n: f64 = num.parse().map_err(|_| format!("`{text}` is not a size"))?;
    let bytes = n * (1u64 << shift) as f64;
    // 2^63 itself is `i64::MAX as f64`, and does not fit.
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(too_large());
    }
    Ok(bytes as i64)
}

/// How far a size unit (lower case) shifts bytes: `m` is 20 (MiB).
fn size_shift(unit: &str) -> Option<u32> {
    Some(match unit {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        "p" | "pb" | "pib" => 50,
        _ => return None,
    })
}

/// Splits a leading number, exponent or infinity included (`9e18` of
/// `9e18g`, `+Inf`), from what follows it.
fn split_number(t: &str) -> (&str, &str) {
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if t[i..].to_ascii_lowercase().starts_with("inf") {
        return (t, "");
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    t.split_at(i)
}

/// Reads an integer as compose's YAML parser does (yaml.v3: Go's
/// `strconv.ParseInt(s, 0, 64)` after dropping `_`): `42`, `0x1f`, `0o17`,
/// `0b101`, and a leading `0` meaning octal (`0440` is 288).
pub fn parse_go_int(text: &str) -> Option<i64> {
    let t: String = text.trim().chars().filter(|&c| c != '_').collect();
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t.as_str()),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(h) = lower.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.is_empty() || body.starts_with(['+', '-']) {
        return None;
    }
    let n = i64::from_str_radix(body, radix).ok()?;
    Some(if neg { -n } else { n })
}

const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
const M: i64 = 60 * S;
const H: i64 = 60 * M;

/// Parses a Go duration (`1m30s`, `1.5h`, `300ms`, `-2s`). compose also takes a
/// bare number of seconds for some keys; that is the caller's choice.
pub fn parse_go_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a duration");
    let mut s = text.trim();
    let neg = if let Some(rest) = s.strip_prefix('-') {
        s = rest;
        true
    } else {
        s = s.strip_prefix('+').unwrap_or(s);
        false
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let too_long = || {
        format!(
            "`{text}` is too long: the longest duration is {}",
            format_go_duration(i64::MAX)
        )
    };
    // A YAML float (`1e+19`, `+Inf`), or a number part with an exponent
    // (`1e19s`): Go reads neither, but a huge one is first of all too long.
    let (num, unit) = split_number(s);
    if let Some(f) = exponent_form(num) {
        let unit = [
            ("h", H),
            ("ms", MS),
            ("m", M),
            ("s", S),
            ("us", US),
            ("µs", US),
            ("μs", US),
        ]
        .into_iter()
        .find(|(u, _)| unit.starts_with(u))
        .map_or(NS, |(_, n)| n);
        if f.abs() * unit as f64 >= i64::MAX as f64 {
            return Err(too_long());
        }
        return Err(format!(
            "`{text}` is not a duration: write it without an exponent, such as `90s` or `1h30m`"
        ));
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let n_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if n_end == 0 {
            return Err(bad());
        }
        let n: f64 = s[..n_end].parse().map_err(|_| bad())?;
        s = &s[n_end..];
        let u_end = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let unit = match &s[..u_end] {
            "ns" => NS,
            "us" | "µs" | "μs" => US,
            "ms" => MS,
            "s" => S,
            "m" => M,
            "h" => H,
            _ => return Err(bad()),
        };
        s = &s[u_end..];
        total += n * unit as f64;
    }
    // `>=`: i64::MAX rounds up to 2^63 as a float, which does not fit.
    if total >= i64::MAX as f64 {
        return Err(too_long());
    }
    let ns = total.round() as i64;
    Ok(if neg { -ns } else { ns })
}

/// Prints nanoseconds as Go's `time.Duration.String()` does.
pub fn format_go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u < S as u64 {
        // Below a second Go picks the largest unit that keeps an integer part.
        let (unit, name) = if u < US as u64 {
            (1u64, "ns")
        } else if u < MS as u64 {
            (US as u64, "µs")
        } else {
            (MS as u64, "ms")
        };
        out.push_str(&frac(u, unit));
        out.push_str(name);
        return out;
    }
    let h = u / H as u64;
    let rem = u % H as u64;
    let m = rem / M as u64;
    let s_ns = rem % M as u64;
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&frac(s_ns, S as u64));
    out.push('s');
    out
}

/// `value / unit` with the fraction Go prints (no trailing zeros).
fn frac(value: u64, unit: u64) -> String {
    let whole = value / unit;
    let rest = value % unit;
    if rest == 0 {
        return whole.to_string();
    }
    let width = unit.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary_units() {
        assert_eq!(parse_bytes("6m"), Ok(6 * 1024 * 1024));
        assert_eq!(parse_bytes("50M"), Ok(50 * 1024 * 1024));
        assert_eq!(parse_bytes("1mb"), Ok(1024 * 1024));
        assert_eq!(parse_bytes("1g"), Ok(1 << 30));
        assert_eq!(parse_bytes("1.5k"), Ok(1536));
        assert_eq!(parse_bytes("100"), Ok(100));
        assert!(parse_bytes("6x").is_err());
        assert!(parse_bytes("m").is_err());
        assert!(parse_bytes("").is_err());
    }

    #[test]
    fn sizes_past_64_bits_are_refused_not_clamped() {
        assert_eq!(parse_bytes("9223372036854775807"), Ok(i64::MAX));
        assert!(parse_bytes("9223372036854775808").is_err());
        // 2^23 TiB is exactly 2^63 bytes.
        assert!(parse_bytes("8388608t").is_err());
        assert_eq!(parse_bytes("8388607t"), Ok(8388607 << 40));
        assert!(parse_bytes("8388608.0t").is_err());
        assert!(parse_bytes("99999999999999999999999999999999999999999g").is_err());
    }

    #[test]
    fn huge_sizes_are_too_large_however_written() {
        let too_large = |t: &str| format!("`{t}` is too large: the largest size is {MAX_BYTES}");
        // `+Inf` and `1e+19` are what YAML's `1e400`, `.inf` and `1e19` become.
        for t in [
            "+Inf", "1e+19", "1e+20", "9e18g", "1e19s", "1E400", "8388608t",
        ] {
            assert_eq!(parse_bytes(t), Err(too_large(t)), "{t}");
        }
        // A whole number in exponent form is that number of bytes; with a
        // unit, or a fraction, it is written another way.
        assert_eq!(parse_bytes("1e+06"), Ok(1_000_000));
        assert_eq!(
            parse_bytes("1e3m"),
            Err("`1e3m` is not a size: write it without an exponent, such as `512m` or `1073741824`".into())
        );
        assert_eq!(parse_bytes("-Inf"), Err("`-Inf` is not a size".into()));
    }

    #[test]
    fn huge_durations_are_too_long_however_written() {
        let too_long = |t: &str| {
            format!("`{t}` is too long: the longest duration is 2562047h47m16.854775807s")
        };
        for t in [
            "+Inf",
            "-Inf",
            "1e+19",
            "1e19s",
            "1e12h",
            "2562048h",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_go_duration(t), Err(too_long(t)), "{t}");
        }
        assert_eq!(
            parse_go_duration("1e3s"),
            Err(
                "`1e3s` is not a duration: write it without an exponent, such as `90s` or `1h30m`"
                    .into()
            )
        );
        assert_eq!(format_go_duration(i64::MAX), "2562047h47m16.854775807s");
    }

    #[test]
    fn whole_numbers_past_64_bits_are_too_large_or_too_small() {
        assert_eq!(parse_whole("42"), Ok(42));
        assert_eq!(parse_whole(" -7 "), Ok(-7));
        // A whole float is its number, as compose reads `pids_limit: 1e3`.
        assert_eq!(parse_whole("1e+06"), Ok(1_000_000));
        assert_eq!(parse_whole("1000.0"), Ok(1000));
        assert_eq!(parse_whole("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_whole("-9223372036854775808"), Ok(i64::MIN));
        for t in [
            "9223372036854775808",
            "99999999999999999999",
            "1e+19",
            "+Inf",
            "1e400",
        ] {
            assert_eq!(parse_whole(t), Err(Whole::TooLarge), "{t}");
        }
        for t in ["-9223372036854775809", "-1e+20", "-Inf"] {
            assert_eq!(parse_whole(t), Err(Whole::TooSmall), "{t}");
        }
        for t in ["1.5", "NaN", "abc", "", "1e19s", "0x10"] {
            assert_eq!(parse_whole(t), Err(Whole::Invalid), "{t}");
        }
    }

    #[test]
    fn integers_read_like_yaml_v3() {
        assert_eq!(parse_go_int("440"), Some(440));
        assert_eq!(parse_go_int("0440"), Some(0o440));
        assert_eq!(parse_go_int("0o440"), Some(0o440));
        assert_eq!(parse_go_int("0x1F"), Some(31));
        assert_eq!(parse_go_int("0b101"), Some(5));
        assert_eq!(parse_go_int("1_000"), Some(1000));
        assert_eq!(parse_go_int("-012"), Some(-10));
        assert_eq!(parse_go_int("0"), Some(0));
        for bad in ["", "0x", "08", "abc", "1.5", "--1", "0o-1"] {
            assert_eq!(parse_go_int(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(format_go_duration(90 * S), "1m30s");
        assert_eq!(format_go_duration(60 * S), "1m0s");
        assert_eq!(format_go_duration(5 * S), "5s");
        assert_eq!(format_go_duration(H), "1h0m0s");
        assert_eq!(format_go_duration(500 * MS), "500ms");
        assert_eq!(format_go_duration(1500 * MS), "1.5s");
        assert_eq!(format_go_duration(0), "0s");
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_go_duration("1m30s"), Ok(90 * S));
        assert_eq!(parse_go_duration("1.5h"), Ok(90 * M));
        assert_eq!(parse_go_duration("300ms"), Ok(300 * MS));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("abc").is_err());
        assert!(parse_go_duration("").is_err());
    }
}
