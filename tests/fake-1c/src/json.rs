//! Writing JSON straight into a byte buffer, with numbers and dates as 1C writes them.

use std::fmt;
use std::io::Write as _;

use chrono::{Datelike, NaiveDateTime, Timelike};
use serde_json::Value;

/// Appends `s` as a JSON string literal. Non-ASCII text is written as UTF-8, as 1C does.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_escaped(out, s);
    out.push(b'"');
}

/// Appends the escaped content of a JSON string (no quotes).
fn write_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends formatted text as a JSON string literal without an intermediate `String`.
pub fn write_fmt_str(out: &mut Vec<u8>, args: fmt::Arguments<'_>) {
    struct Escaping<'a>(&'a mut Vec<u8>);
    impl fmt::Write for Escaping<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            write_escaped(self.0, s);
            Ok(())
        }
    }
    out.push(b'"');
    let _ = fmt::Write::write_fmt(&mut Escaping(out), args);
    out.push(b'"');
}

/// Appends an `Edm.Double` as 1C writes it: the shortest text that reads back as the
/// same number, without a trailing `.0` (`1500000`, `1234.5`, `99.99`). Non-finite
/// numbers have no JSON form and are written as `null`.
pub fn write_f64(out: &mut Vec<u8>, x: f64) {
    if x.is_finite() {
        // Rust's `Display` for f64 is exactly that: shortest round trip, no exponent.
        let _ = write!(out, "{x}");
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Appends an amount held in kopecks as the same text [`write_f64`] gives for
/// `kopecks / 100.0`, without floating point.
pub fn write_kopecks(out: &mut Vec<u8>, kopecks: i64) {
    if kopecks < 0 {
        out.push(b'-');
    }
    let k = kopecks.unsigned_abs();
    write_u64(out, k / 100);
    let frac = k % 100;
    if frac != 0 {
        out.push(b'.');
        out.push(b'0' + (frac / 10) as u8);
        if !frac.is_multiple_of(10) {
            out.push(b'0' + (frac % 10) as u8);
        }
    }
}

/// Appends a non-negative integer in decimal.
pub fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// `YYYY-MM-DDTHH:MM:SS`, as 1C writes a date (years 0…9999).
pub fn datetime_text(dt: &NaiveDateTime) -> [u8; 19] {
    let mut b = *b"0000-00-00T00:00:00";
    let year = dt.year().clamp(0, 9999) as u32;
    put_digits(&mut b[0..4], year);
    put_digits(&mut b[5..7], dt.month());
    put_digits(&mut b[8..10], dt.day());
    put_digits(&mut b[11..13], dt.hour());
    put_digits(&mut b[14..16], dt.minute());
    put_digits(&mut b[17..19], dt.second());
    b
}

fn put_digits(slot: &mut [u8], mut n: u32) {
    for d in slot.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Appends a date as a JSON string literal.
pub fn write_datetime(out: &mut Vec<u8>, dt: &NaiveDateTime) {
    out.push(b'"');
    out.extend_from_slice(&datetime_text(dt));
    out.push(b'"');
}

/// Appends a JSON value, floats as [`write_f64`] writes them (serde_json would write
/// `1500000.0` where 1C writes `1500000`).
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                write_u64(out, u);
            } else if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else {
                write_f64(out, n.as_f64().unwrap_or(f64::NAN));
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (n, (k, item)) in map.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// Builds one JSON object whose properties come in a fixed order (`fields`), writing
/// only those whose bit is set in `mask` (bit *n* = `fields[n]`).
pub struct Obj<'a> {
    out: &'a mut Vec<u8>,
    fields: &'static [&'static str],
    mask: u64,
    pos: usize,
    first: bool,
}

impl<'a> Obj<'a> {
    pub fn begin(out: &'a mut Vec<u8>, fields: &'static [&'static str], mask: u64) -> Obj<'a> {
        out.push(b'{');
        Obj { out, fields, mask, pos: 0, first: true }
    }

    /// Moves to the next field, which must be `name`; true (and the key written) when it
    /// is selected.
    fn key(&mut self, name: &str) -> bool {
        debug_assert_eq!(self.fields.get(self.pos).copied(), Some(name), "fields written out of order");
        let on = self.mask >> self.pos & 1 == 1;
        self.pos += 1;
        if on {
            if !self.first {
                self.out.push(b',');
            }
            self.first = false;
            // Property names are identifiers: nothing to escape.
            self.out.push(b'"');
            self.out.extend_from_slice(name.as_bytes());
            self.out.extend_from_slice(b"\":");
        }
        on
    }

    pub fn str(&mut self, name: &str, value: &str) {
        if self.key(name) {
            write_str(self.out, value);
        }
    }

    pub fn fmt(&mut self, name: &str, value: fmt::Arguments<'_>) {
        if self.key(name) {
            write_fmt_str(self.out, value);
        }
    }

    /// A value that needs no escaping (a GUID, digits).
    pub fn ascii(&mut self, name: &str, value: &[u8]) {
        if self.key(name) {
            self.out.push(b'"');
            self.out.extend_from_slice(value);
            self.out.push(b'"');
        }
    }

    /// Like [`ascii`](Obj::ascii), computing the value only when it is selected.
    pub fn ascii_with<B: AsRef<[u8]>>(&mut self, name: &str, value: impl FnOnce() -> B) {
        if self.key(name) {
            self.out.push(b'"');
            self.out.extend_from_slice(value().as_ref());
            self.out.push(b'"');
        }
    }

    pub fn bool(&mut self, name: &str, value: bool) {
        if self.key(name) {
            self.out.extend_from_slice(if value { b"true" } else { b"false" });
        }
    }

    pub fn uint(&mut self, name: &str, value: u64) {
        if self.key(name) {
            write_u64(self.out, value);
        }
    }

    pub fn kopecks(&mut self, name: &str, kopecks: i64) {
        if self.key(name) {
            write_kopecks(self.out, kopecks);
        }
    }

    pub fn datetime(&mut self, name: &str, value: &NaiveDateTime) {
        if self.key(name) {
            write_datetime(self.out, value);
        }
    }

    /// A value written by `write` (an array, say), when selected.
    pub fn with(&mut self, name: &str, write: impl FnOnce(&mut Vec<u8>)) {
        if self.key(name) {
            write(self.out);
        }
    }

    pub fn end(self) {
        debug_assert_eq!(self.pos, self.fields.len(), "not every field written");
        self.out.push(b'}');
    }
}

/// The mask selecting the members of `fields` that `select` includes.
pub fn mask(fields: &[&str], select: &crate::Select) -> u64 {
    fields.iter().enumerate().filter(|(_, f)| select.includes(f)).fold(0, |m, (n, _)| m | 1 << n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn doubles_print_as_1c_writes_them() {
        assert_eq!(text(|o| write_f64(o, 1500000.0)), "1500000");
        assert_eq!(text(|o| write_f64(o, 1234.5)), "1234.5");
        assert_eq!(text(|o| write_f64(o, 99.99)), "99.99");
        assert_eq!(text(|o| write_f64(o, -12500.0)), "-12500");
        assert_eq!(text(|o| write_f64(o, 0.1)), "0.1");
    }

    #[test]
    fn kopecks_print_exactly_like_the_double_they_stand_for() {
        let mut k: i64 = -100_000;
        while k < 60_000_000 {
            assert_eq!(text(|o| write_kopecks(o, k)), text(|o| write_f64(o, k as f64 / 100.0)), "kopecks {k}");
            k += 997;
        }
        for k in [0, 1, 10, 99, 100, 101, 110, 50_000_000, 123_456_789_012] {
            assert_eq!(text(|o| write_kopecks(o, k)), text(|o| write_f64(o, k as f64 / 100.0)), "kopecks {k}");
        }
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters_only() {
        assert_eq!(text(|o| write_str(o, "ООО \"Клиент 5\"\\\n\u{1}")), r#""ООО \"Клиент 5\"\\\n\u0001""#);
        assert_eq!(text(|o| write_fmt_str(o, format_args!("ООО \"Клиент {}\"", 7))), r#""ООО \"Клиент 7\"""#);
    }

    #[test]
    fn values_write_floats_without_a_trailing_zero() {
        let v = serde_json::json!({"a": 1500000.0, "b": [1, -2, 2.5], "c": "x"});
        assert_eq!(text(|o| write_value(o, &v)), r#"{"a":1500000,"b":[1,-2,2.5],"c":"x"}"#);
    }
}
