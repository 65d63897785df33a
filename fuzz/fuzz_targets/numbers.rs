//! `num::parse_decimal`, `num::is_all_digits` and `addr::parse_port`
//! against a reference written from portbind(8): "ASCII decimal digits only:
//! no sign, no spaces, no 0x, no empty string, no non-ASCII digits, in
//! range". The reference computes in u128, so it never overflows where the
//! parser might.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portbind::addr::parse_port;
use portbind::num::{is_all_digits, parse_decimal};

/// The value of `text` if it is a non-empty run of ASCII digits, or
/// `Err(())` if it is not; `Ok(None)` when the value does not fit a u128
/// (and so exceeds every maximum).
fn reference_value(text: &[u8]) -> Result<Option<u128>, ()> {
    if text.is_empty() || !text.iter().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    let mut value: Option<u128> = Some(0);
    for &b in text {
        value = value
            .and_then(|v| v.checked_mul(10))
            .and_then(|v| v.checked_add(u128::from(b - b'0')));
    }
    Ok(value)
}

fn reference(text: &[u8], max: u64) -> Option<u64> {
    match reference_value(text) {
        Ok(Some(v)) if v <= u128::from(max) => Some(v as u64),
        _ => None,
    }
}

const MAXES: [u64; 7] = [0, 1, 255, 65535, 65536, 4_294_967_294, u64::MAX];

fuzz_target!(|data: &[u8]| {
    for max in MAXES {
        let got = parse_decimal(data, max);
        let want = reference(data, max);
        assert_eq!(
            got, want,
            "parse_decimal({data:?}, {max}) = {got:?}, reference says {want:?}"
        );
    }

    let digits = reference_value(data).is_ok();
    assert_eq!(
        is_all_digits(data),
        digits,
        "is_all_digits({data:?}) disagrees with the reference"
    );

    let got = parse_port(data);
    let want = match reference_value(data) {
        Ok(Some(v)) if (1..=65535).contains(&v) => Some(v as u16),
        _ => None,
    };
    assert_eq!(
        got, want,
        "parse_port({data:?}) = {got:?}, reference says {want:?}"
    );
    if let Some(port) = got {
        assert!(port >= 1, "parse_port accepted port 0 from {data:?}");
        assert!(data.iter().all(u8::is_ascii_digit));
    }
});
