//! The audit log line: `audit::format_entry` (and `audit::Field`) with
//! outside text in every field.
//!
//! Input: a flags byte, then NUL-separated fields: driver path, refusal
//! reason (as UTF-8, lossily), invoker, sockets, target.
//!
//! The line is one line of printable ASCII, of bounded length, whose
//! structure outside text cannot change: the same nine space-separated
//! key fields always, and a refusal reason that stays inside its quotes.
//! Every field and the reason decode back to their text (cut at 256 and
//! 512 bytes).

#![no_main]

use libfuzzer_sys::fuzz_target;
use portbind::audit::{format_entry, AuditId, Entry, Field};

/// Bytes of outside text a field shows at most (audit.rs FIELD_LIMIT).
const FIELD_LIMIT: usize = 256;
/// Bytes of a refusal reason shown at most (audit.rs REASON_LIMIT).
const REASON_LIMIT: usize = 512;
/// What one field can take in the line: every byte escaped, plus "...".
const FIELD_OUT: usize = 4 * FIELD_LIMIT + 3;
const REASON_OUT: usize = 4 * REASON_LIMIT + 3;
/// The fixed text: priority, tag, pid, verdict, id, mode, keys, quotes.
const FIXED_OUT: usize = 200;
/// Four fields of outside text (invoker, sockets, target, driver) and the
/// reason.
const LINE_LIMIT: usize = FIXED_OUT + 4 * FIELD_OUT + REASON_OUT;

const KEYS: [&str; 7] = [
    "id=", "mode=", "invoker=", "sockets=", "target=", "ambient=", "driver=",
];

/// Undoes Field's escaping; `None` if it is not well formed.
fn decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\\' {
            let hex = std::str::from_utf8(text.get(i + 1..i + 4)?).ok()?;
            out.push(u8::from_str_radix(hex.strip_prefix('x')?, 16).ok()?);
            i += 4;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    Some(out)
}

fn check_field_round_trip(what: &str, shown: &[u8], raw: &[u8]) {
    check_round_trip(what, shown, raw, FIELD_LIMIT);
}

/// `shown` is `raw` escaped and cut after `limit` bytes, with `...` then.
fn check_round_trip(what: &str, shown: &[u8], raw: &[u8], limit: usize) {
    let (body, cut) = match shown.strip_suffix(b"...") {
        Some(body) if raw.len() > limit => (body, true),
        _ => (shown, false),
    };
    assert_eq!(cut, raw.len() > limit, "{what}: cut marker wrong");
    let decoded = decode(body).unwrap_or_else(|| panic!("{what}: bad escape in {shown:?}"));
    assert_eq!(
        decoded,
        &raw[..raw.len().min(limit)],
        "{what} does not decode back to what was logged"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.split(|&b| b == 0);
    let driver = parts.next().unwrap_or_default();
    let reason = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let invoker = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let sockets = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let target = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let refused = flags & 1 != 0;
    let entry = Entry {
        id: AuditId(if flags & 8 != 0 {
            u64::MAX
        } else {
            0x0123_4567_89ab_cdef
        }),
        refusal: refused.then_some(reason.as_str()),
        check_only: flags & 2 != 0,
        invoker: &invoker,
        sockets: &sockets,
        target: &target,
        ambient: flags & 4 != 0,
        driver,
    };
    let pid = if flags & 16 != 0 { u32::MAX } else { 1 };
    let line = format_entry(&entry, pid);

    // One line of printable ASCII.
    if let Some(bad) = line.iter().find(|b| !(0x20..=0x7e).contains(*b)) {
        panic!(
            "byte {bad:#04x} in the log line {:?}",
            String::from_utf8_lossy(&line)
        );
    }
    assert!(!line.contains(&b'\n'));
    // Bounded, whatever the outside text.
    assert!(
        line.len() <= LINE_LIMIT,
        "log line of {} bytes (limit {LINE_LIMIT}) from {} bytes of reason, {} of driver",
        line.len(),
        reason.len(),
        driver.len()
    );

    // Structure: outside text never adds a field or closes the reason.
    let (head, tail) = match line.windows(9).position(|w| w == b" reason=\"") {
        Some(at) => (&line[..at], Some(&line[at + 9..])),
        None => (&line[..], None),
    };
    assert_eq!(tail.is_some(), refused, "reason present iff refused");
    if let Some(tail) = tail {
        let inner = tail
            .strip_suffix(b"\"")
            .expect("reason not closed by its quote");
        assert!(!inner.contains(&b'"'), "a quote inside the reason");
        assert!(
            inner.len() <= REASON_OUT,
            "reason of {} bytes in the line",
            inner.len()
        );
        check_round_trip("reason", inner, reason.as_bytes(), REASON_LIMIT);
    }
    let tokens: Vec<&[u8]> = head.split(|&b| b == b' ').collect();
    assert_eq!(tokens.len(), 9, "{:?}", String::from_utf8_lossy(&line));
    let tag = format!("<{}>portbind[{pid}]:", if refused { 85 } else { 86 });
    assert_eq!(tokens[0], tag.as_bytes());
    assert_eq!(
        tokens[1],
        if refused {
            &b"refused"[..]
        } else {
            b"permitted"
        }
    );
    for (token, key) in tokens[2..].iter().zip(KEYS) {
        assert!(
            token.starts_with(key.as_bytes()),
            "expected {key} in {token:?}"
        );
    }
    check_field_round_trip("driver", &tokens[8][7..], driver);
    check_field_round_trip("invoker", &tokens[4][8..], invoker.as_bytes());
    check_field_round_trip("target", &tokens[6][7..], target.as_bytes());
    check_field_round_trip("sockets", &tokens[5][8..], sockets.as_bytes());

    // Field alone: same escaping and limit.
    let shown = format!("{}", Field(driver));
    assert!(shown.len() <= FIELD_OUT);
    check_field_round_trip("Field", shown.as_bytes(), driver);
});
