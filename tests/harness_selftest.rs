//! The test harness checked on its own, without portbind doing anything:
//! the probe reports what it was given, the sandbox keeps /etc, ports and
//! /dev/log private, and the install and hardening scripts accept the
//! release binary and refuse a binary that is not hardened.

mod common;

use common::{status_code, stderr_str, stdout_str, unescape, Report, Sandbox};
use std::process::Command;

fn hardening_script(name: &str) -> Command {
    Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/hardening/").to_string() + name)
}

fn report_of(output: &std::process::Output) -> Report {
    assert_eq!(
        status_code(output),
        Some(0),
        "script failed; stderr:\n{}",
        stderr_str(output)
    );
    let report = Report::parse(&output.stdout);
    assert!(
        report.is_complete(),
        "incomplete report:\n{}",
        stdout_str(output)
    );
    report
}

#[test]
fn report_parser_reads_repeated_keys_and_escapes() {
    let text = b"argc=2\nargv=/x/probe\nargv=a\\x20b\\xff\nenv=PATH=/bin\nenv=EMPTY=\n\
uid=1,2,3\ngroups=\nfd=0\nfd=6\ncap_prm=0000000000000400\nend=1\nargc=1\nend=1\n";
    let reports = Report::parse_all(text);
    assert_eq!(reports.len(), 2);
    let report = &reports[0];
    assert_eq!(report.get("argc"), Some("2"));
    assert_eq!(report.all("argv"), ["/x/probe", "a\\x20b\\xff"]);
    assert_eq!(unescape(report.all("argv")[1]), b"a b\xff");
    assert_eq!(report.env("PATH"), Some("/bin"));
    assert_eq!(report.env("EMPTY"), Some(""));
    assert_eq!(report.env("PAT"), None);
    assert_eq!(report.env_names(), ["PATH", "EMPTY"]);
    assert_eq!(report.numbers("uid"), [1, 2, 3]);
    assert!(report.numbers("groups").is_empty());
    assert_eq!(report.fds(), [0, 6]);
    assert_eq!(report.caps("cap_prm"), Some(1 << 10));
    assert!(report.is_complete());
    assert_eq!(unescape("\\x5c\\xZZ\\x4"), b"\\\\xZZ\\x4");
}

#[test]
fn probe_as_nobody_reports_ids_and_no_privilege() {
    if !common::root_or_skip("probe_as_nobody_reports_ids_and_no_privilege") {
        return;
    }
    let sandbox = Sandbox::new();
    let output = sandbox
        .run(r#"X='two words' $AS_NOBODY "$PROBE" one 'two words' "$(printf 'a\377b')" --exit=0"#);
    let report = report_of(&output);

    assert_eq!(report.get("argc"), Some("5"));
    let argv: Vec<Vec<u8>> = report.all("argv").into_iter().map(unescape).collect();
    assert_eq!(argv[0], sandbox.probe().as_os_str().as_encoded_bytes());
    assert_eq!(
        argv[1..],
        [&b"one"[..], b"two words", b"a\xffb", b"--exit=0"]
    );
    assert_eq!(report.env("X"), Some("two\\x20words"));
    assert_eq!(report.env("PATH"), Some(common::SANDBOX_PATH));
    assert_eq!(
        report.env("PB"),
        Some(sandbox.bin().to_str().expect("utf-8 path"))
    );

    assert_eq!(report.get("uid"), Some("65534,65534,65534"));
    assert_eq!(report.get("gid"), Some("65534,65534,65534"));
    assert_eq!(report.get("groups"), Some("65534"));
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_amb"] {
        assert_eq!(report.caps(set), Some(0), "{set}");
    }
    assert_ne!(report.caps("cap_bnd"), Some(0));
    assert_eq!(report.get("securebits"), Some("0"));
    assert_eq!(report.get("no_new_privs"), Some("0"));
    // The harness hands the script clean signal state; tests rely on it.
    assert_eq!(report.get("sigblk"), Some("0000000000000000"));
    assert_eq!(report.get("sigign"), Some("0000000000000000"));
    assert_eq!(report.fds(), [0, 1, 2], "the harness leaks fds");
    assert_eq!(report.get("fdpath.0"), Some("/dev/null"));
    assert_eq!(report.get("tty0"), Some("0"));
    for key in ["pid", "ppid", "sid", "pgid"] {
        let value = report.get(key).unwrap_or_default();
        assert!(value.parse::<u32>().is_ok(), "{key}={value}");
    }
    assert_eq!(report.numbers("rlimit_nofile").len(), 2);

    sandbox.assert_no_leftovers();
}

#[test]
fn probe_reports_inherited_signal_state_and_fds() {
    if !common::root_or_skip("probe_reports_inherited_signal_state_and_fds") {
        return;
    }
    let sandbox = Sandbox::new();
    // SIGHUP ignored (nohup), SIGTERM blocked, a file on fd 9, an IPv4
    // socket on fd 6 and an IPv6 wildcard socket on fd 7, bound only.
    let output = sandbox.run(
        r#"exec 9>"$OUT/file"
nohup python3 -I -c '
import os, signal, socket, sys
# Python ignores these itself; os.execv would pass that on.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
v4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
v4.bind(("127.0.0.1", 23))
os.dup2(v4.fileno(), 6)
v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
v6.bind(("::", 24))
os.dup2(v6.fileno(), 7)
os.execv(sys.argv[1], [sys.argv[1], "--exit=7"])
' "$PROBE""#,
    );
    assert_eq!(
        status_code(&output),
        Some(7),
        "stderr:\n{}",
        stderr_str(&output)
    );
    let report = Report::parse(&output.stdout);
    assert!(report.is_complete(), "{}", stdout_str(&output));

    assert_eq!(report.get("sigign"), Some("0000000000000001"));
    assert_eq!(report.get("sigblk"), Some("0000000000004000"));
    assert_eq!(report.fds(), [0, 1, 2, 6, 7, 9]);
    assert_eq!(
        report.get("fdpath.9").map(String::from),
        Some(format!("{}/file", sandbox.out().display()))
    );
    assert_eq!(report.get("cloexec.9"), Some("0"));
    assert_eq!(report.get("sock.9"), None);

    assert_eq!(report.get("sock.6"), Some("inet 127.0.0.1 23"));
    assert_eq!(report.get("socktype.6"), Some("stream"));
    assert_eq!(report.get("listen.6"), Some("0"));
    assert_eq!(report.get("reuseaddr.6"), Some("1"));
    assert_eq!(report.get("reuseport.6"), Some("0"));
    assert_eq!(report.get("cloexec.6"), Some("0"));
    assert_eq!(report.get("v6only.6"), None);

    assert_eq!(report.get("sock.7"), Some("inet6 :: 24"));
    assert_eq!(report.get("v6only.7"), Some("0"));
    assert_eq!(report.get("reuseaddr.7"), Some("0"));
}

#[test]
fn probe_serves_the_socket_on_fd_6() {
    if !common::root_or_skip("probe_serves_the_socket_on_fd_6") {
        return;
    }
    let sandbox = Sandbox::new();
    // Root binds 127.0.0.1:4000 onto fd 6, then execs the probe as nobody,
    // as portbind would; a client connects once the probe listens.
    let output = sandbox.run(
        r#"python3 -I -c '
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 4000))
os.dup2(s.fileno(), 6)
os.execv("/usr/bin/setpriv", ["setpriv", "--reuid=65534", "--regid=65534",
         "--groups=65534", "--", sys.argv[1], "--serve=6"])
' "$PROBE" >"$OUT/report" 2>"$OUT/probe.err" &
server=$!
python3 -I -c '
import socket, time
for _ in range(400):
    try:
        c = socket.create_connection(("127.0.0.1", 4000), timeout=5)
        break
    except ConnectionRefusedError:
        time.sleep(0.025)
else:
    raise SystemExit("the probe never listened")
print(c.makefile("rb").readline().decode(), end="")
'
client=$?
wait "$server"
echo "server=$?"
cat "$OUT/probe.err" >&2
[ "$client" = 0 ]"#,
    );
    assert_eq!(
        status_code(&output),
        Some(0),
        "stderr:\n{}",
        stderr_str(&output)
    );
    assert_eq!(
        stdout_str(&output),
        "hello from probe uid=65534\nserver=0\n"
    );
    let report = Report::parse(&std::fs::read(sandbox.out().join("report")).expect("report"));
    assert!(report.is_complete());
    assert_eq!(report.get("sock.6"), Some("inet 127.0.0.1 4000"));
    assert_eq!(report.get("listen.6"), Some("0"));
    assert_eq!(report.get("uid"), Some("65534,65534,65534"));
}

#[test]
fn etc_overlay_is_private_and_persists_across_runs() {
    if !common::root_or_skip("etc_overlay_is_private_and_persists_across_runs") {
        return;
    }
    let sandbox = Sandbox::new();
    let user = format!("pbtest{}", std::process::id() % 100_000);
    let output = sandbox.run(&format!(
        r#"echo '{user}:x:4242:4242::/nonexistent:/usr/sbin/nologin' >>/etc/passwd
echo '{user}:x:4242:' >>/etc/group
echo 'permit {user} port 23' >/etc/portbind.conf
getent passwd {user} >/dev/null || exit 3
as_user 4242 4242 "$PROBE""#
    ));
    let report = report_of(&output);
    assert_eq!(report.get("uid"), Some("4242,4242,4242"));
    assert_eq!(report.get("groups"), Some("4242,65534"));

    let again = sandbox.run(&format!(
        "grep -c '^{user}:' /etc/passwd; cat /etc/portbind.conf"
    ));
    assert_eq!(
        stdout_str(&again),
        format!("1\npermit {user} port 23\n"),
        "stderr:\n{}",
        stderr_str(&again)
    );

    let host_passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    assert!(!host_passwd.contains(&format!("{user}:")));
    let host_group = std::fs::read_to_string("/etc/group").expect("read /etc/group");
    assert!(!host_group.contains(&format!("{user}:")));
}

#[test]
fn network_namespace_is_private() {
    if !common::root_or_skip("network_namespace_is_private") {
        return;
    }
    let sandbox = Sandbox::new();
    // Two sandboxes may bind the same port at the same time, and only
    // loopback exists inside.
    let script = r#"python3 -I -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 23)); s.listen()
'
ip -brief link | cut -d" " -f1"#;
    let first = sandbox.run(script);
    let second = Sandbox::new().run(script);
    for output in [first, second] {
        assert_eq!(status_code(&output), Some(0), "{}", stderr_str(&output));
        assert_eq!(stdout_str(&output), "lo\n");
    }
}

#[test]
fn devlog_records_every_datagram() {
    if !common::root_or_skip("devlog_records_every_datagram") {
        return;
    }
    let sandbox = Sandbox::new();
    let (output, datagrams) = sandbox.run_with_devlog(
        r#"test -S /dev/log && stat -c %a /dev/log && test -c /dev/null && echo devnull-ok >/dev/null
$AS_NOBODY python3 -I -c '
import logging, logging.handlers, socket
handler = logging.handlers.SysLogHandler(address="/dev/log",
    facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV)
log = logging.getLogger("selftest"); log.addHandler(handler)
log.warning("from the syslog handler")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in range(50):
    s.sendto(b"<86>raw %d \xff" % i, "/dev/log")
'"#,
    );
    assert_eq!(
        status_code(&output),
        Some(0),
        "stderr:\n{}",
        stderr_str(&output)
    );
    assert_eq!(stdout_str(&output), "666\n");
    assert_eq!(datagrams.len(), 51, "{datagrams:?}");
    // authpriv (10) * 8 + warning (4) = 84
    assert_eq!(datagrams[0], b"<84>from the syslog handler\0");
    for (i, datagram) in datagrams[1..].iter().enumerate() {
        let mut expected = format!("<86>raw {i} ").into_bytes();
        expected.push(0xff);
        assert_eq!(*datagram, expected);
    }

    // A second run starts with an empty log, and /dev is the host's again
    // outside run_with_devlog.
    let (_, none) = sandbox.run_with_devlog("true");
    assert!(none.is_empty());
    let plain = sandbox.run("test -S /dev/log && echo socket || echo none");
    assert_ne!(stdout_str(&plain), "socket\n");
}

#[test]
fn installed_binary_is_setuid_root_and_hardened() {
    if !common::root_or_skip("installed_binary_is_setuid_root_and_hardened") {
        return;
    }
    let sandbox = Sandbox::new();
    let output = sandbox.run(r#"stat -c '%a %U %G' "$PB"; stat -c %a "$OUT""#);
    assert_eq!(stdout_str(&output), "4750 root nogroup\n1777\n");

    let check = hardening_script("check-binary")
        .arg(sandbox.bin())
        .output()
        .expect("run check-binary");
    assert!(
        check.status.success(),
        "{}{}",
        stdout_str(&check),
        stderr_str(&check)
    );

    // The probe is static but not PIE and not stripped: the check and the
    // installer both refuse it, and nothing is left behind.
    let check = hardening_script("check-binary")
        .arg(sandbox.probe())
        .output()
        .expect("run check-binary");
    assert_eq!(status_code(&check), Some(1));
    assert!(stdout_str(&check).contains("FAIL  static-pie"));

    let prefix = sandbox.dir().join("refused");
    let install = hardening_script("install")
        .arg("--prefix")
        .arg(&prefix)
        .arg(sandbox.probe())
        .output()
        .expect("run install");
    assert_eq!(status_code(&install), Some(1));
    let left: Vec<_> = std::fs::read_dir(prefix.join("bin"))
        .expect("bin dir")
        .collect();
    assert!(left.is_empty(), "install left {left:?}");
}
