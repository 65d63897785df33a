//! The handoffs beyond fd 6: systemd socket activation (`-s`) and the
//! ambient capability (`-a`), each with a real server (Debian's lighttpd,
//! started only inside the sandbox's network namespace, with its config,
//! document root, pid file and log in the sandbox directory) and with the
//! probe; addresses of mixed families; a file-capability install; and a
//! caller that set no_new_privs.
//!
//! Every case of a script writes `$OUT/NAME.out`, `NAME.err` and `NAME.rc`
//! (see `run_case` below), and the test reads them back one by one.

mod common;

use common::{stdout_str, Report, Sandbox};
use std::fs;
use std::path::{Path, PathBuf};

const LIGHTTPD: &str = "/usr/sbin/lighttpd";

/// Shell helpers put in front of every script of this file.
const HELPERS: &str = r#"
# run_case NAME CMD...: stdout, stderr and status of CMD into $OUT/NAME.*
run_case() {
    __name=$1
    shift
    "$@" >"$OUT/$__name.out" 2>"$OUT/$__name.err"
    echo "$?" >"$OUT/$__name.rc"
}

# serve_case NAME PORT CMD...: CMD runs the probe with --serve; once its
# report is written, the backlogs of the listening sockets go to
# $OUT/NAME.ss, then one connection to PORT releases the probe.
serve_case() {
    __name=$1 __port=$2
    shift 2
    "$@" >"$OUT/$__name.out" 2>"$OUT/$__name.err" &
    __pid=$!
    __tries=0
    until grep -qx 'end=1' "$OUT/$__name.out" || [ "$__tries" -ge 200 ]; do
        __tries=$((__tries + 1))
        sleep 0.05
    done
    ss -Hltn >"$OUT/$__name.ss"
    python3 -I "$SANDBOX/fetch.py" hello "$__port" >"$OUT/$__name.hello" ||
        kill "$__pid" 2>/dev/null
    wait "$__pid"
    echo "$?" >"$OUT/$__name.rc"
}

# lighttpd_case NAME PORT... -- CMD...: CMD starts lighttpd, configured by
# NAME.conf, in the background; /index.txt is fetched from each PORT into
# $OUT/NAME.PORT, lighttpd's ids and capabilities go to $OUT/NAME.status and
# its pid file (removed when it stops) to $OUT/NAME.pidfile, then lighttpd
# is stopped by its pid and its status recorded.
lighttpd_case() {
    __name=$1
    shift
    __ports=
    while [ "$1" != -- ]; do
        __ports="$__ports $1"
        shift
    done
    shift
    "$@" >"$OUT/$__name.out" 2>"$OUT/$__name.err" &
    __pid=$!
    echo "$__pid" >"$OUT/$__name.pid"
    for __port in $__ports; do
        python3 -I "$SANDBOX/fetch.py" /index.txt "$__port" \
            >"$OUT/$__name.$__port" 2>&1
    done
    grep -E '^(Uid|Gid|CapEff|CapAmb):' "/proc/$__pid/status" >"$OUT/$__name.status"
    cat "$SANDBOX/run/$__name.pid" >"$OUT/$__name.pidfile"
    kill "$__pid" 2>/dev/null
    wait "$__pid"
    echo "$?" >"$OUT/$__name.rc"
}

write_policy() {
    printf '%s\n' "$@" >/etc/portbind.conf &&
        chown root:root /etc/portbind.conf && chmod 644 /etc/portbind.conf
}

# add_account NAME ID: a user NAME with uid and gid ID.
add_account() {
    echo "$1:x:$2:$2::/nonexistent:/usr/sbin/nologin" >>/etc/passwd &&
        echo "$1:x:$2:" >>/etc/group
}
"#;

/// `fetch.py MODE PORT`: connects to 127.0.0.1:PORT (retrying while it is
/// refused: a server may still be binding); MODE `hello` prints the line
/// the probe sends, a path prints the HTTP status and body of a GET.
const FETCH: &str = r#"import http.client, socket, sys, time

mode, port = sys.argv[1], int(sys.argv[2])
for _ in range(400):
    try:
        conn = socket.create_connection(("127.0.0.1", port), timeout=10)
        break
    except ConnectionRefusedError:
        time.sleep(0.025)
else:
    sys.exit("connection to port %d refused" % port)
if mode == "hello":
    print(conn.makefile("rb").readline().decode(), end="")
else:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    client.sock = conn
    client.request("GET", mode)
    response = client.getresponse()
    print(response.status, response.read().decode(), end="")
"#;

/// The page lighttpd serves.
const PAGE: &str = "portbind handed lighttpd this port\n";

/// A sandbox with fetch.py, and for lighttpd a document root holding
/// index.txt and a run directory owned by 65534 for its pid file and log.
fn sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    fs::write(sandbox.dir().join("fetch.py"), FETCH).expect("write fetch.py");
    let www = sandbox.dir().join("www");
    fs::create_dir(&www).expect("mkdir www");
    fs::write(www.join("index.txt"), PAGE).expect("write index.txt");
    let run = sandbox.dir().join("run");
    fs::create_dir(&run).expect("mkdir run");
    std::os::unix::fs::chown(&run, Some(65534), Some(65534)).expect("chown run");
    sandbox
}

fn run(sandbox: &Sandbox, script: &str) -> std::process::Output {
    let output = sandbox.run(&format!("{HELPERS}\n{script}"));
    assert_eq!(
        output.status.code(),
        Some(0),
        "the script itself failed; stdout:\n{}\nstderr:\n{}",
        stdout_str(&output),
        common::stderr_str(&output)
    );
    output
}

/// A lighttpd config in the sandbox: the document root, pid file and error
/// log there, no server.username, and `lines`.
fn lighttpd_conf(sandbox: &Sandbox, name: &str, lines: &[&str]) -> PathBuf {
    let dir = sandbox.dir().display().to_string();
    let mut text = format!(
        "server.document-root = \"{dir}/www\"\n\
         server.pid-file = \"{dir}/run/{name}.pid\"\n\
         server.errorlog = \"{dir}/run/{name}.log\"\n"
    );
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    let path = sandbox.dir().join(format!("{name}.conf"));
    fs::write(&path, text).expect("write the lighttpd config");
    path
}

/// What one `run_case` recorded.
struct Case {
    name: String,
    status: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Case {
    fn read(sandbox: &Sandbox, name: &str) -> Case {
        let path = |ext: &str| sandbox.out().join(format!("{name}.{ext}"));
        let rc = fs::read_to_string(path("rc"))
            .unwrap_or_else(|e| panic!("case {name} did not run: {e}"));
        Case {
            name: name.to_string(),
            status: rc.trim().parse().ok(),
            stdout: fs::read(path("out")).unwrap_or_default(),
            stderr: fs::read_to_string(path("err")).unwrap_or_default(),
        }
    }

    fn context(&self) -> String {
        format!(
            "case {}: status {:?}\nstdout:\n{}\nstderr:\n{}",
            self.name,
            self.status,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        )
    }

    /// The probe ran (status 0, nothing on stderr) and its report is whole.
    fn report(&self) -> Report {
        assert_eq!(self.status, Some(0), "{}", self.context());
        assert_eq!(self.stderr, "", "{}", self.context());
        let report = Report::parse(&self.stdout);
        assert!(report.is_complete(), "{}", self.context());
        report
    }

    /// portbind refused with `status` and one `portbind: ` line holding
    /// every fragment, and the driver never ran.
    fn assert_failed(&self, status: i32, fragments: &[&str]) {
        assert_eq!(self.status, Some(status), "{}", self.context());
        assert!(self.stdout.is_empty(), "the driver ran: {}", self.context());
        let line = self
            .stderr
            .strip_suffix('\n')
            .filter(|l| l.starts_with("portbind: ") && !l.contains('\n'))
            .unwrap_or_else(|| panic!("not one portbind: line: {}", self.context()));
        for fragment in fragments {
            assert!(
                line.contains(fragment),
                "no {fragment:?}: {}",
                self.context()
            );
        }
    }

    /// Like `assert_failed`, for a refusal: it ends with the audit id.
    fn assert_refused(&self, fragments: &[&str]) {
        self.assert_failed(77, fragments);
        let id = self
            .stderr
            .trim_end()
            .strip_suffix(']')
            .and_then(|l| l.rsplit_once(" [audit id "))
            .map(|(_, id)| id)
            .unwrap_or_default();
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "no audit id: {}",
            self.context()
        );
    }
}

fn out_file(sandbox: &Sandbox, name: &str) -> String {
    let path = sandbox.out().join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn pid_of(report: &Report) -> &str {
    report.get("pid").expect("the report has a pid")
}

/// The backlog `ss` shows (Send-Q of a listening socket) for each local
/// address:port in `ss -Hltn` output.
fn backlogs(ss: &str) -> Vec<(String, u32)> {
    ss.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                ["LISTEN", _, send_q, local, ..] => Some((local.to_string(), send_q.parse().ok()?)),
                _ => None,
            }
        })
        .collect()
}

/// The kernel's SOMAXCONN (include/linux/socket.h, 4096 since Linux 5.4;
/// musl's header still says 128).
const KERNEL_SOMAXCONN: u32 = 4096;

/// The backlog listen(SOMAXCONN) gives in the sandbox: the kernel caps it
/// at net.core.somaxconn.
fn somaxconn_backlog(sandbox: &Sandbox) -> u32 {
    let limit: u32 = out_file(sandbox, "somaxconn")
        .trim()
        .parse()
        .expect("somaxconn");
    limit.min(KERNEL_SOMAXCONN)
}

fn assert_no_capability(report: &Report) {
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_amb"] {
        assert_eq!(report.caps(set), Some(0), "{set}");
    }
}

fn assert_only_net_bind_service(report: &Report) {
    for set in ["cap_prm", "cap_inh", "cap_amb", "cap_eff"] {
        assert_eq!(report.get(set), Some("0000000000000400"), "{set}");
    }
    assert_eq!(report.get("securebits"), Some("0"));
}

fn assert_nobody(report: &Report) {
    assert_eq!(report.get("uid"), Some("65534,65534,65534"));
    assert_eq!(report.get("gid"), Some("65534,65534,65534"));
    assert_eq!(report.get("groups"), Some("65534"));
}

/// Fails with a clear message when this lighttpd ignores a key of `conf`.
fn assert_lighttpd_knows(sandbox: &Sandbox, conf: &Path) {
    let output = run(
        sandbox,
        &format!(
            "run_case conftest $AS_NOBODY {LIGHTTPD} -tt -f '{}'",
            conf.display()
        ),
    );
    let case = Case::read(sandbox, "conftest");
    assert_eq!(case.status, Some(0), "{}", case.context());
    assert!(
        !case.stderr.contains("unknown config-key"),
        "this lighttpd build lacks an option the test needs: {}\n{}",
        case.context(),
        stdout_str(&output)
    );
}

#[test]
fn socket_activation_serves_lighttpd_on_one_and_two_ports() {
    if !common::root_or_skip("socket_activation_serves_lighttpd_on_one_and_two_ports") {
        return;
    }
    let sandbox = sandbox();
    let one = lighttpd_conf(
        &sandbox,
        "one",
        &[
            "server.port = 80",
            "server.systemd-socket-activation = \"enable\"",
        ],
    );
    let two = lighttpd_conf(
        &sandbox,
        "two",
        &[
            "server.port = 80",
            "server.systemd-socket-activation = \"enable\"",
        ],
    );
    assert_lighttpd_knows(&sandbox, &one);

    run(
        &sandbox,
        &format!(
            r#"write_policy 'permit nobody port 80,8080'
lighttpd_case one 80 -- $AS_NOBODY "$PB" -s -p 80 -d {LIGHTTPD} -- -D -f '{}'
lighttpd_case two 80 8080 -- \
    $AS_NOBODY "$PB" -s -p 80 -p 8080 -d {LIGHTTPD} -- -D -f '{}'"#,
            one.display(),
            two.display()
        ),
    );

    for (name, ports) in [("one", &[80][..]), ("two", &[80, 8080][..])] {
        let case = Case::read(&sandbox, name);
        // lighttpd stopped by SIGTERM exits 0; it logs to its own file.
        assert_eq!(case.status, Some(0), "{}", case.context());
        assert_eq!(case.stderr, "", "{}", case.context());
        for port in ports {
            assert_eq!(
                out_file(&sandbox, &format!("{name}.{port}")),
                format!("200 {PAGE}"),
                "{name}: GET /index.txt on port {port}"
            );
        }
        // The process stopped is lighttpd itself: portbind exec'd it.
        let pid = out_file(&sandbox, &format!("{name}.pid"));
        let written = out_file(&sandbox, &format!("{name}.pidfile"));
        assert_eq!(written.trim(), pid.trim(), "{name}");
        let status = out_file(&sandbox, &format!("{name}.status"));
        assert!(
            status.contains("Uid:\t65534\t65534\t65534\t65534\n")
                && status.contains("CapEff:\t0000000000000000\n")
                && status.contains("CapAmb:\t0000000000000000\n"),
            "{name}: lighttpd ran with\n{status}"
        );
        let log = fs::read_to_string(sandbox.dir().join(format!("run/{name}.log")))
            .expect("lighttpd's error log");
        assert!(log.contains("server started"), "{name}: {log}");
    }
    sandbox.assert_no_leftovers();
}

#[test]
fn socket_activation_hands_the_probe_listening_sockets_from_fd_3() {
    if !common::root_or_skip("socket_activation_hands_the_probe_listening_sockets_from_fd_3") {
        return;
    }
    let sandbox = sandbox();
    run(
        &sandbox,
        r#"write_policy 'permit nobody port 80,8080'
cat /proc/sys/net/core/somaxconn >"$OUT/somaxconn"
serve_case two 80 $AS_NOBODY "$PB" -s -p 80 -p 8080 -d "$PROBE" -- --serve=3
run_case with_f $AS_NOBODY "$PB" -s -f 6 -p 80 -d "$PROBE"
serve_case backlog 80 $AS_NOBODY "$PB" -s -b 5 -p 80 -d "$PROBE" -- --serve=3"#,
    );

    let two = Case::read(&sandbox, "two");
    let report = two.report();
    assert_eq!(report.fds(), [0, 1, 2, 3, 4], "no fd 6, nothing else");
    for (fd, port) in [(3, 80), (4, 8080)] {
        assert_eq!(
            report.get(&format!("sock.{fd}")),
            Some(format!("inet 0.0.0.0 {port}").as_str())
        );
        assert_eq!(report.get(&format!("socktype.{fd}")), Some("stream"));
        assert_eq!(report.get(&format!("listen.{fd}")), Some("1"), "fd {fd}");
        assert_eq!(report.get(&format!("cloexec.{fd}")), Some("0"), "fd {fd}");
        assert_eq!(report.get(&format!("reuseaddr.{fd}")), Some("1"), "fd {fd}");
        assert_eq!(report.get(&format!("reuseport.{fd}")), Some("0"), "fd {fd}");
    }
    assert_eq!(report.env("LISTEN_FDS"), Some("2"));
    assert_eq!(report.env("LISTEN_PID"), Some(pid_of(&report)));
    assert_eq!(report.env("LISTEN_FDNAMES"), Some("80:8080"));
    assert_nobody(&report);
    assert_no_capability(&report);
    assert_eq!(
        out_file(&sandbox, "two.hello"),
        "hello from probe uid=65534\n"
    );
    let expected = somaxconn_backlog(&sandbox);
    let mut listening = backlogs(&out_file(&sandbox, "two.ss"));
    listening.sort();
    assert_eq!(
        listening,
        [
            ("0.0.0.0:80".to_string(), expected),
            ("0.0.0.0:8080".to_string(), expected)
        ],
        "without -b, -s listens with SOMAXCONN"
    );

    Case::read(&sandbox, "with_f")
        .assert_failed(64, &["portbind: -s and -f cannot be used together"]);

    let backlog = Case::read(&sandbox, "backlog");
    let report = backlog.report();
    assert_eq!(report.fds(), [0, 1, 2, 3]);
    assert_eq!(report.get("sock.3"), Some("inet 0.0.0.0 80"));
    assert_eq!(report.get("listen.3"), Some("1"));
    assert_eq!(report.env("LISTEN_FDS"), Some("1"));
    assert_eq!(report.env("LISTEN_PID"), Some(pid_of(&report)));
    assert_eq!(report.env("LISTEN_FDNAMES"), Some("80"));
    assert_eq!(
        backlogs(&out_file(&sandbox, "backlog.ss")),
        [("0.0.0.0:80".to_string(), 5)],
        "-s -b 5 listens with backlog 5"
    );
    sandbox.assert_no_leftovers();
}

#[test]
fn ambient_lets_lighttpd_bind_port_80_itself() {
    if !common::root_or_skip("ambient_lets_lighttpd_bind_port_80_itself") {
        return;
    }
    let sandbox = sandbox();
    let conf = lighttpd_conf(
        &sandbox,
        "ambient",
        &["server.port = 80", "server.bind = \"127.0.0.1\""],
    );
    assert_lighttpd_knows(&sandbox, &conf);

    // Without -a, the only socket portbind binds is an unprivileged one
    // that needs no policy; lighttpd then fails to bind port 80. timeout
    // only guards against a lighttpd that would wrongly keep running.
    run(
        &sandbox,
        &format!(
            r#"write_policy 'permit nobody ambient'
lighttpd_case ambient 80 -- $AS_NOBODY "$PB" -a -d {LIGHTTPD} -- -D -f '{conf}'
run_case plain timeout 15 $AS_NOBODY "$PB" -p 4001 -d {LIGHTTPD} -- -D -f '{conf}'"#,
            conf = conf.display()
        ),
    );

    let ambient = Case::read(&sandbox, "ambient");
    assert_eq!(ambient.status, Some(0), "{}", ambient.context());
    assert_eq!(ambient.stderr, "", "{}", ambient.context());
    assert_eq!(out_file(&sandbox, "ambient.80"), format!("200 {PAGE}"));
    let status = out_file(&sandbox, "ambient.status");
    assert!(
        status.contains("Uid:\t65534\t65534\t65534\t65534\n")
            && status.contains("Gid:\t65534\t65534\t65534\t65534\n")
            && status.contains("CapAmb:\t0000000000000400\n"),
        "lighttpd ran with\n{status}"
    );
    assert_eq!(
        out_file(&sandbox, "ambient.pidfile").trim(),
        out_file(&sandbox, "ambient.pid").trim()
    );

    let plain = Case::read(&sandbox, "plain");
    let log = fs::read_to_string(sandbox.dir().join("run/ambient.log")).unwrap_or_default();
    assert!(
        !matches!(plain.status, Some(0) | Some(124) | None),
        "lighttpd started without -a: {}",
        plain.context()
    );
    assert!(
        format!("{}{log}", plain.stderr)
            .contains("can't bind to socket: 127.0.0.1:80: Permission denied"),
        "no bind error from lighttpd: {}\nlog:\n{log}",
        plain.context()
    );
    sandbox.assert_no_leftovers();
}

#[test]
fn ambient_hands_the_probe_exactly_net_bind_service() {
    if !common::root_or_skip("ambient_hands_the_probe_exactly_net_bind_service") {
        return;
    }
    let sandbox = sandbox();
    // Root needs no policy: the first case runs before the file exists.
    // pbnoamb's rule has no `ambient`, yet is valid: without -a it works.
    run(
        &sandbox,
        r#"[ ! -e /etc/portbind.conf ] || exit 3
run_case root "$PB" -a -u nobody -d "$PROBE"
add_account pbnoamb 4301
write_policy 'permit nobody port 23 ambient' 'permit pbnoamb port 23'
run_case alone $AS_NOBODY "$PB" -a -d "$PROBE"
run_case port $AS_NOBODY "$PB" -a -p 23 -d "$PROBE"
run_case no_rule as_user 4301 4301 "$PB" -a -p 23 -d "$PROBE"
run_case no_rule_alone as_user 4301 4301 "$PB" -a -d "$PROBE"
run_case rule_without_a as_user 4301 4301 "$PB" -p 23 -d "$PROBE""#,
    );

    for name in ["root", "alone"] {
        let report = Case::read(&sandbox, name).report();
        assert_only_net_bind_service(&report);
        assert_nobody(&report);
        assert_eq!(report.get("no_new_privs"), Some("0"), "{name}");
        assert_eq!(report.fds(), [0, 1, 2], "{name}: no socket without -p");
    }

    let report = Case::read(&sandbox, "port").report();
    assert_only_net_bind_service(&report);
    assert_nobody(&report);
    assert_eq!(report.fds(), [0, 1, 2, 6]);
    assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 23"));
    assert_eq!(report.get("listen.6"), Some("0"));
    assert_eq!(report.get("cloexec.6"), Some("0"));

    Case::read(&sandbox, "no_rule").assert_refused(&[
        "portbind: pbnoamb (uid 4301) may not ",
        "bind 0.0.0.0:23, ",
        "cap_net_bind_service",
        "no rule in /etc/portbind.conf permits it",
    ]);
    Case::read(&sandbox, "no_rule_alone").assert_refused(&[
        "portbind: pbnoamb (uid 4301) may not grant ",
        "cap_net_bind_service: no rule in /etc/portbind.conf permits it",
    ]);
    let report = Case::read(&sandbox, "rule_without_a").report();
    assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 23"));
    assert_eq!(report.get("uid"), Some("4301,4301,4301"));
    assert_no_capability(&report);
    sandbox.assert_no_leftovers();
}

#[test]
fn mixed_addresses_keep_the_p_order_and_families() {
    if !common::root_or_skip("mixed_addresses_keep_the_p_order_and_families") {
        return;
    }
    let sandbox = sandbox();
    run(
        &sandbox,
        r#"write_policy 'permit nobody port 23,80'
run_case mixed $AS_NOBODY "$PB" -p 127.0.0.1:23 -p '[::1]:23' -p 80 -i :: -d "$PROBE""#,
    );

    let report = Case::read(&sandbox, "mixed").report();
    assert_eq!(report.fds(), [0, 1, 2, 6, 7, 8]);
    assert_eq!(report.get("sock.6"), Some("inet 127.0.0.1 23"));
    assert_eq!(report.get("v6only.6"), None, "fd 6 is IPv4");
    assert_eq!(report.get("sock.7"), Some("inet6 ::1 23"));
    assert_eq!(report.get("v6only.7"), Some("1"), "a specific IPv6 address");
    assert_eq!(report.get("sock.8"), Some("inet6 :: 80"));
    assert_eq!(report.get("v6only.8"), Some("0"), ":: is dual-stack");
    for fd in 6..=8 {
        assert_eq!(report.get(&format!("listen.{fd}")), Some("0"), "fd {fd}");
        assert_eq!(report.get(&format!("cloexec.{fd}")), Some("0"), "fd {fd}");
        assert_eq!(report.get(&format!("reuseaddr.{fd}")), Some("1"), "fd {fd}");
        assert_eq!(report.get(&format!("reuseport.{fd}")), Some("0"), "fd {fd}");
    }
    assert_nobody(&report);
    assert_no_capability(&report);
    sandbox.assert_no_leftovers();
}

#[test]
fn file_capability_install_binds_but_never_changes_account() {
    if !common::root_or_skip("file_capability_install_binds_but_never_changes_account") {
        return;
    }
    let sandbox = sandbox();
    let fcap_dir = sandbox.dir().join("fcap");
    fs::create_dir(&fcap_dir).expect("mkdir fcap");
    let fcap = fcap_dir.join("portbind");
    fs::copy(common::portbind_binary(), &fcap).expect("copy the release binary");
    run(
        &sandbox,
        &format!(
            r#"FCAP='{fcap}'
chown root:root "$FCAP" && chmod 0755 "$FCAP" &&
    setcap cap_net_bind_service=ep "$FCAP" || exit 3
stat -c '%a %U %G' "$FCAP" >"$OUT/fcap.stat"
getcap "$FCAP" >"$OUT/fcap.getcap"
add_account pbother 4302
write_policy 'permit nobody port 23' 'permit nobody port 23,4000 as pbother'
run_case bind $AS_NOBODY "$FCAP" -p 23 -d "$PROBE"
run_case as_root $AS_NOBODY "$FCAP" -p 23 -u root -d "$PROBE"
run_case as_other $AS_NOBODY "$FCAP" -p 23 -u pbother -d "$PROBE"
run_case as_other_4000 $AS_NOBODY "$FCAP" -p 4000 -u pbother -d "$PROBE"
run_case nnp $AS_NOBODY setpriv --no-new-privs "$FCAP" -p 23 -d "$PROBE""#,
            fcap = fcap.display()
        ),
    );
    assert_eq!(out_file(&sandbox, "fcap.stat"), "755 root root\n");
    assert!(
        out_file(&sandbox, "fcap.getcap").contains("cap_net_bind_service=ep"),
        "{}",
        out_file(&sandbox, "fcap.getcap")
    );

    let report = Case::read(&sandbox, "bind").report();
    assert_eq!(report.fds(), [0, 1, 2, 6]);
    assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 23"));
    assert_eq!(report.get("listen.6"), Some("0"));
    assert_nobody(&report);
    assert_no_capability(&report);

    // Root is never a target for a non-root invoker, whatever the install.
    Case::read(&sandbox, "as_root").assert_refused(&[
        "portbind: nobody (uid 65534) may not ",
        "run the driver as root (uid 0, gid 0",
    ]);
    // The policy permits these; the install cannot change accounts.
    Case::read(&sandbox, "as_other").assert_refused(&[
        "run the driver as another account",
        "installed with cap_net_bind_service only, not setuid root",
    ]);
    Case::read(&sandbox, "as_other_4000").assert_refused(&[
        "portbind: cannot run the driver as another account: ",
        "installed with cap_net_bind_service only, not setuid root",
    ]);
    Case::read(&sandbox, "nnp").assert_refused(&["portbind: cannot ", "no_new_privs"]);
    sandbox.assert_no_leftovers();
    common::assert_no_leftovers(&fcap);
}

#[test]
fn no_new_privs_refuses_the_setuid_install_before_binding() {
    if !common::root_or_skip("no_new_privs_refuses_the_setuid_install_before_binding") {
        return;
    }
    let sandbox = sandbox();
    // The traced control run without no_new_privs shows that the trace
    // does record portbind's bind.
    run(
        &sandbox,
        r#"write_policy 'permit nobody port 23'
run_case nnp $AS_NOBODY setpriv --no-new-privs "$PB" -p 23 -d "$PROBE"
run_case nnp_traced strace -f -q -e trace=socket,bind,listen -e signal=none \
    -o "$OUT/nnp.trace" $AS_NOBODY setpriv --no-new-privs "$PB" -p 23 -d "$PROBE"
run_case control_traced strace -f -q -e trace=socket,bind,listen -e signal=none \
    -o "$OUT/control.trace" $AS_NOBODY "$PB" -p 23 -d "$PROBE""#,
    );

    for name in ["nnp", "nnp_traced"] {
        Case::read(&sandbox, name)
            .assert_refused(&["portbind: cannot bind a privileged port: ", "no_new_privs"]);
    }
    let trace = out_file(&sandbox, "nnp.trace");
    for call in ["AF_INET", "bind(", "listen("] {
        assert!(!trace.contains(call), "{call} under no_new_privs:\n{trace}");
    }
    assert!(trace.contains("+++ exited with 77 +++"), "{trace}");

    let report = Case::read(&sandbox, "control_traced").report();
    assert_eq!(report.get("sock.6"), Some("inet 0.0.0.0 23"));
    let control = out_file(&sandbox, "control.trace");
    assert!(
        control.contains("bind(") && control.contains("sin_port=htons(23)"),
        "the trace misses the control run's bind:\n{control}"
    );
    sandbox.assert_no_leftovers();
}
