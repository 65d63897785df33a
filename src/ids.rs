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

/// Sorts a short list of ids and drops repeats. An insertion sort: group
/// lists are short, and it keeps the binary small.
pub fn sort_dedup<T: Ord + Copy>(list: &mut alloc::vec::Vec<T>) {
    for i in 1..list.len() {
        let mut j = i;
        while j > 0 && list[j - 1] > list[j] {
            list.swap(j - 1, j);
            j -= 1;
        }
    }
    list.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_drops_repeats() {
        let mut list = alloc::vec![Gid(5), Gid(1), Gid(5), Gid(0), Gid(3), Gid(1)];
        sort_dedup(&mut list);
        assert_eq!(list, [Gid(0), Gid(1), Gid(3), Gid(5)]);
        let mut empty: alloc::vec::Vec<Uid> = alloc::vec![];
        sort_dedup(&mut empty);
        assert!(empty.is_empty());
    }
}
