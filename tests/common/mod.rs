//! Shared helpers for the integration tests: each `tests/*.rs` says
//! `mod common;`.
//!
//! The tests run the real release binary as a real setuid-root program.
//! [`Sandbox`] installs it with `hardening/install` into a fresh directory
//! under /tmp, and [`Sandbox::run`] runs a shell script against it inside
//! private network and mount namespaces, with a private overlay on /etc,
//! so that ports, accounts and the policy file never touch the host. The
//! probe driver (`tests/probe/probe.c`) records what portbind handed it as
//! `key=value` lines, read back with [`Report`].
#![allow(dead_code)]

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The only PATH a sandbox script starts with.
pub const SANDBOX_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// A sandbox script that runs longer is killed, with all its process group,
/// and the test fails: a hung portbind must not hang the test run.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Status of a script whose sandbox could not be set up (the prelude
/// failed); [`Sandbox::run`] turns it into a panic.
const SETUP_FAILED: i32 = 125;
const SETUP_TAG: &str = "portbind-sandbox:";

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// True when the test runs with euid 0. Otherwise the test cannot run: in
/// CI (`CI=true`) that is a failure, elsewhere it prints
/// `SKIPPED <test>: needs root` and returns false.
pub fn root_or_skip(test: &str) -> bool {
    if effective_uid() == 0 {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: needs root, and CI=true: run the integration tests as root in CI");
    }
    eprintln!("SKIPPED {test}: needs root");
    false
}

fn effective_uid() -> u32 {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .expect("no effective uid in /proc/self/status")
}

/// The portbind binary cargo built for these tests (the release build
/// under `cargo test --release`).
pub fn portbind_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_portbind"))
}

/// The probe driver, compiled once per test process into
/// `CARGO_TARGET_TMPDIR`. Panics with the compiler's output if it fails.
pub fn probe() -> PathBuf {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(compile_probe).clone()
}

fn compile_probe() -> PathBuf {
    compile_static_c("tests/probe/probe.c", "probe")
}

/// Compiles the C file at `source` (relative to the repository) into a
/// static program called `name` in `CARGO_TARGET_TMPDIR`, and returns its
/// path. Panics with the compiler's output if it fails.
pub fn compile_static_c(source: &str, name: &str) -> PathBuf {
    let source = Path::new(REPO).join(source);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let built = dir.join(format!("{name}.{}", std::process::id()));
    let output = Command::new("cc")
        .args(["-static", "-O2", "-Wall", "-o"])
        .arg(&built)
        .arg(&source)
        .output()
        .expect("run cc");
    if !output.status.success() {
        panic!(
            "cannot build {name} ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // Test binaries may run at the same time; each renames its own build
    // over the shared name, so nobody ever sees a half-written program.
    let program = dir.join(name);
    fs::rename(&built, &program).expect("rename the program into place");
    program
}

/// A fresh directory under /tmp holding an installed setuid portbind, a
/// copy of the probe and a world-writable results directory; removed on
/// drop. Creating one needs root.
///
/// Layout: `prefix/bin/portbind` (root:nogroup, 4750, installed by
/// `hardening/install`), `probe` (0755), `out/` (1777), `etc/upper` and
/// `etc/work` (the /etc overlay: changes to /etc persist across the runs of
/// one sandbox, and never reach the host), `dev.stage/` (the private /dev
/// of [`Sandbox::run_with_devlog`]).
pub struct Sandbox {
    dir: PathBuf,
    bin: PathBuf,
    probe: PathBuf,
    out: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = make_unique_dir();
        let sandbox = Sandbox {
            bin: dir.join("prefix/bin/portbind"),
            probe: dir.join("probe"),
            out: dir.join("out"),
            dir,
        };
        // From here on a failure still removes the directory (Drop).
        sandbox.install_portbind();

        fs::copy(probe(), &sandbox.probe).expect("copy the probe");
        set_mode(&sandbox.probe, 0o755);
        for sub in ["out", "etc", "etc/upper", "etc/work", "dev.stage"] {
            let path = sandbox.dir.join(sub);
            fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
            set_mode(&path, 0o755);
        }
        set_mode(&sandbox.out, 0o1777);
        fs::write(sandbox.dir.join("devlog.py"), DEVLOG_LISTENER).expect("write devlog.py");
        sandbox
    }

    fn install_portbind(&self) {
        let output = Command::new(Path::new(REPO).join("hardening/install"))
            .arg("--prefix")
            .arg(self.dir.join("prefix"))
            .args(["--group", "nogroup"])
            .arg(portbind_binary())
            .stdin(Stdio::null())
            .output()
            .expect("run hardening/install");
        if !output.status.success() {
            panic!(
                "hardening/install failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// The sandbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The installed setuid portbind (`$PB` in scripts).
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The sandbox's copy of the probe driver (`$PROBE` in scripts).
    pub fn probe(&self) -> &Path {
        &self.probe
    }

    /// The results directory, mode 1777 (`$OUT` in scripts).
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Runs `script` with `sh` (dash) as root, inside new network and mount
    /// namespaces, under a clean environment, stdin on /dev/null.
    ///
    /// Before the script: `set -u`; loopback is up; /etc is a private
    /// overlay, so the script may append to /etc/passwd and /etc/group and
    /// write /etc/portbind.conf. The script runs in a subshell, so `exit`
    /// and `exec` in it are fine. It sees, exported:
    /// - `PB` the installed portbind, `PROBE` the probe, `OUT` the results
    ///   directory, `SANDBOX` the sandbox directory, `PATH` = [`SANDBOX_PATH`];
    /// - `AS_NOBODY`: `setpriv --reuid=65534 --regid=65534 --groups=65534 --`,
    ///   to be used unquoted (`$AS_NOBODY "$PB" -p 4000 ...`). The binary is
    ///   root:nogroup 4750, so an invoker must carry group 65534 to run it;
    ///
    /// and a shell function `as_user UID GID CMD...`, which runs CMD with
    /// real and effective ids UID/GID and supplementary groups GID,65534.
    ///
    /// These variables are in the invoker's environment, so portbind sees
    /// them too (and must not pass them on). Anything the script leaves
    /// running in the background that holds stdout or stderr delays the
    /// return until it exits; after [`SCRIPT_TIMEOUT`] the script's whole
    /// process group is killed and this panics.
    pub fn run(&self, script: &str) -> Output {
        self.run_prepared(RUN_PRELUDE, script, "")
    }

    /// Like [`Sandbox::run`], and /dev is a private tmpfs holding bind
    /// mounts of the host's null, zero, full, random, urandom, tty, ptmx
    /// and pts, the usual fd/stdin/stdout/stderr links, an empty shm, and
    /// at /dev/log (mode 0666) a datagram socket whose listener records
    /// every datagram. Returns the datagrams in the order they arrived: the
    /// syslog lines portbind sent, byte for byte.
    pub fn run_with_devlog(&self, script: &str) -> (Output, Vec<Vec<u8>>) {
        let log = self.dir.join("devlog.bin");
        for stale in ["devlog.bin", "devlog.ready", "devlog.done", "devlog.err"] {
            remove_if_present(&self.dir.join(stale));
        }
        // The stop token is a shell variable, not exported: portbind and
        // the driver never see it.
        let prelude = format!(
            "{RUN_PRELUDE}__devlog_stop='{}'\n{DEVLOG_PRELUDE}",
            stop_token()
        );
        let output = self.run_prepared(&prelude, script, DEVLOG_EPILOGUE);
        let bytes = fs::read(&log).unwrap_or_default();
        (output, split_datagrams(&bytes))
    }

    fn run_prepared(&self, prelude: &str, script: &str, epilogue: &str) -> Output {
        let full =
            format!("{prelude}(\n:\n{script}\n)\n__status=$?\n{epilogue}exit \"$__status\"\n");
        let start = Instant::now();
        let mut command = Command::new("unshare");
        // SAFETY: the hook runs in the forked child before exec and makes
        // only raw system calls, which are async-signal-safe.
        unsafe { command.pre_exec(clean_process_state) };
        let output = command
            .args(["--net", "--mount", "--propagation", "private", "--"])
            .args(["timeout", "--kill-after=5"])
            .arg(SCRIPT_TIMEOUT.as_secs().to_string())
            .args(["sh", "-c", &full])
            .env_clear()
            .env("PATH", SANDBOX_PATH)
            .env("PB", &self.bin)
            .env("PROBE", &self.probe)
            .env("OUT", &self.out)
            .env("SANDBOX", &self.dir)
            .env(
                "AS_NOBODY",
                "setpriv --reuid=65534 --regid=65534 --groups=65534 --",
            )
            .stdin(Stdio::null())
            .output()
            .expect("run unshare");

        let code = output.status.code();
        let stderr = stderr_str(&output);
        if code == Some(SETUP_FAILED) && stderr.contains(SETUP_TAG) {
            panic!("sandbox setup failed:\n{stderr}");
        }
        if matches!(code, Some(124) | Some(137)) && start.elapsed() >= SCRIPT_TIMEOUT {
            panic!(
                "sandbox script timed out after {:?}; stdout:\n{}\nstderr:\n{stderr}",
                SCRIPT_TIMEOUT,
                String::from_utf8_lossy(&output.stdout)
            );
        }
        output
    }

    /// Panics if a process is still running the sandbox's portbind.
    pub fn assert_no_leftovers(&self) {
        assert_no_leftovers(&self.bin);
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("warning: cannot remove {}: {e}", self.dir.display());
        }
    }
}

/// Runs in the child before exec, so that every script starts from the
/// same state whoever ran `cargo test` and however: only fds 0-2 open, and
/// every signal's disposition SIG_DFL (std already empties the mask).
fn clean_process_state() -> std::io::Result<()> {
    // Whatever the test process inherited without close-on-exec (a CI
    // runner's or a terminal's fds) would otherwise reach the driver.
    // Marked close-on-exec rather than closed: std's own exec-error pipe
    // is among them.
    // SAFETY: close_range takes no pointers; the range covers fds >= 3.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    reset_signal_dispositions();
    Ok(())
}

/// Sets every signal's disposition to SIG_DFL (`nohup cargo test` would
/// otherwise hand every script an ignored SIGHUP).
///
/// It matters most for signals 32 and 33: this test process is a musl
/// program, and musl's posix_spawn sets its internal signals 32-34 to
/// SIG_IGN in the child when the parent has handlers for them. The
/// ignore survives exec, and glibc programs (sh, setpriv, the probe)
/// cannot undo it because glibc reserves 32 and 33 itself: every driver
/// would report them ignored. The libc wrappers refuse these numbers too,
/// hence the raw system call. Having a pre_exec hook at all also makes std
/// use fork and exec rather than posix_spawn.
fn reset_signal_dispositions() {
    // struct kernel_sigaction: handler, flags, restorer, mask; all zero is
    // SIG_DFL with no flags and an empty mask on x86_64 and aarch64.
    let default = [0u64; 4];
    for signal in 1..=64 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: `default` outlives the call and is at least as large as
        // the kernel's struct sigaction; the old action is not requested;
        // 8 is the kernel's sigset size on Linux x86_64 and aarch64.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                default.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8usize,
            )
        };
    }
}

/// The datagram that stops the /dev/log listener: unique enough that
/// nothing portbind logs can stop it early by accident. Letters, digits and
/// dashes only, so it can sit in single quotes in the script.
fn stop_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("portbind-sandbox-stop-{}-{nanos}", std::process::id())
}

fn make_unique_dir() -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    loop {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = PathBuf::from(format!(
            "/tmp/portbind-test.{}.{n}.{nanos:08x}",
            std::process::id()
        ));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                set_mode(&dir, 0o755);
                return dir;
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("mkdir {}: {e}", dir.display()),
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

fn remove_if_present(path: &Path) {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            panic!("rm {}: {e}", path.display())
        }
        _ => {}
    }
}

/// Set-up shared by every run. A failure here exits with SETUP_FAILED and
/// SETUP_TAG, which run_prepared turns into a panic: the script must never
/// run against the host's /etc.
const RUN_PRELUDE: &str = r#"set -u
__setup_failed() { echo "portbind-sandbox: $*" >&2; exit 125; }
ip link set lo up || __setup_failed "cannot bring up lo"
mount -t overlay portbind-etc \
    -o "lowerdir=/etc,upperdir=$SANDBOX/etc/upper,workdir=$SANDBOX/etc/work" /etc ||
    __setup_failed "cannot mount the /etc overlay"
[ "$(stat -f -c %T /etc)" = overlayfs ] || __setup_failed "/etc is not the private overlay"
as_user() {
    local __uid="$1" __gid="$2"
    shift 2
    setpriv --reuid="$__uid" --regid="$__gid" --groups="$__gid,65534" -- "$@"
}
"#;

/// Builds the private /dev on a staging tmpfs and moves it over /dev, then
/// starts the /dev/log listener and waits until it is bound.
const DEVLOG_PRELUDE: &str = r#"__stage="$SANDBOX/dev.stage"
mount -t tmpfs -o mode=0755,nosuid,size=1m portbind-dev "$__stage" ||
    __setup_failed "cannot mount the /dev tmpfs"
for __dev in null zero full random urandom tty ptmx; do
    : >"$__stage/$__dev" && mount --bind "/dev/$__dev" "$__stage/$__dev" ||
        __setup_failed "cannot bind /dev/$__dev"
done
mkdir "$__stage/pts" "$__stage/shm" && chmod 1777 "$__stage/shm" &&
    mount --bind /dev/pts "$__stage/pts" || __setup_failed "cannot bind /dev/pts"
ln -s /proc/self/fd "$__stage/fd" && ln -s /proc/self/fd/0 "$__stage/stdin" &&
    ln -s /proc/self/fd/1 "$__stage/stdout" && ln -s /proc/self/fd/2 "$__stage/stderr" ||
    __setup_failed "cannot create the /dev links"
mount --move "$__stage" /dev || __setup_failed "cannot move the tmpfs onto /dev"
/usr/bin/python3 -I "$SANDBOX/devlog.py" listen "$SANDBOX" "$__devlog_stop" \
    </dev/null >/dev/null 2>"$SANDBOX/devlog.err" &
__devlog_pid=$!
__tries=0
until [ -e "$SANDBOX/devlog.ready" ]; do
    __tries=$((__tries + 1))
    [ "$__tries" -le 400 ] && [ ! -e "$SANDBOX/devlog.done" ] ||
        __setup_failed "the /dev/log listener did not start: $(cat "$SANDBOX/devlog.err")"
    sleep 0.025
done
"#;

/// Stops the listener after the script: the stop datagram queues behind
/// everything sent before it, so nothing is lost. Only if it does not stop
/// in time is it killed, by its pid.
const DEVLOG_EPILOGUE: &str = r#"/usr/bin/python3 -I "$SANDBOX/devlog.py" stop "$SANDBOX" "$__devlog_stop" \
    2>>"$SANDBOX/devlog.err"
__tries=0
until [ -e "$SANDBOX/devlog.done" ] || [ "$__tries" -ge 200 ]; do
    __tries=$((__tries + 1))
    sleep 0.025
done
[ -e "$SANDBOX/devlog.done" ] || kill "$__devlog_pid" 2>/dev/null
wait "$__devlog_pid" 2>/dev/null
"#;

/// The /dev/log listener. Each datagram is appended to devlog.bin as a
/// 4-byte little-endian length and the bytes.
const DEVLOG_LISTENER: &str = r#"import os, socket, struct, sys

mode, sandbox, stop = sys.argv[1], sys.argv[2], sys.argv[3].encode()
if mode == "stop":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(stop, "/dev/log")
    sys.exit(0)

s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
try:
    with open(os.path.join(sandbox, "devlog.bin"), "ab", buffering=0) as log:
        open(os.path.join(sandbox, "devlog.ready"), "w").close()
        while True:
            data = s.recv(1 << 20)
            if data == stop:
                break
            log.write(struct.pack("<I", len(data)) + data)
finally:
    open(os.path.join(sandbox, "devlog.done"), "w").close()
"#;

fn split_datagrams(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut datagrams = Vec::new();
    while bytes.len() >= 4 {
        let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let Some(data) = bytes.get(4..4 + len) else {
            panic!("devlog.bin is truncated");
        };
        datagrams.push(data.to_vec());
        bytes = &bytes[4 + len..];
    }
    assert!(bytes.is_empty(), "devlog.bin has trailing bytes");
    datagrams
}

/// Panics if a process is still running `installed` (a portbind that did
/// not exit or exec). Only looks at /proc/*/exe; never kills anything.
pub fn assert_no_leftovers(installed: &Path) {
    let wanted = installed.as_os_str().as_encoded_bytes();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("read /proc").flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        // Gone, a kernel thread, or a zombie: nothing is running there.
        let Ok(exe) = fs::read_link(entry.path().join("exe")) else {
            continue;
        };
        let exe = exe.as_os_str().as_encoded_bytes();
        if exe == wanted || exe.strip_suffix(b" (deleted)") == Some(wanted) {
            found.push(pid.to_string());
        }
    }
    assert!(
        found.is_empty(),
        "{} is still running as pid {}",
        installed.display(),
        found.join(", ")
    );
}

/// stderr of a run, lossily decoded.
pub fn stderr_str(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// stdout of a run, lossily decoded.
pub fn stdout_str(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The exit status, or None when a signal ended the process.
pub fn status_code(output: &Output) -> Option<i32> {
    output.status.code()
}

/// A probe report: the `key=value` lines up to and including `end=1`.
/// Values stay as the probe escaped them (ASCII; `\xHH` for bytes outside
/// 0x21..0x7e and for `\`); [`unescape`] gives the bytes back.
#[derive(Debug, Clone, Default)]
pub struct Report {
    entries: Vec<(String, String)>,
}

impl Report {
    /// The first report in `bytes`. Lines without `=` are ignored.
    pub fn parse(bytes: &[u8]) -> Report {
        Report::parse_all(bytes)
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// Every report in `bytes`, for scripts that run the probe more than
    /// once into the same stdout. A report missing its `end=1` comes last.
    pub fn parse_all(bytes: &[u8]) -> Vec<Report> {
        let mut reports = Vec::new();
        let mut current = Report::default();
        for line in String::from_utf8_lossy(bytes).lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            current.entries.push((key.to_string(), value.to_string()));
            if key == "end" {
                reports.push(std::mem::take(&mut current));
            }
        }
        if !current.entries.is_empty() {
            reports.push(current);
        }
        reports
    }

    /// True when the report ends with `end=1`: the probe got to the end.
    pub fn is_complete(&self) -> bool {
        self.get("end") == Some("1")
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order (`argv`, `env`, `fd`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of environment variable `name` (escaped), if set.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.all("env").into_iter().find_map(|entry| {
            entry
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
        })
    }

    /// The names of all environment variables, in order.
    pub fn env_names(&self) -> Vec<&str> {
        self.all("env")
            .into_iter()
            .map(|entry| entry.split_once('=').map_or(entry, |(name, _)| name))
            .collect()
    }

    /// The open fds, ascending.
    pub fn fds(&self) -> Vec<u32> {
        self.all("fd")
            .into_iter()
            .map(|fd| fd.parse().expect("fd= value is a number"))
            .collect()
    }

    /// A comma-separated list of numbers (`uid`, `gid`, `groups`,
    /// `rlimit_nofile`) as numbers; empty when the key is absent or empty.
    pub fn numbers(&self, key: &str) -> Vec<u64> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.split(',')
                    .map(|n| n.parse().expect("a decimal number"))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A capability set (`cap_prm` etc.) as a bit mask.
    pub fn caps(&self, key: &str) -> Option<u64> {
        self.get(key)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
    }
}

/// Undoes the probe's escaping: `\xHH` becomes the byte 0xHH.
pub fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes.get(i..i + 4).filter(|e| e.starts_with(b"\\x"));
        let decoded = escape
            .and_then(|e| std::str::from_utf8(&e[2..]).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// What one recorded command left in a results directory: `NAME.out`,
/// `NAME.err`, `NAME.rc`, and `NAME.pid` when the script wrote one.
pub struct Recorded {
    pub name: String,
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub pid: Option<u32>,
}

/// Reads back what the command recorded as `name` left in `out`.
pub fn recorded(out: &Path, name: &str) -> Recorded {
    let read = |ext: &str| fs::read(out.join(format!("{name}.{ext}")));
    let number = |ext: &str| {
        read(ext)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.trim().parse::<i64>().ok())
    };
    let must =
        |ext: &str| read(ext).unwrap_or_else(|e| panic!("case {name}: read {name}.{ext}: {e}"));
    Recorded {
        name: name.to_string(),
        status: number("rc").unwrap_or_else(|| panic!("case {name}: no status")) as i32,
        stdout: must("out"),
        stderr: String::from_utf8_lossy(&must("err")).into_owned(),
        pid: number("pid").map(|pid| pid as u32),
    }
}

/// Asserts that a script which ends with `echo script-done` got there
/// without a word on stderr.
pub fn assert_script_done(output: &Output) {
    assert_eq!(
        (
            status_code(output),
            stdout_str(output).as_str(),
            stderr_str(output).as_str()
        ),
        (Some(0), "script-done\n", ""),
        "the script failed"
    );
}
