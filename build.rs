//! Bakes the policy-file path into the binary. It is chosen by whoever
//! builds portbind, never by whoever runs it.

use std::env;

const DEFAULT_POLICY: &str = "/etc/portbind.conf";

fn main() {
    println!("cargo:rerun-if-env-changed=PORTBIND_POLICY");
    let path = env::var("PORTBIND_POLICY").unwrap_or_else(|_| DEFAULT_POLICY.to_string());
    if !path.starts_with('/') || path.bytes().any(|b| b == 0 || b == b'\n') || path.len() > 200 {
        panic!("PORTBIND_POLICY must be an absolute path of at most 200 bytes");
    }
    println!("cargo:rustc-env=PORTBIND_POLICY_PATH={path}");

    // Without std nothing else asks for the C library: link musl's, statically.
    if env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        println!("cargo:rustc-link-lib=static:-bundle=c");
    }
}
