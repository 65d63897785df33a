//! Privilege: whether portbind holds what a request needs, the drop to
//! the target account for good, and the check that the drop took.

#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::accounts::Target;
use crate::decide::Needs;
use crate::error::Error;
use crate::ids::{Gid, Uid};
use crate::sys::{self, CapSets, CAP_NET_BIND_SERVICE, CAP_SETGID, CAP_SETUID};

const NET_BIND: u64 = 1 << CAP_NET_BIND_SERVICE;

/// securebits that would keep capabilities across the drop or the exec.
const SECBIT_NOROOT: u32 = 1 << 0;
const SECBIT_NO_SETUID_FIXUP: u32 = 1 << 2;
const SECBIT_KEEP_CAPS: u32 = 1 << 4;

/// The process's ids and capabilities before anything changes.
pub struct Start {
    pub uids: (Uid, Uid, Uid),
    pub gids: (Gid, Gid, Gid),
    pub groups: Vec<Gid>,
    pub caps: CapSets,
}

impl Start {
    pub fn read() -> Result<Start, Error> {
        let groups = sys::getgroups()
            .map_err(|e| Error::System(String::from("cannot read the invoker's groups"), e))?;
        let caps = sys::capget()
            .map_err(|e| Error::System(String::from("cannot read capabilities"), e))?;
        Ok(Start {
            uids: sys::getresuid(),
            gids: sys::getresgid(),
            groups,
            caps,
        })
    }

    /// Whether the process already is the target, ids and groups alike,
    /// so that the id part of the drop has nothing to do.
    pub fn is_already(&self, target: &Target) -> bool {
        let (u, g) = (target.uid, target.gid);
        self.uids == (u, u, u) && self.gids == (g, g, g) && self.groups == target.groups
    }
}

/// The capability sets the driver is meant to start from.
pub fn planned_caps(ambient: bool) -> CapSets {
    let keep = if ambient { NET_BIND } else { 0 };
    CapSets {
        effective: 0,
        permitted: keep,
        inheritable: keep,
    }
}

/// Refuses, before any bind, a request that needs a privilege this
/// process does not hold, and says why it does not hold it.
pub fn check_available(start: &Start, needs: &Needs, target: &Target) -> Result<(), Error> {
    let held = start.caps.permitted;
    let mut missing = Vec::new();
    let mut lacks = |wanted: u64, what: &'static str| {
        if held & wanted != wanted {
            missing.push(what);
        }
    };
    if !needs.privileged_sockets.is_empty() {
        lacks(NET_BIND, "bind a privileged port");
    }
    if needs.ambient {
        lacks(NET_BIND, "grant cap_net_bind_service");
    }
    if !start.is_already(target) {
        let mut wanted = 1 << CAP_SETGID;
        if start.uids != (target.uid, target.uid, target.uid) {
            wanted |= 1 << CAP_SETUID;
        }
        let what = if target.uid != start.uids.0 {
            "run the driver as another account"
        } else if target.gid != start.gids.0 {
            "run the driver with another group"
        } else {
            "change the driver's groups"
        };
        lacks(wanted, what);
    }
    if missing.is_empty() {
        return Ok(());
    }
    let noroot = sys::securebits().is_ok_and(|bits| bits & SECBIT_NOROOT != 0);
    let why = if sys::no_new_privs() {
        "no_new_privs is set on this process, so the kernel ignored portbind's privilege"
    } else if noroot {
        "securebits NOROOT is set on this process, so setuid root grants no capabilities"
    } else if start.uids.1 == Uid::ROOT {
        "portbind runs as root but without the capability (a reduced bounding set, or a tracer)"
    } else if sys::exe_on_nosuid_mount() {
        "portbind lies on a filesystem mounted nosuid, so its setuid bit is ignored"
    } else if start.caps.permitted & NET_BIND != 0 {
        "portbind is installed with cap_net_bind_service only, not setuid root"
    } else {
        "portbind is not installed setuid root or with cap_net_bind_service"
    };
    Err(Error::NotPermitted(format!(
        "cannot {}: {why}",
        missing.join(" or ")
    )))
}

/// Becomes the invoker again, for good, with no capability: what the
/// parent left holding the terminal's session does before it waits.
pub fn become_invoker(start: &Start) -> Result<(), Error> {
    let (uid, gid) = (start.uids.0, start.gids.0);
    if start.uids != (uid, uid, uid) || start.gids != (gid, gid, gid) {
        sys::setgroups(&start.groups)
            .map_err(|e| Error::System(String::from("cannot set the invoker's groups"), e))?;
        sys::setresgid(gid).map_err(|e| Error::System(format!("cannot set gid {gid}"), e))?;
        sys::setresuid(uid).map_err(|e| Error::System(format!("cannot set uid {uid}"), e))?;
    }
    sys::capset(CapSets::default())
        .map_err(|e| Error::System(String::from("cannot clear capabilities"), e))
}

/// Makes cap_net_bind_service effective when it is only permitted (a
/// file-capability install without the effective bit).
pub fn raise_bind_capability(start: &Start, needs: &Needs) -> Result<(), Error> {
    let caps = start.caps;
    if needs.privileged_sockets.is_empty() || caps.effective & NET_BIND != 0 {
        return Ok(());
    }
    let raised = CapSets {
        effective: caps.effective | NET_BIND,
        ..caps
    };
    sys::capset(raised)
        .map_err(|e| Error::System(String::from("cannot raise cap_net_bind_service"), e))
}

/// The session keyring the driver starts with; `None` where the kernel
/// has no key management for this process (none to pass on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyring(Option<libc::c_long>);

/// Becomes the target for good: groups, then gid, then uid, then
/// capabilities (setresuid leaves the inheritable set alone: it is
/// cleared here). With `ambient`, exactly cap_net_bind_service is kept
/// in the permitted, inheritable and ambient sets. Last, a new session
/// keyring: the invoker's (Kerberos tickets, file-system keys) must not
/// reach the driver.
pub fn drop_privileges(start: &Start, target: &Target, ambient: bool) -> Result<Keyring, Error> {
    let planned = planned_caps(ambient);
    let change_ids = !start.is_already(target);
    if change_ids {
        sys::setgroups(&target.groups)
            .map_err(|e| Error::System(String::from("cannot set the target's groups"), e))?;
        sys::setresgid(target.gid)
            .map_err(|e| Error::System(format!("cannot set gid {}", target.gid), e))?;
        if ambient {
            sys::set_keepcaps(true)
                .map_err(|e| Error::System(String::from("cannot keep capabilities"), e))?;
        }
        sys::setresuid(target.uid)
            .map_err(|e| Error::System(format!("cannot set uid {}", target.uid), e))?;
    }
    if change_ids || start.caps != planned {
        sys::capset(planned)
            .map_err(|e| Error::System(String::from("cannot set capabilities"), e))?;
    }
    if ambient {
        sys::ambient_raise(CAP_NET_BIND_SERVICE).map_err(|e| {
            Error::System(
                String::from("cannot raise cap_net_bind_service as ambient"),
                e,
            )
        })?;
        if change_ids {
            sys::set_keepcaps(false)
                .map_err(|e| Error::System(String::from("cannot clear keep-capabilities"), e))?;
        }
    }
    match sys::join_new_session_keyring() {
        Ok(id) => Ok(Keyring(Some(id))),
        // No key management in this kernel; or keyctl is filtered out by a
        // seccomp filter of the caller's, which the driver inherits, so it
        // cannot read the old keyring through keyctl either (the kernel's
        // own users of the keyring, such as network file systems, still
        // could: a limitation the README names).
        Err(e) if e.0 == libc::ENOSYS || e.0 == libc::EPERM => Ok(Keyring(None)),
        Err(e) => Err(Error::System(
            String::from("cannot start a new session keyring"),
            e,
        )),
    }
}

/// Checks that the drop left exactly the planned state, and that it
/// cannot be undone.
pub fn verify_dropped(target: &Target, ambient: bool, keyring: Keyring) -> Result<(), Error> {
    let (u, g) = (target.uid, target.gid);
    let uids = sys::getresuid();
    if uids != (u, u, u) {
        return Err(mismatch(format!(
            "uids are {}/{}/{}, not {u}",
            uids.0, uids.1, uids.2
        )));
    }
    let gids = sys::getresgid();
    if gids != (g, g, g) {
        return Err(mismatch(format!(
            "gids are {}/{}/{}, not {g}",
            gids.0, gids.1, gids.2
        )));
    }
    let groups =
        sys::getgroups().map_err(|e| Error::System(String::from("cannot read groups"), e))?;
    if groups != target.groups {
        return Err(mismatch(String::from(
            "the supplementary groups differ from the plan",
        )));
    }
    if u != Uid::ROOT {
        if sys::setresuid(Uid::ROOT).is_ok() {
            return Err(mismatch(String::from("uid 0 could be regained")));
        }
        let other = if g == Gid::ROOT { Gid(1) } else { Gid::ROOT };
        if sys::setresgid(other).is_ok() {
            return Err(mismatch(format!("gid {other} could be taken")));
        }
    }
    let caps =
        sys::capget().map_err(|e| Error::System(String::from("cannot read capabilities"), e))?;
    if caps != planned_caps(ambient) {
        return Err(mismatch(format!(
            "capabilities are permitted {:#x}, effective {:#x}, inheritable {:#x}",
            caps.permitted, caps.effective, caps.inheritable
        )));
    }
    // The kernel keeps the ambient set inside permitted and inheritable,
    // so with the sets above nothing but cap_net_bind_service can be
    // ambient, and without `-a` nothing at all.
    if ambient {
        let raised = sys::ambient_is_set(CAP_NET_BIND_SERVICE)
            .map_err(|e| Error::System(String::from("cannot read the ambient set"), e))?;
        if !raised {
            return Err(mismatch(String::from(
                "cap_net_bind_service is not ambient",
            )));
        }
    }
    if let Keyring(Some(id)) = keyring {
        if sys::session_keyring_id().ok() != Some(id) {
            return Err(mismatch(String::from(
                "the session keyring is not the new one",
            )));
        }
    }
    let bits =
        sys::securebits().map_err(|e| Error::System(String::from("cannot read securebits"), e))?;
    if bits & (SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS) != 0 {
        return Err(mismatch(format!(
            "securebits {bits:#x} would keep privilege"
        )));
    }
    Ok(())
}

fn mismatch(what: String) -> Error {
    Error::Verify(format!(
        "privilege drop not verified, driver not started: {what}"
    ))
}
