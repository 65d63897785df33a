//! The audit log and check mode, run for real: every datagram the
//! installed setuid portbind sends to /dev/log is captured
//! ([`Sandbox::run_with_devlog`]) and matched to the run that sent it by
//! the pid in its header (portbind execs the driver in place, so the pid
//! is also the driver's).
//!
//! Accounts (in the sandbox's private /etc): alice 2001, mud 2100 (also in
//! mudstaff 2300); the policy is `permit alice port 23,4000 as mud`.

mod common;

use common::{status_code, stderr_str, stdout_str, unescape, Report, Sandbox};

/// Accounts and policy (once per sandbox: its /etc persists across runs),
/// and the shell helpers.
const SETUP: &str = r#"
if ! grep -q '^alice:' /etc/passwd; then
    cat >>/etc/passwd <<'EOF' || exit 99
alice:x:2001:2001::/nonexistent:/usr/sbin/nologin
mud:x:2100:2100::/nonexistent:/usr/sbin/nologin
EOF
    cat >>/etc/group <<'EOF' || exit 99
alice:x:2001:
mud:x:2100:
mudstaff:x:2300:mud
EOF
fi
rm -rf /etc/portbind.conf &&
    echo 'permit alice port 23,4000 as mud' >/etc/portbind.conf &&
    chown 0:0 /etc/portbind.conf &&
    chmod 644 /etc/portbind.conf || exit 99
# alice as a command, to be used unquoted
AS_ALICE="setpriv --reuid=2001 --regid=2001 --groups=2001,65534 --"
# record NAME CMD...: CMD's pid, stdout, stderr and status into $OUT/NAME.*
# (the pid is the one portbind runs as: sh and setpriv exec in place)
record() {
    __name=$1
    shift
    sh -c 'echo $$ >"$OUT/$0.pid" && exec "$@"' "$__name" "$@" \
        >"$OUT/$__name.out" 2>"$OUT/$__name.err"
    echo $? >"$OUT/$__name.rc"
}
"#;

/// What one recorded command did (its pid too: `record` writes it).
type Case = common::Recorded;

fn case(sandbox: &Sandbox, name: &str) -> Case {
    common::recorded(sandbox.out(), name)
}

/// Runs `script` after [`SETUP`] with /dev/log captured; checks that the
/// script got to its end and returns the datagrams.
fn run_logged(sandbox: &Sandbox, script: &str) -> Vec<Vec<u8>> {
    let (output, datagrams) =
        sandbox.run_with_devlog(&format!("{SETUP}\n{script}\necho script-done"));
    common::assert_script_done(&output);
    datagrams
}

/// A syslog datagram cut into priority, pid and the text after
/// `portbind[PID]: `.
struct LogLine {
    priority: u32,
    pid: u32,
    text: String,
}

fn parse_log_line(datagram: &[u8]) -> LogLine {
    let shown = String::from_utf8_lossy(datagram);
    let parsed = (|| {
        let text = std::str::from_utf8(datagram).ok()?;
        let (priority, rest) = text.strip_prefix('<')?.split_once('>')?;
        let (pid, rest) = rest.strip_prefix("portbind[")?.split_once("]: ")?;
        Some(LogLine {
            priority: priority.parse().ok()?,
            pid: pid.parse().ok()?,
            text: rest.to_string(),
        })
    })();
    parsed.unwrap_or_else(|| panic!("not a portbind syslog line: {shown:?}"))
}

/// The one datagram sent by `case`'s process; panics when there is none
/// or more than one.
fn datagram_of<'a>(datagrams: &'a [Vec<u8>], case: &Case) -> &'a [u8] {
    let sent: Vec<&Vec<u8>> = datagrams
        .iter()
        .filter(|d| Some(parse_log_line(d).pid) == case.pid)
        .collect();
    assert_eq!(
        sent.len(),
        1,
        "case {}: {} log lines from pid {}, not one",
        case.name,
        sent.len(),
        case.pid.unwrap_or_default()
    );
    sent[0]
}

/// The one log line sent by `case`'s process.
fn line_of(datagrams: &[Vec<u8>], case: &Case) -> LogLine {
    parse_log_line(datagram_of(datagrams, case))
}

/// No datagram came from `case`'s process.
fn assert_not_logged(datagrams: &[Vec<u8>], case: &Case) {
    let lines: Vec<String> = datagrams
        .iter()
        .filter(|d| Some(parse_log_line(d).pid) == case.pid)
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .collect();
    assert!(lines.is_empty(), "case {}: logged {lines:?}", case.name);
}

fn is_audit_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The id of a log line's text: `VERDICT id=<16 hex> ...`.
fn log_id(line: &LogLine) -> String {
    let id = line
        .text
        .split(' ')
        .nth(1)
        .and_then(|field| field.strip_prefix("id="))
        .unwrap_or_else(|| panic!("no id= field second in {:?}", line.text));
    assert!(is_audit_id(id), "bad audit id in {:?}", line.text);
    id.to_string()
}

/// A refusal on stderr: one `portbind: ` line ending in `[audit id X]`;
/// returns X.
fn stderr_audit_id(case: &Case) -> String {
    let message = case
        .stderr
        .strip_suffix('\n')
        .filter(|m| m.starts_with("portbind: ") && !m.contains('\n'))
        .unwrap_or_else(|| {
            panic!(
                "case {}: not one portbind line: {:?}",
                case.name, case.stderr
            )
        });
    let id = message
        .strip_suffix(']')
        .and_then(|m| m.rsplit_once(" [audit id "))
        .map(|(_, id)| id)
        .filter(|id| is_audit_id(id))
        .unwrap_or_else(|| panic!("case {}: no [audit id X] in {message}", case.name));
    id.to_string()
}

/// A refused case: `status`, no driver, and one `<85>` log line
/// `refused id=X mode=MODE ... reason="..."` whose id is the one on
/// stderr. `fields` is the text between the mode and the reason.
fn assert_refusal_logged(
    datagrams: &[Vec<u8>],
    case: &Case,
    status: i32,
    mode: &str,
    fields: &str,
    reason_has: &str,
) {
    assert_eq!(case.status, status, "case {}: {}", case.name, case.stderr);
    assert!(case.stdout.is_empty(), "case {}: the driver ran", case.name);
    let id = stderr_audit_id(case);
    let line = line_of(datagrams, case);
    assert_eq!(line.priority, 85, "case {}: authpriv.notice", case.name);
    let head = format!("refused id={id} mode={mode} {fields} reason=\"");
    let reason = line
        .text
        .strip_prefix(&head)
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("case {}: {:?} is not {head}...\"", case.name, line.text));
    assert!(
        reason.contains(reason_has) && !reason.contains('"'),
        "case {}: reason {reason:?}",
        case.name
    );
}

#[test]
fn each_decision_is_logged_once_and_usage_errors_not_at_all() {
    if !common::root_or_skip("each_decision_is_logged_once_and_usage_errors_not_at_all") {
        return;
    }
    let sandbox = Sandbox::new();
    let datagrams = run_logged(
        &sandbox,
        r#"record permitted $AS_ALICE "$PB" -p 23 -u mud -d "$PROBE"
record free $AS_ALICE "$PB" -p 4000 -d "$PROBE"
record root "$PB" -p 127.0.0.1:23 -u mud -d "$PROBE"
record refused $AS_ALICE "$PB" -p 24 -u mud -d "$PROBE"
record refused_ambient $AS_ALICE "$PB" -p 23 -u mud -a -d "$PROBE"
record check $AS_ALICE "$PB" -c -p 23 -u mud -d "$PROBE"
record check_refused $AS_ALICE "$PB" -c -p 24 -u mud -d "$PROBE"
record bad_number $AS_ALICE "$PB" -p 23abc -u mud -d "$PROBE"
record unknown_option $AS_ALICE "$PB" -U 1000 -p 23 -d "$PROBE"
record missing_value $AS_ALICE "$PB" -p 23 -d
record twice $AS_ALICE "$PB" -p 23 -u mud -u mud -d "$PROBE"
record root_no_u "$PB" -p 23 -d "$PROBE"
chmod 646 /etc/portbind.conf
record unsafe $AS_ALICE "$PB" -p 23 -u mud -d "$PROBE"
record check_unsafe $AS_ALICE "$PB" -c -p 23 -u mud -d "$PROBE""#,
    );
    let probe = sandbox.probe().to_str().expect("a UTF-8 sandbox path");

    // Permitted runs: `<86>` (authpriv.info), and the driver runs in the
    // logging process.
    let permitted: [(&str, &str, &str, &str); 3] = [
        ("permitted", "alice(2001)", "0.0.0.0:23", "mud(2100):2100"),
        ("free", "alice(2001)", "0.0.0.0:4000", "alice(2001):2001"),
        ("root", "root(0)", "127.0.0.1:23", "mud(2100):2100"),
    ];
    for (name, invoker, sockets, target) in permitted {
        let ran = case(&sandbox, name);
        assert_eq!(ran.status, 0, "case {name}: {}", ran.stderr);
        assert_eq!(ran.stderr, "", "case {name}");
        let report = Report::parse(&ran.stdout);
        assert!(report.is_complete(), "case {name}: no report");
        assert_eq!(
            report.get("pid"),
            Some(ran.pid.unwrap_or_default().to_string().as_str())
        );
        let line = line_of(&datagrams, &ran);
        assert_eq!(line.priority, 86, "case {name}: authpriv.info");
        let id = log_id(&line);
        assert_eq!(
            line.text,
            format!(
                "permitted id={id} mode=run invoker={invoker} sockets={sockets} \
                 target={target} ambient=no driver={probe}"
            ),
            "case {name}"
        );
    }

    let fields = |sockets: &str, ambient: &str| {
        format!("invoker=alice(2001) sockets={sockets} target=mud(2100):2100 ambient={ambient} driver={probe}")
    };
    let refusals: [(&str, i32, &str, String, &str); 5] = [
        (
            "refused",
            77,
            "run",
            fields("0.0.0.0:24", "no"),
            "0.0.0.0:24",
        ),
        (
            "refused_ambient",
            77,
            "run",
            fields("0.0.0.0:23", "yes"),
            "cap_net_bind_service",
        ),
        (
            "check_refused",
            77,
            "check",
            fields("0.0.0.0:24", "no"),
            "0.0.0.0:24",
        ),
        (
            "unsafe",
            78,
            "run",
            fields("0.0.0.0:23", "no"),
            "/etc/portbind.conf",
        ),
        (
            "check_unsafe",
            78,
            "check",
            fields("0.0.0.0:23", "no"),
            "/etc/portbind.conf",
        ),
    ];
    for (name, status, mode, fields, reason_has) in &refusals {
        let refused = case(&sandbox, name);
        assert_refusal_logged(&datagrams, &refused, *status, mode, fields, reason_has);
    }

    // Check mode, permitted: logged as such, with the id the plan shows.
    let check = case(&sandbox, "check");
    assert_eq!(check.status, 0, "{}", check.stderr);
    let line = line_of(&datagrams, &check);
    assert_eq!(line.priority, 86);
    let id = log_id(&line);
    assert_eq!(
        line.text,
        format!(
            "permitted id={id} mode=check {}",
            fields("0.0.0.0:23", "no")
        )
    );
    assert!(
        String::from_utf8_lossy(&check.stdout).contains(&id),
        "the plan does not show the audit id {id}"
    );

    // Usage errors decide nothing and log nothing.
    for name in [
        "bad_number",
        "unknown_option",
        "missing_value",
        "twice",
        "root_no_u",
    ] {
        let usage = case(&sandbox, name);
        assert_eq!(usage.status, 64, "case {name}: {}", usage.stderr);
        assert!(usage.stdout.is_empty(), "case {name}: the driver ran");
        assert!(
            usage.stderr.starts_with("portbind: ") && usage.stderr.lines().count() == 1,
            "case {name}: {:?}",
            usage.stderr
        );
        assert_not_logged(&datagrams, &usage);
    }

    // Nothing else was sent: one line per decision, ten decisions.
    assert_eq!(
        datagrams.len(),
        permitted.len() + refusals.len() + 1,
        "{:?}",
        datagrams
            .iter()
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .collect::<Vec<_>>()
    );

    sandbox.assert_no_leftovers();
}

/// Shell that sets `$HOSTILE` to a directory under `$OUT` whose name holds
/// a newline, a fake syslog line, `%n%s`, `"`, a backslash and the byte
/// 0xff (with a copy of the probe in it), and `$PAD` to 5000 bytes.
const HOSTILE: &str = r#"HOSTILE="$OUT/x$(printf '\nportbind[1]: permitted %%n%%s "\\ \377')"
mkdir "$HOSTILE" && cp "$PROBE" "$HOSTILE/probe" && chmod 755 "$HOSTILE" "$HOSTILE/probe" ||
    exit 99
PAD=$(head -c 5000 /dev/zero | tr '\0' a)
[ "${#PAD}" = 5000 ] || exit 99
"#;

/// A log line that could only ever be one line of plain text: printable
/// ASCII, bounded, one verdict, no quote but the reason's, and the driver
/// field names the sandbox's directory.
fn assert_safe_line(datagram: &[u8], out_dir: &str, verdict: &str, name: &str) {
    let shown = String::from_utf8_lossy(datagram);
    assert!(
        datagram.iter().all(|&b| (0x20..0x7f).contains(&b)),
        "case {name}: a byte outside printable ASCII: {shown:?}"
    );
    assert!(
        datagram.len() <= 2048,
        "case {name}: {} bytes",
        datagram.len()
    );
    let text = std::str::from_utf8(datagram).expect("ASCII");
    assert!(
        !text.contains("portbind[1]: permitted"),
        "case {name}: the fake line survived: {text}"
    );
    assert_eq!(
        text.matches(": permitted ").count() + text.matches(": refused ").count(),
        1,
        "case {name}: {text}"
    );
    assert!(
        text.contains(&format!("]: {verdict} id=")),
        "case {name}: {text}"
    );
    let quotes = if verdict == "refused" { 2 } else { 0 };
    assert_eq!(text.matches('"').count(), quotes, "case {name}: {text}");
    assert!(
        text.contains(&format!(" driver={out_dir}/x")),
        "case {name}: {text}"
    );
}

#[test]
fn hostile_driver_paths_are_escaped_and_bounded() {
    if !common::root_or_skip("hostile_driver_paths_are_escaped_and_bounded") {
        return;
    }
    let sandbox = Sandbox::new();
    let datagrams = run_logged(
        &sandbox,
        &format!(
            r#"{HOSTILE}
record ran $AS_ALICE "$PB" -p 23 -u mud -d "$HOSTILE/probe"
record refused $AS_ALICE "$PB" -p 24 -u mud -d "$HOSTILE/probe$PAD"
record check $AS_ALICE "$PB" -c -p 23 -u mud -d "$HOSTILE/probe$PAD""#
        ),
    );
    let out_dir = sandbox.out().to_str().expect("a UTF-8 sandbox path");
    let mut hostile = format!("{out_dir}/x").into_bytes();
    hostile.extend_from_slice(b"\nportbind[1]: permitted %n%s \"\\ \xff/probe");

    // The driver ran from the hostile path, as mud, and said so in one
    // safe line.
    let ran = case(&sandbox, "ran");
    assert_eq!(ran.status, 0, "{}", ran.stderr);
    assert_eq!(ran.stderr, "");
    let report = Report::parse(&ran.stdout);
    assert!(report.is_complete(), "no report");
    assert_eq!(unescape(report.all("argv")[0]), hostile);
    assert_eq!(report.numbers("uid"), [2100; 3]);
    let line = line_of(&datagrams, &ran);
    assert_eq!(line.priority, 86);
    assert_safe_line(datagram_of(&datagrams, &ran), out_dir, "permitted", "ran");

    let refused = case(&sandbox, "refused");
    assert_eq!(refused.status, 77, "{}", refused.stderr);
    assert!(refused.stdout.is_empty());
    let id = stderr_audit_id(&refused);
    let line = line_of(&datagrams, &refused);
    assert_eq!(line.priority, 85);
    assert_eq!(log_id(&line), id);
    assert_safe_line(
        datagram_of(&datagrams, &refused),
        out_dir,
        "refused",
        "refused",
    );

    // Check mode prints the same path, escaped, on one line of the plan.
    let check = case(&sandbox, "check");
    assert_eq!(check.status, 0, "{}", check.stderr);
    assert_eq!(check.stderr, "");
    assert!(
        check
            .stdout
            .iter()
            .all(|&b| b == b'\n' || (0x20..0x7f).contains(&b)),
        "the plan holds raw bytes: {:?}",
        String::from_utf8_lossy(&check.stdout)
    );
    let plan = String::from_utf8_lossy(&check.stdout);
    let driver_lines: Vec<&str> = plan.lines().filter(|l| l.contains("portbind[1]")).collect();
    assert_eq!(driver_lines.len(), 1, "{plan}");
    assert!(driver_lines[0].starts_with("driver: "), "{plan}");
    assert!(driver_lines[0].len() <= 2048, "{plan}");
    let line = line_of(&datagrams, &check);
    assert_eq!(line.priority, 86);
    assert!(plan.contains(&log_id(&line)), "{plan}");
    assert_safe_line(
        datagram_of(&datagrams, &check),
        out_dir,
        "permitted",
        "check",
    );

    assert_eq!(datagrams.len(), 3);
    sandbox.assert_no_leftovers();
}

#[test]
fn no_syslog_daemon_is_not_an_error() {
    if !common::root_or_skip("no_syslog_daemon_is_not_an_error") {
        return;
    }
    let sandbox = Sandbox::new();
    // Without /dev/log (the plain run) ...
    let output = sandbox.run(&format!(
        r#"{SETUP}
if [ -e /dev/log ]; then echo "/dev/log exists outside run_with_devlog" >&2; exit 99; fi
record permitted $AS_ALICE "$PB" -p 23 -u mud -d "$PROBE"
record refused $AS_ALICE "$PB" -p 24 -u mud -d "$PROBE""#
    ));
    assert_eq!(status_code(&output), Some(0), "{}", stderr_str(&output));
    assert_eq!(stderr_str(&output), "");
    let no_socket = [case(&sandbox, "permitted"), case(&sandbox, "refused")];

    // ... and with a /dev/log nobody listens on any more: a socket file
    // left behind by a syslog daemon that has stopped. The listener's own
    // socket is put back afterwards.
    let datagrams = run_logged(
        &sandbox,
        r#"mv /dev/log /dev/log.listener || exit 99
python3 -I -c '
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
s.close()
' || exit 99
chmod 666 /dev/log
record permitted $AS_ALICE "$PB" -p 23 -u mud -d "$PROBE"
record refused $AS_ALICE "$PB" -p 24 -u mud -d "$PROBE"
rm /dev/log && mv /dev/log.listener /dev/log || exit 99"#,
    );
    assert!(datagrams.is_empty());
    let dead_socket = [case(&sandbox, "permitted"), case(&sandbox, "refused")];

    for [permitted, refused] in [no_socket, dead_socket] {
        assert_eq!(permitted.status, 0, "{}", permitted.stderr);
        assert_eq!(permitted.stderr, "");
        let report = Report::parse(&permitted.stdout);
        assert!(report.is_complete(), "the driver did not run");
        assert_eq!(report.numbers("uid"), [2100; 3]);
        assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 23"));
        assert_eq!(report.fds(), [0, 1, 2, 6]);

        assert_eq!(refused.status, 77, "{}", refused.stderr);
        assert!(refused.stdout.is_empty());
        stderr_audit_id(&refused);
    }

    sandbox.assert_no_leftovers();
}

#[test]
fn check_mode_prints_the_plan_and_binds_nothing() {
    if !common::root_or_skip("check_mode_prints_the_plan_and_binds_nothing") {
        return;
    }
    let sandbox = Sandbox::new();
    // A holder listening on port 23 makes a real run fail to bind; check
    // mode, which binds nothing, does not notice it.
    let datagrams = run_logged(
        &sandbox,
        r#"record check $AS_ALICE "$PB" -c -p 23 -p 127.0.0.1:4000 -u mud -d "$PROBE" -- one two
python3 -I -c '
import socket
for address in (("0.0.0.0", 23), ("127.0.0.1", 4000)):
    s = socket.socket()
    s.bind(address)
    s.close()
print("free")
' >"$OUT/free" 2>&1
record real $AS_ALICE "$PB" -p 23 -p 127.0.0.1:4000 -u mud -d "$PROBE" -- one two
rm -f "$OUT/held"
python3 -I -c '
import os, signal, socket, sys
s = socket.socket()
s.bind(("0.0.0.0", 23))
s.listen()
open(sys.argv[1], "w").close()
signal.pause()
' "$OUT/held" </dev/null >/dev/null 2>&1 &
holder=$!
tries=0
until [ -e "$OUT/held" ]; do
    tries=$((tries + 1))
    [ "$tries" -le 400 ] || { kill "$holder"; exit 99; }
    sleep 0.025
done
record check_held $AS_ALICE "$PB" -c -p 23 -u mud -d "$PROBE"
record real_held $AS_ALICE "$PB" -p 23 -u mud -d "$PROBE"
kill "$holder"
{ wait "$holder"; } 2>/dev/null
record check_refused $AS_ALICE "$PB" -c -p 24 -u mud -d "$PROBE""#,
    );

    let check = case(&sandbox, "check");
    assert_eq!(check.status, 0, "{}", check.stderr);
    assert_eq!(check.stderr, "");
    let plan = String::from_utf8(check.stdout.clone()).expect("a UTF-8 plan");
    let lines = |prefix: &str| -> Vec<&str> {
        plan.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .collect()
    };
    let id = log_id(&line_of(&datagrams, &check));
    let decision = lines("decision: ");
    assert_eq!(decision.len(), 1, "{plan}");
    assert!(
        decision[0].contains("permitted") && decision[0].contains(&id),
        "{plan}"
    );
    let sockets = lines("socket: ");
    assert_eq!(sockets.len(), 2, "{plan}");
    assert!(
        sockets[0].starts_with("0.0.0.0:23 ") && sockets[0].contains("fd 6"),
        "{plan}"
    );
    assert!(
        sockets[1].starts_with("127.0.0.1:4000 ") && sockets[1].contains("fd 7"),
        "{plan}"
    );
    let target = lines("target: ");
    assert_eq!(target.len(), 1, "{plan}");
    assert!(
        target[0].starts_with("mud ") && target[0].contains("2100") && target[0].contains("2300"),
        "{plan}"
    );
    let environment = lines("environment: ");
    assert_eq!(environment.len(), 1, "{plan}");

    // Nothing was bound: both ports were free right after.
    let free = std::fs::read_to_string(sandbox.out().join("free")).expect("free");
    assert_eq!(free, "free\n");

    // The plan is what a real run then does.
    let real = case(&sandbox, "real");
    assert_eq!(real.status, 0, "{}", real.stderr);
    let report = Report::parse(&real.stdout);
    assert!(report.is_complete(), "no report");
    assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 23"));
    assert_eq!(report.get("sock.7"), Some("inet 127.0.0.1 4000"));
    assert_eq!(report.numbers("uid"), [2100; 3]);
    assert_eq!(report.numbers("gid"), [2100; 3]);
    assert_eq!(report.numbers("groups"), [2100, 2300]);
    assert_eq!(report.all("argv")[1..], ["one", "two"]);
    let mut planned: Vec<&str> = environment[0].split(' ').collect();
    let mut given = report.env_names();
    planned.sort_unstable();
    given.sort_unstable();
    assert_eq!(planned, given, "{plan}");

    // With the port held: the check still passes, the real run cannot bind.
    let check_held = case(&sandbox, "check_held");
    assert_eq!(check_held.status, 0, "{}", check_held.stderr);
    assert!(String::from_utf8_lossy(&check_held.stdout).contains("socket: 0.0.0.0:23 "));
    let real_held = case(&sandbox, "real_held");
    assert_eq!(real_held.status, 71, "{}", real_held.stderr);
    assert!(real_held.stdout.is_empty(), "the driver ran");
    assert!(
        real_held.stderr.starts_with("portbind: ")
            && real_held.stderr.contains("0.0.0.0:23")
            // musl's text for EADDRINUSE ("Address in use"); glibc's
            // says "already".
            && real_held.stderr.contains("Address")
            && real_held.stderr.contains("in use")
            && real_held.stderr.lines().count() == 1,
        "{:?}",
        real_held.stderr
    );

    // Refused in check mode: the refusal, its status, no plan.
    let check_refused = case(&sandbox, "check_refused");
    assert_eq!(check_refused.status, 77, "{}", check_refused.stderr);
    assert!(check_refused.stdout.is_empty(), "a plan was printed");
    let id = stderr_audit_id(&check_refused);
    let line = line_of(&datagrams, &check_refused);
    assert_eq!(log_id(&line), id);
    assert!(line.text.contains(" mode=check "), "{}", line.text);

    sandbox.assert_no_leftovers();
}

#[test]
fn a_refusal_of_many_sockets_is_logged_in_one_bounded_line() {
    if !common::root_or_skip("a_refusal_of_many_sockets_is_logged_in_one_bounded_line") {
        return;
    }
    let sandbox = Sandbox::new();
    // 200 and 256 (the most portbind takes) `-p` options, every one
    // refused: the socket list is the invoker's text, so it too must be
    // bounded in the log, and a refusal too large to send would go
    // unrecorded. One more `-p` is a usage error.
    let datagrams = run_logged(
        &sandbox,
        r#"for count in 200 256 257; do
    record "many$count" python3 -I -c '
import os, sys
args = ["setpriv", "--reuid=2001", "--regid=2001", "--groups=2001,65534", "--", sys.argv[1]]
for port in range(1, int(sys.argv[3]) + 1):
    args += ["-p", "127.0.0.1:%d" % port]
os.execvp("setpriv", args + ["-u", "mud", "-d", sys.argv[2]])
' "$PB" "$PROBE" "$count"
done"#,
    );
    let too_many = case(&sandbox, "many257");
    assert_eq!(too_many.status, 64, "257 sockets");
    let mut faults = Vec::new();
    for name in ["many200", "many256"] {
        let refused = case(&sandbox, name);
        assert_eq!(refused.status, 77, "case {name}");
        assert!(refused.stdout.is_empty(), "case {name}: the driver ran");
        let id = stderr_audit_id(&refused);
        let sent: Vec<&Vec<u8>> = datagrams
            .iter()
            .filter(|d| Some(parse_log_line(d).pid) == refused.pid)
            .collect();
        let [datagram] = sent[..] else {
            faults.push(format!("case {name}: {} log lines, not one", sent.len()));
            continue;
        };
        let line = parse_log_line(datagram);
        assert_eq!((line.priority, log_id(&line)), (85, id), "case {name}");
        if datagram.len() > 2048 {
            faults.push(format!(
                "case {name}: a log line of {} bytes: {}...",
                datagram.len(),
                String::from_utf8_lossy(&datagram[..300])
            ));
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
    sandbox.assert_no_leftovers();
}

#[test]
fn a_syslog_that_does_not_read_cannot_stall_portbind() {
    if !common::root_or_skip("a_syslog_that_does_not_read_cannot_stall_portbind") {
        return;
    }
    let sandbox = Sandbox::new();
    // A receiver at /dev/log that never reads, its queue filled first (as
    // a local user could do on purpose). portbind waits a bounded time,
    // then goes on where nothing rests on the policy, and refuses a grant
    // that does, since it would go unrecorded. `timeout` only stops a
    // hang; nothing here measures time.
    let (output, _) = sandbox.run_with_devlog(
        r#"echo 'permit nobody port 23' >/etc/portbind.conf
mv /dev/log /dev/log.keep
/usr/bin/python3 -I -c '
import os, socket, subprocess, sys
deaf = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
deaf.bind("/dev/log")
os.chmod("/dev/log", 0o666)
filler = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
filler.setblocking(False)
try:
    while True:
        filler.sendto(b"x" * 64, "/dev/log")
except BlockingIOError:
    pass
for name, command in (("free", sys.argv[1]), ("granted", sys.argv[2])):
    run = subprocess.run(["sh", "-c", command], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    print("%s status=%d %s" % (name, run.returncode, run.stderr.decode().strip()))
' 'timeout -s KILL 20 $AS_NOBODY "$PB" -p 4000 -d "$PROBE"' \
  'timeout -s KILL 20 $AS_NOBODY "$PB" -p 23 -d "$PROBE"'
rm /dev/log
mv /dev/log.keep /dev/log"#,
    );
    let stdout = stdout_str(&output);
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("free status=0 "),
        "{stdout}{}",
        stderr_str(&output)
    );
    let granted = lines.next().unwrap_or_default();
    assert!(
        granted
            .starts_with("granted status=71 portbind: cannot write the audit line for audit id ")
            && granted.contains("a grant by the policy needs it"),
        "{stdout}{}",
        stderr_str(&output)
    );
    sandbox.assert_no_leftovers();
}
