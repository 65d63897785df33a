//! The audit log: one syslog line (facility authpriv) per decision, sent
//! as a datagram to /dev/log. The line is built here, field by field,
//! with every piece of outside text escaped and bounded: no format string
//! ever sees user input.

#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use crate::sys;

const LOG_AUTHPRIV: u8 = 10 << 3;
const LOG_NOTICE: u8 = 5;
const LOG_INFO: u8 = 6;
const FIELD_LIMIT: usize = 256;
const REASON_LIMIT: usize = 512;

/// The id that ties a log line to the refusal the invoker saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditId(pub u64);

impl AuditId {
    /// A fresh id from the kernel's random source.
    pub fn new() -> Option<AuditId> {
        sys::random_u64().ok().map(AuditId)
    }
}

impl fmt::Display for AuditId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Outside text in a log field: bytes outside printable ASCII, and `"`
/// and `\`, become `\xHH`; at most 256 bytes are shown.
pub struct Field<'a>(pub &'a [u8]);

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escape(f, self.0, false, FIELD_LIMIT)
    }
}

/// Writes `text` escaped, keeping spaces when `spaces`, and cut after
/// `limit` bytes with `...`.
fn escape(f: &mut fmt::Formatter<'_>, text: &[u8], spaces: bool, limit: usize) -> fmt::Result {
    for &byte in text.iter().take(limit) {
        let plain = (0x21..0x7f).contains(&byte) && byte != b'"' && byte != b'\\';
        if plain || (spaces && byte == b' ') {
            f.write_char(byte as char)?;
        } else {
            write!(f, "\\x{byte:02x}")?;
        }
    }
    if text.len() > limit {
        f.write_str("...")?;
    }
    Ok(())
}

/// What a decision was about.
pub struct Entry<'a> {
    pub id: AuditId,
    /// `None` when permitted; the reason when refused.
    pub refusal: Option<&'a str>,
    pub check_only: bool,
    pub invoker: &'a str,
    pub sockets: &'a str,
    pub target: &'a str,
    pub ambient: bool,
    pub driver: &'a [u8],
}

/// The datagram for `entry`, as syslog(3) would write it (without a
/// timestamp, which the syslog daemon adds).
pub fn format_entry(entry: &Entry<'_>, pid: u32) -> Vec<u8> {
    let priority = LOG_AUTHPRIV
        + if entry.refusal.is_some() {
            LOG_NOTICE
        } else {
            LOG_INFO
        };
    let mut line = String::new();
    let _ = write!(
        line,
        "<{priority}>portbind[{pid}]: {verdict} id={id} mode={mode} invoker={invoker} \
         sockets={sockets} target={target} ambient={ambient} driver={driver}",
        verdict = if entry.refusal.is_some() {
            "refused"
        } else {
            "permitted"
        },
        id = entry.id,
        mode = if entry.check_only { "check" } else { "run" },
        invoker = Field(entry.invoker.as_bytes()),
        sockets = Field(entry.sockets.as_bytes()),
        target = Field(entry.target.as_bytes()),
        ambient = if entry.ambient { "yes" } else { "no" },
        driver = Field(entry.driver),
    );
    if let Some(reason) = entry.refusal {
        let _ = write!(line, " reason=\"{}\"", Reason(reason));
    }
    line.into_bytes()
}

/// A reason is portbind's own sentence, but may quote outside text:
/// spaces are kept, everything else is escaped as in a field, and the
/// whole is bounded like a field, only longer.
struct Reason<'a>(&'a str);

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escape(f, self.0.as_bytes(), true, REASON_LIMIT)
    }
}

/// How sending the line went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// The syslog daemon has the line, or there is none to take it (no
    /// socket at /dev/log, nobody listening): not an error.
    Done,
    /// A syslog daemon is there but its queue stayed full: the line is
    /// lost, perhaps because someone floods the queue on purpose.
    Lost,
}

/// Sends the line, waiting a bounded time for a busy syslog daemon.
pub fn log(entry: &Entry<'_>) -> Sent {
    match sys::send_to_dev_log(&format_entry(entry, sys::getpid())) {
        Err(e) if e.0 == libc::EAGAIN || e.0 == libc::ENOBUFS => Sent::Lost,
        _ => Sent::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn entry<'a>(refusal: Option<&'a str>, driver: &'a [u8]) -> Entry<'a> {
        Entry {
            id: AuditId(0x0123_4567_89ab_cdef),
            refusal,
            check_only: false,
            invoker: "alice(1000)",
            sockets: "0.0.0.0:23",
            target: "mud(1001):1001",
            ambient: false,
            driver,
        }
    }

    #[test]
    fn permitted_line() {
        let line = format_entry(&entry(None, b"./driver"), 42);
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "<86>portbind[42]: permitted id=0123456789abcdef mode=run invoker=alice(1000) \
             sockets=0.0.0.0:23 target=mud(1001):1001 ambient=no driver=./driver"
        );
    }

    #[test]
    fn refused_line_is_notice() {
        let line = format_entry(&entry(Some("no rule permits it"), b"./driver"), 42);
        let line = String::from_utf8(line).unwrap();
        assert!(line.starts_with("<85>portbind[42]: refused id=0123456789abcdef"));
        assert!(line.ends_with(" reason=\"no rule permits it\""));
    }

    #[test]
    fn hostile_text_is_escaped_and_bounded() {
        let hostile = b"/tmp/x\nportbind[1]: permitted %n%s \"\\ \xff";
        let line = format_entry(&entry(Some("bad\nline"), hostile), 1);
        assert!(!line.contains(&b'\n'));
        assert!(line.iter().all(|b| (0x20..0x7f).contains(b)));
        let text = String::from_utf8(line).unwrap();
        assert!(text.contains(
            "driver=/tmp/x\\x0aportbind[1]:\\x20permitted\\x20%n%s\\x20\\x22\\x5c\\x20\\xff"
        ));
        let long = vec![b'a'; 5000];
        let line = format_entry(&entry(None, &long), 1);
        assert!(line.len() < 600);
        assert!(line.ends_with(b"..."));
        let reason = "word ".repeat(2000);
        let line = format_entry(&entry(Some(&reason), &long), 1);
        assert!(line.len() < 2048, "{}", line.len());
        assert!(line.ends_with(b"...\""));
    }
}
