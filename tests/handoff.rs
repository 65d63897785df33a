//! The main job end to end, as real processes: root (or an ordinary user)
//! runs the installed setuid portbind, which binds, drops privilege for
//! good and execs a real driver with the socket on fd 6. The driver is the
//! probe (which reports what it was handed, and can serve one client), or
//! Debian's gunicorn serving HTTP on the handed socket.
//!
//! Each test runs its cases in one sandbox script. A case runs through
//! `run_case NAME CMD...`, which leaves CMD's stdout and stderr in
//! `$OUT/NAME` and `$OUT/NAME.err` and prints `NAME STATUS` on the
//! script's stdout; [`Cases`] reads them back.

mod common;

use common::{status_code, stderr_str, stdout_str, unescape, Report, Sandbox};
use std::fs;
use std::process::Output;

/// Put before every script of this file.
const CASE_PRELUDE: &str = r#"run_case() {
    __name=$1
    shift
    "$@" >"$OUT/$__name" 2>"$OUT/$__name.err"
    echo "$__name $?"
}
"#;

/// The driver's PATH, as portbind(8) fixes it.
const DRIVER_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Sets SIGPIPE and SIGXFSZ back to SIG_DFL (Python ignores them itself),
/// blocks SIGHUP, SIGUSR1 and SIGTERM, and execs argv[1..]: an invoker
/// with a non-empty signal mask.
const BLOCK_SIGNALS: &str = r#"import os, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP, signal.SIGUSR1, signal.SIGTERM})
os.execv(sys.argv[1], sys.argv[1:])"#;

/// SigBlk with SIGHUP (1), SIGUSR1 (10) and SIGTERM (15) blocked.
const BLOCKED_MASK: &str = "0000000000004201";

/// The cases of one script run.
struct Cases<'a> {
    sandbox: &'a Sandbox,
    output: Output,
}

impl<'a> Cases<'a> {
    /// Runs `script`, which must get to its end (its last command is an
    /// `echo` or a `run_case`).
    fn run(sandbox: &'a Sandbox, script: &str) -> Cases<'a> {
        let output = sandbox.run(&format!("{CASE_PRELUDE}{script}"));
        let cases = Cases { sandbox, output };
        assert_eq!(status_code(&cases.output), Some(0), "{}", cases.context());
        cases
    }

    /// The script's status and output, for failure messages.
    fn context(&self) -> String {
        format!(
            "script status {:?}\nscript stdout:\n{}\nscript stderr:\n{}",
            status_code(&self.output),
            stdout_str(&self.output),
            stderr_str(&self.output)
        )
    }

    /// The value the script printed as `NAME VALUE` (a case's status, or
    /// anything else the script echoed that way).
    fn value(&self, name: &str) -> String {
        stdout_str(&self.output)
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .map(String::from)
            .unwrap_or_else(|| panic!("no line `{name} ...`\n{}", self.context()))
    }

    /// The exit status of case `name`.
    fn status(&self, name: &str) -> i32 {
        let value = self.value(name);
        value
            .parse()
            .unwrap_or_else(|_| panic!("status of {name} is {value:?}\n{}", self.context()))
    }

    fn stdout(&self, name: &str) -> Vec<u8> {
        let path = self.sandbox.out().join(name);
        fs::read(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}\n{}", path.display(), self.context()))
    }

    fn stderr(&self, name: &str) -> String {
        let bytes = self.stdout(&format!("{name}.err"));
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Asserts that case `name` exited with `status`, showing its stderr
    /// otherwise.
    fn assert_status(&self, name: &str, status: i32) {
        assert_eq!(
            self.status(name),
            status,
            "case {name}: stderr:\n{}\nstdout:\n{}",
            self.stderr(name),
            String::from_utf8_lossy(&self.stdout(name))
        );
    }

    /// Case `name` succeeded, said nothing on stderr, and its stdout holds
    /// a complete probe report.
    fn report(&self, name: &str) -> Report {
        self.assert_status(name, 0);
        assert_eq!(self.stderr(name), "", "case {name}: stderr");
        self.report_only(name)
    }

    /// The complete probe report in case `name`'s stdout, whatever its
    /// status.
    fn report_only(&self, name: &str) -> Report {
        let stdout = self.stdout(name);
        let report = Report::parse(&stdout);
        assert!(
            report.is_complete(),
            "case {name}: incomplete report:\n{}",
            String::from_utf8_lossy(&stdout)
        );
        report
    }

    /// Case `name` failed with `status` and one `portbind: ` line on
    /// stderr, which is returned without the prefix and the newline; the
    /// driver did not run (nothing on stdout).
    fn refusal(&self, name: &str, status: i32) -> String {
        self.assert_status(name, status);
        let stderr = self.stderr(name);
        let line = one_portbind_line(&stderr);
        assert_eq!(
            String::from_utf8_lossy(&self.stdout(name)),
            "",
            "case {name}: the driver ran"
        );
        line
    }
}

/// `stderr` is exactly one line starting `portbind: `; returns the rest.
fn one_portbind_line(stderr: &str) -> String {
    let line = stderr
        .strip_suffix('\n')
        .filter(|line| !line.contains('\n'))
        .unwrap_or_else(|| panic!("stderr is not one line: {stderr:?}"));
    line.strip_prefix("portbind: ")
        .unwrap_or_else(|| panic!("stderr does not start with `portbind: `: {stderr:?}"))
        .to_string()
}

/// nobody's passwd entry on this machine: (home, shell). The sandbox's
/// /etc starts as a copy of the host's.
fn nobody_home_and_shell() -> (String, String) {
    let passwd = fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    let fields: Vec<&str> = passwd
        .lines()
        .find(|line| line.starts_with("nobody:"))
        .expect("no nobody in /etc/passwd")
        .split(':')
        .collect();
    assert_eq!(fields[2], "65534", "nobody is not uid 65534");
    (fields[5].to_string(), fields[6].to_string())
}

/// No capability in any set the driver could use, and no securebits.
fn assert_no_privilege(report: &Report, case: &str) {
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_amb"] {
        assert_eq!(report.caps(set), Some(0), "case {case}: {set}");
    }
    assert_eq!(report.get("securebits"), Some("0"), "case {case}");
}

/// fd `fd` is a TCP socket bound to `bound` ("inet 0.0.0.0 23"), not
/// listening, SO_REUSEADDR on, SO_REUSEPORT off, inherited across exec.
fn assert_handed_socket(report: &Report, case: &str, fd: u32, bound: &str) {
    let key = |what: &str| format!("{what}.{fd}");
    assert_eq!(report.get(&key("sock")), Some(bound), "case {case}");
    assert_eq!(report.get(&key("socktype")), Some("stream"), "case {case}");
    assert_eq!(report.get(&key("listen")), Some("0"), "case {case}");
    assert_eq!(report.get(&key("reuseaddr")), Some("1"), "case {case}");
    assert_eq!(report.get(&key("reuseport")), Some("0"), "case {case}");
    assert_eq!(report.get(&key("cloexec")), Some("0"), "case {case}");
}

/// The driver's environment is exactly `expected` (name, escaped value),
/// in any order, each name once.
fn assert_env_exactly(report: &Report, case: &str, expected: &[(&str, &str)]) {
    let mut names = report.env_names();
    names.sort_unstable();
    let mut wanted: Vec<&str> = expected.iter().map(|(name, _)| *name).collect();
    wanted.sort_unstable();
    assert_eq!(names, wanted, "case {case}: environment names");
    for (name, value) in expected {
        assert_eq!(report.env(name), Some(*value), "case {case}: {name}");
    }
}

/// The 16 hex digits of `[audit id …]` at the end of a refusal.
fn assert_ends_with_audit_id(line: &str) {
    let (_, id) = line
        .rsplit_once(" [audit id ")
        .unwrap_or_else(|| panic!("no audit id in {line:?}"));
    let id = id
        .strip_suffix(']')
        .unwrap_or_else(|| panic!("audit id not at the end of {line:?}"));
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "audit id {id:?} in {line:?}"
    );
}

#[test]
fn root_hands_fd6_to_nobody_and_nothing_else() {
    if !common::root_or_skip("root_hands_fd6_to_nobody_and_nothing_else") {
        return;
    }
    let sandbox = Sandbox::new();
    // The invoker is root with supplementary groups of its own, stray fds
    // 5, 7 and 9, a blocked signal mask and an environment full of things
    // the driver must not see; `control` runs the probe the same way
    // without portbind, to show that the invoker really had all that.
    let cases = Cases::run(
        &sandbox,
        &format!(
            r#"cat >>/etc/group <<'EOF'
pbhsupp:x:4321:nobody
pbhdrive:x:4322:
pbhroot:x:4323:root
EOF
echo "script_sid $(cut -d' ' -f6 /proc/$$/stat)"
exec 5>"$OUT/stray" 7<"$OUT/stray" 9>>"$OUT/stray"
block='{BLOCK_SIGNALS}'
invoke() {{
    env HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=xterm-256color \
        LANG=C.UTF-8 MUD_SECRET=s3cret setpriv --groups=0,10,4323 -- \
        /usr/bin/python3 -I -c "$block" "$@"
}}
run_case control invoke "$PROBE"
run_case named invoke "$PB" -p 23 -u nobody -d "$PROBE"
run_case ids "$PB" -p 23 -u 65534 -g 65534 -d "$PROBE"
run_case group "$PB" -p 23 -u nobody -g pbhdrive -d "$PROBE""#
        ),
    );
    let script_sid = cases.value("script_sid");
    let (home, shell) = nobody_home_and_shell();

    let control = cases.report("control");
    assert_eq!(control.get("uid"), Some("0,0,0"));
    assert_eq!(control.get("groups"), Some("0,10,4323"));
    assert_eq!(control.get("sigblk"), Some(BLOCKED_MASK));
    assert_eq!(control.fds(), [0, 1, 2, 5, 7, 9]);
    assert_eq!(control.env("MUD_SECRET"), Some("s3cret"));
    assert!(control.env("AS_NOBODY").is_some());

    // -u alone: the user's primary group and its groups from /etc/group;
    // -u with -g: that gid and the user's groups. Root's never survive.
    let expected = [
        ("named", "65534,65534,65534", "4321,65534"),
        ("ids", "65534,65534,65534", "4321,65534"),
        ("group", "4322,4322,4322", "4321,4322"),
    ];
    for (case, gid, groups) in expected {
        let report = cases.report(case);
        assert_eq!(report.get("uid"), Some("65534,65534,65534"), "case {case}");
        assert_eq!(report.get("gid"), Some(gid), "case {case}");
        assert_eq!(report.get("groups"), Some(groups), "case {case}");
        assert_no_privilege(&report, case);
        assert_eq!(report.get("no_new_privs"), Some("0"), "case {case}");

        assert_eq!(report.fds(), [0, 1, 2, 6], "case {case}");
        assert_handed_socket(&report, case, 6, "inet 0.0.0.0 23");

        assert_eq!(
            report.get("sigblk"),
            Some("0000000000000000"),
            "case {case}"
        );
        assert_eq!(
            report.get("sigign"),
            Some("0000000000000000"),
            "case {case}"
        );
        // No terminal: no new session.
        assert_eq!(report.get("sid"), Some(script_sid.as_str()), "case {case}");

        let mut env = vec![
            ("PATH", DRIVER_PATH),
            ("HOME", home.as_str()),
            ("USER", "nobody"),
            ("LOGNAME", "nobody"),
            ("SHELL", shell.as_str()),
            ("PORTBIND_USER", "root"),
        ];
        if case == "named" {
            env.extend([("TERM", "xterm-256color"), ("LANG", "C.UTF-8")]);
        }
        assert_env_exactly(&report, case, &env);
    }

    sandbox.assert_no_leftovers();
}

#[test]
fn probe_serves_a_player_on_port_23() {
    if !common::root_or_skip("probe_serves_a_player_on_port_23") {
        return;
    }
    let sandbox = Sandbox::new();
    let cases = Cases::run(
        &sandbox,
        r#""$PB" -p 23 -u nobody -d "$PROBE" -- --serve=6 >"$OUT/serve" 2>"$OUT/serve.err" &
server=$!
echo "server_pid $server"
/usr/bin/python3 -I -c '
import socket, time
for _ in range(400):
    try:
        c = socket.create_connection(("127.0.0.1", 23), timeout=5)
        break
    except ConnectionRefusedError:
        time.sleep(0.025)
else:
    raise SystemExit("nothing listened on 127.0.0.1:23")
print("client", c.makefile("rb").readline().decode(), end="")
'
client=$?
[ "$client" = 0 ] || kill "$server"
wait "$server"
echo "serve $?"
echo "client_status $client""#,
    );
    assert_eq!(cases.value("client_status"), "0", "{}", cases.context());
    assert_eq!(cases.value("client"), "hello from probe uid=65534");
    let report = cases.report("serve");
    assert_eq!(report.get("uid"), Some("65534,65534,65534"));
    assert_eq!(report.get("gid"), Some("65534,65534,65534"));
    assert_no_privilege(&report, "serve");
    assert_eq!(report.fds(), [0, 1, 2, 6]);
    assert_handed_socket(&report, "serve", 6, "inet 0.0.0.0 23");
    // Without a terminal portbind execs in place: the driver is the
    // process the shell started.
    assert_eq!(report.get("pid"), Some(cases.value("server_pid").as_str()));

    sandbox.assert_no_leftovers();
}

#[test]
fn gunicorn_serves_http_on_the_handed_socket() {
    if !common::root_or_skip("gunicorn_serves_http_on_the_handed_socket") {
        return;
    }
    let sandbox = Sandbox::new();
    let cases = Cases::run(
        &sandbox,
        r#"app="$SANDBOX/app"
mkdir -m 755 "$app"
cat >"$app/app.py" <<'EOF'
import os

def app(environ, start_response):
    groups = ",".join(str(g) for g in sorted(os.getgroups()))
    body = "hello from gunicorn uid=%d gid=%d groups=%s" % (os.getuid(), os.getgid(), groups)
    body = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
EOF
chmod 644 "$app/app.py"
"$PB" -p 23 -u nobody -d /usr/bin/gunicorn -- \
    --bind fd://6 --workers 1 --chdir "$app" app:app \
    >"$OUT/gunicorn" 2>"$OUT/gunicorn.err" &
server=$!
echo "server_pid $server"
/usr/bin/python3 -I -c '
import http.client, time
for _ in range(400):
    try:
        c = http.client.HTTPConnection("127.0.0.1", 23, timeout=10)
        c.request("GET", "/")
        break
    except ConnectionRefusedError:
        time.sleep(0.025)
else:
    raise SystemExit("nothing listened on 127.0.0.1:23")
r = c.getresponse()
print("http", r.status, r.read().decode())
'
echo "client_status $?"
kill -TERM "$server"
wait "$server"
echo "gunicorn $?""#,
    );
    assert_eq!(cases.value("client_status"), "0", "{}", cases.context());
    assert_eq!(
        cases.value("http"),
        "200 hello from gunicorn uid=65534 gid=65534 groups=65534"
    );
    // SIGTERM is gunicorn's graceful stop: it exits 0.
    cases.assert_status("gunicorn", 0);
    // gunicorn adopted fd 6 (the socket portbind bound) and runs as the
    // very process the shell started: portbind exec'd it in place.
    let log = cases.stderr("gunicorn");
    let listening = format!(
        "Listening at: http://0.0.0.0:23 ({})",
        cases.value("server_pid")
    );
    assert!(log.contains(&listening), "no `{listening}` in:\n{log}");
    assert!(!log.contains("Traceback"), "{log}");

    sandbox.assert_no_leftovers();
}

#[test]
fn unprivileged_invoker_without_policy() {
    if !common::root_or_skip("unprivileged_invoker_without_policy") {
        return;
    }
    let sandbox = Sandbox::new();
    // strace (run by root, so the setuid bit still applies) shows which
    // sockets portbind creates and binds: for the refused request, none.
    let cases = Cases::run(
        &sandbox,
        r#"rm -f /etc/portbind.conf
run_case own4000 $AS_NOBODY "$PB" -p 4000 -d "$PROBE"
run_case traced4000 strace -f -qq -o "$OUT/traced4000.trace" -e trace=socket,bind \
    $AS_NOBODY "$PB" -p 4000 -d "$PROBE"
run_case priv23 strace -f -qq -o "$OUT/priv23.trace" -e trace=socket,bind \
    $AS_NOBODY "$PB" -p 23 -d "$PROBE"
run_case free23 /usr/bin/python3 -I -c '
import socket
s = socket.socket()
s.bind(("0.0.0.0", 23))
s.listen()
print("port 23 is free")
'"#,
    );

    let report = cases.report("own4000");
    assert_eq!(report.get("uid"), Some("65534,65534,65534"));
    assert_eq!(report.get("gid"), Some("65534,65534,65534"));
    assert_eq!(report.get("groups"), Some("65534"));
    assert_no_privilege(&report, "own4000");
    assert_eq!(report.fds(), [0, 1, 2, 6]);
    assert_handed_socket(&report, "own4000", 6, "inet 0.0.0.0 4000");
    assert_eq!(report.env("USER"), Some("nobody"));
    assert_eq!(report.env("PORTBIND_USER"), Some("nobody"));

    // The trace sees the bind when there is one...
    cases.assert_status("traced4000", 0);
    let trace = String::from_utf8_lossy(&cases.stdout("traced4000.trace")).into_owned();
    assert!(
        trace.contains("socket(AF_INET,") && trace.contains("htons(4000)"),
        "the trace misses the permitted bind:\n{trace}"
    );

    // ...and the refused request makes none: status 77, the missing file
    // and the rule that would permit it named.
    let line = cases.refusal("priv23", 77);
    assert!(
        line.starts_with("nobody (uid 65534) may not bind 0.0.0.0:23"),
        "{line}"
    );
    assert!(line.contains("/etc/portbind.conf does not exist"), "{line}");
    assert!(
        line.contains(": permit nobody port 23 [audit id "),
        "no suggested rule in {line}"
    );
    assert_ends_with_audit_id(&line);
    let trace = String::from_utf8_lossy(&cases.stdout("priv23.trace")).into_owned();
    assert!(
        !trace.contains("AF_INET") && !trace.contains("bind("),
        "the refused request made an inet socket or a bind:\n{trace}"
    );
    cases.assert_status("free23", 0);
    assert_eq!(
        String::from_utf8_lossy(&cases.stdout("free23")),
        "port 23 is free\n"
    );

    sandbox.assert_no_leftovers();
}

#[test]
fn socket_options_place_and_shape_the_sockets() {
    if !common::root_or_skip("socket_options_place_and_shape_the_sockets") {
        return;
    }
    let sandbox = Sandbox::new();
    // Stray fds 5, 6 and 7 in the invoker: portbind must close them, or
    // put its own sockets over them.
    let cases = Cases::run(
        &sandbox,
        r#"exec 5>"$OUT/stray" 6<"$OUT/stray" 7>>"$OUT/stray"
run_case fd9 "$PB" -p 23 -f 9 -u nobody -d "$PROBE"
run_case many "$PB" -p 127.0.0.1:23 -p '[::1]:80' -p 443 -i :: -u nobody -d "$PROBE"
run_case iface "$PB" -p 23 -i 127.0.0.1 -u nobody -d "$PROBE"

# -b 16: the socket listens when the driver starts, with that backlog.
"$PB" -p 127.0.0.1:23 -b 16 -u nobody -d "$PROBE" -- --serve=6 \
    >"$OUT/backlog" 2>"$OUT/backlog.err" &
server=$!
i=0
until grep -q '^end=1$' "$OUT/backlog" || [ "$i" -ge 400 ]; do
    i=$((i + 1))
    sleep 0.025
done
echo "ss $(ss -ltnH 'sport = :23')"
/usr/bin/python3 -I -c '
import socket
c = socket.create_connection(("127.0.0.1", 23), timeout=10)
print("client", c.makefile("rb").readline().decode(), end="")
' || kill "$server"
wait "$server"
echo "backlog $?""#,
    );

    let report = cases.report("fd9");
    assert_eq!(report.fds(), [0, 1, 2, 9]);
    assert_handed_socket(&report, "fd9", 9, "inet 0.0.0.0 23");
    assert_eq!(report.get("uid"), Some("65534,65534,65534"));

    let report = cases.report("many");
    assert_eq!(report.fds(), [0, 1, 2, 6, 7, 8]);
    assert_handed_socket(&report, "many", 6, "inet 127.0.0.1 23");
    assert_handed_socket(&report, "many", 7, "inet6 ::1 80");
    assert_eq!(report.get("v6only.7"), Some("1"));
    assert_handed_socket(&report, "many", 8, "inet6 :: 443");
    assert_eq!(report.get("v6only.8"), Some("0"));

    let report = cases.report("iface");
    assert_eq!(report.fds(), [0, 1, 2, 6]);
    assert_handed_socket(&report, "iface", 6, "inet 127.0.0.1 23");

    let report = cases.report("backlog");
    assert_eq!(report.fds(), [0, 1, 2, 6]);
    assert_eq!(report.get("sock.6"), Some("inet 127.0.0.1 23"));
    assert_eq!(report.get("listen.6"), Some("1"));
    assert_eq!(report.get("reuseaddr.6"), Some("1"));
    assert_eq!(report.get("reuseport.6"), Some("0"));
    assert_eq!(report.get("cloexec.6"), Some("0"));
    // For a listening socket ss shows the backlog as Send-Q.
    let ss = cases.value("ss");
    let fields: Vec<&str> = ss.split_whitespace().collect();
    assert_eq!(
        fields,
        ["LISTEN", "0", "16", "127.0.0.1:23", "0.0.0.0:*"],
        "ss line {ss:?}"
    );
    assert_eq!(cases.value("client"), "hello from probe uid=65534");

    sandbox.assert_no_leftovers();
}

#[test]
fn driver_arguments_environment_and_path() {
    if !common::root_or_skip("driver_arguments_environment_and_path") {
        return;
    }
    let sandbox = Sandbox::new();
    let cases = Cases::run(
        &sandbox,
        r#"run_case keep env "MUD_LIB=$(printf 'a b=c\377\001')" EMPTY_ONE= \
    "$PB" -p 23 -u nobody -e MUD_LIB -e EMPTY_ONE -e ABSENT_ONE -d "$PROBE"
run_case listen_pid env LISTEN_PID=1 "$PB" -p 23 -u nobody -e LISTEN_PID -d "$PROBE"
run_case dashdash "$PB" -p 23 -u nobody -d "$PROBE" -- \
    '' 'two words' "$(printf '\377\376x')" -u -- -p ''
run_case nonoption "$PB" -p 23 -u nobody -d "$PROBE" plain -u root -- x
cd "$SANDBOX"
run_case relative "$PB" -p 23 -u nobody -d probe
run_case no_search "$PB" -p 23 -u nobody -d ls
cd /

# -c while another socket listens on 0.0.0.0:23: a bind would fail.
/usr/bin/python3 -I -c '
import socket, time
s = socket.socket()
s.bind(("0.0.0.0", 23))
s.listen()
print("held", flush=True)
time.sleep(60)
' >"$OUT/holder" &
holder=$!
i=0
until grep -q held "$OUT/holder" || [ "$i" -ge 400 ]; do
    i=$((i + 1))
    sleep 0.025
done
run_case check "$PB" -c -p 23 -u nobody -d "$PROBE" -- x
run_case held "$PB" -p 23 -u nobody -d "$PROBE"
kill "$holder"
wait "$holder"

run_case help "$PB" -h
run_case long_help "$PB" --help
run_case version "$PB" -V
run_case long_version "$PB" --version"#,
    );

    let report = cases.report("keep");
    assert_eq!(
        report.env("MUD_LIB").map(unescape),
        Some(b"a b=c\xff\x01".to_vec())
    );
    assert_eq!(report.env("EMPTY_ONE"), Some(""));
    assert_eq!(report.env("ABSENT_ONE"), None);
    let mut names = report.env_names();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "EMPTY_ONE",
            "HOME",
            "LOGNAME",
            "MUD_LIB",
            "PATH",
            "PORTBIND_USER",
            "SHELL",
            "USER"
        ]
    );

    let line = cases.refusal("listen_pid", 64);
    assert!(line.contains("-e LISTEN_PID"), "{line}");

    let report = cases.report("dashdash");
    let argv: Vec<Vec<u8>> = report.all("argv").into_iter().map(unescape).collect();
    assert_eq!(argv[0], sandbox.probe().as_os_str().as_encoded_bytes());
    let expected: [&[u8]; 7] = [b"", b"two words", b"\xff\xfex", b"-u", b"--", b"-p", b""];
    assert_eq!(argv[1..], expected);
    assert_eq!(report.get("argc"), Some("8"));

    // Scanning stops at the first non-option: `-u root` after it is the
    // driver's, and the driver still runs as nobody.
    let report = cases.report("nonoption");
    let argv: Vec<&str> = report.all("argv");
    assert_eq!(argv[1..], ["plain", "-u", "root", "--", "x"]);
    assert_eq!(report.get("uid"), Some("65534,65534,65534"));

    // A relative -d is taken from the cwd...
    let report = cases.report("relative");
    assert_eq!(report.all("argv"), ["probe"]);
    assert_eq!(
        report.get("cwd"),
        Some(sandbox.dir().to_str().expect("utf-8 path"))
    );
    assert_eq!(report.get("uid"), Some("65534,65534,65534"));
    // ...and never searched in PATH, though /usr/bin/ls exists.
    assert_eq!(
        cases.refusal("no_search", 127),
        "cannot execute driver ls: No such file or directory"
    );

    // -c decides and prints the plan, binds nothing, runs no driver.
    cases.assert_status("check", 0);
    assert_eq!(cases.stderr("check"), "");
    let plan = String::from_utf8_lossy(&cases.stdout("check")).into_owned();
    assert!(plan.contains("0.0.0.0:23"), "{plan}");
    assert!(plan.contains("nobody"), "{plan}");
    assert!(!plan.contains("end=1"), "the driver ran:\n{plan}");
    // The same request without -c does try to bind, and fails.
    let line = cases.refusal("held", 71);
    assert!(
        line == "cannot bind 0.0.0.0:23: Address in use"
            || line == "cannot bind 0.0.0.0:23: Address already in use",
        "{line}"
    );

    for case in ["help", "long_help"] {
        cases.assert_status(case, 0);
        assert_eq!(cases.stderr(case), "", "case {case}");
        let help = String::from_utf8_lossy(&cases.stdout(case)).into_owned();
        assert!(help.starts_with("usage: portbind -p"), "{help}");
    }
    for case in ["version", "long_version"] {
        cases.assert_status(case, 0);
        assert_eq!(cases.stderr(case), "", "case {case}");
        assert_eq!(
            String::from_utf8_lossy(&cases.stdout(case)),
            concat!("portbind ", env!("CARGO_PKG_VERSION"), "\n")
        );
    }

    sandbox.assert_no_leftovers();
}

#[test]
fn terminal_invoker_loses_the_driver_to_a_new_session() {
    if !common::root_or_skip("terminal_invoker_loses_the_driver_to_a_new_session") {
        return;
    }
    let sandbox = Sandbox::new();
    // `script` gives the command a pty as stdin and stderr and a session
    // of its own (stdout goes to a file). The driver is a shell wrapper
    // that says whether it can open /dev/tty (only with a controlling
    // terminal) and then execs the probe.
    let cases = Cases::run(
        &sandbox,
        r#"cat >"$OUT/ttycheck" <<EOF
#!/bin/sh
if (: </dev/tty) 2>/dev/null; then echo ctty=1; else echo ctty=0; fi
echo "parentuid=\$(awk '/^Uid:/ { print \$2 }' /proc/\$PPID/status)"
exec "$PROBE" "\$@"
EOF
chmod 755 "$OUT/ttycheck"
cat >"$OUT/in-terminal" <<'EOF'
# in-terminal NAME CMD...: runs CMD, recording this shell's pid and session
name=$1
shift
echo "$$ $(cut -d' ' -f6 /proc/$$/stat)" >"$OUT/$name.invoker"
"$@" >"$OUT/$name"
status=$?
exit "$status"
EOF
tty_case() {
    name=$1
    shift
    script -qec "sh $OUT/in-terminal $name $*" /dev/null >/dev/null 2>"$OUT/$name.err"
    echo "$name $?"
    echo "$name.invoker $(cat "$OUT/$name.invoker")"
}
tty_case child "$PB" -p 23 -u nobody -d "$OUT/ttycheck" -- --exit=3
tty_case same "$PB" -p 23 -u root -d "$OUT/ttycheck"
tty_case plain "$OUT/ttycheck"
# stdio away from the terminal, but the terminal still controls the session
tty_case redirected "$PB" -p 23 -u nobody -d "$OUT/ttycheck" "</dev/null" "2>/dev/null"

# portbind as the session leader itself: setsid is refused, so it forks.
script -qec "echo \$\$ >$OUT/leader.invoker; exec $PB -p 23 -u nobody -d $OUT/ttycheck -- --exit=42 >$OUT/leader" \
    /dev/null >/dev/null 2>"$OUT/leader.err"
echo "leader $?"
echo "leader.invoker $(cat "$OUT/leader.invoker")"
# The same with SIGCHLD ignored by the invoker: the status still comes back.
script -qec "trap '' CHLD; exec $PB -p 23 -u nobody -d $OUT/ttycheck -- --exit=43 >$OUT/ignchld" \
    /dev/null >/dev/null 2>"$OUT/ignchld.err"
echo "ignchld $?"
echo "script_sid $(cut -d' ' -f6 /proc/$$/stat)"
run_case notty "$PB" -p 23 -u nobody -d "$OUT/ttycheck""#,
    );

    // The terminal is really there, and the wrapper sees a controlling
    // terminal when it has one.
    let invoker = cases.value("plain.invoker");
    let (_, invoker_sid) = invoker.split_once(' ').expect("pid and sid");
    let plain = cases.report("plain");
    assert_eq!(plain.get("tty0"), Some("1"));
    assert_eq!(plain.get("tty2"), Some("1"));
    assert_eq!(plain.get("ctty"), Some("1"));
    assert_eq!(plain.get("sid"), Some(invoker_sid));

    // Root running the driver as root: same account, no new session.
    let invoker = cases.value("same.invoker");
    let (_, invoker_sid) = invoker.split_once(' ').expect("pid and sid");
    let same = cases.report("same");
    assert_eq!(same.get("uid"), Some("0,0,0"));
    assert_eq!(same.get("ctty"), Some("1"));
    assert_eq!(same.get("sid"), Some(invoker_sid));

    // A child of the shell: setsid works, and portbind execs in place.
    cases.assert_status("child", 3);
    assert_eq!(cases.stderr("child"), "");
    let invoker = cases.value("child.invoker");
    let (invoker_pid, invoker_sid) = invoker.split_once(' ').expect("pid and sid");
    let child = cases.report_only("child");
    assert_eq!(child.get("uid"), Some("65534,65534,65534"));
    assert_eq!(child.get("tty0"), Some("1"));
    assert_eq!(child.get("ctty"), Some("0"));
    assert_eq!(child.get("sid"), child.get("pid"));
    assert_ne!(child.get("sid"), Some(invoker_sid));
    assert_eq!(child.get("ppid"), Some(invoker_pid));
    assert_eq!(child.fds(), [0, 1, 2, 6]);
    assert_handed_socket(&child, "child", 6, "inet 0.0.0.0 23");

    // The session leader: portbind forks, the child gets the session, and
    // the driver's status comes back as portbind's.
    cases.assert_status("leader", 42);
    assert_eq!(cases.stderr("leader"), "");
    let leader_pid = cases.value("leader.invoker");
    let leader = cases.report_only("leader");
    assert_eq!(leader.get("uid"), Some("65534,65534,65534"));
    assert_eq!(leader.get("tty0"), Some("1"));
    assert_eq!(leader.get("ctty"), Some("0"));
    assert_eq!(leader.get("sid"), leader.get("pid"));
    assert_ne!(leader.get("sid"), Some(leader_pid.as_str()));
    assert_eq!(leader.get("ppid"), Some(leader_pid.as_str()));
    assert_eq!(leader.fds(), [0, 1, 2, 6]);
    assert_handed_socket(&leader, "leader", 6, "inet 0.0.0.0 23");
    assert_no_privilege(&leader, "leader");
    // The parent left holding the terminal's session is the invoker (root
    // here), never the target: the driver cannot kill it and take the
    // terminal.
    assert_eq!(leader.get("parentuid"), Some("0"));

    // Stdio redirected away from the terminal does not keep the driver in
    // the session: it could still open /dev/tty and push keystrokes.
    cases.assert_status("redirected", 0);
    let redirected = cases.report_only("redirected");
    assert_eq!(redirected.get("tty0"), Some("0"));
    assert_eq!(redirected.get("ctty"), Some("0"));
    assert_eq!(redirected.get("sid"), redirected.get("pid"));

    // The invoker ignores SIGCHLD: the waiting parent still gets the status.
    cases.assert_status("ignchld", 43);
    let ignchld = cases.report_only("ignchld");
    assert_eq!(ignchld.get("ctty"), Some("0"));

    // No terminal: no new session.
    let notty = cases.report("notty");
    assert_eq!(notty.get("tty0"), Some("0"));
    assert_eq!(notty.get("uid"), Some("65534,65534,65534"));
    assert_eq!(notty.get("sid"), Some(cases.value("script_sid").as_str()));

    sandbox.assert_no_leftovers();
}

#[test]
fn exec_failures_after_the_drop() {
    if !common::root_or_skip("exec_failures_after_the_drop") {
        return;
    }
    let sandbox = Sandbox::new();
    // `private/probe` sits in a directory only root may search: root can
    // run it, nobody cannot, so its refusal shows that exec happens after
    // the drop.
    let cases = Cases::run(
        &sandbox,
        r#"cp "$PROBE" "$OUT/noexec"
chmod 644 "$OUT/noexec"
mkdir -m 700 "$SANDBOX/private"
cp "$PROBE" "$SANDBOX/private/probe"
cat >"$OUT/script-driver" <<EOF
#!/bin/sh
echo "script=\$(id -u):\$#:\$*"
exec "$PROBE" "\$@"
EOF
chmod 755 "$OUT/script-driver"
run_case missing "$PB" -p 23 -u nobody -d "$SANDBOX/nope"
run_case notdir "$PB" -p 23 -u nobody -d "$OUT/noexec/x"
run_case mode644 "$PB" -p 23 -u nobody -d "$OUT/noexec"
run_case directory "$PB" -p 23 -u nobody -d "$OUT"
run_case private "$PB" -p 23 -u nobody -d "$SANDBOX/private/probe"
run_case private_root "$PB" -p 23 -u root -d "$SANDBOX/private/probe"
run_case script "$PB" -p 23 -u nobody -d "$OUT/script-driver" -- one two
run_case empty "$PB" -p 23 -u nobody -d ''"#,
    );
    let out = sandbox.out().display().to_string();
    let dir = sandbox.dir().display().to_string();

    let cannot = |path: &str, why: &str| format!("cannot execute driver {path}: {why}");
    assert_eq!(
        cases.refusal("missing", 127),
        cannot(&format!("{dir}/nope"), "No such file or directory")
    );
    assert_eq!(
        cases.refusal("notdir", 127),
        cannot(&format!("{out}/noexec/x"), "Not a directory")
    );
    assert_eq!(
        cases.refusal("mode644", 126),
        cannot(&format!("{out}/noexec"), "Permission denied")
    );
    assert_eq!(
        cases.refusal("directory", 126),
        cannot(&out, "Permission denied")
    );
    assert_eq!(
        cases.refusal("private", 126),
        cannot(&format!("{dir}/private/probe"), "Permission denied")
    );
    let report = cases.report("private_root");
    assert_eq!(report.get("uid"), Some("0,0,0"));

    let report = cases.report("script");
    assert_eq!(report.get("script"), Some("65534:2:one two"));
    assert_eq!(report.get("uid"), Some("65534,65534,65534"));
    assert_eq!(report.all("argv")[1..], ["one", "two"]);
    assert_eq!(report.fds(), [0, 1, 2, 6]);
    assert_handed_socket(&report, "script", 6, "inet 0.0.0.0 23");

    let line = cases.refusal("empty", 64);
    assert!(line.contains("-d"), "{line}");

    sandbox.assert_no_leftovers();
}
