//! Instants and the injected clock. Registry dates are UTC instants with
//! millisecond precision, shown as RFC 3339 (`2024-05-01T12:00:00.000Z`);
//! every time-dependent rule takes a [`Clock`] so tests move time by hand.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};

/// Milliseconds since 1970-01-01T00:00:00Z. Stored as the number; shown
/// (JSON, TOML) as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.serialize_str(&self.to_rfc3339()) } else { s.serialize_i64(self.0) }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
        } else {
            i64::deserialize(d).map(Timestamp)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 UTC date-time: {0:?}")]
pub struct TimestampError(pub String);

impl Timestamp {
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp(seconds * 1000)
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Timestamp(self.0 + seconds * 1000)
    }

    /// Adds calendar months, clamping the day to the target month's length
    /// (2024-02-29 plus 12 months is 2025-02-28).
    pub fn plus_months(self, months: i32) -> Self {
        let days = self.0.div_euclid(86_400_000);
        let ms_of_day = self.0.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        let total = y * 12 + (m as i64 - 1) + months as i64;
        let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
        let nd = d.min(days_in_month(ny, nm));
        Timestamp(days_from_civil(ny, nm, nd) * 86_400_000 + ms_of_day)
    }

    pub fn plus_years(self, years: i32) -> Self {
        self.plus_months(years * 12)
    }

    /// RFC 3339 with milliseconds and `Z`.
    pub fn to_rfc3339(self) -> String {
        let (y, mo, d, h, mi, s, ms) = self.fields();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }

    /// RFC 3339 without fractional seconds, as WHOIS and zone comments use.
    pub fn to_rfc3339_seconds(self) -> String {
        let mut out = String::with_capacity(20);
        self.write_rfc3339_seconds(&mut out);
        out
    }

    /// Writes [`Timestamp::to_rfc3339_seconds`] into `out` without allocating.
    pub fn write_rfc3339_seconds(self, out: &mut impl std::fmt::Write) {
        let (y, mo, d, h, mi, s, _) = self.fields();
        if !(0..=9999).contains(&y) {
            let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
            return;
        }
        // Digit by digit: RDAP and WHOIS write several per answer, and the formatting machinery cost more than the rest.
        let mut text = *b"0000-00-00T00:00:00Z";
        let mut put2 = |at: usize, n: i64| {
            text[at] = b'0' + (n / 10) as u8;
            text[at + 1] = b'0' + (n % 10) as u8;
        };
        put2(0, y / 100);
        put2(2, y % 100);
        for (at, n) in [(5, i64::from(mo)), (8, i64::from(d)), (11, h), (14, mi), (17, s)] {
            put2(at, n);
        }
        let _ = out.write_str(std::str::from_utf8(&text).expect("ASCII digits"));
    }

    /// The UTC year and month, as monthly reports group by.
    pub fn year_month(self) -> (i64, u32) {
        let (y, m, _) = civil_from_days(self.0.div_euclid(86_400_000));
        (y, m)
    }

    fn fields(self) -> (i64, u32, u32, i64, i64, i64, i64) {
        let days = self.0.div_euclid(86_400_000);
        let ms_of_day = self.0.rem_euclid(86_400_000);
        let (y, mo, d) = civil_from_days(days);
        (y, mo, d, ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1000 % 60, ms_of_day % 1000)
    }

    /// Parses `YYYY-MM-DDThh:mm:ss[.fff…](Z|±hh:mm)`.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        let err = || TimestampError(text.to_string());
        let b = text.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let s = text.get(r).ok_or_else(err)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err());
            }
            s.parse::<i64>().map_err(|_| err())
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo as u32) as i64 || h > 23 || mi > 59 || s > 60 {
            return Err(err());
        }
        let mut rest = &text[19..];
        let mut ms = 0i64;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return Err(err());
            }
            let padded = format!("{:0<3}", &frac[..digits.min(3)]);
            ms = padded.parse().map_err(|_| err())?;
            rest = &frac[digits..];
        }
        let offset_min = match rest {
            "Z" | "z" => 0,
            _ => {
                // Byte checks first: a peer's multi-byte character must not split a slice.
                let &[sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] = rest.as_bytes() else { return Err(err()) };
                if ![h1, h2, m1, m2].iter().all(u8::is_ascii_digit) {
                    return Err(err());
                }
                let (oh, om) = (i64::from((h1 - b'0') * 10 + h2 - b'0'), i64::from((m1 - b'0') * 10 + m2 - b'0'));
                if oh > 23 || om > 59 {
                    return Err(err());
                }
                if sign == b'-' { -(oh * 60 + om) } else { oh * 60 + om }
            }
        };
        let days = days_from_civil(y, mo as u32, d as u32);
        let secs = days * 86_400 + h * 3600 + mi * 60 + s.min(59) - offset_min * 60;
        Ok(Timestamp(secs * 1000 + ms))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The source of "now" for every rule that depends on time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(d.as_millis() as i64)
    }
}

/// A clock that only moves when told to; tests drive lifecycles with it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start.0)))
    }
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }
    pub fn advance_seconds(&self, seconds: i64) {
        self.0.fetch_add(seconds * 1000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bounded property test: mutated timestamps (multi-byte characters
    /// included) never panic, and whatever parses formats back to the same instant.
    #[test]
    fn any_text_parses_or_is_refused_and_parsed_values_round_trip() {
        let seeds = ["2024-02-29T23:59:58.5Z", "1999-12-31T00:00:00+05:30", "2030-01-01T12:00:00.123456-11:59"];
        let pieces = ["é", "€", "😀", "+", "-", ":", "Z", ".", "9", "0", "\u{0}", "T"];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let mut text: Vec<char> = seeds[round % seeds.len()].chars().collect();
            for _ in 0..1 + next() % 3 {
                let at = (next() % (text.len() as u64 + 1)) as usize;
                let piece: Vec<char> = pieces[(next() % pieces.len() as u64) as usize].chars().collect();
                match next() % 3 {
                    0 if at < text.len() => {
                        text.splice(at..at + 1, piece);
                    }
                    1 if at < text.len() => {
                        text.remove(at);
                    }
                    _ => {
                        text.splice(at..at, piece);
                    }
                }
            }
            let text: String = text.into_iter().collect();
            if let Ok(t) = Timestamp::parse_rfc3339(&text) {
                assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t, "{text}");
            }
        }
        assert!(Timestamp::parse_rfc3339("2024-01-01T00:00:00+0é:0").is_err(), "split inside a character");
        assert!(Timestamp::parse_rfc3339("2024-01-01T00:00:00+24:00").is_err());
    }

    #[test]
    fn formats_and_parses() {
        let t = Timestamp::parse_rfc3339("2024-02-29T23:59:58.5Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-02-29T23:59:58.500Z");
        assert_eq!(t.to_rfc3339_seconds(), "2024-02-29T23:59:58Z");
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp(0).to_rfc3339_seconds(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::parse_rfc3339("0999-12-31T23:59:59Z").unwrap().to_rfc3339_seconds(), "0999-12-31T23:59:59Z");
        let offset = Timestamp::parse_rfc3339("2024-03-01T01:00:00+02:00").unwrap();
        assert_eq!(offset.to_rfc3339_seconds(), "2024-02-29T23:00:00Z");
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn calendar_arithmetic() {
        let leap = Timestamp::parse_rfc3339("2024-02-29T10:00:00Z").unwrap();
        assert_eq!(leap.plus_years(1).to_rfc3339_seconds(), "2025-02-28T10:00:00Z");
        assert_eq!(leap.plus_years(4).to_rfc3339_seconds(), "2028-02-29T10:00:00Z");
        let jan31 = Timestamp::parse_rfc3339("2023-01-31T00:00:00Z").unwrap();
        assert_eq!(jan31.plus_months(1).to_rfc3339_seconds(), "2023-02-28T00:00:00Z");
        assert_eq!(jan31.plus_months(-2).to_rfc3339_seconds(), "2022-11-30T00:00:00Z");
        for days in [-800_000i64, -1, 0, 1, 59, 365, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn serde_forms() {
        let t = Timestamp::parse_rfc3339("2024-05-01T12:00:00Z").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2024-05-01T12:00:00.000Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>("\"2024-05-01T12:00:00Z\"").unwrap(), t);
        let bytes = postcard::to_stdvec(&t).unwrap();
        assert_eq!(postcard::from_bytes::<Timestamp>(&bytes).unwrap(), t);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_unix_seconds(1000));
        assert_eq!(clock.now().unix_seconds(), 1000);
        clock.advance_seconds(86_400);
        assert_eq!(clock.now().unix_seconds(), 87_400);
    }
}
