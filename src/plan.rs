//! What `-c` prints: the decision and everything portbind would do.

#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use crate::accounts::{Invoker, Target};
use crate::addr;
use crate::audit::AuditId;
use crate::decide::{Grant, POLICY_PATH};
use crate::error::Text;
use crate::out;

pub struct Plan<'a> {
    pub invoker: &'a Invoker,
    pub sockets: &'a [SocketAddr],
    pub first_fd: u32,
    pub backlog: Option<i32>,
    pub target: &'a Target,
    pub ambient: bool,
    pub driver: &'a [u8],
    pub driver_args: &'a [&'a [u8]],
    pub env: &'a [Vec<u8>],
    pub grant: Grant,
    pub id: AuditId,
}

/// The invoker as the log and the plan show it: `alice(1000)`.
pub fn show_invoker(invoker: &Invoker) -> String {
    format!("{}({})", invoker.name(), invoker.uid)
}

/// The target as the log and the plan show it: `mud(1001):1001`.
pub fn show_target(target: &Target) -> String {
    format!("{}({}):{}", Text(&target.name), target.uid, target.gid)
}

/// The sockets, comma-separated: `0.0.0.0:23,[::1]:80`.
pub fn show_sockets(sockets: &[SocketAddr]) -> String {
    let list: Vec<String> = sockets
        .iter()
        .map(|s| format!("{}", addr::Display(*s)))
        .collect();
    list.join(",")
}

pub fn print(plan: &Plan<'_>) {
    out::stdout(format_args!("portbind: check only, nothing was bound"));
    let decision = match plan.grant {
        Grant::Root => String::from("permitted: the invoker is root"),
        Grant::NoPrivilegeNeeded => String::from("permitted: nothing asked needs privilege"),
        Grant::Rule(line) => format!("permitted by {}:{line}", Text(POLICY_PATH.to_bytes())),
    };
    out::stdout(format_args!("decision: {decision} (audit id {})", plan.id));
    out::stdout(format_args!("invoker: {}", show_invoker(plan.invoker)));
    let state = match plan.backlog {
        Some(n) => format!("listening, backlog {n}"),
        None => String::from("bound, not listening"),
    };
    for (fd, socket) in (plan.first_fd..).zip(plan.sockets) {
        out::stdout(format_args!(
            "socket: {} on fd {fd}, {state}",
            addr::Display(*socket)
        ));
    }
    let groups: Vec<String> = plan.target.groups.iter().map(|g| format!("{g}")).collect();
    out::stdout(format_args!(
        "target: {} uid {} gid {} groups {}",
        Text(&plan.target.name),
        plan.target.uid,
        plan.target.gid,
        if groups.is_empty() {
            String::from("(none)")
        } else {
            groups.join(",")
        }
    ));
    let caps = if plan.ambient {
        "cap_net_bind_service (permitted, inheritable, ambient)"
    } else {
        "none"
    };
    out::stdout(format_args!("capabilities: {caps}"));
    out::stdout(format_args!("driver: {}", Text(plan.driver)));
    for arg in plan.driver_args {
        out::stdout(format_args!("argument: {}", Text(arg)));
    }
    let names: Vec<String> = plan
        .env
        .iter()
        .map(|entry| {
            let name = entry.split(|&b| b == b'=').next().unwrap_or_default();
            format!("{}", Text(name))
        })
        .collect();
    out::stdout(format_args!("environment: {}", names.join(" ")));
}
