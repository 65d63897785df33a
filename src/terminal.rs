//! Keeping the driver away from the invoker's terminal.

#![forbid(unsafe_code)]

use alloc::string::String;

use crate::error::{Error, EX_OSERR};
use crate::privilege::{self, Start};
use crate::{out, sys};

/// When the driver runs as another account and stdio is a terminal, or
/// the process has a controlling terminal at all (stdio redirected away
/// from it does not stop a program opening /dev/tty), it gets a session
/// of its own: without a controlling terminal it cannot push keystrokes
/// into the invoker's (TIOCSTI).
///
/// setsid fails for a process group leader, which is what an interactive
/// shell makes of every command. Then portbind forks, before anything is
/// bound: the child starts the session and goes on; the parent becomes
/// the invoker again (never the target, who could then kill it and take
/// the terminal it leaves without a session), waits, and exits with the
/// driver's status.
pub fn detach(start: &Start, other_account: bool) -> Result<(), Error> {
    if !other_account || !(sys::has_controlling_terminal() || (0..3).any(sys::isatty)) {
        return Ok(());
    }
    let new_session = |e| Error::System(String::from("cannot start a new session"), e);
    match sys::setsid() {
        Ok(()) => return Ok(()),
        Err(e) if e.0 != libc::EPERM => return Err(new_session(e)),
        Err(_) => {}
    }
    // The parent must be able to wait even if the invoker ignores SIGCHLD;
    // the driver gets the invoker's disposition back.
    let invoker_sigchld = sys::default_sigchld();
    let fork = sys::fork().map_err(|e| Error::System(String::from("cannot fork"), e))?;
    match fork {
        None => {
            sys::restore_sigchld(&invoker_sigchld);
            sys::setsid().map_err(new_session)
        }
        Some(child) => wait_as_invoker(start, child),
    }
}

/// The parent's part: no privilege, no fds but stdio, the driver's status.
fn wait_as_invoker(start: &Start, child: i32) -> ! {
    let _ = sys::close_range(3, u32::MAX);
    if let Err(error) = privilege::become_invoker(start) {
        // Never wait with privilege: stop the child, which has not yet
        // bound anything, and say why.
        sys::kill(child);
        out::error(&error);
        sys::exit(EX_OSERR);
    }
    match sys::wait_for(child) {
        Ok(status) => sys::exit(status),
        Err(e) => {
            out::error(&Error::System(
                String::from("cannot wait for the driver"),
                e,
            ));
            sys::exit(EX_OSERR)
        }
    }
}
