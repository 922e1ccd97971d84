//! Wall-clock formatting and parsing for `CreatedAt`-style fields.
//!
//! SAKURA Cloud renders timestamps in JST (`+09:00`); the simulator keeps unix milliseconds
//! internally and converts at the edge. Hand-written (Howard Hinnant's civil-date algorithms) so the
//! crate needs no date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// JST offset in seconds; the real API always answers in this zone.
const JST_OFFSET_S: i64 = 9 * 3600;

/// Milliseconds since the unix epoch according to the host clock (0 if the clock is before 1970).
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Render unix milliseconds as `YYYY-MM-DDTHH:MM:SS+09:00`, the format the real API uses.
pub fn format_jst(unix_ms: u64) -> String {
    let secs = i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX / 2) + JST_OFFSET_S;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+09:00",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Unix seconds of a UTC calendar time (no range checks: callers validate fields first).
pub fn unix_from_utc(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s
}

/// Render unix seconds the way the API shows certificate expiry: `May  4 01:37:47 2019 GMT`
/// (Go layout `Jan _2 15:04:05 2006 MST`, the day padded with a space).
pub fn format_cert_date(unix_s: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, rem) = (unix_s.div_euclid(86_400), unix_s.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let month = usize::try_from(m - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{month} {d:>2} {:02}:{:02}:{:02} {y} GMT",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parse an RFC 3339 timestamp (`2016-04-25T21:36:47+09:00`, `...Z`, optional fraction) into unix
/// seconds. Returns `None` on anything else: filter values come from clients and must not panic.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        std::str::from_utf8(b.get(r)?).ok()?.parse::<i64>().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &rest[1 + digits..];
    }
    let offset = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, c: u8| -> Option<i64> {
                (a.is_ascii_digit() && c.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(c - b'0'))
            };
            let off = two(*h1, *h2)? * 3600 + two(*m1, *m2)? * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_jst() {
        // 2016-04-25T12:36:47Z is the fixture's 21:36:47+09:00.
        let ms = 1_461_587_807_000;
        assert_eq!(format_jst(ms), "2016-04-25T21:36:47+09:00");
    }

    #[test]
    fn parses_offsets_and_round_trips() {
        assert_eq!(
            parse_rfc3339("2016-04-25T21:36:47+09:00"),
            Some(1_461_587_807)
        );
        assert_eq!(parse_rfc3339("2016-04-25T12:36:47Z"), Some(1_461_587_807));
        assert_eq!(
            parse_rfc3339("2016-04-25T12:36:47.123Z"),
            Some(1_461_587_807)
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        let ms = 1_700_000_000_000;
        assert_eq!(parse_rfc3339(&format_jst(ms)), Some(1_700_000_000));
    }

    #[test]
    fn certificate_dates_pad_the_day_with_a_space() {
        assert_eq!(
            format_cert_date(unix_from_utc(2019, 5, 4, 1, 37, 47)),
            "May  4 01:37:47 2019 GMT"
        );
        assert_eq!(
            format_cert_date(unix_from_utc(2036, 12, 13, 23, 5, 9)),
            "Dec 13 23:05:09 2036 GMT"
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2016-13-01T00:00:00Z",
            "2016-04-25T21:36:47+0900",
            "2016-04-25",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
