//! The invoker (who ran portbind) and the target (the account the driver
//! runs as), resolved from the process and the account database.

#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::args::Account;
use crate::error::{Error, Text};
use crate::ids::{Gid, Uid};
use crate::policy::AccountDb;
use crate::sys::{self, Passwd};

/// The real ids of the process, and the login name for the log and for
/// PORTBIND_USER (the decimal uid when the uid has no passwd entry).
#[derive(Clone, Debug)]
pub struct Invoker {
    pub uid: Uid,
    pub gid: Gid,
    /// Supplementary groups, sorted.
    pub groups: Vec<Gid>,
    pub passwd: Option<Passwd>,
}

impl Invoker {
    /// The invoker of a process whose real ids and groups are these.
    pub fn new(uid: Uid, gid: Gid, groups: Vec<Gid>) -> Result<Invoker, Error> {
        let passwd = sys::getpwuid(uid)
            .map_err(|e| Error::System(format!("cannot look up uid {uid}"), e))?;
        Ok(Invoker {
            uid,
            gid,
            groups,
            passwd,
        })
    }

    pub fn name(&self) -> String {
        match &self.passwd {
            Some(pw) => format!("{}", Text(&pw.name)),
            None => format!("{}", self.uid),
        }
    }

    /// The real gid and the supplementary groups.
    pub fn all_groups(&self) -> Vec<Gid> {
        let mut all = self.groups.clone();
        all.push(self.gid);
        crate::ids::sort_dedup(&mut all);
        all
    }

    pub fn is_member(&self, gid: Gid) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// The account the driver runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub uid: Uid,
    pub gid: Gid,
    /// Supplementary groups, sorted and without repeats.
    pub groups: Vec<Gid>,
    pub name: Vec<u8>,
    pub home: Vec<u8>,
    pub shell: Vec<u8>,
}

/// Works out the target from `-u` and `-g`, as portbind(8) lays down:
/// -u alone: the user's primary group and database groups; -u with -g:
/// that gid plus the user's groups; -g alone: the invoker with that gid,
/// groups unchanged; neither: the invoker unchanged.
pub fn resolve_target(
    invoker: &Invoker,
    user: Option<Account<'_>>,
    group: Option<Account<'_>>,
) -> Result<Target, Error> {
    let gid = group.map(resolve_group).transpose()?;
    let Some(user) = user else {
        return Ok(invoker_as_target(invoker, gid));
    };
    let pw = match user {
        Account::Name(name) => sys::getpwnam(name)
            .map_err(|e| Error::System(format!("cannot look up user {}", Text(name)), e))?
            .ok_or_else(|| Error::UnknownAccount(format!("unknown user {}", Text(name))))?,
        Account::Id(uid) => match sys::getpwuid(Uid(uid))
            .map_err(|e| Error::System(format!("cannot look up uid {uid}"), e))?
        {
            Some(pw) => pw,
            None => return unlisted_uid_target(Uid(uid), gid),
        },
    };
    let gid = gid.unwrap_or(pw.gid);
    let groups = sys::getgrouplist(&pw.name, gid)
        .map_err(|e| Error::System(format!("cannot read the groups of {}", Text(&pw.name)), e))?;
    Ok(Target {
        uid: pw.uid,
        gid,
        groups,
        name: pw.name,
        home: pw.home,
        shell: pw.shell,
    })
}

/// A uid with no passwd entry: it needs `-g`, and gets that group alone.
fn unlisted_uid_target(uid: Uid, gid: Option<Gid>) -> Result<Target, Error> {
    let gid = gid.ok_or_else(|| {
        Error::UnknownAccount(format!(
            "uid {uid} has no passwd entry; name its group with -g"
        ))
    })?;
    Ok(Target {
        uid,
        gid,
        groups: alloc::vec![gid],
        name: format!("{uid}").into_bytes(),
        home: b"/".to_vec(),
        shell: b"/bin/sh".to_vec(),
    })
}

fn invoker_as_target(invoker: &Invoker, gid: Option<Gid>) -> Target {
    let (name, home, shell) = match &invoker.passwd {
        Some(pw) => (pw.name.clone(), pw.home.clone(), pw.shell.clone()),
        None => (
            format!("{}", invoker.uid).into_bytes(),
            b"/".to_vec(),
            b"/bin/sh".to_vec(),
        ),
    };
    Target {
        uid: invoker.uid,
        gid: gid.unwrap_or(invoker.gid),
        groups: invoker.groups.clone(),
        name,
        home,
        shell,
    }
}

fn resolve_group(group: Account<'_>) -> Result<Gid, Error> {
    match group {
        Account::Id(gid) => Ok(Gid(gid)),
        Account::Name(name) => sys::getgrnam(name)
            .map_err(|e| Error::System(format!("cannot look up group {}", Text(name)), e))?
            .ok_or_else(|| Error::UnknownAccount(format!("unknown group {}", Text(name)))),
    }
}

/// The system account database, for the policy file.
pub struct SystemDb;

impl AccountDb for SystemDb {
    fn user_by_name(&self, name: &[u8]) -> Option<(Uid, Gid)> {
        sys::getpwnam(name)
            .ok()
            .flatten()
            .map(|pw| (pw.uid, pw.gid))
    }

    fn user_by_id(&self, uid: Uid) -> Option<Gid> {
        sys::getpwuid(uid).ok().flatten().map(|pw| pw.gid)
    }

    fn group_by_name(&self, name: &[u8]) -> Option<Gid> {
        sys::getgrnam(name).ok().flatten()
    }
}
