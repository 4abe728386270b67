//! Parsing quantity strings exactly, after upstream `ParseQuantity`
//! (staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go, suffix.go).

use super::{Format, Quantity, QuantityError};

/// The largest magnitude accepted, in nanos: upstream caps quantities at 2^63-1 units;
/// rekon refuses larger ones instead of silently capping them.
pub(super) const MAX_NANOS: u128 = (i64::MAX as u128) * 1_000_000_000;

/// The suffix's base (10 or 2), exponent and format; `None` for an unknown suffix.
fn interpret(suffix: &str) -> Option<(u32, i64, Format)> {
    let decimal = |e| Some((10, e, Format::DecimalSI));
    let binary = |e| Some((2, e, Format::BinarySI));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        s if s.len() > 1 && (s.starts_with('e') || s.starts_with('E')) => s[1..]
            .parse::<i32>()
            .ok()
            .map(|e| (10, i64::from(e), Format::DecimalExponent)),
        _ => None,
    }
}

/// Splits `[+-]digits[.digits]suffix`, as upstream `parseQuantityString` does.
fn split(s: &str) -> Option<(bool, &str, &str, &str)> {
    let b = s.as_bytes();
    let mut pos = 0;
    let negative = match b.first() {
        Some(b'-') => {
            pos = 1;
            true
        }
        Some(b'+') => {
            pos = 1;
            false
        }
        _ => false,
    };
    let digits_from = |start: usize| start + b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    let num_end = digits_from(pos);
    let num = &s[pos..num_end];
    pos = num_end;
    let mut denom = "";
    if b.get(pos) == Some(&b'.') {
        let end = digits_from(pos + 1);
        denom = &s[pos + 1..end];
        pos = end;
    }
    if num.is_empty() && denom.is_empty() {
        return None;
    }
    let suffix_start = pos;
    pos += b[pos..].iter().take_while(|c| b"eEinumkKMGTP".contains(c)).count();
    if matches!(b.get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    if digits_from(pos) != b.len() {
        return None;
    }
    Some((negative, num, denom, &s[suffix_start..]))
}

/// Multiplies a big decimal number (most significant digit first) by a small factor.
fn multiply(digits: &mut Vec<u8>, factor: u32) {
    let mut carry = 0u32;
    for d in digits.iter_mut().rev() {
        let v = u32::from(*d) * factor + carry;
        *d = (v % 10) as u8;
        carry = v / 10;
    }
    while carry > 0 {
        digits.insert(0, (carry % 10) as u8);
        carry /= 10;
    }
}

/// `ceil(digits * 10^shift)` as an integer, or `None` if it exceeds [`MAX_NANOS`].
fn scaled_up(digits: &[u8], shift: i64) -> Option<u128> {
    let digits = &digits[digits.iter().take_while(|&&d| d == 0).count()..];
    if digits.is_empty() {
        return Some(0);
    }
    let (int_part, rest): (&[u8], &[u8]) = if shift >= 0 {
        (digits, &[])
    } else {
        let keep = digits.len().saturating_sub(shift.unsigned_abs() as usize);
        digits.split_at(keep)
    };
    let zeros = shift.max(0);
    // MAX_NANOS has 28 digits: anything longer is too large.
    if int_part.len() as i64 + zeros > 28 {
        return None;
    }
    let mut value = int_part.iter().fold(0u128, |v, &d| v * 10 + u128::from(d));
    value *= 10u128.pow(zeros as u32);
    if rest.iter().any(|&d| d != 0) {
        // Round non-zero remainders up, away from zero, as upstream does.
        value += 1;
    }
    (value <= MAX_NANOS).then_some(value)
}

pub(super) fn parse(text: &str) -> Result<Quantity, QuantityError> {
    let format_err = || QuantityError::Format { text: text.to_string() };
    let (negative, num, denom, suffix) = split(text).ok_or_else(format_err)?;
    let (base, exponent, format) = interpret(suffix).ok_or_else(|| QuantityError::Suffix { text: text.to_string() })?;
    let mut digits: Vec<u8> = num.bytes().chain(denom.bytes()).map(|c| c - b'0').collect();
    let shift = if base == 2 {
        for _ in 0..exponent / 10 {
            multiply(&mut digits, 1024);
        }
        -(denom.len() as i64)
    } else {
        exponent - denom.len() as i64
    };
    let magnitude = scaled_up(&digits, shift + 9).ok_or_else(|| QuantityError::TooLarge { text: text.to_string() })?;
    let nanos = magnitude as i128;
    Ok(Quantity {
        nanos: if negative { -nanos } else { nanos },
        format,
    })
}
