//! The policy file, run for real: unprivileged accounts invoke the
//! installed setuid portbind inside a sandbox whose private /etc holds the
//! test accounts and /etc/portbind.conf.
//!
//! Accounts (created in every script by [`ACCOUNTS`]): alice 2001, bob
//! 2002, carol 2003, dave 2004 (each with a primary group of the same
//! number), mud 2100 (primary group mud 2100, member of mudstaff 2300),
//! and the group mudadmins 2200 with alice as member. Every invoker also
//! carries group 65534, without which it could not run the binary.
//!
//! Each case of a script records its stdout, stderr and status in `$OUT`
//! (`record NAME CMD...`), and the test reads them back with [`case`].

mod common;

use common::{Report, Sandbox};

const POLICY_PATH: &str = "/etc/portbind.conf";

/// Test accounts, and no policy file to start from (the host's /etc may
/// hold one; the overlay hides it). The /etc overlay persists across the
/// runs of one sandbox, so this runs once per sandbox.
const ACCOUNTS: &str = r#"
cat >>/etc/passwd <<'EOF' || exit 99
alice:x:2001:2001::/nonexistent:/usr/sbin/nologin
bob:x:2002:2002::/nonexistent:/usr/sbin/nologin
carol:x:2003:2003::/nonexistent:/usr/sbin/nologin
dave:x:2004:2004::/nonexistent:/usr/sbin/nologin
mud:x:2100:2100::/nonexistent:/usr/sbin/nologin
EOF
cat >>/etc/group <<'EOF' || exit 99
alice:x:2001:
bob:x:2002:
carol:x:2003:
dave:x:2004:
mud:x:2100:
mudadmins:x:2200:alice
mudstaff:x:2300:mud
EOF
rm -rf /etc/portbind.conf /etc/portbind.good || exit 99
"#;

/// Shell helpers for every script.
const HELPERS: &str = r#"
# record NAME CMD...: CMD's stdout, stderr and status into $OUT/NAME.*
record() {
    __name=$1
    shift
    "$@" >"$OUT/$__name.out" 2>"$OUT/$__name.err"
    echo $? >"$OUT/$__name.rc"
}
# alice with the supplementary group mudadmins, as after newgrp or login
as_admin() {
    setpriv --reuid=2001 --regid=2001 --groups=2001,2200,65534 -- "$@"
}
# as_user as a command rather than a function, for `timeout` (unquoted)
AS_ALICE="setpriv --reuid=2001 --regid=2001 --groups=2001,65534 --"
# policy: stdin becomes /etc/portbind.conf, root-owned, mode 644
policy() {
    rm -rf /etc/portbind.conf &&
        cat >/etc/portbind.conf &&
        chown 0:0 /etc/portbind.conf &&
        chmod 644 /etc/portbind.conf ||
        { echo "policy: cannot write /etc/portbind.conf" >&2; exit 99; }
}
"#;

/// What one recorded command did.
type Case = common::Recorded;

/// Reads back `record NAME ...`.
fn case(sandbox: &Sandbox, name: &str) -> Case {
    common::recorded(sandbox.out(), name)
}

/// Runs `script` after [`ACCOUNTS`] and [`HELPERS`] and checks that the
/// script itself got to its end.
fn run_script(sandbox: &Sandbox, script: &str) {
    run_again(sandbox, &format!("{ACCOUNTS}\n{script}"));
}

/// Runs `script` after [`HELPERS`] only, in a sandbox whose /etc already
/// holds the accounts.
fn run_again(sandbox: &Sandbox, script: &str) {
    let output = sandbox.run(&format!("{HELPERS}\n{script}\necho script-done"));
    common::assert_script_done(&output);
}

/// The driver ran: status 0 from the probe, nothing on stderr, a complete
/// report.
fn assert_ran(case: &Case) -> Report {
    assert_eq!(
        case.status, 0,
        "case {}: status; stderr: {}",
        case.name, case.stderr
    );
    assert_eq!(case.stderr, "", "case {}: stderr", case.name);
    let report = Report::parse(&case.stdout);
    assert!(
        report.is_complete(),
        "case {}: incomplete report:\n{}",
        case.name,
        String::from_utf8_lossy(&case.stdout)
    );
    report
}

/// The driver runs with exactly these ids and groups and no capability.
fn assert_identity(case: &Case, report: &Report, uid: u64, gid: u64, groups: &[u64]) {
    assert_eq!(report.numbers("uid"), [uid; 3], "case {}: uid", case.name);
    assert_eq!(report.numbers("gid"), [gid; 3], "case {}: gid", case.name);
    assert_eq!(
        report.numbers("groups"),
        groups,
        "case {}: groups",
        case.name
    );
    assert_no_capability(case, report);
}

fn assert_no_capability(case: &Case, report: &Report) {
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_amb"] {
        assert_eq!(report.caps(set), Some(0), "case {}: {set}", case.name);
    }
}

/// The sockets on fds 6, 7, ..., bound and not listening, and no other
/// fd above 2.
fn assert_sockets(case: &Case, report: &Report, sockets: &[&str]) {
    let mut fds = vec![0, 1, 2];
    for (fd, socket) in (6..).zip(sockets) {
        fds.push(fd);
        let key = format!("sock.{fd}");
        assert_eq!(report.get(&key), Some(*socket), "case {}: {key}", case.name);
        assert_eq!(
            report.get(&format!("listen.{fd}")),
            Some("0"),
            "case {}: fd {fd} listens",
            case.name
        );
    }
    assert_eq!(report.fds(), fds, "case {}: open fds", case.name);
}

/// A refusal: `status`, no driver (nothing on stdout), and one line on
/// stderr, `portbind: ...` ending in `[audit id <16 hex>]`, holding every
/// piece of `expected`. Returns the message.
fn assert_refused(case: &Case, status: i32, expected: &[&str]) -> String {
    assert_eq!(
        case.status, status,
        "case {}: status; stderr: {}",
        case.name, case.stderr
    );
    assert!(
        case.stdout.is_empty(),
        "case {}: the driver ran:\n{}",
        case.name,
        String::from_utf8_lossy(&case.stdout)
    );
    let message = case.stderr.strip_suffix('\n').unwrap_or_else(|| {
        panic!(
            "case {}: stderr is not one line: {:?}",
            case.name, case.stderr
        )
    });
    assert!(
        !message.contains('\n') && message.starts_with("portbind: "),
        "case {}: stderr is not one `portbind: ` line: {:?}",
        case.name,
        case.stderr
    );
    assert!(
        audit_id_of(message).is_some(),
        "case {}: no `[audit id <16 hex>]` at the end: {message}",
        case.name
    );
    for piece in expected {
        assert!(
            message.contains(piece),
            "case {}: {piece:?} missing from: {message}",
            case.name
        );
    }
    message.to_string()
}

/// The 16 hex digits of a trailing `[audit id X]`.
fn audit_id_of(message: &str) -> Option<&str> {
    let id = message.strip_suffix(']')?.rsplit_once(" [audit id ")?.1;
    (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

#[test]
fn rules_permit_what_they_name() {
    if !common::root_or_skip("rules_permit_what_they_name") {
        return;
    }
    let sandbox = Sandbox::new();
    run_script(
        &sandbox,
        r#"policy <<'EOF'
# user, group, address and port-list rules
permit alice port 23
permit :mudadmins port 23,4000-4010 as mud
permit bob port 80 on 127.0.0.1 as mud:mudstaff
permit carol port any
EOF
record user as_user 2001 2001 "$PB" -p 23 -d "$PROBE"
record group as_admin "$PB" -p 23 -p 4000 -p 4007 -p 4010 -u mud -d "$PROBE"
record group_uid as_admin "$PB" -p 4001 -u 2100 -d "$PROBE"
record on_addr as_user 2002 2002 "$PB" -p 127.0.0.1:80 -u mud -g mudstaff -d "$PROBE"
record on_default as_user 2002 2002 "$PB" -i 127.0.0.1 -p 80 -u mud -g mudstaff -d "$PROBE"
record any as_user 2003 2003 "$PB" -p 1 -p 22 -p 1023 -d "$PROBE""#,
    );

    let user = case(&sandbox, "user");
    let report = assert_ran(&user);
    assert_identity(&user, &report, 2001, 2001, &[2001, 65534]);
    assert_sockets(&user, &report, &["inet 0.0.0.0 23"]);
    assert_eq!(report.env("PORTBIND_USER"), Some("alice"));

    // `as mud`: mud's ids and database groups, none of alice's.
    let group = case(&sandbox, "group");
    let report = assert_ran(&group);
    assert_identity(&group, &report, 2100, 2100, &[2100, 2300]);
    assert_sockets(
        &group,
        &report,
        &[
            "inet 0.0.0.0 23",
            "inet 0.0.0.0 4000",
            "inet 0.0.0.0 4007",
            "inet 0.0.0.0 4010",
        ],
    );
    assert_eq!(report.env("USER"), Some("mud"));
    assert_eq!(report.env("PORTBIND_USER"), Some("alice"));

    let group_uid = case(&sandbox, "group_uid");
    let report = assert_ran(&group_uid);
    assert_identity(&group_uid, &report, 2100, 2100, &[2100, 2300]);
    assert_sockets(&group_uid, &report, &["inet 0.0.0.0 4001"]);

    // `as mud:mudstaff` with -g: that gid, and mud's groups at most; the
    // address given with -p or with -i.
    for name in ["on_addr", "on_default"] {
        let on_addr = case(&sandbox, name);
        let report = assert_ran(&on_addr);
        assert_eq!(report.numbers("uid"), [2100; 3], "case {name}");
        assert_eq!(report.numbers("gid"), [2300; 3], "case {name}");
        let groups = report.numbers("groups");
        assert!(
            groups.contains(&2300) && groups.iter().all(|g| [2100, 2300].contains(g)),
            "case {name}: groups {groups:?}"
        );
        assert_no_capability(&on_addr, &report);
        assert_sockets(&on_addr, &report, &["inet 127.0.0.1 80"]);
    }

    let any = case(&sandbox, "any");
    let report = assert_ran(&any);
    assert_identity(&any, &report, 2003, 2003, &[2003, 65534]);
    assert_sockets(
        &any,
        &report,
        &["inet 0.0.0.0 1", "inet 0.0.0.0 22", "inet 0.0.0.0 1023"],
    );

    sandbox.assert_no_leftovers();
}

#[test]
fn refusals_say_who_asked_what_and_what_is_missing() {
    if !common::root_or_skip("refusals_say_who_asked_what_and_what_is_missing") {
        return;
    }
    let sandbox = Sandbox::new();
    run_script(
        &sandbox,
        r#"policy <<'EOF'
permit alice port 23
permit :mudadmins port 23,4000-4010 as mud
permit bob port 80 on 127.0.0.1 as mud:mudstaff
permit carol port any
EOF
record port as_user 2001 2001 "$PB" -p 24 -d "$PROBE"
record two_ports as_user 2001 2001 "$PB" -p 23 -p 25 -d "$PROBE"
record range as_admin "$PB" -p 4011 -u mud -d "$PROBE"
record wildcard as_user 2002 2002 "$PB" -p 80 -u mud -g mudstaff -d "$PROBE"
record other_addr as_user 2002 2002 "$PB" -p 127.0.0.2:80 -u mud -g mudstaff -d "$PROBE"
record other_group as_user 2002 2002 "$PB" -p 127.0.0.1:80 -u mud -d "$PROBE"
record other_user as_admin "$PB" -p 23 -u bob -d "$PROBE"
record self_rule_other_user as_user 2003 2003 "$PB" -p 23 -u mud -d "$PROBE"
record root_name as_user 2003 2003 "$PB" -p 23 -u root -d "$PROBE"
record root_uid as_user 2003 2003 "$PB" -p 23 -u 0 -d "$PROBE"
record root_gid as_user 2003 2003 "$PB" -p 23 -g 0 -d "$PROBE"
record admin_root as_admin "$PB" -p 23 -u 0 -g mud -d "$PROBE"
record ambient as_user 2003 2003 "$PB" -p 23 -a -d "$PROBE"
record unnamed as_user 2004 2004 "$PB" -p 23 -d "$PROBE"
record not_member as_user 2002 2002 "$PB" -p 4005 -u mud -d "$PROBE""#,
    );

    let no_rule = "no rule in /etc/portbind.conf";
    let cases: &[(&str, &[&str])] = &[
        ("port", &["alice (uid 2001)", "0.0.0.0:24", no_rule]),
        ("two_ports", &["alice (uid 2001)", "0.0.0.0:25", no_rule]),
        (
            "range",
            &["alice (uid 2001)", "0.0.0.0:4011", "mud (uid 2100", no_rule],
        ),
        (
            "wildcard",
            &["bob (uid 2002)", "0.0.0.0:80", "mud (uid 2100", no_rule],
        ),
        (
            "other_addr",
            &["bob (uid 2002)", "127.0.0.2:80", "mud (uid 2100", no_rule],
        ),
        (
            "other_group",
            &[
                "bob (uid 2002)",
                "mud (uid 2100, gid 2100, groups 2100,2300)",
                no_rule,
            ],
        ),
        (
            "other_user",
            &["alice (uid 2001)", "bob (uid 2002", no_rule],
        ),
        (
            "self_rule_other_user",
            &["carol (uid 2003)", "mud (uid 2100", no_rule],
        ),
        ("root_name", &["carol (uid 2003)", "root (uid 0", "root"]),
        ("root_uid", &["carol (uid 2003)", "uid 0", "root"]),
        ("root_gid", &["carol (uid 2003)", "gid 0", "root"]),
        ("admin_root", &["alice (uid 2001)", "uid 0", "root"]),
        (
            "ambient",
            &["carol (uid 2003)", "cap_net_bind_service", no_rule],
        ),
        ("unnamed", &["dave (uid 2004)", "0.0.0.0:23", no_rule]),
        (
            "not_member",
            &["bob (uid 2002)", "0.0.0.0:4005", "mud (uid 2100", no_rule],
        ),
    ];
    for (name, expected) in cases {
        assert_refused(&case(&sandbox, name), 77, expected);
    }

    sandbox.assert_no_leftovers();
}

/// The rule line a "missing file" or "no rule" message suggests for
/// `invoker`: from `permit <invoker>` to the next backtick or ` [audit`.
fn suggested_line(message: &str, invoker: &str) -> String {
    let start = message
        .rfind(&format!("permit {invoker} "))
        .unwrap_or_else(|| panic!("no suggested line in: {message}"));
    let rest = &message[start..];
    let end = rest
        .find(['`', '['])
        .unwrap_or_else(|| panic!("suggested line not terminated in: {message}"));
    let line = rest[..end].trim_end().to_string();
    // It goes into a shell script between single quotes below.
    assert!(
        line.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" :.,-_".contains(&b)),
        "unexpected characters in the suggestion {line:?}"
    );
    line
}

#[test]
fn missing_file_refuses_and_suggests_a_line_that_then_permits() {
    if !common::root_or_skip("missing_file_refuses_and_suggests_a_line_that_then_permits") {
        return;
    }
    let sandbox = Sandbox::new();
    let requests = [
        ("self", r#"as_user 2001 2001 "$PB" -p 23 -d "$PROBE""#),
        (
            "other",
            r#"as_admin "$PB" -p 127.0.0.1:23 -p 127.0.0.1:4000 -u mud -d "$PROBE""#,
        ),
        ("ambient", r#"as_user 2003 2003 "$PB" -p 23 -a -d "$PROBE""#),
    ];
    let mut first = String::from("test ! -e /etc/portbind.conf || exit 98\n");
    for (name, command) in requests {
        first.push_str(&format!("record {name}.missing {command}\n"));
    }
    run_script(&sandbox, &first);

    let invokers = ["alice", "alice", "carol"];
    let mut second = String::new();
    for ((name, command), invoker) in requests.iter().zip(invokers) {
        let refused = case(&sandbox, &format!("{name}.missing"));
        let message = assert_refused(
            &refused,
            77,
            &[&format!("{invoker} (uid "), POLICY_PATH, "permit "],
        );
        let line = suggested_line(&message, invoker);
        second.push_str(&format!(
            "printf '%s\\n' '{line}' | policy\nrecord {name}.permitted {command}\nrm /etc/portbind.conf\n"
        ));
    }
    run_again(&sandbox, &second);

    let permitted = case(&sandbox, "self.permitted");
    let report = assert_ran(&permitted);
    assert_identity(&permitted, &report, 2001, 2001, &[2001, 65534]);
    assert_sockets(&permitted, &report, &["inet 0.0.0.0 23"]);

    let permitted = case(&sandbox, "other.permitted");
    let report = assert_ran(&permitted);
    assert_identity(&permitted, &report, 2100, 2100, &[2100, 2300]);
    assert_sockets(
        &permitted,
        &report,
        &["inet 127.0.0.1 23", "inet 127.0.0.1 4000"],
    );

    let permitted = case(&sandbox, "ambient.permitted");
    let report = assert_ran(&permitted);
    assert_eq!(report.numbers("uid"), [2003; 3]);
    assert_eq!(report.caps("cap_amb"), Some(1 << 10));
    assert_eq!(report.caps("cap_prm"), Some(1 << 10));
    assert_sockets(&permitted, &report, &["inet 0.0.0.0 23"]);

    sandbox.assert_no_leftovers();
}

/// Each broken policy: the name, how to make it, and what the message
/// must name besides the file.
const BROKEN_FILES: &[(&str, &str, &[&str])] = &[
    (
        "owner",
        "echo 'permit alice port 23' | policy; chown 2001 /etc/portbind.conf",
        &["2001"],
    ),
    (
        "group_writable",
        "echo 'permit alice port 23' | policy; chmod 664 /etc/portbind.conf",
        &["664"],
    ),
    (
        "world_writable",
        "echo 'permit alice port 23' | policy; chmod 646 /etc/portbind.conf",
        &["646"],
    ),
    (
        "symlink",
        "echo 'permit alice port 23' | policy; mv /etc/portbind.conf /etc/portbind.good; \
         ln -s /etc/portbind.good /etc/portbind.conf",
        &[],
    ),
    (
        "directory",
        "rm -rf /etc/portbind.conf; mkdir -m 755 /etc/portbind.conf",
        &[],
    ),
    (
        "fifo",
        "rm -rf /etc/portbind.conf; mkfifo -m 644 /etc/portbind.conf",
        &[],
    ),
    (
        "device",
        "rm -rf /etc/portbind.conf; mknod -m 644 /etc/portbind.conf c 1 5",
        &[],
    ),
    (
        "bidi_in_comment",
        "printf 'permit alice port 23 # \\342\\200\\256 hidden\\n' | policy",
        &[":1:", "U+202E"],
    ),
    (
        "non_ascii_name_escaped",
        "printf 'permit al\\303\\251 port 23\\n' | policy",
        &[":1:", "al\\xc3\\xa9"],
    ),
    (
        "malformed",
        "echo 'permit alice prot 23' | policy",
        &[":1:", "prot"],
    ),
    (
        "unknown_user",
        "printf '# users\\npermit zed port 23\\npermit alice port 23\\n' | policy",
        &[":2:", "zed"],
    ),
    (
        "unknown_group",
        "printf 'permit alice port 23\\n\\npermit :nosuchgroup port 23\\n' | policy",
        &[":3:", "nosuchgroup"],
    ),
    (
        "as_root",
        "printf 'permit alice port 23\\npermit alice port 80 as root\\n' | policy",
        &[":2:", "root"],
    ),
    (
        "too_big",
        "{ echo 'permit alice port 23'; i=0; while [ $i -lt 820 ]; do \
         printf '#%079d\\n' 0; i=$((i + 1)); done; } | policy",
        &[],
    ),
    (
        "not_utf8",
        "printf 'permit alice port 23\\n# caf\\351\\n' | policy",
        &[":2:"],
    ),
    (
        "cr",
        "printf 'permit alice port 23\\r\\n' | policy",
        &[":1:"],
    ),
];

#[test]
fn unsafe_or_malformed_files_refuse_everything_that_needs_them() {
    if !common::root_or_skip("unsafe_or_malformed_files_refuse_everything_that_needs_them") {
        return;
    }
    let sandbox = Sandbox::new();
    // A FIFO (or any file portbind would block on) must not hang it:
    // `timeout` turns a hang into status 124 instead of a stuck test.
    let mut script = String::new();
    for (name, make, _) in BROKEN_FILES {
        script.push_str(&format!(
            "{make}\n\
             record {name} timeout 20 $AS_ALICE \"$PB\" -p 23 -d \"$PROBE\"\n\
             record {name}.free timeout 20 $AS_ALICE \"$PB\" -p 4000 -d \"$PROBE\"\n\
             record {name}.root timeout 20 \"$PB\" -p 23 -u mud -d \"$PROBE\"\n"
        ));
    }
    script.push_str(
        "echo 'permit alice port 23' | policy\n\
         record good as_user 2001 2001 \"$PB\" -p 23 -d \"$PROBE\"\n\
         chmod 600 /etc/portbind.conf\n\
         record good_600 as_user 2001 2001 \"$PB\" -p 23 -d \"$PROBE\"\n\
         chmod 644 /etc/portbind.conf && chgrp 2001 /etc/portbind.conf || exit 99\n\
         record good_group as_user 2001 2001 \"$PB\" -p 23 -d \"$PROBE\"\n",
    );
    run_script(&sandbox, &script);

    for (name, _, expected) in BROKEN_FILES {
        let mut pieces = vec![POLICY_PATH];
        pieces.extend_from_slice(expected);
        assert_refused(&case(&sandbox, name), 78, &pieces);

        // What needs no policy still works while the file is broken ...
        let free = case(&sandbox, &format!("{name}.free"));
        let report = assert_ran(&free);
        assert_identity(&free, &report, 2001, 2001, &[2001, 65534]);
        assert_sockets(&free, &report, &["inet 0.0.0.0 4000"]);

        // ... and root never reads the file.
        let root = case(&sandbox, &format!("{name}.root"));
        let report = assert_ran(&root);
        assert_identity(&root, &report, 2100, 2100, &[2100, 2300]);
        assert_sockets(&root, &report, &["inet 0.0.0.0 23"]);
    }
    // The same request with sound files, so that each refusal above is
    // the file's doing: readable by root alone, or in a group that cannot
    // write it, is fine.
    for name in ["good", "good_600", "good_group"] {
        let good = case(&sandbox, name);
        let report = assert_ran(&good);
        assert_identity(&good, &report, 2001, 2001, &[2001, 65534]);
        assert_sockets(&good, &report, &["inet 0.0.0.0 23"]);
    }

    sandbox.assert_no_leftovers();
}

#[test]
fn a_file_of_exactly_64_kib_is_read_to_its_last_line() {
    if !common::root_or_skip("a_file_of_exactly_64_kib_is_read_to_its_last_line") {
        return;
    }
    let sandbox = Sandbox::new();
    // 818 comment lines of 80 bytes, one of 75, then the rule: 65536
    // bytes, the rule in the last 21. One byte more is refused.
    run_script(
        &sandbox,
        r#"make() {
    i=0
    while [ $i -lt 818 ]; do printf '#%078d\n' 0; i=$((i + 1)); done
    printf '#%0*d\n' "$1" 0
    echo 'permit alice port 23'
}
make 73 | policy
stat -c %s /etc/portbind.conf >"$OUT/size64k"
record exact as_user 2001 2001 "$PB" -p 23 -d "$PROBE"
make 74 | policy
stat -c %s /etc/portbind.conf >"$OUT/size64k1"
record over as_user 2001 2001 "$PB" -p 23 -d "$PROBE""#,
    );
    let size = |name: &str| std::fs::read_to_string(sandbox.out().join(name)).expect("size");
    assert_eq!(size("size64k"), "65536\n");
    assert_eq!(size("size64k1"), "65537\n");

    let exact = case(&sandbox, "exact");
    let report = assert_ran(&exact);
    assert_identity(&exact, &report, 2001, 2001, &[2001, 65534]);
    assert_sockets(&exact, &report, &["inet 0.0.0.0 23"]);

    assert_refused(&case(&sandbox, "over"), 78, &[POLICY_PATH]);

    sandbox.assert_no_leftovers();
}

#[test]
fn root_needs_no_policy_but_must_name_the_account() {
    if !common::root_or_skip("root_needs_no_policy_but_must_name_the_account") {
        return;
    }
    let sandbox = Sandbox::new();
    run_script(
        &sandbox,
        r#"record none "$PB" -p 23 -u mud -d "$PROBE"
record none_no_u "$PB" -p 23 -d "$PROBE"
echo 'permit nobody-at-all port 23' | policy
record broken "$PB" -p 23 -p 4000 -u alice -d "$PROBE"
record broken_no_u "$PB" -p 4000 -d "$PROBE""#,
    );

    let none = case(&sandbox, "none");
    let report = assert_ran(&none);
    assert_identity(&none, &report, 2100, 2100, &[2100, 2300]);
    assert_sockets(&none, &report, &["inet 0.0.0.0 23"]);

    let broken = case(&sandbox, "broken");
    let report = assert_ran(&broken);
    assert_identity(&broken, &report, 2001, 2001, &[2001, 2200]);
    assert_sockets(&broken, &report, &["inet 0.0.0.0 23", "inet 0.0.0.0 4000"]);

    for name in ["none_no_u", "broken_no_u"] {
        let refused = case(&sandbox, name);
        assert_eq!(refused.status, 64, "case {name}: {}", refused.stderr);
        assert!(refused.stdout.is_empty(), "case {name}: the driver ran");
        assert!(
            refused.stderr.starts_with("portbind: ")
                && refused.stderr.ends_with('\n')
                && refused.stderr.lines().count() == 1
                && refused.stderr.contains("-u"),
            "case {name}: {:?}",
            refused.stderr
        );
    }

    sandbox.assert_no_leftovers();
}

#[test]
fn own_account_gets_database_groups_only_with_a_rule() {
    if !common::root_or_skip("own_account_gets_database_groups_only_with_a_rule") {
        return;
    }
    let sandbox = Sandbox::new();
    // alice is a member of mudadmins in /etc/group; the process below has
    // dropped it. `-u alice` would take it back from the database.
    run_script(
        &sandbox,
        r#"record dropped as_user 2001 2001 "$PB" -p 4000 -u alice -d "$PROBE"
record held as_admin "$PB" -p 4000 -u alice -d "$PROBE"
printf 'permit alice port 4000 as alice\n' | policy
record granted as_user 2001 2001 "$PB" -p 4000 -u alice -d "$PROBE""#,
    );
    assert_refused(
        &case(&sandbox, "dropped"),
        77,
        &["alice (uid 2001)", "groups 2001,2200", "as alice:2001"],
    );
    let held = case(&sandbox, "held");
    let report = assert_ran(&held);
    assert_identity(&held, &report, 2001, 2001, &[2001, 2200]);
    let granted = case(&sandbox, "granted");
    let report = assert_ran(&granted);
    assert_identity(&granted, &report, 2001, 2001, &[2001, 2200]);
    sandbox.assert_no_leftovers();
}

#[test]
fn a_writable_directory_above_the_file_invalidates_it() {
    if !common::root_or_skip("a_writable_directory_above_the_file_invalidates_it") {
        return;
    }
    let sandbox = Sandbox::new();
    // Whoever can rename entries in /etc could put back a file root had
    // replaced. (/etc is the sandbox's private overlay.)
    run_script(
        &sandbox,
        r#"printf 'permit alice port 23\n' | policy
record sound as_user 2001 2001 "$PB" -p 23 -d "$PROBE"
chmod 775 /etc
record group_writable as_user 2001 2001 "$PB" -p 23 -d "$PROBE"
chmod 755 /etc
chown 2001 /etc
record foreign_owner as_user 2001 2001 "$PB" -p 23 -d "$PROBE"
chown 0 /etc"#,
    );
    assert_ran(&case(&sandbox, "sound"));
    assert_refused(
        &case(&sandbox, "group_writable"),
        78,
        &["policy directory /etc is writable by group or others"],
    );
    assert_refused(
        &case(&sandbox, "foreign_owner"),
        78,
        &["policy directory /etc is owned by uid 2001"],
    );
    sandbox.assert_no_leftovers();
}

#[test]
fn suggestions_name_by_uid_what_the_file_would_misread() {
    if !common::root_or_skip("suggestions_name_by_uid_what_the_file_would_misread") {
        return;
    }
    let sandbox = Sandbox::new();
    // A user literally called "1000" (uid 2005): the file reads digits as
    // a uid, so the suggestion must name uid 2005. The suggested line must
    // then permit the request.
    run_script(
        &sandbox,
        r#"echo '1000:x:2005:2005::/nonexistent:/usr/sbin/nologin' >>/etc/passwd
echo 'numeric:x:2005:' >>/etc/group
record missing as_user 2005 2005 "$PB" -p 23 -d "$PROBE"
printf 'permit 2005 port 23\n' | policy
record permitted as_user 2005 2005 "$PB" -p 23 -d "$PROBE""#,
    );
    let message = assert_refused(&case(&sandbox, "missing"), 77, &["1000 (uid 2005)"]);
    assert_eq!(suggested_line(&message, "2005"), "permit 2005 port 23");
    assert_ran(&case(&sandbox, "permitted"));
    sandbox.assert_no_leftovers();
}

#[test]
fn as_names_the_account_not_another_name_for_its_uid() {
    if !common::root_or_skip("as_names_the_account_not_another_name_for_its_uid") {
        return;
    }
    let sandbox = Sandbox::new();
    // mudalias shares mud's uid but has a group of its own: a rule for mud
    // must not hand that group out.
    run_script(
        &sandbox,
        r#"echo 'mudalias:x:2100:2100::/nonexistent:/usr/sbin/nologin' >>/etc/passwd
echo 'aliasonly:x:2400:mudalias' >>/etc/group
printf 'permit alice port 23 as mud\n' | policy
record by_name as_user 2001 2001 "$PB" -p 23 -u mud -d "$PROBE"
record by_uid as_user 2001 2001 "$PB" -p 23 -u 2100 -d "$PROBE"
record alias as_user 2001 2001 "$PB" -p 23 -u mudalias -d "$PROBE""#,
    );
    let by_name = case(&sandbox, "by_name");
    let report = assert_ran(&by_name);
    assert_identity(&by_name, &report, 2100, 2100, &[2100, 2300]);
    let by_uid = case(&sandbox, "by_uid");
    let report = assert_ran(&by_uid);
    assert_identity(&by_uid, &report, 2100, 2100, &[2100, 2300]);
    assert_refused(
        &case(&sandbox, "alias"),
        77,
        &["run the driver as mudalias (uid 2100, gid 2100, groups 2100,2400)"],
    );
    sandbox.assert_no_leftovers();
}
