//! The address parsers: `addr::parse_ipv4`, `parse_ipv6`, `parse_ip`,
//! `parse_port_spec` and `addr::Display`.
//!
//! portbind(8): "IPv4 strict dotted quad (`127.1`, `010.0.0.1`, `127.0.0.1x` are
//! refused); IPv6 in any standard form. No host names, no DNS." A `-p`
//! value is `PORT`, `IPV4:PORT` or `[IPV6]:PORT`.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use portbind::addr::{self, parse_ip, parse_ipv4, parse_ipv6, parse_port, parse_port_spec};

/// Every byte an accepted address or port spec may contain: digits, hex
/// letters, `.`, `:` and brackets. Anything else (a letter of a host
/// name, `%` of a zone id, a space, a sign) means a name or garbage was
/// accepted.
fn allowed(b: u8) -> bool {
    b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'[' | b']')
}

fn check_charset(what: &str, data: &[u8]) {
    if let Some(bad) = data.iter().find(|&&b| !allowed(b)) {
        panic!("{what} accepted {data:?}, which holds byte {bad:#04x} outside [0-9a-fA-F.:[]]");
    }
}

fn std_ipv4(data: &[u8]) -> Option<Ipv4Addr> {
    std::str::from_utf8(data).ok()?.parse().ok()
}

fn std_ipv6(data: &[u8]) -> Option<Ipv6Addr> {
    std::str::from_utf8(data).ok()?.parse().ok()
}

fn show(addr: IpAddr, port: u16) -> String {
    format!("{}", addr::Display(SocketAddr::new(addr, port)))
}

fuzz_target!(|data: &[u8]| {
    // IPv4: accepted text is exactly the canonical form of the result.
    let v4 = parse_ipv4(data);
    if let Some(a) = v4 {
        assert_eq!(
            a.to_string().as_bytes(),
            data,
            "parse_ipv4 accepted {data:?} as {a}, which is not its canonical dotted quad"
        );
    }
    // The standard library's parser is strict in the same way.
    assert_eq!(
        v4,
        std_ipv4(data),
        "parse_ipv4({data:?}) disagrees with std's Ipv4Addr parser"
    );

    // IPv6: only standard text, no zone id, and it round-trips.
    if let Some(a) = parse_ipv6(data) {
        check_charset("parse_ipv6", data);
        assert_eq!(parse_ipv6(a.to_string().as_bytes()), Some(a));
        assert_eq!(std_ipv6(data), Some(a));
    }

    // Either kind.
    if let Some(ip) = parse_ip(data) {
        check_charset("parse_ip", data);
        match ip {
            IpAddr::V4(a) => assert_eq!(
                a.to_string().as_bytes(),
                data,
                "parse_ip accepted {data:?} as {a}, not its canonical form"
            ),
            IpAddr::V6(a) => {
                let bare = data
                    .strip_prefix(b"[")
                    .and_then(|t| t.strip_suffix(b"]"))
                    .unwrap_or(data);
                assert_eq!(std_ipv6(bare), Some(a), "parse_ip({data:?})");
                let bracketed = format!("[{a}]");
                assert_eq!(parse_ip(bracketed.as_bytes()), Some(ip));
            }
        }
        assert_eq!(parse_ip(ip.to_string().as_bytes()), Some(ip));
    }

    // `-p` values.
    if let Ok((addr, port)) = parse_port_spec(data) {
        check_charset("parse_port_spec", data);
        assert!(port >= 1, "parse_port_spec accepted port 0 from {data:?}");
        match addr {
            None => {
                assert!(
                    data.iter().all(u8::is_ascii_digit),
                    "parse_port_spec({data:?}) named no address but is not all digits"
                );
                assert_eq!(parse_port(data), Some(port));
            }
            Some(ip) => {
                if ip.is_ipv6() {
                    assert!(
                        data.starts_with(b"["),
                        "unbracketed IPv6 accepted: {data:?}"
                    );
                }
                let shown = show(ip, port);
                assert_eq!(
                    parse_port_spec(shown.as_bytes()),
                    Ok((Some(ip), port)),
                    "{data:?} parsed as ({ip}, {port}), shown as {shown:?}, which parses differently"
                );
                // The address part alone is an address `-i` takes too.
                let colon = data.iter().rposition(|&b| b == b':').unwrap();
                assert_eq!(parse_ip(&data[..colon]), Some(ip), "{data:?}");
                assert_eq!(parse_port(&data[colon + 1..]), Some(port), "{data:?}");
            }
        }
    }
});
