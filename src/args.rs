//! The command line, parsed by hand, POSIX-getopt compatible: values
//! attached (`-p23`) or separate (`-p 23`), flags clustered (`-ca`),
//! scanning stops at `--` or at the first argument that is not an option.

#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::addr::{parse_ip, parse_port_spec, PortSpecError};
use crate::error::{Error, Text};
use crate::ids::MAX_ID;
use crate::num::{is_all_digits, parse_decimal};

pub const DEFAULT_DRIVER: &[u8] = b"./driver";
pub const DEFAULT_FIRST_FD: u32 = 6;
pub const SYSTEMD_FIRST_FD: u32 = 3;
pub const MAX_FD: u64 = 65535;
/// More sockets than a driver could want; it bounds the work a hostile
/// command line can cause.
pub const MAX_SOCKETS: usize = 256;
/// Likewise for `-e`.
pub const MAX_KEPT: usize = 64;

/// A user or group as the command line names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account<'a> {
    Id(u32),
    Name(&'a [u8]),
}

/// A `-p` value; the address is `None` when it names none (then `-i` or
/// 0.0.0.0 applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortSpec {
    pub addr: Option<IpAddr>,
    pub port: u16,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options<'a> {
    pub ports: Vec<PortSpec>,
    pub interface: Option<IpAddr>,
    pub driver: Option<&'a [u8]>,
    pub user: Option<Account<'a>>,
    pub group: Option<Account<'a>>,
    pub first_fd: Option<u32>,
    pub systemd: bool,
    pub backlog: Option<u32>,
    pub ambient: bool,
    pub keep_env: Vec<&'a [u8]>,
    pub check: bool,
    pub driver_args: &'a [&'a [u8]],
}

impl Options<'_> {
    pub fn driver(&self) -> &[u8] {
        self.driver.unwrap_or(DEFAULT_DRIVER)
    }

    /// The fd the first socket goes on.
    pub fn first_fd(&self) -> u32 {
        match (self.systemd, self.first_fd) {
            (true, _) => SYSTEMD_FIRST_FD,
            (false, Some(fd)) => fd,
            (false, None) => DEFAULT_FIRST_FD,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Command<'a> {
    Run(Options<'a>),
    Help,
    Version,
}

/// Environment names portbind sets itself; `-e` cannot override them, nor
/// pass any other `LISTEN_` variable of the socket-activation protocol.
pub const RESERVED_NAMES: [&[u8]; 4] = [
    b"PORTBIND_USER",
    b"LISTEN_FDS",
    b"LISTEN_PID",
    b"LISTEN_FDNAMES",
];

fn usage(text: String) -> Error {
    Error::Usage(text)
}

/// Parses `args`, the arguments after argv[0].
pub fn parse<'a>(args: &'a [&'a [u8]]) -> Result<Command<'a>, Error> {
    let mut opts = Options::default();
    let mut index = 0;
    while let Some(&arg) = args.get(index) {
        index += 1;
        match arg {
            b"--" => {
                return finish(opts, args.get(index..).unwrap_or_default());
            }
            b"--help" => return Ok(Command::Help),
            b"--version" => return Ok(Command::Version),
            _ if arg.len() < 2 || arg[0] != b'-' => {
                return finish(opts, args.get(index - 1..).unwrap_or_default());
            }
            _ if arg.starts_with(b"--") => {
                return Err(usage(format!(
                    "unknown option {}; put -- before arguments meant for the driver",
                    Text(arg)
                )));
            }
            _ => {}
        }
        let mut pos = 1;
        while let Some(&letter) = arg.get(pos) {
            pos += 1;
            if !takes_value(letter) {
                match flag(&mut opts, letter)? {
                    Some(command) => return Ok(command),
                    None => continue,
                }
            }
            let attached = &arg[pos..];
            let value = if !attached.is_empty() {
                attached
            } else if let Some(&next) = args.get(index) {
                index += 1;
                next
            } else {
                return Err(usage(format!("option -{} needs a value", letter as char)));
            };
            option(&mut opts, letter, value)?;
            break;
        }
    }
    finish(opts, &[])
}

fn takes_value(letter: u8) -> bool {
    matches!(
        letter,
        b'p' | b'i' | b'd' | b'u' | b'g' | b'f' | b'b' | b'e'
    )
}

fn flag<'a>(opts: &mut Options<'a>, letter: u8) -> Result<Option<Command<'a>>, Error> {
    let seen = match letter {
        b'h' => return Ok(Some(Command::Help)),
        b'V' => return Ok(Some(Command::Version)),
        b's' => core::mem::replace(&mut opts.systemd, true),
        b'a' => core::mem::replace(&mut opts.ambient, true),
        b'c' => core::mem::replace(&mut opts.check, true),
        _ => {
            return Err(usage(format!(
                "unknown option -{}; put -- before arguments meant for the driver",
                Text(&[letter])
            )))
        }
    };
    if seen {
        return Err(twice(letter));
    }
    Ok(None)
}

fn twice(letter: u8) -> Error {
    usage(format!("option -{} given twice", letter as char))
}

fn set_once<T>(slot: &mut Option<T>, value: T, letter: u8) -> Result<(), Error> {
    if slot.replace(value).is_some() {
        return Err(twice(letter));
    }
    Ok(())
}

fn option<'a>(opts: &mut Options<'a>, letter: u8, value: &'a [u8]) -> Result<(), Error> {
    match letter {
        b'p' if opts.ports.len() >= MAX_SOCKETS => {
            return Err(usage(format!("at most {MAX_SOCKETS} -p options")));
        }
        b'p' => opts.ports.push(port_spec(value)?),
        b'i' => {
            let addr = parse_ip(value)
                .ok_or_else(|| usage(format!("-i {}: not an IPv4 or IPv6 address", Text(value))))?;
            set_once(&mut opts.interface, addr, letter)?;
        }
        b'd' => {
            if value.is_empty() {
                return Err(usage(String::from("-d: the driver path is empty")));
            }
            set_once(&mut opts.driver, value, letter)?;
        }
        b'u' => set_once(&mut opts.user, account(value, letter)?, letter)?,
        b'g' => set_once(&mut opts.group, account(value, letter)?, letter)?,
        b'f' => {
            let fd = number(value, letter, 3, MAX_FD, "an fd number from 3 to 65535")?;
            set_once(&mut opts.first_fd, fd, letter)?;
        }
        b'b' => {
            let backlog = number(value, letter, 1, 65535, "a backlog from 1 to 65535")?;
            set_once(&mut opts.backlog, backlog, letter)?;
        }
        _ if opts.keep_env.len() >= MAX_KEPT => {
            return Err(usage(format!("at most {MAX_KEPT} -e options")));
        }
        _ => opts.keep_env.push(env_name(value)?),
    }
    Ok(())
}

fn number(value: &[u8], letter: u8, min: u64, max: u64, what: &str) -> Result<u32, Error> {
    match parse_decimal(value, max) {
        Some(n) if n >= min => Ok(n as u32),
        _ => Err(usage(format!(
            "-{} {}: expected {what}",
            letter as char,
            Text(value)
        ))),
    }
}

fn port_spec(value: &[u8]) -> Result<PortSpec, Error> {
    let problem = match parse_port_spec(value) {
        Ok((addr, port)) => return Ok(PortSpec { addr, port }),
        Err(PortSpecError::Port) => "expected a port from 1 to 65535",
        Err(PortSpecError::Address) => "not an IPv4 dotted quad or [IPv6] address",
        Err(PortSpecError::UnbracketedIpv6) => "write an IPv6 address in brackets, as [::1]:23",
    };
    Err(usage(format!("-p {}: {problem}", Text(value))))
}

fn account(value: &[u8], letter: u8) -> Result<Account<'_>, Error> {
    if value.is_empty() {
        return Err(usage(format!("-{}: empty name", letter as char)));
    }
    if !is_all_digits(value) {
        return Ok(Account::Name(value));
    }
    match parse_decimal(value, MAX_ID) {
        Some(id) => Ok(Account::Id(id as u32)),
        None => Err(usage(format!(
            "-{} {}: ids range from 0 to {MAX_ID}",
            letter as char,
            Text(value)
        ))),
    }
}

fn env_name(value: &[u8]) -> Result<&[u8], Error> {
    let valid = value.len() <= 128
        && value
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    if !valid {
        return Err(usage(format!("-e {}: not a variable name", Text(value))));
    }
    if RESERVED_NAMES.contains(&value) {
        return Err(usage(format!(
            "-e {}: portbind sets this variable itself",
            Text(value)
        )));
    }
    if value.starts_with(b"LISTEN_") {
        return Err(usage(format!(
            "-e {}: LISTEN_ variables belong to socket activation, which portbind sets up",
            Text(value)
        )));
    }
    Ok(value)
}

fn finish<'a>(mut opts: Options<'a>, rest: &'a [&'a [u8]]) -> Result<Command<'a>, Error> {
    opts.driver_args = rest;
    if opts.systemd && opts.first_fd.is_some() {
        return Err(usage(String::from("-s and -f cannot be used together")));
    }
    if opts.ports.is_empty() && !opts.ambient {
        return Err(usage(String::from("no port given (-p PORT)")));
    }
    Ok(Command::Run(opts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    fn run(args: &[&'static str]) -> Result<Options<'static>, Error> {
        let args: Vec<&'static [u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let args: &'static [&'static [u8]] = Vec::leak(args);
        match parse(args)? {
            Command::Run(opts) => Ok(opts),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn usage_text(args: &[&'static str]) -> String {
        match run(args) {
            Err(Error::Usage(text)) => text,
            other => panic!("expected a usage error for {args:?}, got {other:?}"),
        }
    }

    #[test]
    fn values_attached_or_separate() {
        let opts = run(&[
            "-p23",
            "-p",
            "4000",
            "-u",
            "mud",
            "-g100",
            "-d",
            "bin/driver",
        ])
        .unwrap();
        assert_eq!(opts.ports.len(), 2);
        assert_eq!(
            opts.ports[0],
            PortSpec {
                addr: None,
                port: 23
            }
        );
        assert_eq!(opts.ports[1].port, 4000);
        assert_eq!(opts.user, Some(Account::Name(b"mud")));
        assert_eq!(opts.group, Some(Account::Id(100)));
        assert_eq!(opts.driver(), b"bin/driver");
    }

    #[test]
    fn clustered_flags_and_a_trailing_value() {
        let opts = run(&["-cap", "23"]).unwrap();
        assert!(opts.check && opts.ambient);
        assert_eq!(opts.ports[0].port, 23);
        let opts = run(&["-cp23"]).unwrap();
        assert!(opts.check);
        assert_eq!(opts.ports[0].port, 23);
    }

    #[test]
    fn scanning_stops_at_double_dash_or_first_operand() {
        let opts = run(&["-p", "23", "--", "-u", "x"]).unwrap();
        assert_eq!(opts.driver_args, &[&b"-u"[..], b"x"]);
        assert!(opts.user.is_none());
        let opts = run(&["-p", "23", "mudlib.cfg", "-u", "x"]).unwrap();
        assert_eq!(opts.driver_args, &[&b"mudlib.cfg"[..], b"-u", b"x"]);
        let opts = run(&["-p", "23", "-", "x"]).unwrap();
        assert_eq!(opts.driver_args, &[&b"-"[..], b"x"]);
    }

    #[test]
    fn driver_args_pass_byte_for_byte() {
        let args: &'static [&'static [u8]] = &[b"-p", b"23", b"--", b"\xff\xfe", b""];
        let Ok(Command::Run(opts)) = parse(args) else {
            panic!()
        };
        assert_eq!(opts.driver_args, &[&b"\xff\xfe"[..], b""]);
    }

    #[test]
    fn unknown_options_are_refused_with_a_hint() {
        assert!(usage_text(&["-p", "23", "-U", "1000"]).contains("unknown option -U"));
        assert!(usage_text(&["-p", "23", "-x"]).contains("put -- before"));
        assert!(usage_text(&["--port=23"]).contains("unknown option --port=23"));
    }

    #[test]
    fn single_valued_options_only_once() {
        for args in [
            &["-p", "23", "-u", "a", "-u", "b"][..],
            &["-p", "23", "-g", "1", "-g", "1"],
            &["-p", "23", "-d", "a", "-d", "b"],
            &["-p", "23", "-i", "::1", "-i", "::1"],
            &["-p", "23", "-f", "6", "-f", "7"],
            &["-p", "23", "-b", "5", "-b", "5"],
            &["-p", "23", "-a", "-a"],
            &["-p", "23", "-cc"],
        ] {
            assert!(usage_text(args).contains("given twice"), "{args:?}");
        }
    }

    #[test]
    fn missing_values() {
        assert!(usage_text(&["-p"]).contains("-p needs a value"));
        assert!(usage_text(&["-p", "23", "-d"]).contains("-d needs a value"));
        assert!(usage_text(&[]).contains("no port"));
    }

    #[test]
    fn numbers_are_strict() {
        for bad in [
            "23abc",
            " 23",
            "+23",
            "0x17",
            "",
            "0",
            "65536",
            "-1",
            "٢٣",
            "4294967296",
        ] {
            let text = usage_text(&["-p", bad]);
            assert!(text.starts_with("-p "), "{bad}: {text}");
        }
        assert!(usage_text(&["-p", "23", "-u", "4294967295"]).contains("ids range"));
        assert!(usage_text(&["-p", "23", "-g", "4294967296"]).contains("ids range"));
        assert!(usage_text(&["-p", "23", "-f", "2"]).contains("fd number"));
        assert!(usage_text(&["-p", "23", "-b", "0"]).contains("backlog"));
        assert!(usage_text(&["-p", "23", "-u", ""]).contains("empty name"));
        let opts = run(&["-p", "23", "-u", "4294967294", "-g", "0"]).unwrap();
        assert_eq!(opts.user, Some(Account::Id(4_294_967_294)));
        assert_eq!(opts.group, Some(Account::Id(0)));
        let opts = run(&["-p", "23", "-u", "12ab"]).unwrap();
        assert_eq!(opts.user, Some(Account::Name(b"12ab")));
    }

    #[test]
    fn addresses() {
        let opts = run(&["-p", "127.0.0.1:23", "-p", "[::1]:80", "-i", "::"]).unwrap();
        assert_eq!(opts.ports[0].addr, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(opts.ports[1].addr, Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(opts.interface, Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)));
        for bad in ["127.1", "010.0.0.1", "127.0.0.1x", "localhost"] {
            assert!(
                usage_text(&["-p", "23", "-i", bad]).starts_with("-i "),
                "{bad}"
            );
        }
        assert!(usage_text(&["-p", "::1:23"]).contains("brackets"));
    }

    #[test]
    fn systemd_and_fd_exclude_each_other() {
        assert!(usage_text(&["-s", "-f", "6", "-p", "23"]).contains("-s and -f"));
        let opts = run(&["-s", "-p", "23"]).unwrap();
        assert_eq!(opts.first_fd(), 3);
        let opts = run(&["-p", "23"]).unwrap();
        assert_eq!(opts.first_fd(), 6);
        let opts = run(&["-p", "23", "-f", "10"]).unwrap();
        assert_eq!(opts.first_fd(), 10);
    }

    #[test]
    fn env_names() {
        let opts = run(&["-p", "23", "-e", "MUD_HOME", "-e", "_X1"]).unwrap();
        assert_eq!(opts.keep_env, &[&b"MUD_HOME"[..], b"_X1"]);
        for bad in [
            "1X",
            "A=B",
            "",
            "A-B",
            "PORTBIND_USER",
            "LISTEN_PID",
            "LISTEN_PIDFDID",
        ] {
            assert!(
                usage_text(&["-p", "23", "-e", bad]).starts_with("-e "),
                "{bad}"
            );
        }
    }

    #[test]
    fn help_and_version() {
        let args: &'static [&'static [u8]] = &[b"-h"];
        assert_eq!(parse(args).unwrap(), Command::Help);
        let args: &'static [&'static [u8]] = &[b"--version"];
        assert_eq!(parse(args).unwrap(), Command::Version);
        let args: &'static [&'static [u8]] = &[b"-p", b"23", b"-V"];
        assert_eq!(parse(args).unwrap(), Command::Version);
    }

    #[test]
    fn sockets_are_bounded() {
        let many: Vec<String> = (0..=MAX_SOCKETS).map(|i| format!("-p{}", i + 1)).collect();
        let many: Vec<&'static str> = many.into_iter().map(|s| &*String::leak(s)).collect();
        assert!(usage_text(&many).contains("at most 256"));
        assert!(run(&many[..MAX_SOCKETS]).is_ok());
    }

    #[test]
    fn ambient_needs_no_port() {
        let opts = run(&["-a"]).unwrap();
        assert!(opts.ambient && opts.ports.is_empty());
    }
}
