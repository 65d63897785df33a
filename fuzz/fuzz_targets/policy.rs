//! The policy file: `policy::parse` with a fixed fake account database,
//! `Policy::permits` on requests built from the fuzz bytes, and
//! `policy::suggest`, whose line must permit the request it was made for.
//!
//! Input: the policy text, then optionally a NUL byte and the bytes the
//! requests are built from (so every seed is a plain policy file).

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use portbind::ids::{Gid, Uid};
use portbind::policy::{self, AccountDb, Policy, PolicyError, Ports, Request, Rule, Subject};

const MAX_ID: u32 = 4_294_967_294;

/// name, uid, primary gid. root and halt (primary group root) are there so
/// that `as root`, `as halt`, `as 0` are tried.
const USERS: [(&str, u32, u32); 8] = [
    ("alice", 1000, 1000),
    ("bob", 1001, 1001),
    ("mud", 2000, 2000),
    ("www-mud", 2001, 2001),
    ("fluff", 2002, 2002),
    ("daemon", 1, 1),
    ("root", 0, 0),
    ("halt", 7, 0),
];

const GROUPS: [(&str, u32); 12] = [
    ("games", 60),
    ("mudadmins", 500),
    ("fluffadmins", 501),
    ("alice", 1000),
    ("bob", 1001),
    ("mud", 2000),
    ("www-mud", 2001),
    ("fluff", 2002),
    ("daemon", 1),
    ("wheel", 0),
    ("root", 0),
    ("box$", 3001),
];

struct FakeDb;

impl AccountDb for FakeDb {
    fn user_by_name(&self, name: &[u8]) -> Option<(Uid, Gid)> {
        USERS
            .iter()
            .find(|(n, _, _)| n.as_bytes() == name)
            .map(|&(_, u, g)| (Uid(u), Gid(g)))
    }
    fn user_by_id(&self, uid: Uid) -> Option<Gid> {
        USERS
            .iter()
            .find(|(_, u, _)| *u == uid.0)
            .map(|&(_, _, g)| Gid(g))
    }
    fn group_by_name(&self, name: &[u8]) -> Option<Gid> {
        GROUPS
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|&(_, g)| Gid(g))
    }
}

fn lines(text: &[u8]) -> Vec<&[u8]> {
    text.split(|&b| b == b'\n').collect()
}

/// Whether a line holds a rule at all (not blank, not a comment).
fn has_rule(line: &[u8]) -> bool {
    line.split(|&b| b == b' ' || b == b'\t')
        .find(|t| !t.is_empty())
        .is_some_and(|t| t[0] != b'#')
}

fn check_rule(rule: &Rule, text_lines: &[&[u8]]) {
    if let Some((uid, gid)) = rule.target {
        assert_ne!(uid, Uid(0), "rule on line {} targets uid 0", rule.line);
        assert_ne!(gid, Gid(0), "rule on line {} targets gid 0", rule.line);
    }
    assert!(
        rule.ports.is_some() || rule.ambient,
        "rule on line {} has neither port nor ambient",
        rule.line
    );
    if let Some(Ports::List(ranges)) = &rule.ports {
        assert!(!ranges.is_empty(), "empty port list on line {}", rule.line);
        for r in ranges {
            assert!(r.first >= 1, "port 0 in a range on line {}", rule.line);
            assert!(
                r.first <= r.last,
                "reversed range {r:?} on line {}",
                rule.line
            );
        }
    }
    if rule.addr.is_some() {
        assert!(
            rule.ports.is_some(),
            "`on` without `port` on line {}",
            rule.line
        );
    }
    assert!(rule.line >= 1 && rule.line <= text_lines.len());
    let line = text_lines[rule.line - 1];
    let first = line
        .split(|&b| b == b' ' || b == b'\t')
        .find(|t| !t.is_empty());
    assert_eq!(
        first,
        Some(&b"permit"[..]),
        "rule from a line not starting with permit"
    );
    // The line read on its own gives the same rule.
    let alone = policy::parse(line, &FakeDb).expect("a rule's line fails on its own");
    assert_eq!(alone.rules.len(), 1);
    let mut same = alone.rules[0].clone();
    same.line = rule.line;
    assert_eq!(&same, rule);
}

fn check_ok(text: &[u8], policy: &Policy) {
    let text_lines = lines(text);
    let expected = text_lines.iter().filter(|l| has_rule(l)).count();
    assert_eq!(policy.rules.len(), expected, "rules lost or invented");
    let mut last = 0;
    for rule in &policy.rules {
        assert!(rule.line > last, "rules out of file order");
        last = rule.line;
        check_rule(rule, &text_lines);
    }
}

fn check_err(text: &[u8], err: &PolicyError) {
    let text_lines = lines(text);
    assert!(
        err.line >= 1 && err.line <= text_lines.len(),
        "error on line {} of a {}-line file",
        err.line,
        text_lines.len()
    );
    assert!(!err.reason.is_empty());
    assert!(
        !err.reason.contains('\n'),
        "reason spans lines: {:?}",
        err.reason
    );
    assert!(
        !err.reason.chars().any(char::is_control),
        "control character in the reason: {:?}",
        err.reason
    );
    assert!(
        err.reason.len() <= 512,
        "reason of {} bytes",
        err.reason.len()
    );
    // Everything before the reported line is fine: it is the first bad one.
    let before = text_lines[..err.line - 1].join(&b'\n');
    if let Err(e) = policy::parse(&before, &FakeDb) {
        panic!(
            "line {} reported, but line {} is already bad ({})",
            err.line, e.line, e.reason
        );
    }
    // And the line is bad on its own, for the same reason.
    let alone = policy::parse(text_lines[err.line - 1], &FakeDb)
        .expect_err("the reported line is fine on its own");
    assert_eq!(alone.line, 1);
    assert_eq!(alone.reason, err.reason);
}

// ---- requests ----

fn ip(u: &mut Unstructured) -> ArbResult<IpAddr> {
    Ok(match u.int_in_range(0..=8u8)? {
        0 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        1 => IpAddr::V4(Ipv4Addr::LOCALHOST),
        2 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
        3 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)),
        4 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        5 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        6 => IpAddr::V6(Ipv4Addr::new(192, 0, 2, 10).to_ipv6_mapped()),
        7 => IpAddr::V4(Ipv4Addr::from(u.arbitrary::<u32>()?)),
        _ => IpAddr::V6(Ipv6Addr::from(u.arbitrary::<u128>()?)),
    })
}

fn port(u: &mut Unstructured, allow_zero: bool) -> ArbResult<u16> {
    const COMMON: [u16; 9] = [23, 80, 443, 4000, 4005, 4010, 1, 1023, 65535];
    let p = if u.ratio(3, 4)? {
        *u.choose(&COMMON)?
    } else {
        u.arbitrary::<u16>()?
    };
    Ok(if p == 0 && !allow_zero { 1 } else { p })
}

fn sockets(u: &mut Unstructured, allow_zero: bool) -> ArbResult<Vec<SocketAddr>> {
    let n = u.int_in_range(0..=4u8)?;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(SocketAddr::new(ip(u)?, port(u, allow_zero)?));
    }
    Ok(out)
}

fn some_gid(u: &mut Unstructured) -> ArbResult<u32> {
    if u.ratio(7, 8)? {
        Ok(u.choose(&GROUPS)?.1)
    } else {
        Ok(u.int_in_range(0..=MAX_ID)?)
    }
}

struct Built {
    invoker: Uid,
    groups: Vec<Gid>,
    sockets: Vec<SocketAddr>,
    target: (Uid, Gid),
    target_name: Vec<u8>,
    ambient: bool,
}

impl Built {
    fn request(&self) -> Request<'_> {
        Request {
            invoker: self.invoker,
            invoker_groups: &self.groups,
            sockets: &self.sockets,
            target: self.target,
            target_name: &self.target_name,
            target_groups: &[],
            ambient: self.ambient,
        }
    }
}

fn any_request(u: &mut Unstructured) -> ArbResult<Built> {
    let (invoker, primary) = match u.int_in_range(0..=2u8)? {
        0 | 1 => {
            let (_, uid, gid) = *u.choose(&USERS)?;
            (uid, gid)
        }
        _ => (u.arbitrary::<u32>()?, u.arbitrary::<u32>()?),
    };
    let mut groups = vec![Gid(primary)];
    for _ in 0..u.int_in_range(0..=3u8)? {
        groups.push(Gid(some_gid(u)?));
    }
    let sockets = sockets(u, true)?;
    let target = match u.int_in_range(0..=2u8)? {
        0 => (Uid(invoker), *u.choose(&groups)?),
        1 => {
            let (_, uid, gid) = *u.choose(&USERS)?;
            (
                Uid(uid),
                if u.arbitrary()? {
                    Gid(gid)
                } else {
                    Gid(some_gid(u)?)
                },
            )
        }
        _ => (Uid(u.arbitrary()?), Gid(u.arbitrary()?)),
    };
    // The target's name: its passwd name, or another name for the same
    // uid (an alias), or none.
    let listed = USERS.iter().find(|(_, uid, _)| *uid == target.0 .0);
    let target_name = match (listed, u.int_in_range(0..=2u8)?) {
        (Some((name, _, _)), 0 | 1) => name.as_bytes().to_vec(),
        (_, 2) => b"alias".to_vec(),
        _ => Vec::new(),
    };
    Ok(Built {
        invoker: Uid(invoker),
        groups,
        sockets,
        target,
        target_name,
        ambient: u.arbitrary()?,
    })
}

/// What portbind(8) says a rule covers, written out on its own.
fn covers(rule: &Rule, req: &Request) -> bool {
    let is_for = match rule.subject {
        Subject::User(uid) => req.invoker == uid,
        Subject::Group(gid) => req.invoker_groups.contains(&gid),
    };
    let target = match rule.target {
        // `as NAME` is that account; `as UID` pins only the ids.
        Some(t) => {
            req.target == t
                && rule
                    .target_name
                    .as_deref()
                    .is_none_or(|name| name == req.target_name)
        }
        None => req.target.0 == req.invoker && req.invoker_groups.contains(&req.target.1),
    };
    let ambient = rule.ambient || !req.ambient;
    let sockets = req.sockets.iter().all(|s| match &rule.ports {
        Some(ports) => {
            let port_ok = match ports {
                Ports::Any => true,
                Ports::List(ranges) => ranges
                    .iter()
                    .any(|r| (r.first..=r.last).contains(&s.port())),
            };
            port_ok && rule.addr.is_none_or(|a| a == s.ip())
        }
        // "a rule with `ambient` needs no `port`": it covers any socket.
        None => rule.ambient,
    });
    is_for && target && ambient && sockets
}

fn check_permits(policy: &Policy, built: &Built) {
    let req = built.request();
    let got = policy.permits(&req);
    let want = policy.rules.iter().find(|r| covers(r, &req));
    assert_eq!(
        got.map(|r| r.line),
        want.map(|r| r.line),
        "permits() and portbind(8)'s reading disagree"
    );
    let Some(rule) = got else { return };
    if req.ambient {
        assert!(
            rule.ambient,
            "-a permitted by a rule without `ambient` (line {})",
            rule.line
        );
    }
    match &rule.ports {
        Some(ports) => {
            for s in req.sockets {
                let inside = match ports {
                    Ports::Any => true,
                    Ports::List(ranges) => ranges
                        .iter()
                        .any(|r| r.first <= s.port() && s.port() <= r.last),
                };
                assert!(inside, "socket {s} outside the ports of line {}", rule.line);
                if let Some(a) = rule.addr {
                    assert_eq!(
                        a,
                        s.ip(),
                        "socket {s} not on the address of line {}",
                        rule.line
                    );
                }
            }
        }
        None => assert!(
            req.sockets.is_empty() || rule.ambient,
            "sockets permitted by a rule with neither port nor ambient"
        ),
    }
    if let Some(t) = rule.target {
        assert_eq!(req.target, t);
        assert!(t.0 != Uid(0) && t.1 != Gid(0), "root target permitted");
    } else {
        assert_eq!(req.target.0, req.invoker, "another account without `as`");
    }
}

// ---- suggestions ----

fn check_suggestion(u: &mut Unstructured) -> ArbResult<()> {
    // The invoker: a user of the database, or a uid without a passwd
    // entry, which portbind names by its decimal uid.
    let (name, uid, primary) = if u.ratio(7, 8)? {
        let (n, uid, gid) = *u.choose(&USERS)?;
        (n.to_string(), uid, gid)
    } else {
        (String::from("3000"), 3000, 3000)
    };
    let mut groups = vec![Gid(primary)];
    for _ in 0..u.int_in_range(0..=3u8)? {
        groups.push(Gid(some_gid(u)?));
    }
    let sockets = sockets(u, false)?;
    let ambient: bool = u.arbitrary()?;
    // The target: the invoker with one of its groups (no `as`), or another
    // account written as a name or decimal uid, and a group name or gid.
    let (target_text, target) = if u.arbitrary()? {
        (None, (Uid(uid), *u.choose(&groups)?))
    } else {
        let (user, tuid) = if u.ratio(3, 4)? {
            let (n, tuid, _) = *u.choose(&USERS)?;
            (n.to_string(), tuid)
        } else {
            let tuid = u.int_in_range(0..=MAX_ID)?;
            (tuid.to_string(), tuid)
        };
        let (group, tgid) = if u.arbitrary()? {
            let (n, g) = *u.choose(&GROUPS)?;
            (n.to_string(), g)
        } else {
            let g = some_gid(u)?;
            (g.to_string(), g)
        };
        (Some((user, group)), (Uid(tuid), Gid(tgid)))
    };
    let line = policy::suggest(
        &name,
        &sockets,
        target_text.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
        ambient,
    );
    assert!(!line.contains('\n'), "suggestion spans lines: {line:?}");
    let parsed = policy::parse(line.as_bytes(), &FakeDb);
    if target_text.is_some() && (target.0 == Uid(0) || target.1 == Gid(0)) {
        assert!(
            parsed.is_err(),
            "suggested line {line:?} targets root and parses"
        );
        return Ok(());
    }
    let policy = match parsed {
        Ok(p) => p,
        Err(e) => panic!("suggested line {line:?} does not parse: {}", e.reason),
    };
    assert_eq!(policy.rules.len(), 1, "{line:?}");
    let built = Built {
        invoker: Uid(uid),
        groups,
        sockets,
        target,
        // The account the suggestion names is the one asked for.
        target_name: target_text
            .as_ref()
            .map_or(Vec::new(), |(user, _)| user.as_bytes().to_vec()),
        ambient,
    };
    assert!(
        policy.permits(&built.request()).is_some(),
        "suggested line {line:?} does not permit the request it was made for: \
         invoker {uid}, groups {:?}, sockets {:?}, target {:?}, ambient {ambient}",
        built.groups,
        built.sockets,
        built.target
    );
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let (text, rest) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &[][..]),
    };
    let parsed = policy::parse(text, &FakeDb);
    let mut u = Unstructured::new(rest);
    match &parsed {
        Ok(policy) => {
            check_ok(text, policy);
            for _ in 0..4 {
                if let Ok(built) = any_request(&mut u) {
                    check_permits(policy, &built);
                }
            }
        }
        Err(err) => check_err(text, err),
    }
    let _ = check_suggestion(&mut u);
});
