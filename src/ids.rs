//! User and group ids as distinct types, so that one can never be passed
//! where the other belongs.

#![forbid(unsafe_code)]

use core::fmt;

/// The largest id the kernel accepts; all ones means "unchanged".
pub const MAX_ID: u64 = 4_294_967_294;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uid(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gid(pub u32);

impl Uid {
    pub const ROOT: Uid = Uid(0);
}

impl Gid {
    pub const ROOT: Gid = Gid(0);
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Gid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
