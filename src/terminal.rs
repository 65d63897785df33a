//! Keeping the driver away from the invoker's terminal.

#![forbid(unsafe_code)]

use alloc::string::String;

use crate::error::Error;
use crate::sys;

/// When the driver runs as another account and stdio is a terminal, or
/// the process has a controlling terminal at all (stdio redirected away
/// from it does not stop a program opening /dev/tty), it gets a session
/// of its own: without a controlling terminal it cannot push keystrokes
/// into the invoker's (TIOCSTI).
///
/// setsid fails for a process group leader, which is what an interactive
/// shell makes of every command. Then portbind forks: the child starts
/// the session and goes on to exec, the parent (already the unprivileged
/// target, and not dumpable) waits and exits with the driver's status.
pub fn detach(other_account: bool) -> Result<(), Error> {
    if !other_account || !(sys::has_controlling_terminal() || (0..3).any(sys::isatty)) {
        return Ok(());
    }
    match sys::setsid() {
        Ok(()) => return Ok(()),
        Err(e) if e.0 != libc::EPERM => {
            return Err(Error::System(String::from("cannot start a new session"), e))
        }
        Err(_) => {}
    }
    // The parent must be able to wait even if the invoker ignores SIGCHLD;
    // the driver gets the invoker's disposition back.
    let invoker_sigchld = sys::default_sigchld();
    let fork = sys::fork().map_err(|e| Error::System(String::from("cannot fork"), e))?;
    match fork {
        None => {
            sys::restore_sigchld(&invoker_sigchld);
            sys::setsid().map_err(|e| Error::System(String::from("cannot start a new session"), e))
        }
        Some(child) => {
            // The sockets are the child's now.
            let _ = sys::close_range(3, u32::MAX);
            match sys::wait_for(child) {
                Ok(status) => sys::exit(status),
                Err(e) => Err(Error::System(String::from("cannot wait for the driver"), e)),
            }
        }
    }
}
