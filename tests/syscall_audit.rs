//! The syscall audit: the setuid binary traced from start to execve, its
//! system calls compared with the sequences written down in
//! tests/syscalls/*.expected, and what the calls do checked against the
//! rules of portbind(8) (see tests/syscalls/README.md).

mod common;

use common::{stderr_str, Sandbox};
use std::fs;
use std::path::Path;

/// One traced call: `name(args) = result`.
#[derive(Debug)]
struct Call {
    name: String,
    args: String,
    result: String,
}

impl Call {
    fn failed(&self) -> bool {
        self.result.starts_with('-')
    }
}

/// Parses strace output (one process, no -f) up to and including the
/// execve of `driver` (or to the end).
fn parse_trace(text: &str, driver: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    for line in text.lines() {
        if line.starts_with("+++") || line.starts_with("---") {
            continue;
        }
        let Some(open) = line.find('(') else { continue };
        let name = line[..open].trim().to_string();
        // strace pads the result: `name(args)     = result`.
        let (args, result) = match line.rfind(" = ") {
            Some(eq) => {
                let args = line[open + 1..eq].trim_end();
                let args = args.strip_suffix(')').unwrap_or(args);
                (args.to_string(), line[eq + 3..].to_string())
            }
            None => (line[open + 1..].to_string(), String::new()),
        };
        let is_driver_exec = name == "execve" && args.starts_with(&format!("\"{driver}\""));
        calls.push(Call { name, args, result });
        if is_driver_exec {
            break;
        }
    }
    // The first call is strace's own execve of portbind.
    assert_eq!(calls.first().map(|c| c.name.as_str()), Some("execve"));
    calls.remove(0);
    calls
}

/// One element of an expected pattern: any of `names`, between `min` and
/// `max` times.
#[derive(Debug)]
struct Item {
    names: Vec<String>,
    min: usize,
    max: usize,
}

struct Step {
    name: String,
    items: Vec<Item>,
}

fn parse_expected(text: &str) -> Vec<Step> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next().unwrap().to_string();
            let items = words
                .map(|word| {
                    let (body, min, max) = match word.as_bytes().last() {
                        Some(b'?') => (&word[..word.len() - 1], 0, 1),
                        Some(b'*') => (&word[..word.len() - 1], 0, usize::MAX),
                        Some(b'+') => (&word[..word.len() - 1], 1, usize::MAX),
                        _ => (word, 1, 1),
                    };
                    let body = body.trim_start_matches('(').trim_end_matches(')');
                    let names = body.split('|').map(str::to_string).collect();
                    Item { names, min, max }
                })
                .collect();
            Step { name, items }
        })
        .collect()
}

/// Matches `calls` against the items; returns the step each call fell in.
fn match_steps(calls: &[&Call], steps: &[Step]) -> Option<Vec<String>> {
    let items: Vec<(&Item, &str)> = steps
        .iter()
        .flat_map(|s| s.items.iter().map(move |i| (i, s.name.as_str())))
        .collect();
    fn go(calls: &[&Call], items: &[(&Item, &str)], out: &mut Vec<String>) -> bool {
        let Some(((item, step), rest)) = items.split_first() else {
            return calls.is_empty();
        };
        let fits = |c: &&Call| item.names.contains(&c.name);
        let run = calls.iter().take_while(|c| fits(c)).count().min(item.max);
        for take in (item.min..=run).rev() {
            let mark = out.len();
            out.extend(std::iter::repeat_n(step.to_string(), take));
            if go(&calls[take..], rest, out) {
                return true;
            }
            out.truncate(mark);
        }
        false
    }
    let mut out = Vec::new();
    go(calls, &items, &mut out).then_some(out)
}

const MEMORY: [&str; 4] = ["brk", "mmap", "munmap", "mremap"];

/// What portbind may open or stat while privileged: the account database,
/// the policy file and the directories above it, the unprivileged-port
/// sysctl, /dev/null for closed stdio, /dev/tty (opened with O_NOCTTY and
/// closed at once, to learn whether there is a controlling terminal), and
/// nscd's socket.
const ALLOWED_PATHS: [&str; 9] = [
    "/dev/tty",
    "/",
    "/etc",
    "/etc/passwd",
    "/etc/group",
    "/etc/portbind.conf",
    "/proc/sys/net/ipv4/ip_unprivileged_port_start",
    "/dev/null",
    "/var/run/nscd/socket",
];

/// Checks a trace against an expected file and portbind(8)'s rules; returns
/// a description of every problem.
fn audit(trace: &str, driver: &str, expected_file: &str, refused: bool) -> Vec<String> {
    let calls = parse_trace(trace, driver);
    let expected = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/syscalls")
            .join(expected_file),
    )
    .unwrap();
    let mut problems = Vec::new();

    for call in calls.iter().filter(|c| MEMORY.contains(&c.name.as_str())) {
        let anonymous = call.name != "mmap"
            || (call.args.contains("MAP_ANONYMOUS") && call.args.contains("MAP_PRIVATE"));
        if !anonymous || call.args.contains("PROT_EXEC") {
            problems.push(format!("memory call maps a file or code: {call:?}"));
        }
    }
    let flow: Vec<&Call> = calls
        .iter()
        .filter(|c| !MEMORY.contains(&c.name.as_str()))
        .collect();
    let steps = parse_expected(&expected);
    match match_steps(&flow, &steps) {
        Some(_) => {}
        None => problems.push(format!(
            "sequence differs from {expected_file}:\n  traced: {}",
            flow.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }

    let drop_at = flow
        .iter()
        .position(|c| c.name == "setresuid" && !c.failed())
        .unwrap_or(flow.len());
    for call in &flow[..drop_at] {
        if matches!(
            call.name.as_str(),
            "open" | "openat" | "connect" | "stat" | "access"
        ) {
            let path = call.args.split('"').nth(1).unwrap_or("");
            if !ALLOWED_PATHS.contains(&path) {
                problems.push(format!("opened {path:?} while privileged: {call:?}"));
            }
        }
        if call.args.contains(driver) {
            problems.push(format!("touched the driver while privileged: {call:?}"));
        }
        let stdio_write = matches!(call.name.as_str(), "write" | "writev")
            && ["0,", "1,", "2,"]
                .iter()
                .any(|fd| call.args.starts_with(fd));
        if stdio_write && !(refused && call.args.starts_with("2,")) {
            problems.push(format!("wrote to stdio while privileged: {call:?}"));
        }
    }
    for call in flow.iter().skip(drop_at + 1) {
        let privileged = matches!(
            call.name.as_str(),
            "setresuid" | "setresgid" | "setgroups" | "setuid" | "setgid" | "capset" | "prctl"
        );
        let regains = privileged && call.name != "prctl" && call.name != "capset" && !call.failed();
        if regains {
            problems.push(format!("identity changed after the drop: {call:?}"));
        }
        if call.name == "prctl" && !call.args.starts_with("PR_GET") {
            problems.push(format!("prctl other than a read after the drop: {call:?}"));
        }
        if matches!(call.name.as_str(), "socket" | "bind" | "listen") {
            problems.push(format!("socket work after the drop: {call:?}"));
        }
    }
    if !refused {
        let exec_at = flow.iter().position(|c| c.name == "execve");
        if exec_at.is_none_or(|e| e < drop_at) {
            problems.push(String::from("the driver was not executed after the drop"));
        }
    }
    problems
}

/// Runs `script` (which leaves strace's output in $OUT/trace and the exit
/// status in $OUT/status), checks the status, and audits the trace
/// against `expected`.
fn check_traced(script: &str, status: i32, expected: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&format!("{script}\necho $? > \"$OUT/status\""));
    let read = |name: &str| fs::read_to_string(sandbox.out().join(name)).unwrap_or_default();
    assert_eq!(
        read("status").trim(),
        status.to_string(),
        "{}",
        stderr_str(&output)
    );
    let trace = read("trace");
    let probe = sandbox.probe().to_str().unwrap();
    let problems = audit(&trace, probe, expected, status != 0);
    assert!(
        problems.is_empty(),
        "{}\n\ntrace:\n{trace}",
        problems.join("\n")
    );
    sandbox.assert_no_leftovers();
    sandbox
}

#[test]
fn root_with_numeric_ids_follows_the_written_sequence() {
    if !common::root_or_skip("root_with_numeric_ids_follows_the_written_sequence") {
        return;
    }
    check_traced(
        r#"strace -o "$OUT/trace" "$PB" -p 23 -u 65534 -g 65534 -d "$PROBE" >/dev/null"#,
        0,
        "root-numeric.expected",
    );
}

#[test]
fn unprivileged_invoker_with_policy_follows_the_written_sequence() {
    if !common::root_or_skip("unprivileged_invoker_with_policy_follows_the_written_sequence") {
        return;
    }
    check_traced(
        r#"echo 'permit nobody port 23' > /etc/portbind.conf
strace -u nobody -o "$OUT/trace" "$PB" -p 23 -d "$PROBE" >/dev/null"#,
        0,
        "policy-nobody.expected",
    );
}

#[test]
fn refusal_writes_one_line_and_exits_without_binding() {
    if !common::root_or_skip("refusal_writes_one_line_and_exits_without_binding") {
        return;
    }
    let sandbox = check_traced(
        r#"strace -u nobody -o "$OUT/trace" "$PB" -p 23 -d "$PROBE" 2>"$OUT/stderr""#,
        77,
        "refused.expected",
    );
    let stderr = fs::read_to_string(sandbox.out().join("stderr")).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn the_matcher_rejects_a_reordered_trace() {
    let steps = parse_expected("a x y\nb z+ w?\n");
    let call = |name: &str| Call {
        name: name.to_string(),
        args: String::new(),
        result: "0".to_string(),
    };
    let good = [call("x"), call("y"), call("z"), call("z"), call("w")];
    let good: Vec<&Call> = good.iter().collect();
    assert!(match_steps(&good, &steps).is_some());
    let reordered = [call("y"), call("x"), call("z")];
    let reordered: Vec<&Call> = reordered.iter().collect();
    assert!(match_steps(&reordered, &steps).is_none());
    let extra = [call("x"), call("y"), call("z"), call("socket")];
    let extra: Vec<&Call> = extra.iter().collect();
    assert!(match_steps(&extra, &steps).is_none());
}
