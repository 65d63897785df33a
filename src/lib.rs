//! portbind: binds a privileged port, hands the socket to a game driver,
//! becomes an ordinary account for good, verifies it, and execs the
//! driver. `main.rs` is the whole sequence; these modules are its steps.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

pub mod accounts;
pub mod addr;
pub mod args;
pub mod audit;
pub mod decide;
pub mod env;
pub mod error;
pub mod ids;
pub mod num;
pub mod out;
pub mod plan;
pub mod policy;
pub mod privilege;
pub mod sockets;
pub mod sys;
pub mod terminal;
