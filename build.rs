//! Bakes the policy-file path into the binary. It is chosen by whoever
//! builds portbind, never by whoever runs it.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const DEFAULT_POLICY: &str = "/etc/portbind.conf";

fn main() {
    println!("cargo:rerun-if-env-changed=PORTBIND_POLICY");
    let path = match env::var_os("PORTBIND_POLICY") {
        None => DEFAULT_POLICY.to_string(),
        Some(value) => value
            .into_string()
            .unwrap_or_else(|_| panic!("PORTBIND_POLICY must be valid UTF-8")),
    };
    if !path.starts_with('/') || path.bytes().any(|b| b == 0 || b == b'\n') || path.len() > 200 {
        panic!("PORTBIND_POLICY must be an absolute path of at most 200 bytes");
    }
    println!("cargo:rustc-env=PORTBIND_POLICY_PATH={path}");

    // Without std nothing else asks for the C library: link musl's, statically.
    if env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        println!("cargo:rustc-link-lib=static:-bundle=c");
    }
    if env::var("TARGET").as_deref() == Ok("aarch64-unknown-linux-musl") {
        static_pie_by_hand();
    }
}

/// rustc knows static-pie for x86_64 musl but not for aarch64 musl, where
/// it would link a fixed-address executable. .cargo/config.toml turns off
/// its start files there; this links musl's self-relocating ones instead.
fn static_pie_by_hand() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc --print sysroot");
    let sysroot = String::from_utf8(sysroot.stdout).expect("sysroot is UTF-8");
    let dir: PathBuf = [
        sysroot.trim(),
        "lib/rustlib/aarch64-unknown-linux-musl/lib/self-contained",
    ]
    .iter()
    .collect();
    println!("cargo:rustc-link-search=native={}", dir.display());
    for object in ["rcrt1.o", "crti.o", "crtbeginS.o"] {
        println!("cargo:rustc-link-arg-bins={}", dir.join(object).display());
    }
    for arg in ["-pie", "--no-dynamic-linker", "-ztext"] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    for object in ["crtendS.o", "crtn.o"] {
        println!("cargo:rustc-link-arg-bins={}", dir.join(object).display());
    }
}
