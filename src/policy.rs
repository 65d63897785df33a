#![forbid(unsafe_code)]

//! The policy file: who may bind which privileged ports, run the driver as
//! which account, and hand it the ambient capability.
//!
//! The file is written by root and so is trusted, but it is still read
//! strictly: the first line that is not exactly right makes the whole file
//! an error, because a rule silently skipped or half read could grant more
//! (or other) than root meant.

use alloc::{format, string::String, vec::Vec};
use core::net::{IpAddr, SocketAddr};

use crate::addr::{parse_ip, parse_port};
use crate::ids::{Gid, Uid, MAX_ID};
use crate::num::{is_all_digits, parse_decimal};

/// Looks up accounts for the policy file (the real one uses the system database).
pub trait AccountDb {
    /// uid and primary gid of the user called `name`.
    fn user_by_name(&self, name: &[u8]) -> Option<(Uid, Gid)>;
    /// primary gid of the user with this uid, when it has a passwd entry.
    fn user_by_id(&self, uid: Uid) -> Option<Gid>;
    fn group_by_name(&self, name: &[u8]) -> Option<Gid>;
}

/// Whom a rule is for: one user, or every member of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    User(Uid),
    Group(Gid),
}

/// Ports `first` to `last`, both included; `first <= last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

/// The ports a rule covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ports {
    Any,
    List(Vec<PortRange>),
}

/// One `permit` line, resolved to ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// 1-based line number in the file, for log and error messages.
    pub line: usize,
    pub subject: Subject,
    pub ports: Option<Ports>,
    pub addr: Option<IpAddr>,
    pub target: Option<(Uid, Gid)>,
    /// The account `as` names, when it names one rather than a uid: the
    /// driver's account must be that one, not another name (with other
    /// groups) for the same uid.
    pub target_name: Option<Vec<u8>>,
    pub ambient: bool,
}

/// Every rule of the file, in file order; the first that covers a request
/// decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub rules: Vec<Rule>,
}

/// Why the file is invalid: the first bad line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// 1-based line number.
    pub line: usize,
    /// Short lowercase text, e.g. "unknown user `bob`".
    pub reason: String,
}

/// What the invoker asks for, with every account already resolved.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub invoker: Uid,
    /// Real gid and supplementary groups of the invoker.
    pub invoker_groups: &'a [Gid],
    pub sockets: &'a [SocketAddr],
    pub target: (Uid, Gid),
    /// The name of the driver's account.
    pub target_name: &'a [u8],
    /// The supplementary groups the driver would get.
    pub target_groups: &'a [Gid],
    pub ambient: bool,
}

/// Longest piece of the file quoted back in an error message.
const QUOTE_LIMIT: usize = 40;

/// Longest user or group name the file may use.
const NAME_LIMIT: usize = 32;

/// Reads a whole policy file. Any bad line makes the whole file an error.
pub fn parse(text: &[u8], db: &dyn AccountDb) -> Result<Policy, PolicyError> {
    let mut rules = Vec::new();
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let parsed = parse_line(line, db).map_err(|reason| PolicyError {
            line: number,
            reason,
        })?;
        if let Some(rule) = parsed {
            rules.push(rule.at_line(number));
        }
    }
    Ok(Policy { rules })
}

impl Policy {
    /// The first rule that covers the whole request, if any.
    pub fn permits(&self, request: &Request) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.covers(request))
    }
}

impl Rule {
    fn at_line(mut self, line: usize) -> Rule {
        self.line = line;
        self
    }

    /// One rule must cover everything: a request is never assembled from
    /// several rules, so that each line reads as a complete grant.
    fn covers(&self, request: &Request) -> bool {
        self.is_for(request)
            && self.allows_target(request)
            && (self.ambient || !request.ambient)
            && request
                .sockets
                .iter()
                .all(|socket| self.covers_socket(socket))
    }

    fn is_for(&self, request: &Request) -> bool {
        match self.subject {
            Subject::User(uid) => request.invoker == uid,
            Subject::Group(gid) => request.invoker_groups.contains(&gid),
        }
    }

    fn allows_target(&self, request: &Request) -> bool {
        match self.target {
            Some(target) => {
                request.target == target
                    && self
                        .target_name
                        .as_deref()
                        .is_none_or(|name| name == request.target_name)
            }
            // Without `as`, only the invoker with groups it already holds.
            None => {
                let (uid, gid) = request.target;
                let held = |g: &Gid| request.invoker_groups.contains(g);
                uid == request.invoker && held(&gid) && request.target_groups.iter().all(held)
            }
        }
    }

    fn covers_socket(&self, socket: &SocketAddr) -> bool {
        match &self.ports {
            Some(ports) => {
                ports.contains(socket.port()) && self.addr.is_none_or(|a| a == socket.ip())
            }
            // The ambient capability lets the driver bind any privileged
            // port itself, so binding one for it grants nothing more.
            None => self.ambient,
        }
    }
}

impl Ports {
    fn contains(&self, port: u16) -> bool {
        match self {
            Ports::Any => true,
            Ports::List(ranges) => ranges.iter().any(|r| r.first <= port && port <= r.last),
        }
    }
}

/// The rule line that would permit a request, e.g. `permit alice port 23,80 on 127.0.0.1 as mud:games ambient`.
///
/// A rule needs `port` or `ambient`; for a request with neither sockets nor
/// ambient (running as another account, binding nothing) the line says
/// `port any`, the only port clause that does not invent a port.
pub fn suggest(
    invoker_name: &str,
    sockets: &[SocketAddr],
    target: Option<(&str, &str)>,
    ambient: bool,
) -> String {
    let mut line = format!("permit {invoker_name}");
    if !sockets.is_empty() {
        line.push_str(" port ");
        line.push_str(&port_list(sockets));
        if let Some(addr) = shared_address(sockets) {
            line.push_str(&format!(" on {addr}"));
        }
    } else if !ambient {
        line.push_str(" port any");
    }
    if let Some((user, group)) = target {
        line.push_str(&format!(" as {user}:{group}"));
    }
    if ambient {
        line.push_str(" ambient");
    }
    line
}

fn port_list(sockets: &[SocketAddr]) -> String {
    let mut ports: Vec<u16> = sockets.iter().map(SocketAddr::port).collect();
    crate::ids::sort_dedup(&mut ports);
    let mut list = String::new();
    for port in ports {
        if !list.is_empty() {
            list.push(',');
        }
        list.push_str(&format!("{port}"));
    }
    list
}

/// The one address every socket binds, unless that is the wildcard (a rule
/// without `on` already covers it).
fn shared_address(sockets: &[SocketAddr]) -> Option<IpAddr> {
    let first = sockets.first()?.ip();
    let shared = sockets.iter().all(|socket| socket.ip() == first);
    (shared && !first.is_unspecified()).then_some(first)
}

/// A `permit` line cut into its clauses, before anything is looked up, so
/// that a syntax error is reported as such even when a name is also unknown.
///
/// The clauses after WHO may come in any order, each at most once, with
/// `on ADDR` right after the port list it narrows: portbind.conf(5)'s own example
/// writes `ambient as fluff`, and the order changes nothing a rule grants.
struct Clauses<'a> {
    who: &'a [u8],
    ports: Option<&'a [u8]>,
    addr: Option<&'a [u8]>,
    target: Option<&'a [u8]>,
    ambient: bool,
}

/// One line: `Ok(None)` for a blank or comment line.
fn parse_line(line: &[u8], db: &dyn AccountDb) -> Result<Option<Rule>, String> {
    check_characters(line)?;
    let tokens: Vec<&[u8]> = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|token| !token.is_empty())
        .take_while(|token| token.first() != Some(&b'#'))
        .collect();
    if tokens.is_empty() {
        return Ok(None);
    }
    let clauses = split_clauses(&tokens)?;
    resolve(&clauses, db).map(Some)
}

/// Refuses control characters other than tab (CR, NUL, escape, C1
/// controls, ...) and bytes that are not UTF-8: none has a place in the
/// file, and a CR would hide what a line says when it is printed.
fn check_characters(line: &[u8]) -> Result<(), String> {
    let text = core::str::from_utf8(line).map_err(|_| String::from("bytes that are not utf-8"))?;
    match text
        .chars()
        .find(|&c| (c.is_control() && c != '\t') || is_invisible(c))
    {
        Some(c) => Err(format!("control character U+{:04X}", u32::from(c))),
        None => Ok(()),
    }
}

/// Characters that change how a line reads without showing themselves
/// (bidirectional overrides, zero-width characters, line separators, the
/// byte-order mark): a rule could be disguised with them, even from a
/// comment.
fn is_invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x2069 | 0xFEFF
    )
}

fn split_clauses<'a>(tokens: &[&'a [u8]]) -> Result<Clauses<'a>, String> {
    let mut rest = tokens.iter().copied().peekable();
    match rest.next() {
        Some(b"permit") => {}
        Some(word) => return Err(format!("unknown word `{}`", quote(word))),
        None => return Err(String::from("empty rule")),
    }
    let who = rest
        .next()
        .ok_or_else(|| String::from("`permit` needs a user or :group"))?;
    let mut clauses = Clauses {
        who,
        ports: None,
        addr: None,
        target: None,
        ambient: false,
    };
    while let Some(word) = rest.next() {
        match word {
            b"port" if clauses.ports.is_none() => {
                clauses.ports = Some(rest.next().ok_or("`port` needs a value")?);
                if rest.next_if(|&t| t == b"on").is_some() {
                    clauses.addr = Some(rest.next().ok_or("`on` needs an address")?);
                }
            }
            b"as" if clauses.target.is_none() => {
                clauses.target = Some(rest.next().ok_or("`as` needs an account")?);
            }
            b"ambient" if !clauses.ambient => clauses.ambient = true,
            b"on" if clauses.ports.is_none() => return Err(String::from("`on` without `port`")),
            b"on" if clauses.addr.is_none() => {
                return Err(String::from("`on` must follow the port list"))
            }
            b"permit" | b"port" | b"on" | b"as" | b"ambient" => {
                return Err(format!("`{}` given twice", quote(word)))
            }
            _ => return Err(format!("unknown word `{}`", quote(word))),
        }
    }
    if clauses.ports.is_none() && !clauses.ambient {
        return Err(String::from("a rule needs `port`, `ambient` or both"));
    }
    Ok(clauses)
}

fn resolve(clauses: &Clauses, db: &dyn AccountDb) -> Result<Rule, String> {
    let ports = clauses.ports.map(parse_ports).transpose()?;
    let addr = match clauses.addr {
        Some(text) => Some(parse_ip(text).ok_or_else(|| format!("bad address `{}`", quote(text)))?),
        None => None,
    };
    let subject = resolve_subject(clauses.who, db)?;
    let target = clauses.target.map(|t| resolve_target(t, db)).transpose()?;
    let target_name = clauses.target.and_then(|text| {
        let user = text.split(|&b| b == b':').next().unwrap_or(text);
        (!is_all_digits(user)).then(|| user.to_vec())
    });
    Ok(Rule {
        line: 0,
        subject,
        ports,
        addr,
        target,
        target_name,
        ambient: clauses.ambient,
    })
}

fn resolve_subject(who: &[u8], db: &dyn AccountDb) -> Result<Subject, String> {
    match who.strip_prefix(b":") {
        Some(group) => resolve_group(group, db).map(Subject::Group),
        None => resolve_user(who, db).map(|(uid, _)| Subject::User(uid)),
    }
}

/// `USER[:GROUP]`. Root is refused here, whichever way it is written,
/// because the driver never runs as root on the strength of a rule.
fn resolve_target(text: &[u8], db: &dyn AccountDb) -> Result<(Uid, Gid), String> {
    let (user, group) = match text.iter().position(|&b| b == b':') {
        Some(colon) => {
            let (user, group) = text.split_at(colon);
            (user, group.get(1..))
        }
        None => (text, None),
    };
    let (uid, primary) = resolve_user(user, db)?;
    if uid == Uid::ROOT {
        return Err(String::from("root is never a target"));
    }
    let gid = match group {
        Some(group) => resolve_group(group, db)?,
        None => {
            primary.ok_or_else(|| format!("uid {uid} has no passwd entry: `as` needs a group"))?
        }
    };
    if gid == Gid::ROOT {
        return Err(String::from("root is never a target"));
    }
    Ok((uid, gid))
}

/// A user name or a decimal uid, with its primary gid when it has a
/// passwd entry.
fn resolve_user(text: &[u8], db: &dyn AccountDb) -> Result<(Uid, Option<Gid>), String> {
    if is_all_digits(text) {
        let uid = Uid(parse_id(text).ok_or_else(|| format!("uid {} out of range", quote(text)))?);
        return Ok((uid, db.user_by_id(uid)));
    }
    if !is_valid_name(text) {
        return Err(format!("bad user name `{}`", quote(text)));
    }
    match db.user_by_name(text) {
        Some((uid, gid)) => Ok((uid, Some(gid))),
        None => Err(format!("unknown user `{}`", quote(text))),
    }
}

/// A group name or a decimal gid.
fn resolve_group(text: &[u8], db: &dyn AccountDb) -> Result<Gid, String> {
    if is_all_digits(text) {
        let gid = parse_id(text).ok_or_else(|| format!("gid {} out of range", quote(text)))?;
        return Ok(Gid(gid));
    }
    if !is_valid_name(text) {
        return Err(format!("bad group name `{}`", quote(text)));
    }
    db.group_by_name(text)
        .ok_or_else(|| format!("unknown group `{}`", quote(text)))
}

fn parse_id(text: &[u8]) -> Option<u32> {
    u32::try_from(parse_decimal(text, MAX_ID)?).ok()
}

/// The portable name set (letters, digits, `_`, `-`, `.`), with the `$`
/// that Samba machine accounts end in; never a leading `-`, so a name can
/// never read as an option anywhere it is passed on.
pub fn is_valid_name(text: &[u8]) -> bool {
    let body = text.strip_suffix(b"$").unwrap_or(text);
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    text.len() <= NAME_LIMIT
        && !body.is_empty()
        && body.first() != Some(&b'-')
        && body.iter().all(allowed)
}

/// `any`, or a comma-separated list of `N` and `N-M`.
fn parse_ports(text: &[u8]) -> Result<Ports, String> {
    if text == b"any" {
        return Ok(Ports::Any);
    }
    let mut ranges = Vec::new();
    for item in text.split(|&b| b == b',') {
        ranges.push(parse_port_item(item)?);
    }
    Ok(Ports::List(ranges))
}

fn parse_port_item(item: &[u8]) -> Result<PortRange, String> {
    if item.is_empty() {
        return Err(String::from("empty item in port list"));
    }
    let Some(dash) = item.iter().position(|&b| b == b'-') else {
        let port = parse_port_number(item, item)?;
        return Ok(PortRange {
            first: port,
            last: port,
        });
    };
    let (first, last) = item.split_at(dash);
    let last = last.get(1..).unwrap_or_default();
    let first = parse_port_number(first, item)?;
    let last = parse_port_number(last, item)?;
    if first > last {
        return Err(format!("port range {first}-{last} is reversed"));
    }
    Ok(PortRange { first, last })
}

/// One port number of `item` (the whole list item, for the message).
fn parse_port_number(text: &[u8], item: &[u8]) -> Result<u16, String> {
    if !is_all_digits(text) {
        return Err(format!("bad port `{}`", quote(item)));
    }
    parse_port(text).ok_or_else(|| format!("port {} out of range", quote(text)))
}

/// A piece of the line for an error message, cut short if long. The line
/// has already been checked to be UTF-8 without control characters, and
/// tokens split at ASCII bytes, so the text is whole characters.
fn quote(token: &[u8]) -> String {
    let text = core::str::from_utf8(token).unwrap_or("?");
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}...", text.get(..cut).unwrap_or_default()),
        None => String::from(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    /// alice 1000:1000, bob 1001:1001, mud 2000:2000, www-mud 2001:2001,
    /// fluff 2002:2002, root 0:0, halt 7:0 (primary group root), uid 3000
    /// with no name; groups games 60, mudadmins 500, fluffadmins 501,
    /// mud 2000, www-mud 2001, wheel 0, root 0.
    struct FakeDb;

    const USERS: [(&[u8], u32, u32); 7] = [
        (b"alice", 1000, 1000),
        (b"bob", 1001, 1001),
        (b"mud", 2000, 2000),
        (b"www-mud", 2001, 2001),
        (b"fluff", 2002, 2002),
        (b"root", 0, 0),
        (b"halt", 7, 0),
    ];

    const GROUPS: [(&[u8], u32); 7] = [
        (b"games", 60),
        (b"mudadmins", 500),
        (b"fluffadmins", 501),
        (b"mud", 2000),
        (b"www-mud", 2001),
        (b"wheel", 0),
        (b"root", 0),
    ];

    impl AccountDb for FakeDb {
        fn user_by_name(&self, name: &[u8]) -> Option<(Uid, Gid)> {
            USERS
                .iter()
                .find(|(n, _, _)| *n == name)
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
                .find(|(n, _)| *n == name)
                .map(|&(_, g)| Gid(g))
        }
    }

    fn parse_str(text: &str) -> Result<Policy, PolicyError> {
        parse(text.as_bytes(), &FakeDb)
    }

    fn one_rule(text: &str) -> Rule {
        let policy = parse_str(text).unwrap();
        assert_eq!(policy.rules.len(), 1, "{text:?}");
        policy.rules.into_iter().next().unwrap()
    }

    fn error(text: &str) -> (usize, String) {
        let err = parse_str(text).unwrap_err();
        (err.line, err.reason)
    }

    fn range(first: u16, last: u16) -> PortRange {
        PortRange { first, last }
    }

    fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), port)
    }

    #[test]
    fn the_spec_examples() {
        let policy = parse_str(
            "# comment\n\
             permit :mudadmins port 23,4000-4010 as mud\n\
             permit alice port 80,443 on 192.0.2.10 as www-mud:www-mud\n\
             permit :fluffadmins ambient as fluff\n",
        )
        .unwrap();
        let expected = [
            Rule {
                line: 2,
                subject: Subject::Group(Gid(500)),
                ports: Some(Ports::List(vec![range(23, 23), range(4000, 4010)])),
                addr: None,
                target: Some((Uid(2000), Gid(2000))),
                target_name: Some(b"mud".to_vec()),
                ambient: false,
            },
            Rule {
                line: 3,
                subject: Subject::User(Uid(1000)),
                ports: Some(Ports::List(vec![range(80, 80), range(443, 443)])),
                addr: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))),
                target: Some((Uid(2001), Gid(2001))),
                target_name: Some(b"www-mud".to_vec()),
                ambient: false,
            },
            Rule {
                line: 4,
                subject: Subject::Group(Gid(501)),
                ports: None,
                addr: None,
                target: Some((Uid(2002), Gid(2002))),
                target_name: Some(b"fluff".to_vec()),
                ambient: true,
            },
        ];
        assert_eq!(policy.rules, expected);
    }

    #[test]
    fn every_clause_together() {
        let rule = one_rule("permit alice port any on [::1] as mud:games ambient");
        assert_eq!(rule.subject, Subject::User(Uid(1000)));
        assert_eq!(rule.ports, Some(Ports::Any));
        assert_eq!(rule.addr, Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(rule.target, Some((Uid(2000), Gid(60))));
        assert!(rule.ambient);
        let rule = one_rule("permit alice port 23 on ::1");
        assert_eq!(rule.addr, Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(rule.target, None);
        assert!(!rule.ambient);
    }

    #[test]
    fn clauses_in_any_order() {
        let expected = one_rule("permit alice port 23 on ::1 as mud ambient");
        for text in [
            "permit alice port 23 on ::1 ambient as mud",
            "permit alice as mud port 23 on ::1 ambient",
            "permit alice as mud ambient port 23 on ::1",
            "permit alice ambient port 23 on ::1 as mud",
            "permit alice ambient as mud port 23 on ::1",
        ] {
            assert_eq!(one_rule(text), expected, "{text:?}");
        }
    }

    #[test]
    fn numbers_for_accounts() {
        assert_eq!(one_rule("permit 0 ambient").subject, Subject::User(Uid(0)));
        assert_eq!(
            one_rule("permit 4294967294 ambient").subject,
            Subject::User(Uid(4_294_967_294))
        );
        assert_eq!(
            one_rule("permit :77 ambient").subject,
            Subject::Group(Gid(77))
        );
        // A uid with a passwd entry gets its primary group.
        assert_eq!(
            one_rule("permit alice ambient as 2000").target,
            Some((Uid(2000), Gid(2000)))
        );
        assert_eq!(
            one_rule("permit alice ambient as 3000:60").target,
            Some((Uid(3000), Gid(60)))
        );
        assert_eq!(
            one_rule("permit alice ambient as mud:4000").target,
            Some((Uid(2000), Gid(4000)))
        );
    }

    #[test]
    fn blanks_and_comments() {
        let text = "\n   \n\t\n# permit nobody\n  # indented\npermit alice port 23 # trailing\n\
                    permit bob ambient #\n";
        let policy = parse_str(text).unwrap();
        assert_eq!(policy.rules.len(), 2);
        assert_eq!(policy.rules[0].line, 6);
        assert_eq!(policy.rules[1].line, 7);
        assert_eq!(parse_str("").unwrap().rules, vec![]);
        assert_eq!(parse_str("permit alice ambient").unwrap().rules.len(), 1);
        // A `#` inside a token is not a comment.
        assert_eq!(error("permit alice port 23#x").1, "bad port `23#x`");
        assert_eq!(error("permit alice# ambient").1, "bad user name `alice#`");
        // Tabs and runs of blanks separate tokens.
        assert_eq!(
            one_rule("\tpermit \t alice  port\t23 ").ports.unwrap(),
            Ports::List(vec![range(23, 23)])
        );
    }

    #[test]
    fn port_lists() {
        let ports = one_rule("permit alice port 1,23,4000-4010,65535,80-80").ports;
        assert_eq!(
            ports,
            Some(Ports::List(vec![
                range(1, 1),
                range(23, 23),
                range(4000, 4010),
                range(65535, 65535),
                range(80, 80)
            ]))
        );
    }

    #[test]
    fn bad_numbers() {
        let cases = [
            ("permit alice port 0", "port 0 out of range"),
            ("permit alice port 65536", "port 65536 out of range"),
            ("permit alice port 23abc", "bad port `23abc`"),
            ("permit alice port 80-23", "port range 80-23 is reversed"),
            ("permit alice port 0-23", "port 0 out of range"),
            ("permit alice port 23-", "bad port `23-`"),
            ("permit alice port -23", "bad port `-23`"),
            ("permit alice port 1-2-3", "bad port `1-2-3`"),
            ("permit alice port 23,,80", "empty item in port list"),
            ("permit alice port 23,", "empty item in port list"),
            ("permit alice port ,23", "empty item in port list"),
            ("permit alice port +23", "bad port `+23`"),
            ("permit alice port 0x17", "bad port `0x17`"),
            ("permit alice port any,23", "bad port `any`"),
            ("permit alice port ANY", "bad port `ANY`"),
            (
                "permit alice port \u{0662}\u{0663}",
                "bad port `\u{0662}\u{0663}`",
            ),
            (
                "permit alice port 99999999999999999999999",
                "port 99999999999999999999999 out of range",
            ),
            ("permit 4294967295 ambient", "uid 4294967295 out of range"),
            ("permit :4294967296 ambient", "gid 4294967296 out of range"),
            (
                "permit alice ambient as 4294967295",
                "uid 4294967295 out of range",
            ),
            (
                "permit alice ambient as mud:4294967295",
                "gid 4294967295 out of range",
            ),
        ];
        for (text, reason) in cases {
            assert_eq!(error(text), (1, String::from(reason)), "{text:?}");
        }
    }

    #[test]
    fn bad_words_and_clauses() {
        let cases = [
            ("prot alice port 23", "unknown word `prot`"),
            ("Permit alice port 23", "unknown word `Permit`"),
            ("permit", "`permit` needs a user or :group"),
            ("permit alice", "a rule needs `port`, `ambient` or both"),
            (
                "permit alice as mud",
                "a rule needs `port`, `ambient` or both",
            ),
            ("permit alice port", "`port` needs a value"),
            ("permit alice port 23 on", "`on` needs an address"),
            ("permit alice port 23 as", "`as` needs an account"),
            ("permit alice port # 23", "`port` needs a value"),
            ("permit alice prot 23", "unknown word `prot`"),
            ("permit alice port 23 extra", "unknown word `extra`"),
            ("permit alice ambient ambient", "`ambient` given twice"),
            ("permit alice port 23 port 80", "`port` given twice"),
            ("permit alice port 23 as mud as bob", "`as` given twice"),
            ("permit alice port 23 on ::1 on ::2", "`on` given twice"),
            ("permit alice on ::1 ambient", "`on` without `port`"),
            ("permit alice on ::1 port 23", "`on` without `port`"),
            (
                "permit alice port 23 as mud on ::1",
                "`on` must follow the port list",
            ),
            (
                "permit alice port 23 ambient as mud ambient",
                "`ambient` given twice",
            ),
            ("permit alice port 23 permit bob", "`permit` given twice"),
            (
                "permit alice port 23 on localhost",
                "bad address `localhost`",
            ),
            ("permit alice port 23 on 127.1", "bad address `127.1`"),
            (
                "permit alice port 23 on fe80::1%eth0",
                "bad address `fe80::1%eth0`",
            ),
            (
                "permit alice port 23 on 127.0.0.1:23",
                "bad address `127.0.0.1:23`",
            ),
        ];
        for (text, reason) in cases {
            assert_eq!(error(text), (1, String::from(reason)), "{text:?}");
        }
    }

    #[test]
    fn bad_names() {
        let long = "a".repeat(33);
        let cases = [
            ("permit bob2 ambient".to_string(), "unknown user `bob2`"),
            (
                "permit :nogroup ambient".to_string(),
                "unknown group `nogroup`",
            ),
            (
                "permit alice ambient as nobody".to_string(),
                "unknown user `nobody`",
            ),
            (
                "permit alice ambient as mud:nogroup".to_string(),
                "unknown group `nogroup`",
            ),
            (
                "permit -alice ambient".to_string(),
                "bad user name `-alice`",
            ),
            ("permit : ambient".to_string(), "bad group name ``"),
            ("permit :-x ambient".to_string(), "bad group name `-x`"),
            (
                "permit al/ice ambient".to_string(),
                "bad user name `al/ice`",
            ),
            ("permit $ ambient".to_string(), "bad user name `$`"),
            ("permit a$b ambient".to_string(), "bad user name `a$b`"),
            ("permit alicé ambient".to_string(), "bad user name `alicé`"),
            (
                "permit alice ambient as :games".to_string(),
                "bad user name ``",
            ),
            (
                "permit alice ambient as mud:".to_string(),
                "bad group name ``",
            ),
            (
                "permit alice ambient as mud:games:x".to_string(),
                "bad group name `games:x`",
            ),
            (
                format!("permit {long} ambient"),
                "bad user name `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`",
            ),
            // A uid with no passwd entry has no primary group to default to.
            (
                "permit alice ambient as 3000".to_string(),
                "uid 3000 has no passwd entry: `as` needs a group",
            ),
        ];
        for (text, reason) in cases {
            assert_eq!(error(&text), (1, String::from(reason)), "{text:?}");
        }
        // Names that are fine but unknown to the fake database.
        let name32 = "a".repeat(32);
        for name in ["_x", "a.b", "x-y", "box$", "1abc", name32.as_str()] {
            let text = format!("permit {name} ambient");
            assert_eq!(error(&text).1, format!("unknown user `{name}`"));
        }
    }

    #[test]
    fn root_is_never_a_target() {
        for text in [
            "permit alice ambient as root",
            "permit alice ambient as 0",
            "permit alice ambient as 00",
            "permit alice ambient as mud:root",
            "permit alice ambient as mud:wheel",
            "permit alice ambient as mud:0",
            "permit alice ambient as 2000:0",
            "permit alice ambient as root:games",
            // Named user whose primary group is root.
            "permit alice ambient as halt",
        ] {
            assert_eq!(
                error(text),
                (1, String::from("root is never a target")),
                "{text:?}"
            );
        }
        assert_eq!(
            one_rule("permit alice ambient as halt:games").target,
            Some((Uid(7), Gid(60)))
        );
    }

    #[test]
    fn syntax_errors_come_before_lookups() {
        assert_eq!(
            error("permit nobody port 23 extra").1,
            "unknown word `extra`"
        );
        assert_eq!(error("permit nobody port 0").1, "port 0 out of range");
    }

    #[test]
    fn characters() {
        assert_eq!(
            error("permit alice port 23\r\n"),
            (1, String::from("control character U+000D"))
        );
        assert_eq!(
            error("# fine\npermit alice\0 port 23"),
            (2, String::from("control character U+0000"))
        );
        assert_eq!(
            error("# \x1b[2J\n"),
            (1, String::from("control character U+001B"))
        );
        assert_eq!(
            error("# \u{85}\n"),
            (1, String::from("control character U+0085"))
        );
        assert_eq!(
            error("# \x7f\n"),
            (1, String::from("control character U+007F"))
        );
        assert_eq!(
            error("\x0bpermit alice ambient").1,
            "control character U+000B"
        );
        let err = parse(b"permit alice ambient\n# caf\xe9\n", &FakeDb).unwrap_err();
        assert_eq!(
            (err.line, err.reason.as_str()),
            (2, "bytes that are not utf-8")
        );
        // Unicode that is not a control character is fine in a comment.
        assert!(parse_str("# café ☕\npermit alice ambient").is_ok());
    }

    #[test]
    fn first_bad_line_is_reported() {
        let text = "permit alice port 23\n\n# ok\npermit bob port 0\npermit nobody port 23\n";
        assert_eq!(error(text), (4, String::from("port 0 out of range")));
    }

    #[test]
    fn long_quotes_are_cut() {
        let word = "x".repeat(100);
        let reason = error(&format!("permit alice port 23 {word}")).1;
        assert_eq!(reason, format!("unknown word `{}...`", "x".repeat(40)));
        let word = "é".repeat(100);
        let reason = error(&format!("permit alice port 23 {word}")).1;
        assert_eq!(reason, format!("unknown word `{}...`", "é".repeat(40)));
    }

    #[test]
    fn garbage_never_panics() {
        let mut state: u32 = 1;
        let alphabet = b"permit alice :games port any on as ambient 0123456789-,:.[]#$\t\n\r\xff";
        for _ in 0..2000 {
            let mut text = Vec::new();
            for _ in 0..(state % 80) {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let pick = (state >> 16) as usize % alphabet.len();
                text.push(alphabet[pick]);
            }
            let _ = parse(&text, &FakeDb);
        }
    }

    const ALICE: Uid = Uid(1000);
    const ALICE_GROUPS: [Gid; 3] = [Gid(1000), Gid(500), Gid(60)];
    const MUD: (Uid, Gid) = (Uid(2000), Gid(2000));

    fn request<'a>(sockets: &'a [SocketAddr], target: (Uid, Gid), ambient: bool) -> Request<'a> {
        Request {
            invoker: ALICE,
            invoker_groups: &ALICE_GROUPS,
            sockets,
            target,
            target_name: USERS
                .iter()
                .find(|(_, uid, _)| *uid == target.0 .0)
                .map_or(&b""[..], |(name, _, _)| name),
            target_groups: &[],
            ambient,
        }
    }

    #[test]
    fn invisible_characters_are_refused_even_in_comments() {
        for line in [
            "# \u{202e}permit",
            "permit alice port 23 # \u{200b}",
            "\u{feff}permit alice port 23",
        ] {
            let error = parse_str(line).unwrap_err();
            assert!(
                error.reason.starts_with("control character"),
                "{line:?}: {}",
                error.reason
            );
        }
    }

    #[test]
    fn as_a_name_means_that_account_not_an_alias_of_its_uid() {
        let socket = [SocketAddr::from(([0, 0, 0, 0], 23))];
        let mut asked = request(&socket, MUD, false);
        assert_eq!(
            permitted_line("permit alice port 23 as mud", &asked),
            Some(1)
        );
        asked.target_name = b"mud-alias";
        assert_eq!(permitted_line("permit alice port 23 as mud", &asked), None);
        // A rule that gives the uid itself pins only the ids.
        assert_eq!(
            permitted_line("permit alice port 23 as 2000", &asked),
            Some(1)
        );
    }

    #[test]
    fn without_as_only_groups_already_held() {
        let socket = [SocketAddr::from(([0, 0, 0, 0], 23))];
        let policy = "permit alice port 23";
        let held = [Gid(1000), Gid(500)];
        let mut asked = request(&socket, (ALICE, Gid(1000)), false);
        asked.target_groups = &held;
        assert_eq!(permitted_line(policy, &asked), Some(1));
        let more = [Gid(1000), Gid(4242)];
        asked.target_groups = &more;
        assert_eq!(permitted_line(policy, &asked), None);
        let as_alice = "permit alice port 23 as alice";
        assert_eq!(permitted_line(as_alice, &asked), Some(1));
    }

    fn permitted_line(policy: &str, request: &Request) -> Option<usize> {
        parse_str(policy)
            .unwrap()
            .permits(request)
            .map(|rule| rule.line)
    }

    #[test]
    fn user_and_group_rules() {
        let sockets = [v4(0, 0, 0, 0, 23)];
        let req = request(&sockets, MUD, false);
        assert_eq!(permitted_line("permit alice port 23 as mud", &req), Some(1));
        assert_eq!(permitted_line("permit 1000 port 23 as mud", &req), Some(1));
        assert_eq!(permitted_line("permit bob port 23 as mud", &req), None);
        assert_eq!(
            permitted_line("permit :mudadmins port 23 as mud", &req),
            Some(1)
        );
        assert_eq!(permitted_line("permit :www-mud port 23 as mud", &req), None);
    }

    #[test]
    fn ports_and_ranges() {
        let policy = "permit alice port 23,4000-4010 as mud";
        for (port, expected) in [
            (23, Some(1)),
            (4000, Some(1)),
            (4005, Some(1)),
            (4010, Some(1)),
        ] {
            let sockets = [v4(0, 0, 0, 0, port)];
            assert_eq!(
                permitted_line(policy, &request(&sockets, MUD, false)),
                expected
            );
        }
        for port in [22, 24, 3999, 4011] {
            let sockets = [v4(0, 0, 0, 0, port)];
            assert_eq!(
                permitted_line(policy, &request(&sockets, MUD, false)),
                None,
                "{port}"
            );
        }
        let sockets = [v4(0, 0, 0, 0, 1), v4(0, 0, 0, 0, 65535)];
        assert_eq!(
            permitted_line(
                "permit alice port any as mud",
                &request(&sockets, MUD, false)
            ),
            Some(1)
        );
    }

    #[test]
    fn bind_address() {
        let policy = "permit alice port 80 on 192.0.2.10 as mud";
        let ok = [v4(192, 0, 2, 10, 80)];
        assert_eq!(permitted_line(policy, &request(&ok, MUD, false)), Some(1));
        for other in [v4(0, 0, 0, 0, 80), v4(192, 0, 2, 11, 80)] {
            assert_eq!(permitted_line(policy, &request(&[other], MUD, false)), None);
        }
        // The IPv4-mapped form is a different address.
        let mapped = "::ffff:192.0.2.10".parse::<Ipv6Addr>().unwrap();
        let mapped = [SocketAddr::new(IpAddr::V6(mapped), 80)];
        assert_eq!(permitted_line(policy, &request(&mapped, MUD, false)), None);
        // Without `on`, any address.
        let v6 = [SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 80)];
        assert_eq!(
            permitted_line("permit alice port 80 as mud", &request(&v6, MUD, false)),
            Some(1)
        );
    }

    #[test]
    fn target_account() {
        let sockets = [v4(0, 0, 0, 0, 23)];
        let policy = "permit alice port 23 as mud";
        assert_eq!(
            permitted_line(policy, &request(&sockets, (Uid(2000), Gid(60)), false)),
            None
        );
        assert_eq!(
            permitted_line(policy, &request(&sockets, (Uid(2001), Gid(2000)), false)),
            None
        );
        assert_eq!(
            permitted_line(policy, &request(&sockets, (ALICE, Gid(1000)), false)),
            None
        );
        // Without `as`: only the invoker, with a group it already has.
        let policy = "permit alice port 23";
        assert_eq!(
            permitted_line(policy, &request(&sockets, (ALICE, Gid(1000)), false)),
            Some(1)
        );
        assert_eq!(
            permitted_line(policy, &request(&sockets, (ALICE, Gid(60)), false)),
            Some(1)
        );
        assert_eq!(
            permitted_line(policy, &request(&sockets, (ALICE, Gid(2000)), false)),
            None
        );
        assert_eq!(permitted_line(policy, &request(&sockets, MUD, false)), None);
    }

    #[test]
    fn ambient_capability() {
        let sockets = [v4(0, 0, 0, 0, 23)];
        assert_eq!(
            permitted_line("permit alice port 23 as mud", &request(&sockets, MUD, true)),
            None
        );
        assert_eq!(
            permitted_line(
                "permit alice port 23 as mud ambient",
                &request(&sockets, MUD, true)
            ),
            Some(1)
        );
        assert_eq!(
            permitted_line("permit alice ambient as mud", &request(&[], MUD, true)),
            Some(1)
        );
        // With `port` too, the ports still limit what is bound for the driver.
        let other = [v4(0, 0, 0, 0, 80)];
        assert_eq!(
            permitted_line(
                "permit alice port 23 as mud ambient",
                &request(&other, MUD, true)
            ),
            None
        );
    }

    #[test]
    fn ambient_without_port_covers_every_socket() {
        let sockets = [
            v4(0, 0, 0, 0, 23),
            v4(127, 0, 0, 1, 80),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 443),
        ];
        assert_eq!(
            permitted_line(
                "permit alice ambient as mud",
                &request(&sockets, MUD, false)
            ),
            Some(1)
        );
        assert_eq!(
            permitted_line("permit alice ambient as mud", &request(&sockets, MUD, true)),
            Some(1)
        );
    }

    #[test]
    fn every_socket_must_be_covered() {
        let sockets = [v4(0, 0, 0, 0, 23), v4(0, 0, 0, 0, 80)];
        assert_eq!(
            permitted_line(
                "permit alice port 23 as mud",
                &request(&sockets, MUD, false)
            ),
            None
        );
        // Two rules that each cover one socket do not add up.
        let policy = "permit alice port 23 as mud\npermit alice port 80 as mud";
        assert_eq!(permitted_line(policy, &request(&sockets, MUD, false)), None);
        assert_eq!(
            permitted_line(
                "permit alice port 23,80 as mud",
                &request(&sockets, MUD, false)
            ),
            Some(1)
        );
        let mixed = [v4(192, 0, 2, 10, 80), v4(0, 0, 0, 0, 80)];
        assert_eq!(
            permitted_line(
                "permit alice port 80 on 192.0.2.10 as mud",
                &request(&mixed, MUD, false)
            ),
            None
        );
    }

    #[test]
    fn no_sockets() {
        assert_eq!(
            permitted_line("permit alice port 23 as mud", &request(&[], MUD, false)),
            Some(1)
        );
        assert_eq!(
            permitted_line("permit bob port 23 as mud", &request(&[], MUD, false)),
            None
        );
        assert_eq!(
            parse_str("").unwrap().permits(&request(&[], MUD, false)),
            None
        );
    }

    #[test]
    fn first_matching_rule_wins() {
        let policy = "permit bob port any as mud ambient\n\
                      permit alice port 23 as mud\n\
                      permit :games port 23-80 as mud\n\
                      permit alice port any as mud\n";
        let sockets = [v4(0, 0, 0, 0, 23)];
        assert_eq!(
            permitted_line(policy, &request(&sockets, MUD, false)),
            Some(2)
        );
        let sockets = [v4(0, 0, 0, 0, 80)];
        assert_eq!(
            permitted_line(policy, &request(&sockets, MUD, false)),
            Some(3)
        );
        let sockets = [v4(0, 0, 0, 0, 443)];
        assert_eq!(
            permitted_line(policy, &request(&sockets, MUD, false)),
            Some(4)
        );
        assert_eq!(permitted_line(policy, &request(&sockets, MUD, true)), None);
    }

    #[test]
    fn suggestions() {
        let sockets = [
            v4(127, 0, 0, 1, 80),
            v4(127, 0, 0, 1, 23),
            v4(127, 0, 0, 1, 80),
        ];
        assert_eq!(
            suggest("alice", &sockets, Some(("mud", "games")), true),
            "permit alice port 23,80 on 127.0.0.1 as mud:games ambient"
        );
        let sockets = [v4(0, 0, 0, 0, 23)];
        assert_eq!(
            suggest("alice", &sockets, None, false),
            "permit alice port 23"
        );
        let sockets = [v4(127, 0, 0, 1, 23), v4(0, 0, 0, 0, 80)];
        assert_eq!(
            suggest("alice", &sockets, None, false),
            "permit alice port 23,80"
        );
        let sockets = [SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 443)];
        assert_eq!(
            suggest("alice", &sockets, None, false),
            "permit alice port 443 on ::1"
        );
        let sockets = [SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 443)];
        assert_eq!(
            suggest("alice", &sockets, None, false),
            "permit alice port 443"
        );
        assert_eq!(
            suggest("alice", &[], Some(("mud", "mud")), true),
            "permit alice as mud:mud ambient"
        );
        assert_eq!(
            suggest("alice", &[], Some(("mud", "mud")), false),
            "permit alice port any as mud:mud"
        );
    }

    #[test]
    fn suggestions_parse_and_permit() {
        type Case<'a> = (&'a [SocketAddr], Option<(&'a str, &'a str)>, bool);
        let cases: [Case; 5] = [
            (
                &[v4(127, 0, 0, 1, 80), v4(127, 0, 0, 1, 23)],
                Some(("mud", "games")),
                true,
            ),
            (
                &[SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 443)],
                None,
                false,
            ),
            (
                &[v4(0, 0, 0, 0, 23), v4(192, 0, 2, 1, 4000)],
                Some(("www-mud", "www-mud")),
                false,
            ),
            (&[], Some(("mud", "mud")), false),
            (&[], None, true),
        ];
        for (sockets, target, ambient) in cases {
            let line = suggest("alice", sockets, target, ambient);
            let policy = parse_str(&line).unwrap();
            let target = match target {
                Some((user, group)) => (
                    FakeDb.user_by_name(user.as_bytes()).unwrap().0,
                    FakeDb.group_by_name(group.as_bytes()).unwrap(),
                ),
                None => (ALICE, Gid(1000)),
            };
            let req = request(sockets, target, ambient);
            assert!(policy.permits(&req).is_some(), "{line}");
        }
    }
}
