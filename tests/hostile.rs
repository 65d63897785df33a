//! Hostile input, family by family (the families SECURITY.md lists): the installed
//! setuid portbind run by nobody (or by root where the family needs it)
//! inside the sandbox, with the bad argv, numbers, addresses, accounts,
//! groups, fds, stderr, signal state, environment, privilege state, ports
//! and drivers an attacker can hand it.
//!
//! Every case ends in one of portbind(8)'s statuses with one `portbind: `
//! line on stderr, or in the probe driver, whose report shows what it was
//! given; the driver never runs with a root id or a capability it was not
//! meant to have, and no portbind process or bound socket is left behind.
//! The policy file is policy.rs's subject and -s/-a are activation.rs's;
//! here they appear only where an attack needs them.
//!
//! Each test runs one sandbox script made of named cases; a case's stdout,
//! stderr and status land in `$OUT/NAME.out`, `.err` and `.rc`.

mod common;

use common::{status_code, stderr_str, stdout_str, Report, Sandbox};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const POLICY: &str = env!("PORTBIND_POLICY_PATH");
const DRIVER_PATH: &str = "PATH=/usr/local/bin:/usr/bin:/bin";
/// errno(3)'s wording for EMFILE, which portbind uses (musl's would be "No file
/// descriptors available").
const EMFILE_TEXT: &str = "Too many open files";

// ---------------------------------------------------------------------
// argv itself
// ---------------------------------------------------------------------

#[test]
fn argv_empty_argv_is_refused_before_anything_else() {
    if !common::root_or_skip("argv_empty_argv_is_refused_before_anything_else") {
        return;
    }
    let sandbox = Sandbox::new();
    let noargv = sandbox.dir().join("hostile_noargv");
    fs::copy(noargv_helper(), &noargv).expect("copy hostile_noargv");
    set_mode(&noargv, 0o755);

    // The helper's remaining arguments become portbind's whole
    // environment: options that would run the probe if portbind read
    // envp[0] as argv[1].
    let outcomes = Script::new()
        .case(
            "probe",
            r#"$AS_NOBODY "$SANDBOX/hostile_noargv" "$PROBE" HOSTILE=1"#,
        )
        .case(
            "nobody",
            r#"$AS_NOBODY "$SANDBOX/hostile_noargv" "$PB" -p 4000 -d "$PROBE""#,
        )
        .case(
            "nobody_attached",
            r#"$AS_NOBODY "$SANDBOX/hostile_noargv" "$PB" -p4000 "-d$PROBE" -u65534"#,
        )
        .case(
            "root",
            r#""$SANDBOX/hostile_noargv" "$PB" -p 23 -u root -d "$PROBE""#,
        )
        // What the kernel makes of an empty argv, with arguments after it.
        .case(
            "empty_argv0_with_args",
            r#"$AS_NOBODY bash -c 'exec -a "" "$0" -p 4000 -d "$1"' "$PB" "$PROBE""#,
        )
        .run(&sandbox);

    // Linux 5.18 and later hand a program started with no argv the list
    // { "" }; older kernels hand it argc == 0. The probe shows the helper
    // did start it without arguments; portbind cannot tell the two apart
    // and refuses both.
    let probe = outcomes.get("probe").report();
    assert_eq!(probe.all("env"), ["HOSTILE=1"]);
    match probe.get("argc") {
        Some("0") => assert!(probe.all("argv").is_empty()),
        Some("1") => assert_eq!(probe.all("argv"), [""]),
        other => panic!("the probe saw argc {other:?}"),
    }
    for name in ["nobody", "nobody_attached", "root", "empty_argv0_with_args"] {
        outcomes.get(name).usage("empty argument list (no argv[0])");
    }
    finish(&sandbox);
}

#[test]
fn argv_option_missing_its_value() {
    if !common::root_or_skip("argv_option_missing_its_value") {
        return;
    }
    let sandbox = Sandbox::new();
    let mut script = Script::new()
        .case("p_alone", r#"$AS_NOBODY "$PB" -p"#)
        .case("p_then_d", r#"$AS_NOBODY "$PB" -p 23 -d"#)
        .case("u_alone", r#"$AS_NOBODY "$PB" -u"#)
        // Like getopt, an option takes the next argument whatever it is.
        .case("p_takes_dash_d", r#"$AS_NOBODY "$PB" -p -d "$PROBE""#)
        .case(
            "u_takes_dash_p",
            r#"$AS_NOBODY "$PB" -u -p 4000 -d "$PROBE""#,
        );
    for letter in ["p", "i", "d", "u", "g", "f", "b", "e"] {
        script = script.case(
            &format!("last_{letter}"),
            &format!(r#"$AS_NOBODY "$PB" -p 4000 -{letter}"#),
        );
    }
    let outcomes = script.run(&sandbox);

    outcomes.get("p_alone").usage("option -p needs a value");
    outcomes.get("p_then_d").usage("option -d needs a value");
    outcomes.get("u_alone").usage("option -u needs a value");
    outcomes
        .get("p_takes_dash_d")
        .usage("-p -d: expected a port from 1 to 65535");
    // -u took "-p"; "4000" then ends the options, so no port was given.
    outcomes
        .get("u_takes_dash_p")
        .usage("no port given (-p PORT)");
    for letter in ["p", "i", "d", "u", "g", "f", "b", "e"] {
        outcomes
            .get(&format!("last_{letter}"))
            .usage(&format!("option -{letter} needs a value"));
    }
    finish(&sandbox);
}

#[test]
fn argv_single_valued_options_given_twice() {
    if !common::root_or_skip("argv_single_valued_options_given_twice") {
        return;
    }
    let sandbox = Sandbox::new();
    let twice: &[(&str, char, &str)] = &[
        ("i_same", 'i', "-i 127.0.0.1 -i 127.0.0.1"),
        ("i_differ", 'i', "-i ::1 -i 127.0.0.1"),
        ("d_same", 'd', r#"-d "$PROBE""#),
        ("u_same", 'u', "-u nobody -u nobody"),
        ("u_differ", 'u', "-u nobody -u root"),
        ("u_attached", 'u', "-u65534 -u 65534"),
        ("g_same", 'g', "-g nogroup -g 65534"),
        ("f_same", 'f', "-f 6 -f 6"),
        ("f_differ", 'f', "-f7 -f 8"),
        ("b_same", 'b', "-b 5 -b 5"),
        ("b_differ", 'b', "-b 5 -b 10"),
        ("s_apart", 's', "-s -s"),
        ("s_clustered", 's', "-ss"),
        ("a_apart", 'a', "-a -a"),
        ("a_clustered", 'a', "-aa"),
        ("c_apart", 'c', "-c -c"),
        ("c_clustered", 'c', "-cc"),
        ("c_around_a", 'c', "-cac"),
    ];
    let mut script = Script::new();
    for (name, _, options) in twice {
        script = script.case(
            name,
            &format!(r#"$AS_NOBODY "$PB" -p 4000 -d "$PROBE" {options}"#),
        );
    }
    // -p and -e are meant to repeat, but not with the same socket twice.
    let same_socket = [
        ("p_same_port", "-p 4000 -p 4000", "0.0.0.0:4000"),
        (
            "p_same_spelled_out",
            "-p 4000 -p 0.0.0.0:4000",
            "0.0.0.0:4000",
        ),
        (
            "p_same_by_i",
            "-i 127.0.0.1 -p 4000 -p 127.0.0.1:4000",
            "127.0.0.1:4000",
        ),
        (
            "p_same_v6",
            "-p '[::1]:4000' -p '[0::1]:4000'",
            "[::1]:4000",
        ),
    ];
    for (name, options, _) in same_socket {
        script = script.case(name, &format!(r#"$AS_NOBODY "$PB" {options} -d "$PROBE""#));
    }
    let outcomes = script
        .case(
            "p_repeats",
            r#"$AS_NOBODY "$PB" -p 4000 -p 4001 -e TERM -e TERM -d "$PROBE""#,
        )
        .run(&sandbox);

    for (name, letter, _) in twice {
        outcomes
            .get(name)
            .usage(&format!("option -{letter} given twice"));
    }
    for (name, _, socket) in same_socket {
        outcomes
            .get(name)
            .usage(&format!("-p {socket} given twice"));
    }
    let report = outcomes.get("p_repeats").ran_as_nobody();
    assert_eq!(report.fds(), [0, 1, 2, 6, 7]);
    assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 4000"));
    assert_eq!(report.get("sock.7"), Some("inet 0.0.0.0 4001"));
    finish(&sandbox);
}

#[test]
fn argv_unknown_options_are_refused_with_a_hint() {
    if !common::root_or_skip("argv_unknown_options_are_refused_with_a_hint") {
        return;
    }
    let sandbox = Sandbox::new();
    let outcomes = Script::new()
        // The original handed -U to the driver and dropped nothing.
        .case("U_first", r#"$AS_NOBODY "$PB" -U 1000 -p 4000 -d "$PROBE""#)
        .case("U_last", r#"$AS_NOBODY "$PB" -p 4000 -d "$PROBE" -U 1000"#)
        .case("U_root", r#""$PB" -p 23 -u nobody -d "$PROBE" -U 0"#)
        .case("U_clustered", r#"$AS_NOBODY "$PB" -p 4000 -cU 1000"#)
        .case("P", r#"$AS_NOBODY "$PB" -P 23 -d "$PROBE""#)
        .case("x", r#"$AS_NOBODY "$PB" -p 4000 -x"#)
        .case(
            "non_utf8",
            &format!(r#"$AS_NOBODY "$PB" -p 4000 {}"#, sh(b"-\xff")),
        )
        // After the first operand, or after --, it is the driver's.
        .case(
            "U_after_operand",
            r#"$AS_NOBODY "$PB" -p 4000 -d "$PROBE" mud.cfg -U 1000"#,
        )
        .case(
            "U_after_dashes",
            r#"$AS_NOBODY "$PB" -p 4000 -d "$PROBE" -- -U 1000"#,
        )
        .run(&sandbox);

    let hint = "; put -- before arguments meant for the driver";
    for name in ["U_first", "U_last", "U_root", "U_clustered"] {
        outcomes
            .get(name)
            .usage(&format!("unknown option -U{hint}"));
    }
    outcomes.get("P").usage(&format!("unknown option -P{hint}"));
    outcomes.get("x").usage(&format!("unknown option -x{hint}"));
    outcomes
        .get("non_utf8")
        .usage(&format!("unknown option -\\xff{hint}"));

    let report = outcomes.get("U_after_operand").ran_as_nobody();
    assert_eq!(report.all("argv")[1..], ["mud.cfg", "-U", "1000"]);
    let report = outcomes.get("U_after_dashes").ran_as_nobody();
    assert_eq!(report.all("argv")[1..], ["-U", "1000"]);
    finish(&sandbox);
}

#[test]
fn argv_long_options_other_than_help_and_version() {
    if !common::root_or_skip("argv_long_options_other_than_help_and_version") {
        return;
    }
    let sandbox = Sandbox::new();
    let long: &[&[u8]] = &[
        b"--port=23",
        b"--user=root",
        b"--verbose",
        b"--he",
        b"--helpp",
        b"--HELP",
        b"--help=x",
        b"--version=1",
        b"--vers",
        b"---",
        b"--\xff",
    ];
    let mut script = Script::new();
    for (i, option) in long.iter().enumerate() {
        script = script
            .case(
                &format!("first{i}"),
                &format!(r#"$AS_NOBODY "$PB" {} -p 4000 -d "$PROBE""#, sh(option)),
            )
            .case(
                &format!("later{i}"),
                &format!(r#"$AS_NOBODY "$PB" -p 4000 {} -d "$PROBE""#, sh(option)),
            );
    }
    let outcomes = script
        .case("help", r#"$AS_NOBODY "$PB" --help"#)
        .case("version", r#"$AS_NOBODY "$PB" --version"#)
        .run(&sandbox);

    for (i, option) in long.iter().enumerate() {
        let expected = format!(
            "unknown option {}; put -- before arguments meant for the driver",
            shown(option)
        );
        outcomes.get(&format!("first{i}")).usage(&expected);
        outcomes.get(&format!("later{i}")).usage(&expected);
    }
    let help = outcomes.get("help");
    help.assert_status(0);
    assert_eq!(help.err, "");
    assert!(
        help.stdout().starts_with("usage: portbind -p [ADDR:]PORT"),
        "{}",
        help.stdout()
    );
    let version = outcomes.get("version");
    version.assert_status(0);
    assert_eq!(version.err, "");
    assert_eq!(
        version.stdout(),
        format!("portbind {}\n", env!("CARGO_PKG_VERSION"))
    );
    finish(&sandbox);
}

// ---------------------------------------------------------------------
// numbers
// ---------------------------------------------------------------------

/// Values that are not a plain decimal number in range, for every option
/// that takes a number.
const BAD_NUMBERS: &[&[u8]] = &[
    b"23abc",
    b" 23",
    b"23 ",
    b"\t23",
    b"+23",
    b"-1",
    b"0x17",
    b"1e3",
    b"23.0",
    b"",
    b"0",
    b"65536",
    b"4294967295",
    b"4294967296",
    b"99999999999999999999999",
    "\u{0662}\u{0663}".as_bytes(), // Arabic-Indic 23
    "\u{ff12}\u{ff13}".as_bytes(), // fullwidth 23
    "\u{00b2}\u{00b3}".as_bytes(), // superscript 23
    b"\xff",
    b"2\xff3",
];

#[test]
fn numbers_ports_fds_and_backlogs_are_strict_decimal() {
    if !common::root_or_skip("numbers_ports_fds_and_backlogs_are_strict_decimal") {
        return;
    }
    let sandbox = Sandbox::new();
    let options = [
        ('p', "", "a port from 1 to 65535"),
        ('f', "-p 4000", "an fd number from 3 to 65535"),
        ('b', "-p 4000", "a backlog from 1 to 65535"),
    ];
    let mut script = Script::new();
    for (letter, before, _) in options {
        for (i, value) in BAD_NUMBERS.iter().enumerate() {
            script = script.case(
                &format!("{letter}{i}"),
                &format!(
                    r#"$AS_NOBODY "$PB" {before} -{letter} {} -d "$PROBE""#,
                    sh(value)
                ),
            );
        }
    }
    let outcomes = script
        .case("p_attached", r#"$AS_NOBODY "$PB" -p23abc -d "$PROBE""#)
        .case("f_two", r#"$AS_NOBODY "$PB" -p 4000 -f 2 -d "$PROBE""#)
        .case("f_one", r#"$AS_NOBODY "$PB" -p 4000 -f1 -d "$PROBE""#)
        // Leading zeros are still decimal.
        .case(
            "zeros",
            r#"$AS_NOBODY "$PB" -p 04000 -f 0007 -b 0100 -d "$PROBE""#,
        )
        // The edge of the unprivileged range, read from /proc at run time.
        .case("p_1024", r#"$AS_NOBODY "$PB" -p 1024 -d "$PROBE""#)
        .case("p_65535", r#"$AS_NOBODY "$PB" -p 65535 -d "$PROBE""#)
        .case("p_1023", r#"$AS_NOBODY "$PB" -p 1023 -d "$PROBE""#)
        .run(&sandbox);

    for (letter, _, what) in options {
        for (i, value) in BAD_NUMBERS.iter().enumerate() {
            outcomes
                .get(&format!("{letter}{i}"))
                .usage(&format!("-{letter} {}: expected {what}", shown(value)));
        }
    }
    outcomes
        .get("p_attached")
        .usage("-p 23abc: expected a port from 1 to 65535");
    outcomes
        .get("f_two")
        .usage("-f 2: expected an fd number from 3 to 65535");
    outcomes
        .get("f_one")
        .usage("-f 1: expected an fd number from 3 to 65535");

    let report = outcomes.get("zeros").ran_as_nobody();
    assert_eq!(report.fds(), [0, 1, 2, 7]);
    assert_eq!(report.get("sock.7"), Some("inet 0.0.0.0 4000"));
    assert_eq!(report.get("listen.7"), Some("1"));
    let report = outcomes.get("p_1024").ran_as_nobody();
    assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 1024"));
    let report = outcomes.get("p_65535").ran_as_nobody();
    assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 65535"));
    let refusal = outcomes.get("p_1023").refused(77);
    let refusal = without_audit_id(&refusal);
    assert!(
        refusal.starts_with("nobody (uid 65534) may not bind 0.0.0.0:1023: "),
        "{refusal}"
    );
    finish(&sandbox);
}

#[test]
fn numbers_uids_and_gids_are_decimal_ids_or_names() {
    if !common::root_or_skip("numbers_uids_and_gids_are_decimal_ids_or_names") {
        return;
    }
    let sandbox = Sandbox::new();
    let out_of_range: &[&[u8]] = &[b"4294967295", b"4294967296", b"99999999999999999999999"];
    // portbind(8): a value that is not all ASCII digits is a name, looked up in
    // the account database, so these are unknown accounts (67), not
    // usage errors.
    let not_digits: &[&[u8]] = &[
        b"23abc",
        b" 23",
        b"23 ",
        b"+23",
        b"-1",
        b"0x17",
        "\u{0662}\u{0663}".as_bytes(),
        "\u{ff12}\u{ff13}".as_bytes(),
        b"\xff",
        b"2\xff3",
    ];
    let mut script = Script::new();
    for letter in ['u', 'g'] {
        for (i, value) in out_of_range.iter().chain(not_digits).enumerate() {
            script = script.case(
                &format!("{letter}{i}"),
                &format!(
                    r#"$AS_NOBODY "$PB" -p 4000 -{letter} {} -d "$PROBE""#,
                    sh(value)
                ),
            );
        }
        script = script.case(
            &format!("{letter}_empty"),
            &format!(r#"$AS_NOBODY "$PB" -p 4000 -{letter} '' -d "$PROBE""#),
        );
    }
    let outcomes = script.run(&sandbox);

    for (letter, kind) in [('u', "user"), ('g', "group")] {
        for (i, value) in out_of_range.iter().enumerate() {
            outcomes.get(&format!("{letter}{i}")).usage(&format!(
                "-{letter} {}: ids range from 0 to 4294967294",
                shown(value)
            ));
        }
        for (i, value) in not_digits.iter().enumerate() {
            let name = format!("{letter}{}", i + out_of_range.len());
            assert_eq!(
                outcomes.get(&name).refused(67),
                format!("unknown {kind} {}", shown(value)),
                "{name}"
            );
        }
        outcomes
            .get(&format!("{letter}_empty"))
            .usage(&format!("-{letter}: empty name"));
    }
    finish(&sandbox);
}

// ---------------------------------------------------------------------
// addresses
// ---------------------------------------------------------------------

#[test]
fn addresses_loose_forms_and_host_names_are_refused() {
    if !common::root_or_skip("addresses_loose_forms_and_host_names_are_refused") {
        return;
    }
    let sandbox = Sandbox::new();
    let not_an_address = "not an IPv4 dotted quad or [IPv6] address";
    let no_port = "expected a port from 1 to 65535";
    let brackets = "write an IPv6 address in brackets, as [::1]:23";
    let port_specs: &[(&[u8], &str)] = &[
        (b"127.1:4000", not_an_address),
        (b"010.0.0.1:4000", not_an_address),
        (b"127.0.0.1x:4000", not_an_address),
        (b"localhost:4000", not_an_address),
        (b"256.0.0.1:4000", not_an_address),
        (b"1.2.3:4000", not_an_address),
        (b"0x7f.0.0.1:4000", not_an_address),
        (b" 127.0.0.1:4000", not_an_address),
        (b":4000", not_an_address),
        (b"[localhost]:4000", not_an_address),
        (b"[fe80::1%lo]:4000", not_an_address),
        (b"[::1:4000", not_an_address),
        (b"::1:4000", brackets),
        (b"2001:db8::1:4000", brackets),
        (b"::1", brackets),
        (b"[::1]", no_port),
        (b"[::1]4000", no_port),
        (b"[::1]:", no_port),
        (b"[::1]:0", no_port),
        (b"127.0.0.1:", no_port),
        (b"127.0.0.1:65536", no_port),
    ];
    let interfaces: &[&[u8]] = &[
        b"127.1",
        b"010.0.0.1",
        b"127.0.0.1x",
        b"localhost",
        b"",
        b"fe80::1%lo",
        b"127.0.0.1:4000",
        b"[::1]:4000",
        b"::1::1",
    ];
    let mut script = Script::new();
    for (i, (spec, _)) in port_specs.iter().enumerate() {
        script = script.case(
            &format!("p{i}"),
            &format!(r#"$AS_NOBODY "$PB" -p {} -d "$PROBE""#, sh(spec)),
        );
    }
    for (i, addr) in interfaces.iter().enumerate() {
        script = script.case(
            &format!("i{i}"),
            &format!(r#"$AS_NOBODY "$PB" -p 4000 -i {} -d "$PROBE""#, sh(addr)),
        );
    }
    let outcomes = script.run(&sandbox);

    for (i, (spec, problem)) in port_specs.iter().enumerate() {
        outcomes
            .get(&format!("p{i}"))
            .usage(&format!("-p {}: {problem}", shown(spec)));
    }
    for (i, addr) in interfaces.iter().enumerate() {
        outcomes
            .get(&format!("i{i}"))
            .usage(&format!("-i {}: not an IPv4 or IPv6 address", shown(addr)));
    }
    finish(&sandbox);
}

#[test]
fn addresses_ipv6_and_dotted_quads_bind_as_written() {
    if !common::root_or_skip("addresses_ipv6_and_dotted_quads_bind_as_written") {
        return;
    }
    let sandbox = Sandbox::new();
    let outcomes = Script::new()
        .case(
            "bracketed",
            r#"$AS_NOBODY "$PB" -p '[::1]:4000' -d "$PROBE""#,
        )
        .case(
            "long_form",
            r#"$AS_NOBODY "$PB" -p '[0:0:0:0:0:0:0:1]:4000' -d "$PROBE""#,
        )
        .case(
            "i_loopback",
            r#"$AS_NOBODY "$PB" -p 4000 -i ::1 -d "$PROBE""#,
        )
        .case("i_any", r#"$AS_NOBODY "$PB" -p 4000 -i :: -d "$PROBE""#)
        .case("quad", r#"$AS_NOBODY "$PB" -p 127.0.0.1:4000 -d "$PROBE""#)
        .case(
            "mixed",
            r#"$AS_NOBODY "$PB" -i 127.0.0.1 -p 4000 -p '[::1]:4001' -d "$PROBE""#,
        )
        .run(&sandbox);

    for name in ["bracketed", "long_form", "i_loopback"] {
        let report = outcomes.get(name).ran_as_nobody();
        assert_eq!(report.fds(), [0, 1, 2, 6], "{name}");
        assert_eq!(report.get("sock.6"), Some("inet6 ::1 4000"), "{name}");
        assert_eq!(report.get("v6only.6"), Some("1"), "{name}");
    }
    let report = outcomes.get("i_any").ran_as_nobody();
    assert_eq!(report.get("sock.6"), Some("inet6 :: 4000"));
    assert_eq!(report.get("v6only.6"), Some("0"));
    let report = outcomes.get("quad").ran_as_nobody();
    assert_eq!(report.get("sock.6"), Some("inet 127.0.0.1 4000"));
    let report = outcomes.get("mixed").ran_as_nobody();
    assert_eq!(report.fds(), [0, 1, 2, 6, 7]);
    assert_eq!(report.get("sock.6"), Some("inet 127.0.0.1 4000"));
    assert_eq!(report.get("sock.7"), Some("inet6 ::1 4001"));
    finish(&sandbox);
}

// ---------------------------------------------------------------------
// identities (nobody, unprivileged port, no policy file)
// ---------------------------------------------------------------------

#[test]
fn identities_root_and_other_accounts_are_refused() {
    if !common::root_or_skip("identities_root_and_other_accounts_are_refused") {
        return;
    }
    let sandbox = Sandbox::new();
    let outcomes = Script::new()
        .raw("getent passwd 4242 >/dev/null && exit 90\n")
        .case("u_0", r#"$AS_NOBODY "$PB" -p 4000 -u 0 -d "$PROBE""#)
        .case("u_root", r#"$AS_NOBODY "$PB" -p 4000 -u root -d "$PROBE""#)
        .case(
            "u_0_own_group",
            r#"$AS_NOBODY "$PB" -p 4000 -u 0 -g 65534 -d "$PROBE""#,
        )
        .case("g_0", r#"$AS_NOBODY "$PB" -p 4000 -g 0 -d "$PROBE""#)
        .case("g_root", r#"$AS_NOBODY "$PB" -p 4000 -g root -d "$PROBE""#)
        .case("g_disk", r#"$AS_NOBODY "$PB" -p 4000 -g disk -d "$PROBE""#)
        .case("g_6", r#"$AS_NOBODY "$PB" -p 4000 -g 6 -d "$PROBE""#)
        .case(
            "u_daemon",
            r#"$AS_NOBODY "$PB" -p 4000 -u daemon -d "$PROBE""#,
        )
        .case(
            "unknown_user",
            r#"$AS_NOBODY "$PB" -p 4000 -u no-such-user -d "$PROBE""#,
        )
        .case(
            "unknown_group",
            r#"$AS_NOBODY "$PB" -p 4000 -g no-such-group -d "$PROBE""#,
        )
        .case(
            "unlisted_uid",
            r#"$AS_NOBODY "$PB" -p 4000 -u 4242 -d "$PROBE""#,
        )
        .case(
            "unlisted_uid_max",
            r#"$AS_NOBODY "$PB" -p 4000 -u 4294967294 -d "$PROBE""#,
        )
        .case(
            "unlisted_uid_with_g",
            r#"$AS_NOBODY "$PB" -p 4000 -u 4242 -g 4242 -d "$PROBE""#,
        )
        .case(
            "unlisted_uid_own_group",
            r#"$AS_NOBODY "$PB" -p 4000 -u 4242 -g 65534 -d "$PROBE""#,
        )
        .run(&sandbox);

    // "nobody (uid 65534) may not ..., run the driver as TARGET: WHY", where
    // TARGET may add the groups the invoker does not hold: "(uid, gid, groups)".
    let refusal = |name: &str, target: &str| {
        let message = outcomes.get(name).refused(77);
        let message = without_audit_id(&message).to_string();
        assert!(
            message.starts_with("nobody (uid 65534) may not ")
                && message.contains(&format!(
                    "run the driver as {}",
                    target.trim_end_matches(')')
                ))
                && message.contains("): "),
            "{name}: {message}"
        );
        message
    };
    for (name, target) in [
        ("u_0", "root (uid 0, gid 0)"),
        ("u_root", "root (uid 0, gid 0)"),
        ("u_0_own_group", "root (uid 0, gid 65534)"),
        ("g_0", "nobody (uid 65534, gid 0)"),
        ("g_root", "nobody (uid 65534, gid 0)"),
    ] {
        let message = refusal(name, target);
        assert!(
            message.ends_with(": root is never a target for anyone but root"),
            "{name}: {message}"
        );
    }
    for (name, target, rule) in [
        ("g_disk", "nobody (uid 65534, gid 6)", "as nobody:6"),
        ("g_6", "nobody (uid 65534, gid 6)", "as nobody:6"),
        ("u_daemon", "daemon (uid 1, gid 1)", "as daemon:1"),
        (
            "unlisted_uid_with_g",
            "4242 (uid 4242, gid 4242)",
            "as 4242:4242",
        ),
        (
            "unlisted_uid_own_group",
            "4242 (uid 4242, gid 65534)",
            "as 4242:65534",
        ),
    ] {
        let message = refusal(name, target);
        assert!(
            message.ends_with(&format!(
                ": {POLICY} does not exist; this line there would permit it: \
                 permit nobody port 4000 {rule}"
            )),
            "{name}: {message}"
        );
    }
    assert_eq!(
        outcomes.get("unknown_user").refused(67),
        "unknown user no-such-user"
    );
    assert_eq!(
        outcomes.get("unknown_group").refused(67),
        "unknown group no-such-group"
    );
    assert_eq!(
        outcomes.get("unlisted_uid").refused(67),
        "uid 4242 has no passwd entry; name its group with -g"
    );
    assert_eq!(
        outcomes.get("unlisted_uid_max").refused(67),
        "uid 4294967294 has no passwd entry; name its group with -g"
    );
    finish(&sandbox);
}

#[test]
fn identities_the_invokers_own_account_works() {
    if !common::root_or_skip("identities_the_invokers_own_account_works") {
        return;
    }
    let sandbox = Sandbox::new();
    let cases = [
        ("u_id", "-u 65534"),
        ("u_name", "-u nobody"),
        ("g_id", "-g 65534"),
        ("g_name", "-g nogroup"),
        ("both", "-u nobody -g nogroup"),
        ("both_ids", "-u65534 -g65534"),
    ];
    let mut script = Script::new();
    for (name, options) in cases {
        script = script.case(
            name,
            &format!(r#"$AS_NOBODY "$PB" -p 4000 {options} -d "$PROBE""#),
        );
    }
    let outcomes = script.run(&sandbox);
    let nobody = Passwd::of("nobody");
    for (name, _) in cases {
        let report = outcomes.get(name).ran_as_nobody();
        assert_eq!(report.get("groups"), Some("65534"), "{name}");
        assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 4000"), "{name}");
        assert_eq!(report.env("USER"), Some("nobody"), "{name}");
        assert_eq!(report.env("HOME"), Some(nobody.home.as_str()), "{name}");
        assert_eq!(report.env("PORTBIND_USER"), Some("nobody"), "{name}");
    }
    finish(&sandbox);
}

// ---------------------------------------------------------------------
// groups
// ---------------------------------------------------------------------

#[test]
fn groups_extra_supplementary_groups_survive_only_as_the_spec_plans() {
    if !common::root_or_skip("groups_extra_supplementary_groups_survive_only_as_the_spec_plans") {
        return;
    }
    let sandbox = Sandbox::new();
    let outcomes = Script::new()
        .raw("EXTRA='setpriv --reuid=65534 --regid=65534 --groups=0,6,65534 --'\n")
        .case("control", r#"$EXTRA "$PROBE""#)
        .case("unchanged", r#"$EXTRA "$PB" -p 4000 -d "$PROBE""#)
        .case("u_name", r#"$EXTRA "$PB" -p 4000 -u nobody -d "$PROBE""#)
        .case("u_id", r#"$EXTRA "$PB" -p 4000 -u 65534 -d "$PROBE""#)
        .case("g_own", r#"$EXTRA "$PB" -p 4000 -g nogroup -d "$PROBE""#)
        .case("g_disk", r#"$EXTRA "$PB" -p 4000 -g disk -d "$PROBE""#)
        .case(
            "u_and_g_disk",
            r#"$EXTRA "$PB" -p 4000 -u nobody -g disk -d "$PROBE""#,
        )
        // Root's own supplementary groups (the original kept them).
        .case(
            "root_u_nobody",
            r#"setpriv --groups=0,6 -- "$PB" -p 23 -u nobody -d "$PROBE""#,
        )
        .case(
            "root_u_daemon",
            r#"setpriv --groups=0,6 -- "$PB" -p 23 -u daemon -d "$PROBE""#,
        )
        .case(
            "root_u_nobody_g_disk",
            r#"setpriv --groups=0,6 -- "$PB" -p 23 -u nobody -g disk -d "$PROBE""#,
        )
        .run(&sandbox);

    let control = outcomes.get("control").report();
    assert_eq!(control.get("groups"), Some("0,6,65534"));

    // Neither -u nor -g: the invoker, unchanged, groups included.
    let report = outcomes.get("unchanged").ran_as_nobody();
    assert_eq!(report.get("groups"), Some("0,6,65534"));
    // -u: initgroups from the database; root's and disk's are gone.
    for name in ["u_name", "u_id", "root_u_nobody"] {
        let report = outcomes.get(name).ran_as_nobody();
        assert_eq!(report.get("groups"), Some("65534"), "{name}");
    }
    // -g alone: that primary gid, groups unchanged.
    let report = outcomes.get("g_own").ran_as_nobody();
    assert_eq!(report.get("groups"), Some("0,6,65534"));
    let report = outcomes.get("g_disk").ran();
    assert_eq!(report.get("uid"), Some("65534,65534,65534"));
    assert_eq!(report.get("gid"), Some("6,6,6"));
    assert_eq!(report.get("groups"), Some("0,6,65534"));
    // -u with -g: that gid plus the user's own groups.
    for name in ["u_and_g_disk", "root_u_nobody_g_disk"] {
        let report = outcomes.get(name).ran();
        assert_eq!(report.get("uid"), Some("65534,65534,65534"), "{name}");
        assert_eq!(report.get("gid"), Some("6,6,6"), "{name}");
        assert_eq!(report.get("groups"), Some("6"), "{name}");
    }
    let report = outcomes.get("root_u_daemon").ran();
    assert_eq!(report.get("uid"), Some("1,1,1"));
    assert_eq!(report.get("gid"), Some("1,1,1"));
    assert_eq!(report.get("groups"), Some("1"));
    finish(&sandbox);
}

// ---------------------------------------------------------------------
// fds
// ---------------------------------------------------------------------

/// A driver script that records what fds 0, 1 and 2 are (as
/// `stdioN=path` lines), then execs the probe with its report appended to
/// the same file, `$OUT/CASE.rec` (CASE is its first argument): so the
/// report survives a closed stdout.
fn install_stdio_recorder(sandbox: &Sandbox) {
    let script = format!(
        r#"#!/bin/sh
out="{out}/$1.rec"
s0=$(readlink /proc/$$/fd/0)
s1=$(readlink /proc/$$/fd/1)
s2=$(readlink /proc/$$/fd/2)
printf 'stdio0=%s\nstdio1=%s\nstdio2=%s\n' "$s0" "$s1" "$s2" >"$out"
exec "{probe}" >>"$out"
"#,
        out = sandbox.out().display(),
        probe = sandbox.probe().display()
    );
    write_file(sandbox, "record-stdio", &script, 0o755);
}

#[test]
fn fds_closed_stdio_is_opened_on_dev_null() {
    if !common::root_or_skip("fds_closed_stdio_is_opened_on_dev_null") {
        return;
    }
    let sandbox = Sandbox::new();
    install_stdio_recorder(&sandbox);
    write_file(&sandbox, "stdin.txt", "input\n", 0o644);
    let stdin = sandbox.dir().join("stdin.txt");
    // (case, who runs it, closes 0, closes 1, closes 2)
    let cases = [
        ("in", "nobody", true, false, false),
        ("out", "nobody", false, true, false),
        ("err", "nobody", false, false, true),
        ("all", "nobody", true, true, true),
        ("root_all", "root", true, true, true),
        ("root_in_err", "root", true, false, true),
    ];
    let mut script = Script::new();
    for (name, who, close0, close1, close2) in cases {
        let command = match who {
            "nobody" => r#"$AS_NOBODY "$PB" -p 4000"#,
            _ => r#""$PB" -p 23 -u nobody"#,
        };
        let redirections = [
            if close0 {
                "0<&-"
            } else {
                r#"0<"$SANDBOX/stdin.txt""#
            },
            if close1 { "1>&-" } else { "" },
            if close2 { "2>&-" } else { "" },
        ]
        .join(" ");
        script = script.case(
            name,
            &format!(r#"{command} -d "$SANDBOX/record-stdio" {name} {redirections}"#),
        );
    }
    let outcomes = script
        // A usage error still reaches an open stderr, and gives 64.
        .case("usage_in_out", r#"$AS_NOBODY "$PB" -x 0<&- 1>&-"#)
        .case("usage_all", r#"$AS_NOBODY "$PB" -x 0<&- 1>&- 2>&-"#)
        .run(&sandbox);

    for (name, _, close0, close1, close2) in cases {
        let outcome = outcomes.get(name);
        outcome.assert_status(0);
        assert_eq!(outcome.err, "", "{name}");
        assert!(outcome.out.is_empty(), "{name}");
        let recorded = fs::read(sandbox.out().join(format!("{name}.rec")))
            .unwrap_or_else(|e| panic!("{name}: no record: {e}"));
        let report = Report::parse(&recorded);
        assert!(
            report.is_complete(),
            "{name}:\n{}",
            String::from_utf8_lossy(&recorded)
        );
        assert_not_overprivileged(name, &report);
        assert_eq!(report.get("uid"), Some("65534,65534,65534"), "{name}");
        let expected = [
            (close0, stdin.clone()),
            (close1, outcomes.path(name, "out")),
            (close2, outcomes.path(name, "err")),
        ];
        for (fd, (closed, open_path)) in expected.iter().enumerate() {
            let want = if *closed {
                "/dev/null".to_string()
            } else {
                open_path.display().to_string()
            };
            assert_eq!(
                report.get(&format!("stdio{fd}")),
                Some(want.as_str()),
                "{name}: fd {fd}"
            );
        }
        // The probe itself: the same fd 0 and 2, its record on 1, the
        // socket on 6 and nothing else.
        assert_eq!(report.fds(), [0, 1, 2, 6], "{name}");
        assert_eq!(report.get("fdpath.0"), report.get("stdio0"), "{name}");
        assert_eq!(report.get("fdpath.2"), report.get("stdio2"), "{name}");
        assert!(report.get("sock.6").is_some(), "{name}");
    }
    outcomes
        .get("usage_in_out")
        .usage("unknown option -x; put -- before arguments meant for the driver");
    let all = outcomes.get("usage_all");
    all.assert_status(64);
    assert!(all.out.is_empty() && all.err.is_empty());
    finish(&sandbox);
}

/// with_fds.py FDS FILE PROGRAM ARGS...: opens FILE read-only on each of
/// the comma-separated FDS, inheritable, then execs PROGRAM.
const WITH_FDS_PY: &str = r#"import os, signal, sys
# Python ignores these itself, and exec would pass that on.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
fds, path, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
source = os.open(path, os.O_RDONLY)
for fd in fds.split(","):
    os.dup2(source, int(fd))
os.close(source)
os.execvp(argv[0], argv)
"#;

#[test]
fn fds_inherited_fds_are_closed_and_fd_6_replaced() {
    if !common::root_or_skip("fds_inherited_fds_are_closed_and_fd_6_replaced") {
        return;
    }
    let sandbox = Sandbox::new();
    write_file(&sandbox, "with_fds.py", WITH_FDS_PY, 0o644);
    let outcomes = Script::new()
        .raw(r#"WITH_FDS="python3 -I $SANDBOX/with_fds.py"
: >"$OUT/fd6.file"
"#)
        .case(
            "fds_3_to_5",
            r#"$AS_NOBODY "$PB" -p 4000 -d "$PROBE" 3</dev/null 4</dev/null 5</dev/null"#,
        )
        .case(
            "fd_6_file",
            r#"$AS_NOBODY "$PB" -p 4000 -d "$PROBE" 6>>"$OUT/fd6.file""#,
        )
        .case(
            "fds_3_to_7_two_ports",
            r#"$AS_NOBODY "$PB" -p 4000 -p 4001 -d "$PROBE" 3</dev/null 4</dev/null 5</dev/null 6</dev/null 7</dev/null"#,
        )
        .case(
            "f_3_over_open_fds",
            r#"$AS_NOBODY "$PB" -p 4000 -f 3 -d "$PROBE" 3</dev/null 4</dev/null 5</dev/null"#,
        )
        .case(
            "stray",
            r#"$AS_NOBODY $WITH_FDS 9,42,1000 /dev/null "$PB" -p 4000 -d "$PROBE""#,
        )
        .case(
            "stray_under_the_socket",
            r#"$AS_NOBODY $WITH_FDS 3,4,5,6,7,9,42,1000 /dev/null "$PB" -p 4000 -p 4001 -d "$PROBE""#,
        )
        // Root's fds (a secret file) must not reach nobody's driver.
        .case(
            "root_secret",
            r#"$WITH_FDS 6,9,42,1000 /etc/shadow "$PB" -p 23 -u nobody -d "$PROBE""#,
        )
        .run(&sandbox);

    let two_sockets = ["fds_3_to_7_two_ports", "stray_under_the_socket"];
    for name in [
        "fds_3_to_5",
        "fd_6_file",
        "stray",
        "root_secret",
        two_sockets[0],
        two_sockets[1],
    ] {
        let report = outcomes.get(name).ran_as_nobody();
        let port = if name == "root_secret" { 23 } else { 4000 };
        assert_eq!(
            report.get("sock.6").map(String::from),
            Some(format!("inet 0.0.0.0 {port}")),
            "{name}"
        );
        assert_eq!(report.get("cloexec.6"), Some("0"), "{name}");
        if two_sockets.contains(&name) {
            assert_eq!(report.fds(), [0, 1, 2, 6, 7], "{name}");
            assert_eq!(report.get("sock.7"), Some("inet 0.0.0.0 4001"), "{name}");
        } else {
            assert_eq!(report.fds(), [0, 1, 2, 6], "{name}");
        }
    }
    let report = outcomes.get("f_3_over_open_fds").ran_as_nobody();
    assert_eq!(report.fds(), [0, 1, 2, 3]);
    assert_eq!(report.get("sock.3"), Some("inet 0.0.0.0 4000"));
    // The file that was on fd 6 was only closed, never written.
    let file = fs::metadata(sandbox.out().join("fd6.file")).expect("fd6.file");
    assert_eq!(file.len(), 0);
    finish(&sandbox);
}

/// closed_nofile.py CLOSE LIMIT PROGRAM ARGS...: closes the
/// comma-separated fds CLOSE, sets RLIMIT_NOFILE to LIMIT, execs PROGRAM.
const CLOSED_NOFILE_PY: &str = r#"import os, resource, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
close, limit, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for fd in close.split(","):
    os.close(int(fd))
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
os.execv(argv[0], argv)
"#;

#[test]
fn fds_tiny_rlimit_nofile_gives_a_clean_error_or_works() {
    if !common::root_or_skip("fds_tiny_rlimit_nofile_gives_a_clean_error_or_works") {
        return;
    }
    let sandbox = Sandbox::new();
    write_file(&sandbox, "closed_nofile.py", CLOSED_NOFILE_PY, 0o644);
    // setpriv itself cannot start under `ulimit -n 3`, so a shell it
    // starts lowers the limit and execs portbind.
    let outcomes = Script::new()
        .case(
            "n3_usage",
            r#"$AS_NOBODY sh -c 'ulimit -n 3; exec "$0" -x' "$PB""#,
        )
        .case(
            "n3_run",
            r#"$AS_NOBODY sh -c 'ulimit -n 3; exec "$0" -p 4000 -d "$1"' "$PB" "$PROBE""#,
        )
        .case(
            "n3_root",
            r#"sh -c 'ulimit -n 3; exec "$0" -p 23 -u nobody -d "$1"' "$PB" "$PROBE""#,
        )
        .case(
            "n3_stdio_closed",
            r#"$AS_NOBODY python3 -I "$SANDBOX/closed_nofile.py" 0,1 3 "$PB" -x"#,
        )
        .case(
            "n6_run",
            r#"$AS_NOBODY sh -c 'ulimit -n 6; exec "$0" -p 4000 -d "$1"' "$PB" "$PROBE""#,
        )
        .case(
            "n6_root",
            r#"sh -c 'ulimit -n 6; exec "$0" -p 23 -u nobody -d "$1"' "$PB" "$PROBE""#,
        )
        .case(
            "n6_first_fd_3",
            r#"$AS_NOBODY sh -c 'ulimit -n 6; exec "$0" -p 4000 -f 3 -d "$1"' "$PB" "$PROBE""#,
        )
        .case(
            "n7_run",
            r#"$AS_NOBODY sh -c 'ulimit -n 7; exec "$0" -p 4000 -d "$1"' "$PB" "$PROBE""#,
        )
        .run(&sandbox);

    let hint = "unknown option -x; put -- before arguments meant for the driver";
    outcomes.get("n3_usage").usage(hint);
    outcomes.get("n3_stdio_closed").usage(hint);
    // No fd above 2 can be opened: the account database cannot be read.
    for name in ["n3_run", "n3_root"] {
        let message = outcomes.get(name).refused(71);
        assert!(
            message.starts_with("cannot ") && message.ends_with(&format!(": {EMFILE_TEXT}")),
            "{name}: {message}"
        );
    }
    // fd 6 is past the limit.
    for name in ["n6_run", "n6_root"] {
        assert_eq!(
            outcomes.get(name).refused(71),
            "cannot place a socket on fd 6: Bad file descriptor",
            "{name}"
        );
    }
    let report = outcomes.get("n6_first_fd_3").ran_as_nobody();
    assert_eq!(report.fds(), [0, 1, 2, 3]);
    assert_eq!(report.get("sock.3"), Some("inet 0.0.0.0 4000"));
    assert_eq!(report.numbers("rlimit_nofile").first(), Some(&6));
    let report = outcomes.get("n7_run").ran_as_nobody();
    assert_eq!(report.fds(), [0, 1, 2, 6]);
    assert_eq!(report.numbers("rlimit_nofile").first(), Some(&7));
    finish(&sandbox);
}

/// many_fds.py NOTE PROGRAM ARGS...: raises RLIMIT_NOFILE to its hard
/// limit, opens /dev/null on up to 10,000 fds (the last one just under
/// the limit), writes "HARD COUNT" to NOTE, then execs PROGRAM.
const MANY_FDS_PY: &str = r#"import os, resource, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
note, argv = sys.argv[1], sys.argv[2:]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
count = min(10000, hard - 20)
null = os.open("/dev/null", os.O_RDONLY)
fds = list(range(10, 10 + count - 1)) + [hard - 1]
for fd in fds:
    os.dup2(null, fd)
os.close(null)
with open(note, "w") as f:
    f.write("%d %d\n" % (hard, len(fds)))
os.execvp(argv[0], argv)
"#;

#[test]
fn fds_huge_rlimit_with_ten_thousand_open_fds() {
    if !common::root_or_skip("fds_huge_rlimit_with_ten_thousand_open_fds") {
        return;
    }
    let sandbox = Sandbox::new();
    write_file(&sandbox, "many_fds.py", MANY_FDS_PY, 0o644);
    let outcomes = Script::new()
        .raw("MANY=\"python3 -I $SANDBOX/many_fds.py\"\n")
        .case(
            "nobody",
            r#"$MANY "$OUT/nobody.note" $AS_NOBODY "$PB" -p 4000 -d "$PROBE""#,
        )
        .case(
            "root",
            r#"$MANY "$OUT/root.note" "$PB" -p 23 -u nobody -d "$PROBE""#,
        )
        .case(
            "nobody_usage",
            r#"$MANY "$OUT/nobody_usage.note" $AS_NOBODY "$PB" -p 4000 -x"#,
        )
        .run(&sandbox);

    for name in ["nobody", "root"] {
        let note = fs::read_to_string(sandbox.out().join(format!("{name}.note")))
            .expect("many_fds.py note");
        let numbers: Vec<u64> = note
            .split_whitespace()
            .map(|n| n.parse().expect("number"))
            .collect();
        let (hard, opened) = (numbers[0], numbers[1]);
        if opened < 10_000 {
            eprintln!("{name}: the hard RLIMIT_NOFILE is {hard}: only {opened} fds were opened");
        }
        let report = outcomes.get(name).ran_as_nobody();
        assert_eq!(report.fds(), [0, 1, 2, 6], "{name}");
        assert!(report.get("sock.6").is_some(), "{name}");
        assert_eq!(report.numbers("rlimit_nofile"), [hard, hard], "{name}");
    }
    outcomes
        .get("nobody_usage")
        .usage("unknown option -x; put -- before arguments meant for the driver");
    finish(&sandbox);
}

// ---------------------------------------------------------------------
// stderr
// ---------------------------------------------------------------------

/// broken_output.py FD KIND PROGRAM ARGS...: runs PROGRAM with fd FD
/// writing into a pipe whose reader is gone (KIND `pipe`) or into
/// /dev/full (KIND `full`), SIGPIPE at its default, and prints
/// `status=N` or `signal=N`.
const BROKEN_OUTPUT_PY: &str = r#"import os, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
fd, kind, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
if kind == "pipe":
    reader, writer = os.pipe()
    os.close(reader)
else:
    writer = os.open("/dev/full", os.O_WRONLY)
pid = os.fork()
if pid == 0:
    os.dup2(writer, fd)
    os.execvp(argv[0], argv)
os.close(writer)
_, status = os.waitpid(pid, 0)
if os.WIFSIGNALED(status):
    print("signal=%d" % os.WTERMSIG(status))
else:
    print("status=%d" % os.WEXITSTATUS(status))
"#;

#[test]
fn stderr_whose_reader_is_gone_still_gives_the_status() {
    if !common::root_or_skip("stderr_whose_reader_is_gone_still_gives_the_status") {
        return;
    }
    let sandbox = Sandbox::new();
    write_file(&sandbox, "broken_output.py", BROKEN_OUTPUT_PY, 0o644);
    let cases = [
        ("usage", r#"$AS_NOBODY $BROKEN 2 pipe "$PB" -x"#, 64),
        (
            "unknown_user",
            r#"$AS_NOBODY $BROKEN 2 pipe "$PB" -p 4000 -u no-such-user -d "$PROBE""#,
            67,
        ),
        (
            "refused",
            r#"$AS_NOBODY $BROKEN 2 pipe "$PB" -p 23 -d "$PROBE""#,
            77,
        ),
        (
            "driver_missing",
            r#"$AS_NOBODY $BROKEN 2 pipe "$PB" -p 4000 -d "$SANDBOX/missing""#,
            127,
        ),
        ("root_usage", r#"$BROKEN 2 pipe "$PB" -p 23 -x"#, 64),
        ("usage_full", r#"$AS_NOBODY $BROKEN 2 full "$PB" -x"#, 64),
        ("help_stdout", r#"$AS_NOBODY $BROKEN 1 pipe "$PB" -h"#, 0),
        ("version_stdout", r#"$AS_NOBODY $BROKEN 1 pipe "$PB" -V"#, 0),
        ("help_full", r#"$AS_NOBODY $BROKEN 1 full "$PB" --help"#, 0),
    ];
    let mut script = Script::new().raw("BROKEN=\"python3 -I $SANDBOX/broken_output.py\"\n");
    for (name, command, _) in cases {
        script = script.case(name, command);
    }
    let outcomes = script
        // Nothing to say: the driver runs.
        .case(
            "driver_runs",
            r#"$AS_NOBODY $BROKEN 2 pipe "$PB" -p 4000 -d "$PROBE""#,
        )
        .run(&sandbox);

    let outcome = outcomes.get("driver_runs");
    assert!(
        outcome.stdout().ends_with("end=1\nstatus=0\n"),
        "{}",
        outcome.stdout()
    );
    let report = outcome.ran_as_nobody();
    assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 4000"));
    finish(&sandbox);

    // signal=13 is death by SIGPIPE; 6 or 11 would be a crash.
    let mut wrong = Vec::new();
    for (name, _, status) in cases {
        let outcome = outcomes.get(name);
        outcome.assert_status(0);
        assert_eq!(outcome.err, "", "{name}");
        let ended = outcome.stdout();
        if ended != format!("status={status}\n") {
            wrong.push(format!(
                "{name}: {} instead of status={status}",
                ended.trim()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------
// resource limits
// ---------------------------------------------------------------------

#[test]
fn limits_on_file_size_and_memory_give_a_status_not_a_signal() {
    if !common::root_or_skip("limits_on_file_size_and_memory_give_a_status_not_a_signal") {
        return;
    }
    let sandbox = Sandbox::new();
    let outcomes = Script::new()
        // Output past RLIMIT_FSIZE: SIGXFSZ would kill (153).
        .case(
            "fsize_version",
            r#"ulimit -f 0; $AS_NOBODY "$PB" -V >"$SANDBOX/version.out""#,
        )
        .case(
            "fsize_usage",
            r#"ulimit -f 0; $AS_NOBODY "$PB" -x 2>"$SANDBOX/usage.err""#,
        )
        // No heap to speak of: an allocation fails, which must end in the
        // status for a failed resource, not in abort (134).
        .case(
            "data_limit",
            // (the limit is set after setpriv, which would not start under it)
            r#"$AS_NOBODY sh -c 'ulimit -d 16; exec "$PB" -p 4000 -d "$PROBE"'"#,
        )
        .run(&sandbox);
    outcomes.get("fsize_version").assert_status(0);
    outcomes.get("fsize_usage").assert_status(64);
    let message = outcomes.get("data_limit").refused(71);
    assert!(message.starts_with("out of memory"), "{message}");
    finish(&sandbox);
}

// ---------------------------------------------------------------------
// signals
// ---------------------------------------------------------------------

/// signals.py BLOCK IGNORE PROGRAM ARGS...: blocks the comma-separated
/// signal names BLOCK (`all` for every signal, `-` for none), ignores
/// those in IGNORE, then execs PROGRAM.
const SIGNALS_PY: &str = r#"import os, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
def named(text):
    if text == "-":
        return set()
    return {getattr(signal, "SIG" + name) for name in text.split(",")}
block, ignore, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
signal.pthread_sigmask(signal.SIG_BLOCK,
                       signal.valid_signals() if block == "all" else named(block))
for sig in named(ignore):
    signal.signal(sig, signal.SIG_IGN)
os.execvp(argv[0], argv)
"#;

#[test]
fn signals_mask_is_emptied_and_ignored_dispositions_kept() {
    if !common::root_or_skip("signals_mask_is_emptied_and_ignored_dispositions_kept") {
        return;
    }
    let sandbox = Sandbox::new();
    write_file(&sandbox, "signals.py", SIGNALS_PY, 0o644);
    let hup = "0000000000000001";
    let pipe_chld = "0000000000011000";
    let none = "0000000000000000";
    // (case, BLOCK, IGNORE, the driver's sigign)
    let cases = [
        ("clean", "-", "-", none),
        ("block_term_int", "TERM,INT", "-", none),
        ("ignore_hup", "-", "HUP", hup),
        ("block_all_ignore_hup", "all", "HUP", hup),
        ("ignore_pipe_chld", "-", "PIPE,CHLD", pipe_chld),
    ];
    let mut script = Script::new()
        .raw("SIGNALS=\"python3 -I $SANDBOX/signals.py\"\n")
        // What the invoker hands on without portbind, so that the cases
        // below are not vacuous.
        .case("control", r#"$AS_NOBODY $SIGNALS TERM,INT HUP "$PROBE""#);
    for (name, block, ignore, _) in cases {
        script = script.case(
            name,
            &format!(r#"$AS_NOBODY $SIGNALS {block} {ignore} "$PB" -p 4000 -d "$PROBE""#),
        );
    }
    let outcomes = script
        .case("root_nohup", r#"nohup "$PB" -p 23 -u nobody -d "$PROBE""#)
        .case(
            "root_block_all",
            r#"$SIGNALS all HUP "$PB" -p 23 -u nobody -d "$PROBE""#,
        )
        .run(&sandbox);

    let control = outcomes.get("control").report();
    assert_eq!(control.get("sigblk"), Some("0000000000004002"));
    assert_eq!(control.get("sigign"), Some(hup));
    let mut all = cases.to_vec();
    all.push(("root_nohup", "", "", hup));
    all.push(("root_block_all", "", "", hup));
    for (name, _, _, ignored) in all {
        let report = outcomes.get(name).ran_as_nobody();
        assert_eq!(report.get("sigblk"), Some(none), "{name}");
        assert_eq!(report.get("sigign"), Some(ignored), "{name}");
    }
    finish(&sandbox);
}

// ---------------------------------------------------------------------
// environment
// ---------------------------------------------------------------------

/// env.py VARIANT PROGRAM ARGS...: execs PROGRAM with only the
/// environment named VARIANT (bytes: names and values need not be UTF-8).
const ENV_PY: &str = r#"import os, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
BIG = b"a" * 102400
HOSTILE = {
    b"LD_PRELOAD": b"/tmp/evil.so",
    b"LD_LIBRARY_PATH": b"/tmp/evil",
    b"LD_AUDIT": b"/tmp/evil.so",
    b"GCONV_PATH": b"/tmp/evil",
    b"MALLOC_CHECK_": b"3",
    b"MALLOC_ARENA_MAX": b"1",
    b"MALLOC_PERTURB_": b"85",
    b"LOCPATH": b"/tmp/evil",
    b"NLSPATH": b"/tmp/evil/%N",
    b"RUST_BACKTRACE": b"full",
    b"RUST_LOG": b"trace",
    b"BASH_ENV": b"/tmp/evil.sh",
    b"ENV": b"/tmp/evil.sh",
    b"PATH": b"/tmp/evil",
    b"IFS": b"/",
    b"BASH_FUNC_x%%": b"() { :;}",
    b"X": b"() { :;}",
    b"TMPDIR": b"/tmp/evil",
    b"HOME": b"/root",
    b"USER": b"root",
    b"LOGNAME": b"root",
    b"SHELL": b"/tmp/evil.sh",
    b"PORTBIND_USER": b"root",
    b"LISTEN_FDS": b"1",
    b"LISTEN_PID": b"1",
    b"LISTEN_FDNAMES": b"evil",
    b"BIG": BIG,
    b"X\xffY": b"1",
    b"NON_UTF8": b"\xff\xfe",
}
VARIANTS = {
    "hostile_a": dict(HOSTILE, **{
        "LANG": b"../../tmp", "LC_ALL": b"/tmp/x", "TERM": b"../x",
        "TZ": b"/tmp/zone", "LC_PAPER": BIG, "LANGUAGE": b"en\xff"}),
    "hostile_b": dict(HOSTILE, **{
        "TZ": b"../../etc/x", "TERM": b"xterm\x1b]0;owned\x07",
        "LC_MESSAGES": b"de_DE/../../tmp", "LANG": b"C\nLD_PRELOAD=/tmp/evil.so"}),
    "hostile_c": dict(HOSTILE, **{
        "TZ": b"/usr/share/zoneinfo/../../../tmp/zone", "TERM": BIG,
        "LC_CTYPE": b"C.UTF-8\xff", "LC_ALL": b"/usr/lib/locale/C.utf8"}),
    "sane": dict(HOSTILE, **{
        "TERM": b"xterm-256color", "LANG": b"C.UTF-8", "LANGUAGE": b"en_US:en",
        "LC_ALL": b"C", "LC_CTYPE": b"C.UTF-8", "LC_MESSAGES": b"POSIX",
        "TZ": b"Europe/Paris"}),
    "sane_tz_colon": {b"TZ": b":/usr/share/zoneinfo/UTC"},
    "sane_tz_path": {b"TZ": b"/usr/share/zoneinfo/Europe/Paris"},
}
env = {(k.encode() if isinstance(k, str) else k): v
       for k, v in VARIANTS[sys.argv[1]].items()}
argv = sys.argv[2:]
os.execve(argv[0], argv, env)
"#;

#[test]
fn environment_hostile_variables_never_reach_the_driver() {
    if !common::root_or_skip("environment_hostile_variables_never_reach_the_driver") {
        return;
    }
    let sandbox = Sandbox::new();
    write_file(&sandbox, "env.py", ENV_PY, 0o644);
    let variants = ["hostile_a", "hostile_b", "hostile_c"];
    let mut script = Script::new().raw("ENVPY=\"python3 -I $SANDBOX/env.py\"\n");
    for variant in variants {
        script = script
            .case(
                variant,
                &format!(r#"$AS_NOBODY $ENVPY {variant} "$PB" -p 4000 -d "$PROBE""#),
            )
            .case(
                &format!("root_{variant}"),
                &format!(r#"$ENVPY {variant} "$PB" -p 23 -u nobody -d "$PROBE""#),
            );
    }
    let outcomes = script
        .case("control", r#"$AS_NOBODY $ENVPY hostile_a "$PROBE""#)
        .run(&sandbox);

    // The probe run directly does get all of it.
    let control = outcomes.get("control").report();
    assert_eq!(control.env("LD_PRELOAD"), Some("/tmp/evil.so"));
    assert_eq!(control.env("BIG").map(str::len), Some(102_400));
    assert_eq!(control.env("X\\xffY"), Some("1"));

    for variant in variants {
        for (name, invoker) in [
            (variant.to_string(), "nobody"),
            (format!("root_{variant}"), "root"),
        ] {
            let report = outcomes.get(&name).ran_as_nobody();
            assert_eq!(sorted_env(&report), base_env(invoker), "{name}");
        }
    }
    finish(&sandbox);
}

#[test]
fn environment_sane_terminal_locale_and_zone_reach_the_driver() {
    if !common::root_or_skip("environment_sane_terminal_locale_and_zone_reach_the_driver") {
        return;
    }
    let sandbox = Sandbox::new();
    write_file(&sandbox, "env.py", ENV_PY, 0o644);
    let outcomes = Script::new()
        .raw("ENVPY=\"python3 -I $SANDBOX/env.py\"\n")
        .case(
            "sane",
            r#"$AS_NOBODY $ENVPY sane "$PB" -p 4000 -d "$PROBE""#,
        )
        .case(
            "root_sane",
            r#"$ENVPY sane "$PB" -p 23 -u nobody -d "$PROBE""#,
        )
        .case(
            "tz_colon",
            r#"$AS_NOBODY $ENVPY sane_tz_colon "$PB" -p 4000 -d "$PROBE""#,
        )
        .case(
            "tz_path",
            r#"$AS_NOBODY $ENVPY sane_tz_path "$PB" -p 4000 -d "$PROBE""#,
        )
        .run(&sandbox);

    let kept = [
        "LANG=C.UTF-8",
        "LANGUAGE=en_US:en",
        "LC_ALL=C",
        "LC_CTYPE=C.UTF-8",
        "LC_MESSAGES=POSIX",
        "TERM=xterm-256color",
        "TZ=Europe/Paris",
    ];
    for (name, invoker) in [("sane", "nobody"), ("root_sane", "root")] {
        let report = outcomes.get(name).ran_as_nobody();
        let mut expected = base_env(invoker);
        expected.extend(kept.iter().map(|s| s.to_string()));
        expected.sort();
        assert_eq!(sorted_env(&report), expected, "{name}");
    }
    for (name, tz) in [
        ("tz_colon", "TZ=:/usr/share/zoneinfo/UTC"),
        ("tz_path", "TZ=/usr/share/zoneinfo/Europe/Paris"),
    ] {
        let report = outcomes.get(name).ran_as_nobody();
        let mut expected = base_env("nobody");
        expected.push(tz.to_string());
        expected.sort();
        assert_eq!(sorted_env(&report), expected, "{name}");
    }
    finish(&sandbox);
}

/// The driver's environment when nothing of the invoker's is kept, run
/// as nobody, sorted.
fn base_env(invoker: &str) -> Vec<String> {
    let nobody = Passwd::of("nobody");
    let mut env = vec![
        DRIVER_PATH.to_string(),
        format!("HOME={}", nobody.home),
        "USER=nobody".to_string(),
        "LOGNAME=nobody".to_string(),
        format!("SHELL={}", nobody.shell),
        format!("PORTBIND_USER={invoker}"),
    ];
    env.sort();
    env
}

fn sorted_env(report: &Report) -> Vec<String> {
    let mut env: Vec<String> = report.all("env").into_iter().map(String::from).collect();
    env.sort();
    env
}

// ---------------------------------------------------------------------
// privilege state
// ---------------------------------------------------------------------

#[test]
fn privilege_no_new_privs_is_refused_before_any_bind() {
    if !common::root_or_skip("privilege_no_new_privs_is_refused_before_any_bind") {
        return;
    }
    let sandbox = Sandbox::new();
    let outcomes = Script::new()
        .raw(&policy_setup(
            "permit nobody port 23\npermit nobody port 4000 as daemon\n",
        ))
        .raw(
            "NNP='setpriv --no-new-privs --reuid=65534 --regid=65534 --groups=65534 --'\n\
             TRACE='strace -f -qq -e trace=socket,bind -o'\n",
        )
        // Without no_new_privs the policy permits both.
        .case(
            "control_23",
            r#"$TRACE "$OUT/control_23.strace" $AS_NOBODY "$PB" -p 23 -d "$PROBE""#,
        )
        .case(
            "control_daemon",
            r#"$AS_NOBODY "$PB" -p 4000 -u daemon -d "$PROBE""#,
        )
        .case(
            "nnp_23",
            r#"$TRACE "$OUT/nnp_23.strace" $NNP "$PB" -p 23 -d "$PROBE""#,
        )
        .case(
            "nnp_daemon",
            r#"$TRACE "$OUT/nnp_daemon.strace" $NNP "$PB" -p 4000 -u daemon -d "$PROBE""#,
        )
        // What needs no privilege still works, and the driver keeps
        // no_new_privs (the kernel never clears it).
        .case("nnp_4000", r#"$NNP "$PB" -p 4000 -d "$PROBE""#)
        .case(
            "nnp_root",
            r#"setpriv --no-new-privs -- "$PB" -p 23 -u nobody -d "$PROBE""#,
        )
        .run(&sandbox);

    let report = outcomes.get("control_23").ran_as_nobody();
    assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 23"));
    let trace = read_string(&outcomes.path("control_23", "strace"));
    assert!(
        trace.contains("bind(") && trace.contains("htons(23)"),
        "the trace does not show the bind:\n{trace}"
    );
    let report = outcomes.get("control_daemon").ran();
    assert_eq!(report.get("uid"), Some("1,1,1"));

    for (name, what) in [
        ("nnp_23", "cannot bind a privileged port: "),
        ("nnp_daemon", "cannot run the driver as another account: "),
    ] {
        let message = outcomes.get(name).refused(77);
        let message = without_audit_id(&message);
        assert!(
            message.starts_with(what) && message.contains("no_new_privs"),
            "{name}: {message}"
        );
        let trace = read_string(&outcomes.path(name, "strace"));
        assert!(
            !trace.contains("bind(") && !trace.contains("AF_INET"),
            "{name}: an internet socket was made or bound:\n{trace}"
        );
    }
    for name in ["nnp_4000", "nnp_root"] {
        let report = outcomes.get(name).ran_as_nobody();
        assert_eq!(report.get("no_new_privs"), Some("1"), "{name}");
        assert!(report.get("sock.6").is_some(), "{name}");
    }
    finish(&sandbox);
}

#[test]
fn privilege_inherited_capabilities_are_cleared() {
    if !common::root_or_skip("privilege_inherited_capabilities_are_cleared") {
        return;
    }
    let sandbox = Sandbox::new();
    let outcomes = Script::new()
        .raw(&policy_setup("permit nobody port 23\n"))
        .raw(
            "INH='setpriv --inh-caps +net_raw,+sys_admin --reuid=65534 --regid=65534 --groups=65534 --'\n\
             AMB='setpriv --inh-caps +net_bind_service --ambient-caps +net_bind_service \
             --reuid=65534 --regid=65534 --groups=65534 --'\n",
        )
        .case("control_inh", r#"$INH "$PROBE""#)
        .case("control_amb", r#"$AMB "$PROBE""#)
        .case("inh_4000", r#"$INH "$PB" -p 4000 -d "$PROBE""#)
        .case("inh_u_nobody", r#"$INH "$PB" -p 4000 -u nobody -d "$PROBE""#)
        .case("inh_23", r#"$INH "$PB" -p 23 -d "$PROBE""#)
        .case("amb_4000", r#"$AMB "$PB" -p 4000 -d "$PROBE""#)
        .case("amb_23", r#"$AMB "$PB" -p 23 -d "$PROBE""#)
        .case(
            "root_u_nobody",
            r#"setpriv --inh-caps +net_raw,+sys_admin -- "$PB" -p 23 -u nobody -d "$PROBE""#,
        )
        .case(
            "root_u_root",
            r#"setpriv --inh-caps +net_raw,+sys_admin -- "$PB" -p 23 -u root -d "$PROBE""#,
        )
        .run(&sandbox);

    // setpriv does hand them on, to a program that is not portbind.
    let control = outcomes.get("control_inh").report();
    assert_eq!(control.get("cap_inh"), Some("0000000000202000"));
    let control = outcomes.get("control_amb").report();
    assert_eq!(control.get("cap_amb"), Some("0000000000000400"));

    for name in [
        "inh_4000",
        "inh_u_nobody",
        "inh_23",
        "amb_4000",
        "amb_23",
        "root_u_nobody",
    ] {
        // ran_as_nobody checks every capability set is empty.
        let report = outcomes.get(name).ran_as_nobody();
        assert!(report.get("sock.6").is_some(), "{name}");
    }
    let report = outcomes.get("root_u_root").ran();
    assert_eq!(report.get("uid"), Some("0,0,0"));
    assert_eq!(report.caps("cap_inh"), Some(0));
    assert_eq!(report.caps("cap_amb"), Some(0));
    finish(&sandbox);
}

// ---------------------------------------------------------------------
// ports
// ---------------------------------------------------------------------

/// listener.py ADDR PORT READY: root's service on ADDR:PORT, listening,
/// with SO_REUSEADDR and SO_REUSEPORT (a port group anyone with the same
/// euid could join); creates READY once it listens, then waits.
const LISTENER_PY: &str = r#"import socket, sys, time
addr, port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind((addr, port))
s.listen()
open(ready, "w").close()
time.sleep(100)
"#;

#[test]
fn ports_a_privileged_port_already_in_use() {
    if !common::root_or_skip("ports_a_privileged_port_already_in_use") {
        return;
    }
    let sandbox = Sandbox::new();
    write_file(&sandbox, "listener.py", LISTENER_PY, 0o644);
    let outcomes = Script::new()
        .raw(&policy_setup("permit nobody port 23\n"))
        .raw(
            r#"python3 -I "$SANDBOX/listener.py" 127.0.0.1 23 "$OUT/ready" </dev/null >/dev/null 2>&1 &
listener=$!
tries=0
until [ -e "$OUT/ready" ]; do
    tries=$((tries + 1))
    [ "$tries" -le 400 ] || exit 91
    sleep 0.025
done
"#,
        )
        .case(
            "root_same_address",
            r#""$PB" -p 127.0.0.1:23 -u nobody -d "$PROBE""#,
        )
        .case("root_wildcard", r#""$PB" -p 23 -u nobody -d "$PROBE""#)
        .case(
            "root_listening",
            r#""$PB" -p 127.0.0.1:23 -b 5 -u nobody -d "$PROBE""#,
        )
        .case(
            "root_second_socket",
            r#""$PB" -p 127.0.0.2:23 -p 127.0.0.1:23 -u nobody -d "$PROBE""#,
        )
        .case(
            "nobody_by_policy",
            r#"$AS_NOBODY "$PB" -p 127.0.0.1:23 -d "$PROBE""#,
        )
        .case(
            "root_other_address",
            r#""$PB" -p 127.0.0.2:23 -u nobody -d "$PROBE""#,
        )
        .raw("kill \"$listener\"\nwait \"$listener\"\n")
        .run(&sandbox);

    let report = outcomes.get("root_other_address").ran_as_nobody();
    assert_eq!(report.get("sock.6"), Some("inet 127.0.0.2 23"));
    assert_eq!(report.get("reuseport.6"), Some("0"));
    finish(&sandbox);

    let refused = [
        ("root_same_address", "127.0.0.1:23"),
        ("root_wildcard", "0.0.0.0:23"),
        ("root_listening", "127.0.0.1:23"),
        ("root_second_socket", "127.0.0.1:23"),
        ("nobody_by_policy", "127.0.0.1:23"),
    ];
    let messages: Vec<String> = refused
        .iter()
        .map(|(name, addr)| {
            let message = outcomes.get(name).refused(71);
            let prefix = format!("cannot bind {addr}: ");
            assert!(message.starts_with(&prefix), "{name}: {message}");
            message
        })
        .collect();
    // portbind(8)'s own example of the errno text.
    for ((name, addr), message) in refused.iter().zip(&messages) {
        assert_eq!(
            *message,
            format!("cannot bind {addr}: Address already in use"),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------
// driver
// ---------------------------------------------------------------------

fn install_drivers(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir().join("drv");
    fs::create_dir(&dir).expect("mkdir drv");
    set_mode(&dir, 0o755);
    let probe = sandbox.probe();
    for (name, mode) in [("not-executable", 0o644), ("root-only", 0o700)] {
        fs::copy(probe, dir.join(name)).expect("copy the probe");
        set_mode(&dir.join(name), mode);
    }
    fs::create_dir(dir.join("directory")).expect("mkdir");
    set_mode(&dir.join("directory"), 0o755);
    write_file_at(&dir.join("empty"), "", 0o755);
    write_file_at(
        &dir.join("bad-interpreter"),
        "#!/nonexistent/interpreter\n",
        0o755,
    );
    let script = format!(
        "#!/bin/sh\nexec \"{}\" from-script \"$@\"\n",
        probe.display()
    );
    write_file_at(&dir.join("script"), &script, 0o755);
    write_file_at(&dir.join("driver"), &script, 0o755);
    dir
}

#[test]
fn driver_that_cannot_run_gives_126_or_127() {
    if !common::root_or_skip("driver_that_cannot_run_gives_126_or_127") {
        return;
    }
    let sandbox = Sandbox::new();
    let dir = install_drivers(&sandbox);
    let evil_name = b"missing\nportbind: all is well";
    let outcomes = Script::new()
        .raw("D=\"$SANDBOX/drv\"\n")
        .case("missing", r#"$AS_NOBODY "$PB" -p 4000 -d "$D/missing""#)
        .case(
            "not_executable",
            r#"$AS_NOBODY "$PB" -p 4000 -d "$D/not-executable""#,
        )
        .case("directory", r#"$AS_NOBODY "$PB" -p 4000 -d "$D/directory""#)
        .case("empty_path", r#"$AS_NOBODY "$PB" -p 4000 -d ''"#)
        .case("root_only", r#"$AS_NOBODY "$PB" -p 4000 -d "$D/root-only""#)
        .case(
            "root_only_root_u_nobody",
            r#""$PB" -p 23 -u nobody -d "$D/root-only""#,
        )
        .case(
            "root_only_root_u_root",
            r#""$PB" -p 23 -u root -d "$D/root-only""#,
        )
        .case(
            "under_a_file",
            r#"$AS_NOBODY "$PB" -p 4000 -d "$D/not-executable/x""#,
        )
        .case("empty_file", r#"$AS_NOBODY "$PB" -p 4000 -d "$D/empty""#)
        .case(
            "bad_interpreter",
            r#"$AS_NOBODY "$PB" -p 4000 -d "$D/bad-interpreter""#,
        )
        // Never searched in PATH: /usr/bin/true is not "true".
        .case(
            "not_in_path",
            r#"cd "$D/directory" && $AS_NOBODY "$PB" -p 4000 -d true"#,
        )
        .case(
            "default_missing",
            r#"cd "$D/directory" && $AS_NOBODY "$PB" -p 4000"#,
        )
        .case(
            "newline_in_name",
            &format!(r#"$AS_NOBODY "$PB" -p 4000 -d "$D/"{}"#, sh(evil_name)),
        )
        .run(&sandbox);

    let d = dir.display();
    let enoent = "No such file or directory";
    let eacces = "Permission denied";
    for (name, status, path, errno) in [
        ("missing", 127, format!("{d}/missing"), enoent),
        ("not_executable", 126, format!("{d}/not-executable"), eacces),
        ("directory", 126, format!("{d}/directory"), eacces),
        // Executed after the drop: nobody may not run it, root could.
        ("root_only", 126, format!("{d}/root-only"), eacces),
        (
            "root_only_root_u_nobody",
            126,
            format!("{d}/root-only"),
            eacces,
        ),
        (
            "under_a_file",
            127,
            format!("{d}/not-executable/x"),
            "Not a directory",
        ),
        ("empty_file", 126, format!("{d}/empty"), "Exec format error"),
        ("not_in_path", 127, "true".to_string(), enoent),
        ("default_missing", 127, "./driver".to_string(), enoent),
        (
            "newline_in_name",
            127,
            format!("{d}/{}", shown(evil_name)),
            enoent,
        ),
    ] {
        assert_eq!(
            outcomes.get(name).refused(status),
            format!("cannot execute driver {path}: {errno}"),
            "{name}"
        );
    }
    outcomes
        .get("empty_path")
        .usage("-d: the driver path is empty");

    let report = outcomes.get("root_only_root_u_root").ran();
    assert_eq!(report.get("uid"), Some("0,0,0"));
    assert_eq!(
        report.all("argv").first().map(|s| s.to_string()),
        Some(format!("{d}/root-only"))
    );
    finish(&sandbox);

    // portbind(8): 126 is a driver found but not executable, 127 one not found.
    // This one is there; its interpreter is not.
    let message = outcomes.get("bad_interpreter").refused(126);
    assert!(
        message.starts_with(&format!("cannot execute driver {d}/bad-interpreter: ")),
        "{message}"
    );
}

#[test]
fn driver_hashbang_script_runs_as_the_target() {
    if !common::root_or_skip("driver_hashbang_script_runs_as_the_target") {
        return;
    }
    let sandbox = Sandbox::new();
    install_drivers(&sandbox);
    let outcomes = Script::new()
        .raw("D=\"$SANDBOX/drv\"\n")
        .case(
            "absolute",
            r#"$AS_NOBODY "$PB" -p 4000 -d "$D/script" a 'b c'"#,
        )
        .case(
            "relative",
            r#"cd "$D" && $AS_NOBODY "$PB" -p 4000 -d ./script"#,
        )
        .case(
            "bare_name",
            r#"cd "$D" && $AS_NOBODY "$PB" -p 4000 -d script"#,
        )
        .case("default", r#"cd "$D" && $AS_NOBODY "$PB" -p 4000 -- x"#)
        .case("root", r#""$PB" -p 23 -u nobody -d "$D/script""#)
        .run(&sandbox);

    let probe = sandbox.probe().display().to_string();
    for (name, args) in [
        ("absolute", &["a", "b\\x20c"][..]),
        ("relative", &[]),
        ("bare_name", &[]),
        ("default", &["x"]),
        ("root", &[]),
    ] {
        let report = outcomes.get(name).ran_as_nobody();
        let argv = report.all("argv");
        assert_eq!(argv[..2], [probe.as_str(), "from-script"], "{name}");
        assert_eq!(argv[2..], *args, "{name}");
        assert_eq!(report.fds(), [0, 1, 2, 6], "{name}");
    }
    finish(&sandbox);
}

// ---------------------------------------------------------------------
// the cases of a script, and what came of them
// ---------------------------------------------------------------------

/// A sandbox script made of named cases.
struct Script(String);

impl Script {
    fn new() -> Script {
        // No policy file unless a test writes one.
        Script(format!("rm -f {POLICY}\n"))
    }

    /// Shell text run as it is, between cases.
    fn raw(mut self, text: &str) -> Script {
        self.0.push_str(text);
        self
    }

    /// Runs `command` in a subshell (so `cd` stays inside) with stdout in
    /// `$OUT/NAME.out`, stderr in `$OUT/NAME.err` and the status in
    /// `$OUT/NAME.rc`. Redirections inside `command` win over these.
    fn case(mut self, name: &str, command: &str) -> Script {
        writeln!(
            self.0,
            "(\n{command}\n) >\"$OUT/{name}.out\" 2>\"$OUT/{name}.err\"\necho $? >\"$OUT/{name}.rc\""
        )
        .expect("write to a String");
        self
    }

    /// Runs the script, then checks that no socket is left bound on the
    /// ports the tests use.
    fn run(mut self, sandbox: &Sandbox) -> Outcomes {
        write_file(sandbox, "busy.py", BUSY_PY, 0o644);
        self.0
            .push_str("python3 -I \"$SANDBOX/busy.py\" >\"$OUT/busy\"\n");
        let output = sandbox.run(&self.0);
        assert_eq!(
            status_code(&output),
            Some(0),
            "the sandbox script failed\nstdout:\n{}\nstderr:\n{}",
            stdout_str(&output),
            stderr_str(&output)
        );
        Outcomes {
            out: sandbox.out().to_path_buf(),
        }
    }
}

/// busy.py: prints each port the tests use that something still holds
/// (a bind without SO_REUSEADDR fails), on IPv4 and IPv6.
const BUSY_PY: &str = r#"import socket
busy = []
for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    for port in (23, 1023, 1024, 4000, 4001, 65535):
        s = socket.socket(family)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            busy.append("%s:%d (%s)" % (host, port, e))
        s.close()
print("\n".join(busy))
"#;

/// Checks what every test must leave behind: nothing.
fn finish(sandbox: &Sandbox) {
    let busy = read_string(&sandbox.out().join("busy"));
    assert_eq!(busy.trim(), "", "sockets still bound after the script");
    sandbox.assert_no_leftovers();
}

struct Outcomes {
    out: PathBuf,
}

impl Outcomes {
    fn path(&self, name: &str, ext: &str) -> PathBuf {
        self.out.join(format!("{name}.{ext}"))
    }

    fn get(&self, name: &str) -> Outcome {
        let rc = read_string(&self.path(name, "rc"));
        Outcome {
            name: name.to_string(),
            status: rc
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name}: status {rc:?}")),
            out: fs::read(self.path(name, "out")).expect("case stdout"),
            err: read_string(&self.path(name, "err")),
        }
    }
}

/// One case: its status, stdout and stderr.
struct Outcome {
    name: String,
    status: i32,
    out: Vec<u8>,
    err: String,
}

impl Outcome {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }

    fn assert_status(&self, status: i32) {
        assert_eq!(
            self.status,
            status,
            "{}: status {} (134/139 is a crash, 141 SIGPIPE)\nstderr: {}\nstdout: {}",
            self.name,
            self.status,
            self.err,
            self.stdout()
        );
    }

    /// portbind refused with `status` and one line on stderr, and no
    /// driver ran; returns the line without `portbind: ` and newline.
    fn refused(&self, status: i32) -> String {
        self.assert_status(status);
        assert!(
            self.out.is_empty(),
            "{}: something wrote to stdout (did a driver run?):\n{}",
            self.name,
            self.stdout()
        );
        let line = self
            .err
            .strip_suffix('\n')
            .filter(|line| !line.contains('\n'))
            .and_then(|line| line.strip_prefix("portbind: "));
        match line {
            Some(line) => line.to_string(),
            None => panic!(
                "{}: stderr is not one `portbind: ` line: {:?}",
                self.name, self.err
            ),
        }
    }

    /// A usage error: 64, and `TEXT (see portbind -h)`.
    fn usage(&self, text: &str) {
        assert_eq!(
            self.refused(64),
            format!("{text} (see portbind -h)"),
            "{}",
            self.name
        );
    }

    /// The probe ran (status 0, nothing on stderr, a whole report).
    fn report(&self) -> Report {
        self.assert_status(0);
        assert_eq!(self.err, "", "{}: stderr", self.name);
        let report = Report::parse(&self.out);
        assert!(
            report.is_complete(),
            "{}: no whole report:\n{}",
            self.name,
            self.stdout()
        );
        report
    }

    /// The driver ran, and not with more privilege than its ids allow.
    fn ran(&self) -> Report {
        let report = self.report();
        assert_not_overprivileged(&self.name, &report);
        report
    }

    fn ran_as_nobody(&self) -> Report {
        let report = self.ran();
        assert_eq!(
            report.get("uid"),
            Some("65534,65534,65534"),
            "{}",
            self.name
        );
        assert_eq!(
            report.get("gid"),
            Some("65534,65534,65534"),
            "{}",
            self.name
        );
        report
    }
}

/// A driver with a root id has all of them root; one without has no
/// capability at all (no test here grants -a), and no securebits.
fn assert_not_overprivileged(name: &str, report: &Report) {
    let uids = report.numbers("uid");
    let gids = report.numbers("gid");
    assert_eq!(uids.len(), 3, "{name}: uid");
    assert_eq!(gids.len(), 3, "{name}: gid");
    if uids.contains(&0) {
        assert_eq!(uids, [0, 0, 0], "{name}: part root");
        return;
    }
    assert!(
        !gids.contains(&0) || gids == [0, 0, 0],
        "{name}: gids {gids:?}"
    );
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_amb"] {
        assert_eq!(report.caps(set), Some(0), "{name}: {set}");
    }
    assert_eq!(report.get("securebits"), Some("0"), "{name}");
}

/// `TEXT [audit id 0123456789abcdef]` → `TEXT`.
fn without_audit_id(message: &str) -> &str {
    let Some((text, id)) = message.rsplit_once(" [audit id ") else {
        panic!("no audit id in {message:?}");
    };
    let id = id.strip_suffix(']').unwrap_or("");
    assert!(
        id.len() == 16
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "bad audit id in {message:?}"
    );
    text
}

/// The bytes as one shell word: single-quoted when printable, else
/// `"$(printf '\ooo...')"`.
fn sh(bytes: &[u8]) -> String {
    if bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'\'')
    {
        return format!("'{}'", String::from_utf8_lossy(bytes));
    }
    let mut octal = String::new();
    for b in bytes {
        write!(octal, "\\{b:03o}").expect("write to a String");
    }
    format!("\"$(printf '{octal}')\"")
}

/// The bytes as portbind shows them in a message: printable ASCII as it
/// is, anything else (and `\`) as `\xHH`.
fn shown(bytes: &[u8]) -> String {
    let mut text = String::new();
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            text.push(b as char);
        } else {
            write!(text, "\\x{b:02x}").expect("write to a String");
        }
    }
    text
}

/// Writes `POLICY` as root would: owned by root, mode 0644.
fn policy_setup(text: &str) -> String {
    assert!(
        POLICY.starts_with("/etc/"),
        "{POLICY} is outside the sandbox's private /etc"
    );
    format!("printf '%s' '{text}' >{POLICY}\nchown root:root {POLICY}\nchmod 644 {POLICY}\n")
}

struct Passwd {
    home: String,
    shell: String,
}

impl Passwd {
    /// The entry of `name` in /etc/passwd (the sandbox's overlay starts
    /// from the host's).
    fn of(name: &str) -> Passwd {
        let passwd = read_string(Path::new("/etc/passwd"));
        let fields: Vec<&str> = passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find(|fields| fields.len() == 7 && fields[0] == name)
            .unwrap_or_else(|| panic!("no {name} in /etc/passwd"));
        Passwd {
            home: fields[5].to_string(),
            shell: fields[6].to_string(),
        }
    }
}

fn read_string(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn write_file(sandbox: &Sandbox, name: &str, text: &str, mode: u32) {
    write_file_at(&sandbox.dir().join(name), text, mode);
}

fn write_file_at(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    set_mode(path, mode);
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// tests/hostile_noargv.c, compiled once per test process.
fn noargv_helper() -> PathBuf {
    static HELPER: OnceLock<PathBuf> = OnceLock::new();
    HELPER
        .get_or_init(|| common::compile_static_c("tests/hostile_noargv.c", "hostile_noargv"))
        .clone()
}

// ---------------------------------------------------------------------
// keyrings
// ---------------------------------------------------------------------

/// tests/hostile_keyring.c, compiled once per test process.
fn keyring_helper() -> PathBuf {
    static HELPER: OnceLock<PathBuf> = OnceLock::new();
    HELPER
        .get_or_init(|| common::compile_static_c("tests/hostile_keyring.c", "hostile_keyring"))
        .clone()
}

#[test]
fn keyrings_the_invokers_session_keyring_stays_behind() {
    if !common::root_or_skip("keyrings_the_invokers_session_keyring_stays_behind") {
        return;
    }
    let sandbox = Sandbox::new();
    let helper = sandbox.dir().join("keyring");
    fs::copy(keyring_helper(), &helper).expect("copy the keyring helper");
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).expect("chmod");
    // Root holding a secret starts a driver as nobody; nobody holding one
    // starts a driver as itself: neither driver may reach the key.
    let outcomes = Script::new()
        .raw("K=\"$SANDBOX/keyring\"\n")
        .case(
            "root_to_nobody",
            r#""$K" invoker "$PB" -p 4000 -u nobody -d "$K" -- driver"#,
        )
        .case(
            "nobody_to_itself",
            r#"$AS_NOBODY "$K" invoker "$PB" -p 4000 -d "$K" -- driver"#,
        )
        .run(&sandbox);
    for name in ["root_to_nobody", "nobody_to_itself"] {
        let outcome = outcomes.get(name);
        outcome.assert_status(0);
        let out = outcome.stdout();
        let invoker = out
            .lines()
            .find_map(|l| l.strip_prefix("invoker keyring="))
            .and_then(|l| l.split(' ').next())
            .unwrap_or_else(|| panic!("{name}: {out}"))
            .to_string();
        let driver = out
            .lines()
            .find_map(|l| l.strip_prefix("driver keyring="))
            .unwrap_or_else(|| panic!("{name}: {out}"));
        assert!(driver.ends_with(" found=0"), "{name}: {out}");
        assert!(
            !driver.starts_with(&format!("{invoker} ")),
            "{name}: the driver shares the invoker's keyring: {out}"
        );
    }
    finish(&sandbox);
}
