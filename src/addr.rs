//! Addresses and ports as the command line and the policy file write them:
//! IPv4 as a strict dotted quad, IPv6 in any standard form, no host names.

#![forbid(unsafe_code)]

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::str::FromStr;

use crate::num::parse_decimal;

/// Parses an IPv4 dotted quad: four decimal octets, no leading zeros, no
/// shortened forms such as `127.1`.
pub fn parse_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in octets.iter_mut() {
        let part = parts.next()?;
        if part.len() > 1 && part[0] == b'0' {
            return None;
        }
        *octet = u8::try_from(parse_decimal(part, 255)?).ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

/// Parses an IPv6 address without brackets; zone ids are refused.
pub fn parse_ipv6(text: &[u8]) -> Option<Ipv6Addr> {
    let text = core::str::from_utf8(text).ok()?;
    Ipv6Addr::from_str(text).ok()
}

/// Parses either kind of address. IPv6 may be written with or without
/// brackets.
pub fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    if let Some(inner) = text.strip_prefix(b"[").and_then(|t| t.strip_suffix(b"]")) {
        return parse_ipv6(inner).map(IpAddr::V6);
    }
    if text.contains(&b':') {
        parse_ipv6(text).map(IpAddr::V6)
    } else {
        parse_ipv4(text).map(IpAddr::V4)
    }
}

/// Parses a port number, 1 to 65535.
pub fn parse_port(text: &[u8]) -> Option<u16> {
    match parse_decimal(text, 65535)? {
        0 => None,
        port => u16::try_from(port).ok(),
    }
}

/// What went wrong with a `-p` value.
#[derive(Debug, PartialEq, Eq)]
pub enum PortSpecError {
    Port,
    Address,
    UnbracketedIpv6,
}

/// A `-p` value: `PORT`, `IPV4:PORT` or `[IPV6]:PORT`. The address is
/// `None` when the value names none.
pub fn parse_port_spec(text: &[u8]) -> Result<(Option<IpAddr>, u16), PortSpecError> {
    if let Some(rest) = text.strip_prefix(b"[") {
        let close = rest
            .iter()
            .position(|&b| b == b']')
            .ok_or(PortSpecError::Address)?;
        let addr = parse_ipv6(&rest[..close]).ok_or(PortSpecError::Address)?;
        let port = rest[close + 1..]
            .strip_prefix(b":")
            .ok_or(PortSpecError::Port)?;
        let port = parse_port(port).ok_or(PortSpecError::Port)?;
        return Ok((Some(IpAddr::V6(addr)), port));
    }
    let Some(colon) = text.iter().rposition(|&b| b == b':') else {
        return Ok((None, parse_port(text).ok_or(PortSpecError::Port)?));
    };
    let (host, port) = (&text[..colon], &text[colon + 1..]);
    if host.contains(&b':') {
        return Err(PortSpecError::UnbracketedIpv6);
    }
    let addr = parse_ipv4(host).ok_or(PortSpecError::Address)?;
    let port = parse_port(port).ok_or(PortSpecError::Port)?;
    Ok((Some(IpAddr::V4(addr)), port))
}

/// Writes a socket address the way the command line takes it back.
pub struct Display(pub SocketAddr);

impl core::fmt::Display for Display {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            SocketAddr::V4(a) => write!(f, "{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => write!(f, "[{}]:{}", a.ip(), a.port()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_a_strict_dotted_quad() {
        assert_eq!(parse_ipv4(b"127.0.0.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(parse_ipv4(b"0.0.0.0"), Some(Ipv4Addr::UNSPECIFIED));
        assert_eq!(parse_ipv4(b"255.255.255.255"), Some(Ipv4Addr::BROADCAST));
        for bad in [
            &b"127.1"[..],
            b"010.0.0.1",
            b"127.0.0.1x",
            b"127.0.0.1.",
            b".127.0.0.1",
            b"256.0.0.1",
            b"1.2.3",
            b"1.2.3.4.5",
            b"localhost",
            b"",
            b"1..2.3",
            b" 1.2.3.4",
            b"0x7f.0.0.1",
        ] {
            assert_eq!(parse_ipv4(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ipv6_in_standard_forms() {
        assert_eq!(parse_ip(b"::1"), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(parse_ip(b"[::1]"), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(parse_ip(b"::"), Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)));
        assert!(parse_ip(b"::ffff:192.0.2.1").is_some());
        assert!(parse_ip(b"2001:db8::1").is_some());
        assert_eq!(parse_ip(b"fe80::1%eth0"), None);
        assert_eq!(parse_ip(b"[::1"), None);
        assert_eq!(parse_ip(b":::"), None);
        assert_eq!(parse_ip(b"localhost"), None);
    }

    #[test]
    fn port_specs() {
        assert_eq!(parse_port_spec(b"23"), Ok((None, 23)));
        assert_eq!(
            parse_port_spec(b"127.0.0.1:23"),
            Ok((Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), 23))
        );
        assert_eq!(
            parse_port_spec(b"[::1]:23"),
            Ok((Some(IpAddr::V6(Ipv6Addr::LOCALHOST)), 23))
        );
        assert_eq!(
            parse_port_spec(b"::1:23"),
            Err(PortSpecError::UnbracketedIpv6)
        );
        assert_eq!(parse_port_spec(b"0"), Err(PortSpecError::Port));
        assert_eq!(parse_port_spec(b"65536"), Err(PortSpecError::Port));
        assert_eq!(parse_port_spec(b"23abc"), Err(PortSpecError::Port));
        assert_eq!(parse_port_spec(b"127.1:23"), Err(PortSpecError::Address));
        assert_eq!(parse_port_spec(b"[::1]23"), Err(PortSpecError::Port));
        assert_eq!(
            parse_port_spec(b"localhost:23"),
            Err(PortSpecError::Address)
        );
        assert_eq!(parse_port_spec(b":23"), Err(PortSpecError::Address));
        assert_eq!(parse_port_spec(b"127.0.0.1:"), Err(PortSpecError::Port));
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "127.0.0.1:23",
            "[::1]:80",
            "0.0.0.0:65535",
            "[2001:db8::1]:443",
        ] {
            let (addr, port) = parse_port_spec(text.as_bytes()).unwrap();
            let shown = alloc::format!("{}", Display(SocketAddr::new(addr.unwrap(), port)));
            assert_eq!(shown, text);
        }
    }
}
