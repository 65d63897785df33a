//! Who may do what: root anything (naming the account), anyone what needs
//! no privilege, everything else only by a rule in the policy file.

#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::CStr;
use core::net::SocketAddr;

use crate::accounts::{Invoker, SystemDb, Target};
use crate::addr;
use crate::error::{Error, Text};
use crate::ids::{Gid, Uid};
use crate::num::{is_all_digits, parse_decimal};
use crate::policy::{self, Request};
use crate::sys;

/// The path is chosen when portbind is built, never at run time.
pub const POLICY_PATH: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("PORTBIND_POLICY_PATH"), "\0").as_bytes()) {
        Ok(path) => path,
        Err(_) => panic!("the policy path holds a NUL"),
    };

const POLICY_LIMIT: usize = 64 * 1024;

/// How many sockets a refusal names before it summarises the rest.
const SHOWN_SOCKETS: usize = 8;

/// Why a request may go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// The invoker is root.
    Root,
    /// Nothing asked for needs privilege.
    NoPrivilegeNeeded,
    /// The policy rule on this line covers the request.
    Rule(usize),
}

/// What a request asks for beyond what any user may do.
#[derive(Debug, Default)]
pub struct Needs {
    pub privileged_sockets: Vec<SocketAddr>,
    pub other_account: bool,
    pub ambient: bool,
}

impl Needs {
    pub fn of(
        invoker: &Invoker,
        sockets: &[SocketAddr],
        target: &Target,
        ambient: bool,
        unprivileged_port_start: u16,
    ) -> Needs {
        Needs {
            privileged_sockets: sockets
                .iter()
                .filter(|s| s.port() < unprivileged_port_start)
                .copied()
                .collect(),
            other_account: target.uid != invoker.uid
                || !invoker.is_member(target.gid)
                || !holds_groups(invoker, target),
            ambient,
        }
    }

    fn any(&self) -> bool {
        !self.privileged_sockets.is_empty() || self.other_account || self.ambient
    }
}

/// Whether the invoker already holds every supplementary group of the
/// target (`-u` naming oneself takes the groups from the database, which
/// may list groups the invoker's process has dropped).
fn holds_groups(invoker: &Invoker, target: &Target) -> bool {
    target.groups.iter().all(|&g| invoker.is_member(g))
}

/// Decides whether `invoker` may bind `sockets` and run the driver as
/// `target` (with the ambient capability when `ambient`). Also returns
/// what the request needs beyond an ordinary user's rights (nothing is
/// worked out for root, who has every right).
pub fn decide(
    invoker: &Invoker,
    user_named: bool,
    sockets: &[SocketAddr],
    target: &Target,
    ambient: bool,
) -> Result<(Grant, Needs), Error> {
    if invoker.uid == Uid::ROOT {
        if !user_named {
            return Err(Error::Usage(String::from(
                "run by root, portbind needs -u to name the driver's account (-u root to keep root)",
            )));
        }
        return Ok((Grant::Root, Needs::default()));
    }
    let needs = Needs::of(invoker, sockets, target, ambient, unprivileged_port_start());
    if !needs.any() {
        return Ok((Grant::NoPrivilegeNeeded, needs));
    }
    let asked = describe_request(invoker, sockets, target, &needs);
    let rootish =
        target.uid == Uid::ROOT || target.gid == Gid::ROOT || target.groups.contains(&Gid::ROOT);
    if needs.other_account && rootish {
        return Err(Error::NotPermitted(format!(
            "{asked}: root is never a target for anyone but root"
        )));
    }
    let path = Text(POLICY_PATH.to_bytes());
    let text = match read_policy()? {
        Some(text) => text,
        None => {
            return Err(Error::NotPermitted(format!(
                "{asked}: {path} does not exist; this line there would permit it: {}",
                suggestion(invoker, sockets, target, &needs)
            )))
        }
    };
    let policy = policy::parse(&text, &SystemDb).map_err(|e| {
        Error::PolicyInvalid(format!(
            "{path}:{}: {}; every request that needs the policy is refused",
            e.line,
            Text(e.reason.as_bytes())
        ))
    })?;
    let groups = invoker.all_groups();
    let request = Request {
        invoker: invoker.uid,
        invoker_groups: &groups,
        sockets,
        target: (target.uid, target.gid),
        target_name: &target.name,
        target_groups: &target.groups,
        ambient,
    };
    match policy.permits(&request) {
        Some(rule) => Ok((Grant::Rule(rule.line), needs)),
        None => Err(Error::NotPermitted(format!(
            "{asked}: no rule in {path} permits it (a line such as `{}` would)",
            suggestion(invoker, sockets, target, &needs)
        ))),
    }
}

/// "alice (uid 1000) may not bind 0.0.0.0:23, run the driver as mud
/// (uid 1001, gid 1001)": what was asked, and by whom.
fn describe_request(
    invoker: &Invoker,
    sockets: &[SocketAddr],
    target: &Target,
    needs: &Needs,
) -> String {
    let mut parts = Vec::new();
    if !sockets.is_empty() {
        let mut list: Vec<String> = sockets
            .iter()
            .take(SHOWN_SOCKETS)
            .map(|s| format!("{}", addr::Display(*s)))
            .collect();
        if sockets.len() > SHOWN_SOCKETS {
            list.push(format!("and {} more", sockets.len() - SHOWN_SOCKETS));
        }
        parts.push(format!("bind {}", list.join(", ")));
    }
    if needs.other_account {
        let groups = if holds_groups(invoker, target) {
            String::new()
        } else {
            let list: Vec<String> = target.groups.iter().map(|g| format!("{g}")).collect();
            format!(", groups {}", list.join(","))
        };
        parts.push(format!(
            "run the driver as {} (uid {}, gid {}{groups})",
            Text(&target.name),
            target.uid,
            target.gid
        ));
    }
    if needs.ambient {
        parts.push(String::from("grant the driver cap_net_bind_service"));
    }
    format!(
        "{} (uid {}) may not {}",
        invoker.name(),
        invoker.uid,
        parts.join(", ")
    )
}

fn suggestion(invoker: &Invoker, sockets: &[SocketAddr], target: &Target, needs: &Needs) -> String {
    let invoker_name = invoker.passwd.as_ref().map_or(&[][..], |pw| &pw.name[..]);
    let who = policy_name(invoker_name, invoker.uid.0);
    let user = policy_name(&target.name, target.uid.0);
    let gid = format!("{}", target.gid);
    let as_target = needs.other_account.then_some((user.as_str(), gid.as_str()));
    policy::suggest(&who, sockets, as_target, needs.ambient)
}

/// A name as a policy line may write it; the decimal id when the name is
/// not one the file accepts, or is all digits (the file would read it as
/// an id, perhaps someone else's).
fn policy_name(name: &[u8], id: u32) -> String {
    match core::str::from_utf8(name) {
        Ok(text) if policy::is_valid_name(name) && !is_all_digits(name) => String::from(text),
        _ => format!("{id}"),
    }
}

/// The policy file's text, or `None` when there is no file. Anything
/// unsafe about the file is an error.
fn read_policy() -> Result<Option<Vec<u8>>, Error> {
    let path = Text(POLICY_PATH.to_bytes());
    if !check_policy_directories()? {
        return Ok(None);
    }
    let (facts, text) = match sys::read_trusted_file(POLICY_PATH, POLICY_LIMIT) {
        Ok(read) => read,
        Err(e) if e.0 == libc::ENOENT => return Ok(None),
        Err(e) if e.0 == libc::ELOOP => {
            return Err(Error::PolicyInvalid(format!(
                "policy file {path} is a symbolic link; refusing every request that needs it"
            )))
        }
        Err(e) => {
            return Err(Error::PolicyInvalid(format!(
                "cannot read policy file {path}: {}",
                Text(e.text())
            )))
        }
    };
    let problem = if !facts.regular {
        String::from("is not a regular file")
    } else if facts.owner != Uid::ROOT {
        format!("is owned by uid {}, not root", facts.owner)
    } else if facts.mode & 0o022 != 0 {
        format!("is writable by group or others (mode {:04o})", facts.mode)
    } else if facts.size > POLICY_LIMIT as u64 {
        String::from("is larger than 64 KiB")
    } else {
        return Ok(text);
    };
    Err(Error::PolicyInvalid(format!(
        "policy file {path} {problem}; refusing every request that needs it"
    )))
}

/// Every directory above the policy file must be a real directory (not a
/// symbolic link), root's, and writable by no one else: whoever can rename entries there could put back a file
/// root had replaced. Ok(false) when a directory is missing (so is the
/// file).
fn check_policy_directories() -> Result<bool, Error> {
    let path = POLICY_PATH.to_bytes();
    for (end, _) in path.iter().enumerate().filter(|(_, &b)| b == b'/') {
        let dir = if end == 0 { &b"/"[..] } else { &path[..end] };
        let facts = match sys::lstat(dir) {
            Ok(facts) => facts,
            Err(e) if e.0 == libc::ENOENT => return Ok(false),
            Err(e) => {
                return Err(Error::PolicyInvalid(format!(
                    "cannot check the policy directory {}: {}",
                    Text(dir),
                    Text(e.text())
                )))
            }
        };
        // A symbolic link would send the check elsewhere, and the
        // directories above its target would go unchecked.
        let problem = if !facts.directory {
            String::from("is not a directory (a symbolic link?)")
        } else if facts.owner != Uid::ROOT {
            format!("is owned by uid {}, not root", facts.owner)
        } else if facts.mode & 0o022 != 0 {
            format!("is writable by group or others (mode {:04o})", facts.mode)
        } else {
            continue;
        };
        return Err(Error::PolicyInvalid(format!(
            "policy directory {} {problem}; refusing every request that needs the policy",
            Text(dir)
        )));
    }
    Ok(true)
}

/// The first port an unprivileged process may bind in this network
/// namespace; 1024 when the value cannot be read.
pub fn unprivileged_port_start() -> u16 {
    sys::read_small_file(c"/proc/sys/net/ipv4/ip_unprivileged_port_start", 16)
        .ok()
        .and_then(|text| {
            let digits = text.strip_suffix(b"\n").unwrap_or(&text);
            parse_decimal(digits, 65536)
        })
        .map_or(1024, |n| u16::try_from(n).unwrap_or(u16::MAX))
}
