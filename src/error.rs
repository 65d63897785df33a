//! Every way portbind can refuse or fail, each with its exit status.

#![forbid(unsafe_code)]

use alloc::string::String;
use core::fmt;

use crate::sys::Errno;

/// Exit statuses (sysexits.h, and the shell's 126/127 for exec).
pub const EX_USAGE: u8 = 64;
pub const EX_NOUSER: u8 = 67;
pub const EX_OSERR: u8 = 71;
pub const EX_NOPERM: u8 = 77;
pub const EX_CONFIG: u8 = 78;
pub const EX_CANNOT_EXEC: u8 = 126;
pub const EX_NOT_FOUND: u8 = 127;

#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// The command line is wrong.
    Usage(String),
    /// A user or group name or id is not in the account database.
    UnknownAccount(String),
    /// A system call failed: what was being done, and the errno.
    System(String, Errno),
    /// The drop did not leave the process as planned.
    Verify(String),
    /// The request is not permitted (policy, or no privilege to use).
    NotPermitted(String),
    /// The policy file is unsafe or malformed.
    PolicyInvalid(String),
    /// execve failed: the driver path and the errno.
    Exec(String, Errno),
    /// The driver exists but its interpreter (`#!` or ELF) does not.
    BadInterpreter(String),
}

impl Error {
    pub fn exit_status(&self) -> u8 {
        match self {
            Error::Usage(_) => EX_USAGE,
            Error::UnknownAccount(_) => EX_NOUSER,
            Error::System(..) | Error::Verify(_) => EX_OSERR,
            Error::NotPermitted(_) => EX_NOPERM,
            Error::PolicyInvalid(_) => EX_CONFIG,
            Error::Exec(_, e) if e.0 == libc::ENOENT || e.0 == libc::ENOTDIR => EX_NOT_FOUND,
            // Out of processes or memory: a resource failed, not the driver.
            Error::Exec(_, e) if e.0 == libc::EAGAIN || e.0 == libc::ENOMEM => EX_OSERR,
            Error::Exec(..) | Error::BadInterpreter(_) => EX_CANNOT_EXEC,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(text) => write!(f, "{text} (see portbind -h)"),
            Error::UnknownAccount(text)
            | Error::Verify(text)
            | Error::NotPermitted(text)
            | Error::PolicyInvalid(text) => f.write_str(text),
            Error::System(what, errno) => write!(f, "{what}: {}", Text(errno.text())),
            Error::Exec(driver, errno) => {
                write!(f, "cannot execute driver {driver}: {}", Text(errno.text()))
            }
            Error::BadInterpreter(driver) => write!(
                f,
                "cannot execute driver {driver}: its interpreter (a #! line's, or an ELF loader) does not exist"
            ),
        }
    }
}

/// Bytes shown safely in a message: printable ASCII as it is, anything
/// else as `\xHH`, cut after 200 bytes.
pub struct Text<'a>(pub &'a [u8]);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LIMIT: usize = 200;
        for &byte in self.0.iter().take(LIMIT) {
            if (0x20..0x7f).contains(&byte) && byte != b'\\' {
                f.write_fmt(format_args!("{}", byte as char))?;
            } else {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        if self.0.len() > LIMIT {
            f.write_str("...")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn text_escapes_and_bounds() {
        assert_eq!(
            format!("{}", Text(b"a b\n\\%n\xff")),
            "a b\\x0a\\x5c%n\\xff"
        );
        let long = [b'x'; 300];
        let shown = format!("{}", Text(&long));
        assert_eq!(shown.len(), 203);
        assert!(shown.ends_with("..."));
    }

    #[test]
    fn statuses_follow_the_contract() {
        assert_eq!(Error::Usage(String::new()).exit_status(), 64);
        assert_eq!(
            Error::Exec(String::new(), Errno(libc::ENOENT)).exit_status(),
            127
        );
        assert_eq!(
            Error::Exec(String::new(), Errno(libc::EACCES)).exit_status(),
            126
        );
        assert_eq!(
            Error::System(String::new(), Errno(libc::EPERM)).exit_status(),
            71
        );
    }
}
