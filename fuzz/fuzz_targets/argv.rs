//! The command line: `args::parse` on the input split at NUL bytes into
//! arguments (argv after argv[0]); an empty input is an empty list.
//!
//! On success every value is in range and the driver's arguments are
//! exactly the tail of the list, as an independent getopt-style scan
//! finds it; on failure the error is a usage error (status 64) whose
//! message is one line of printable text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portbind::addr::parse_port_spec;
use portbind::args::{self, Account, Command, Options, PortSpec};
use portbind::error::Error;

const MAX_ID: u32 = 4_294_967_294;

/// Letters that take a value, from portbind(8)'s synopsis.
fn takes_value(letter: u8) -> bool {
    b"pidugfbe".contains(&letter)
}

/// What a plain getopt scan sees: the (letter, value) pairs, the flags, and
/// where the driver's arguments start. `None` when the scan ends in a
/// value that is missing (which must be an error).
struct Scan<'a> {
    values: Vec<(u8, &'a [u8])>,
    flags: Vec<u8>,
    rest: usize,
}

fn scan<'a>(args: &[&'a [u8]]) -> Option<Scan<'a>> {
    let mut out = Scan {
        values: Vec::new(),
        flags: Vec::new(),
        rest: args.len(),
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        i += 1;
        if arg == b"--" {
            out.rest = i;
            return Some(out);
        }
        if arg.len() < 2 || arg[0] != b'-' {
            out.rest = i - 1;
            return Some(out);
        }
        for (j, &letter) in arg.iter().enumerate().skip(1) {
            if !takes_value(letter) {
                out.flags.push(letter);
                continue;
            }
            if j + 1 < arg.len() {
                out.values.push((letter, &arg[j + 1..]));
            } else {
                out.values.push((letter, *args.get(i)?));
                i += 1;
            }
            break;
        }
    }
    Some(out)
}

fn is_identifier(name: &[u8]) -> bool {
    name.first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

fn check_account(what: &str, account: Option<Account<'_>>, given: Option<&[u8]>) {
    assert_eq!(
        account.is_some(),
        given.is_some(),
        "{what} given and parsed differ"
    );
    match account {
        Some(Account::Id(id)) => {
            assert!(id <= MAX_ID, "{what} id {id} is above {MAX_ID}");
            let text = given.unwrap();
            assert!(
                text.iter().all(u8::is_ascii_digit),
                "{what} {text:?} read as id {id}"
            );
            assert_eq!(
                std::str::from_utf8(text).unwrap().parse::<u128>().unwrap(),
                u128::from(id)
            );
        }
        Some(Account::Name(name)) => {
            assert!(!name.is_empty(), "{what}: empty name accepted");
            assert!(
                !name.iter().all(u8::is_ascii_digit),
                "{what}: all-digit value {name:?} taken as a name"
            );
            assert_eq!(Some(name), given);
        }
        None => {}
    }
}

fn check_run(list: &[&[u8]], opts: &Options<'_>) {
    assert!(
        opts.ports.len() <= args::MAX_SOCKETS,
        "{} ports accepted",
        opts.ports.len()
    );
    for spec in &opts.ports {
        assert!(spec.port >= 1, "port 0 accepted: {list:?}");
    }
    assert!(
        opts.ambient || !opts.ports.is_empty(),
        "neither a port nor -a: {list:?}"
    );
    assert!(
        !(opts.systemd && opts.first_fd.is_some()),
        "-s and -f both accepted: {list:?}"
    );
    let fd = opts.first_fd();
    assert!((3..=65535).contains(&fd), "first fd {fd}: {list:?}");
    if opts.systemd {
        assert_eq!(fd, 3);
    }
    if let Some(backlog) = opts.backlog {
        assert!(
            (1..=65535).contains(&backlog),
            "backlog {backlog}: {list:?}"
        );
    }
    if let Some(driver) = opts.driver {
        assert!(!driver.is_empty(), "empty driver path accepted");
    }
    assert!(!opts.driver().is_empty());
    for &name in &opts.keep_env {
        assert!(is_identifier(name), "-e {name:?} is not a variable name");
        assert!(name.len() <= 128, "-e name of {} bytes", name.len());
        assert!(
            name != b"PORTBIND_USER" && !name.starts_with(b"LISTEN_"),
            "-e {:?} accepted: portbind sets PORTBIND_USER and LISTEN_* itself",
            String::from_utf8_lossy(name)
        );
    }

    // The driver's arguments: exactly the tail of the list, the same
    // slice, byte for byte.
    let n = opts.driver_args.len();
    assert!(n <= list.len());
    let tail = &list[list.len() - n..];
    assert_eq!(
        opts.driver_args, tail,
        "driver args are not the tail of {list:?}"
    );
    assert!(
        n == 0 || std::ptr::eq(opts.driver_args.as_ptr(), tail.as_ptr()),
        "driver args are a copy, not the tail of the list"
    );

    // Where the tail starts and what came before, against a plain scan.
    let scan = scan(list).unwrap_or_else(|| panic!("accepted with a value missing: {list:?}"));
    assert_eq!(
        list.len() - n,
        scan.rest,
        "driver args start at {} but a getopt scan says {}: {list:?}",
        list.len() - n,
        scan.rest
    );
    let given = |letter: u8| -> Vec<&[u8]> {
        scan.values
            .iter()
            .filter(|(l, _)| *l == letter)
            .map(|(_, v)| *v)
            .collect()
    };
    let ports: Vec<PortSpec> = given(b'p')
        .iter()
        .map(|v| {
            let (addr, port) = parse_port_spec(v).expect("a -p value parse_port_spec refuses");
            PortSpec { addr, port }
        })
        .collect();
    assert_eq!(opts.ports, ports, "{list:?}");
    assert_eq!(opts.keep_env, given(b'e'), "{list:?}");
    for letter in *b"iudgfb" {
        assert!(
            given(letter).len() <= 1,
            "-{} twice accepted",
            letter as char
        );
    }
    assert_eq!(opts.driver, given(b'd').first().copied());
    assert_eq!(opts.interface.is_some(), !given(b'i').is_empty());
    assert_eq!(opts.first_fd.is_some(), !given(b'f').is_empty());
    assert_eq!(opts.backlog.is_some(), !given(b'b').is_empty());
    check_account("-u", opts.user, given(b'u').first().copied());
    check_account("-g", opts.group, given(b'g').first().copied());
    let flag = |letter: u8| scan.flags.iter().filter(|&&f| f == letter).count();
    for (letter, set) in [
        (b's', opts.systemd),
        (b'a', opts.ambient),
        (b'c', opts.check),
    ] {
        assert_eq!(
            flag(letter),
            usize::from(set),
            "-{}: {list:?}",
            letter as char
        );
    }
    assert!(
        scan.flags.iter().all(|f| b"sac".contains(f)),
        "unknown flag accepted: {list:?}"
    );
}

fn check_error(list: &[&[u8]], err: &Error) {
    assert!(matches!(err, Error::Usage(_)), "{err:?} for {list:?}");
    assert_eq!(err.exit_status(), 64, "{err:?}");
    let text = err.to_string();
    assert!(!text.contains('\n'), "error message spans lines: {text:?}");
    assert!(
        text.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        "error message holds bytes that are not printable ASCII: {text:?}"
    );
    assert!(
        !text.is_empty() && text.len() <= 1024,
        "message of {} bytes",
        text.len()
    );
}

fuzz_target!(|data: &[u8]| {
    let list: Vec<&[u8]> = if data.is_empty() {
        Vec::new()
    } else {
        data.split(|&b| b == 0).collect()
    };
    match args::parse(&list) {
        Ok(Command::Run(opts)) => check_run(&list, &opts),
        Ok(Command::Help | Command::Version) => {}
        Err(err) => check_error(&list, &err),
    }
});
