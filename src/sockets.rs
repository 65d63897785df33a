//! The sockets: planned from `-p` and `-i`, bound while privileged, then
//! placed on the fds the driver expects with every other fd closed.

#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::addr;
use crate::args::Options;
use crate::error::Error;
use crate::sys::{self, OwnedFd};

/// The address of each socket, in `-p` order: the address the `-p` names,
/// else `-i`, else 0.0.0.0. The same address twice is a usage error (both
/// would bind, SO_REUSEADDR allowing it, and the driver would get two
/// sockets for one port).
pub fn plan(opts: &Options<'_>) -> Result<Vec<SocketAddr>, Error> {
    let default = opts.interface.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let mut addrs: Vec<SocketAddr> = Vec::with_capacity(opts.ports.len());
    for spec in &opts.ports {
        let addr = SocketAddr::new(spec.addr.unwrap_or(default), spec.port);
        if addrs.contains(&addr) {
            return Err(Error::Usage(format!(
                "-p {} given twice",
                addr::Display(addr)
            )));
        }
        addrs.push(addr);
    }
    Ok(addrs)
}

/// Creates and binds each socket, and listens when `backlog` says so.
/// SO_REUSEADDR is on; SO_REUSEPORT never is (as root it could join a
/// root service's port group). A specific IPv6 address is v6-only, `::`
/// is dual-stack.
pub fn bind_all(addrs: &[SocketAddr], backlog: Option<i32>) -> Result<Vec<OwnedFd>, Error> {
    addrs.iter().map(|addr| bind_one(addr, backlog)).collect()
}

fn bind_one(addr: &SocketAddr, backlog: Option<i32>) -> Result<OwnedFd, Error> {
    let shown = addr::Display(*addr);
    let fail = |what: &str, e| Error::System(format!("cannot {what} {shown}"), e);
    let fd = sys::socket(addr).map_err(|e| fail("create a socket for", e))?;
    sys::set_int_option(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
        .map_err(|e| fail("set SO_REUSEADDR on", e))?;
    if let SocketAddr::V6(v6) = addr {
        let v6only = i32::from(!v6.ip().is_unspecified());
        sys::set_int_option(&fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, v6only)
            .map_err(|e| fail("set IPV6_V6ONLY on", e))?;
    }
    sys::bind(&fd, addr).map_err(|e| fail("bind", e))?;
    if let Some(backlog) = backlog {
        sys::listen(&fd, backlog).map_err(|e| fail("listen on", e))?;
    }
    Ok(fd)
}

/// Puts the sockets on `first`, `first + 1`, … without close-on-exec and
/// closes every other fd above 2. The cost depends on the number of
/// sockets, not on RLIMIT_NOFILE.
pub fn place_sockets(sockets: Vec<OwnedFd>, first: u32) -> Result<(), Error> {
    let count = sockets.len() as u32;
    let end = first + count;
    let fail = |what: String, e| Error::System(what, e);
    let mut raw: Vec<i32> = sockets.into_iter().map(OwnedFd::into_raw).collect();
    // A socket already inside the target range could be overwritten by
    // another's dup2: move them all above it first.
    if raw.iter().any(|&fd| fd as u32 >= first) {
        for fd in raw.iter_mut() {
            let moved = sys::dup_at_least(*fd, end as i32)
                .map_err(|e| fail(String::from("cannot move a socket"), e))?;
            *fd = moved.into_raw();
        }
    }
    for (slot, fd) in (first..).zip(raw) {
        sys::dup2(fd, slot as i32)
            .map_err(|e| fail(format!("cannot place a socket on fd {slot}"), e))?;
    }
    if first > 3 {
        close_fds(3, first - 1)?;
    }
    close_fds(end, u32::MAX)
}

fn close_fds(first: u32, last: u32) -> Result<(), Error> {
    match sys::close_range(first, last) {
        Ok(()) => Ok(()),
        Err(e) if e.0 == libc::ENOSYS || e.0 == libc::EINVAL => {
            let last = i32::try_from(last).unwrap_or(i32::MAX);
            sys::close_listed_fds(first as i32, last)
                .map_err(|e| Error::System(String::from("cannot close inherited fds"), e))
        }
        Err(e) => Err(Error::System(String::from("cannot close inherited fds"), e)),
    }
}
