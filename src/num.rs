//! Strict decimal numbers: ASCII digits only, no sign, no spaces, no base
//! prefix, never empty, never above the caller's maximum.

#![forbid(unsafe_code)]

/// Parses `text` as a decimal number of at most `max`.
pub fn parse_decimal(text: &[u8], max: u64) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in text {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    (value <= max).then_some(value)
}

/// True when `text` is made only of ASCII digits (and is not empty).
pub fn is_all_digits(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_digits_in_range() {
        assert_eq!(parse_decimal(b"23", 65535), Some(23));
        assert_eq!(parse_decimal(b"0", 65535), Some(0));
        assert_eq!(parse_decimal(b"65535", 65535), Some(65535));
        assert_eq!(parse_decimal(b"007", 65535), Some(7));
        assert_eq!(
            parse_decimal(b"000000000000000000000000023", 65535),
            Some(23)
        );
        assert_eq!(parse_decimal(b"0000000000000000000000000", 65535), Some(0));
        assert_eq!(
            parse_decimal(b"4294967294", 4_294_967_294),
            Some(4_294_967_294)
        );
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            &b""[..],
            b"23abc",
            b" 23",
            b"23 ",
            b"+23",
            b"-1",
            b"0x17",
            b"65536",
            "\u{0662}\u{0663}".as_bytes(),
            b"\xff\xfe",
            b"99999999999999999999999",
            b"18446744073709551616",
        ] {
            assert_eq!(parse_decimal(bad, 65535), None, "{bad:?}");
        }
        assert_eq!(parse_decimal(b"4294967295", 4_294_967_294), None);
        assert_eq!(parse_decimal(b"4294967296", 4_294_967_294), None);
    }
}
