//! The install script: the binary setuid root with the chosen group and
//! mode, and both manual pages where `man` finds them.

mod common;

use common::Sandbox;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;

fn man(prefix: &std::path::Path, section: &str, page: &str) -> String {
    let output = Command::new("man")
        .arg("-M")
        .arg(prefix.join("share/man"))
        .args([section, page])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
        .expect("run man");
    assert!(
        output.status.success(),
        "man {section} {page}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn install_places_a_setuid_binary_and_readable_manual_pages() {
    if !common::root_or_skip("install_places_a_setuid_binary_and_readable_manual_pages") {
        return;
    }
    let sandbox = Sandbox::new();
    let meta = fs::metadata(sandbox.bin()).unwrap();
    assert_eq!(meta.uid(), 0);
    assert_eq!(meta.gid(), 65534);
    assert_eq!(meta.permissions().mode() & 0o7777, 0o4750);

    let prefix = sandbox.dir().join("prefix");
    for page in [
        "share/man/man8/portbind.8",
        "share/man/man5/portbind.conf.5",
    ] {
        let meta = fs::metadata(prefix.join(page)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o644, "{page}");
        assert_eq!(meta.uid(), 0, "{page}");
    }
    let eight = man(&prefix, "8", "portbind");
    for heading in ["SYNOPSIS", "OPTIONS", "ORDER OF OPERATIONS", "EXIT STATUS"] {
        assert!(eight.contains(heading), "portbind(8) lacks {heading}");
    }
    let five = man(&prefix, "5", "portbind.conf");
    for text in ["permit", "FILE SAFETY", "ambient"] {
        assert!(five.contains(text), "portbind.conf(5) lacks {text}");
    }
}
