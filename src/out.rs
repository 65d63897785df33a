//! Writing to stdout and stderr. Nothing here can panic, and a closed or
//! broken stream is not an error: the exit status still tells.

#![forbid(unsafe_code)]

use alloc::string::String;
use core::fmt::{self, Write};

use crate::error::Error;
use crate::sys;

/// Writes `portbind: <error>` as one line on stderr.
pub fn error(error: &Error) {
    line(2, format_args!("portbind: {error}"));
}

/// Writes one line on stdout.
pub fn stdout(args: fmt::Arguments<'_>) {
    line(1, args);
}

fn line(fd: i32, args: fmt::Arguments<'_>) {
    let mut text = String::new();
    if text.write_fmt(args).is_err() {
        return;
    }
    text.push('\n');
    // A reader that has gone, or a file size limit, must not turn the exit
    // status into a death by signal. Every write here is on the way out (an
    // error, the plan, the help), so the blocked signals are never
    // delivered: portbind exits.
    sys::block_write_signals();
    let _ = sys::write_all(fd, text.as_bytes());
}
