//! The driver's environment, built from nothing: nothing the invoker set
//! reaches the driver unless it is on the short list of harmless
//! variables with a sane value, or named with `-e`.

#![forbid(unsafe_code)]

use alloc::format;
use alloc::vec::Vec;

pub const PATH: &[u8] = b"/usr/local/bin:/usr/bin:/bin";
const VALUE_LIMIT: usize = 128;
const ZONEINFO: &[u8] = b"/usr/share/zoneinfo/";

/// What the environment is built from.
pub struct Inputs<'a> {
    /// The invoker's environment, `NAME=VALUE` entries.
    pub invoker_env: &'a [&'a [u8]],
    pub target_name: &'a [u8],
    pub target_home: &'a [u8],
    pub target_shell: &'a [u8],
    pub invoker_name: &'a [u8],
    /// Names from `-e`.
    pub keep: &'a [&'a [u8]],
    /// With `-s`: the pid the driver will have and one name per socket.
    pub listen: Option<(u32, &'a [u16])>,
}

/// The environment as NUL-terminated `NAME=VALUE` entries for execve.
pub fn build(inputs: &Inputs<'_>) -> Vec<Vec<u8>> {
    let mut env = Env(Vec::new());
    env.set(b"PATH", PATH);
    env.set(b"HOME", inputs.target_home);
    env.set(b"USER", inputs.target_name);
    env.set(b"LOGNAME", inputs.target_name);
    env.set(b"SHELL", inputs.target_shell);
    for (name, value) in entries(inputs.invoker_env) {
        if is_sane(name, value) && env.get(name).is_none() {
            env.set(name, value);
        }
    }
    for &wanted in inputs.keep {
        if let Some(value) = lookup(inputs.invoker_env, wanted) {
            env.set(wanted, value);
        }
    }
    env.set(b"PORTBIND_USER", inputs.invoker_name);
    if let Some((pid, ports)) = inputs.listen {
        env.set(b"LISTEN_FDS", format!("{}", ports.len()).as_bytes());
        env.set(b"LISTEN_PID", format!("{pid}").as_bytes());
        let names: Vec<_> = ports.iter().map(|p| format!("{p}")).collect();
        env.set(b"LISTEN_FDNAMES", names.join(":").as_bytes());
    }
    env.0
        .into_iter()
        .map(|(name, value)| {
            let mut entry = name;
            entry.push(b'=');
            entry.extend_from_slice(&value);
            entry.push(0);
            entry
        })
        .collect()
}

struct Env(Vec<(Vec<u8>, Vec<u8>)>);

impl Env {
    fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    fn set(&mut self, name: &[u8], value: &[u8]) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.to_vec(),
            None => self.0.push((name.to_vec(), value.to_vec())),
        }
    }
}

/// Splits entries at the first `=`; entries without one are skipped.
fn entries<'a>(env: &'a [&'a [u8]]) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
    env.iter().filter_map(|entry| {
        let eq = entry.iter().position(|&b| b == b'=')?;
        Some((&entry[..eq], &entry[eq + 1..]))
    })
}

/// The first value of `name`, as getenv(3) finds it.
fn lookup<'a>(env: &'a [&'a [u8]], name: &[u8]) -> Option<&'a [u8]> {
    entries(env).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// LANG, LANGUAGE and the locale categories of POSIX and glibc. A fixed
/// list also bounds how many variables are copied, whatever the invoker
/// sets.
fn is_locale_name(name: &[u8]) -> bool {
    const CATEGORIES: [&[u8]; 13] = [
        b"ALL",
        b"CTYPE",
        b"NUMERIC",
        b"TIME",
        b"COLLATE",
        b"MONETARY",
        b"MESSAGES",
        b"PAPER",
        b"NAME",
        b"ADDRESS",
        b"TELEPHONE",
        b"MEASUREMENT",
        b"IDENTIFICATION",
    ];
    match name {
        b"LANG" | b"LANGUAGE" => true,
        _ => name
            .strip_prefix(b"LC_")
            .is_some_and(|category| CATEGORIES.contains(&category)),
    }
}

fn printable(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= VALUE_LIMIT
        && value.iter().all(|b| (0x21..0x7f).contains(b))
}

/// Whether an invoker variable may be copied to the driver.
fn is_sane(name: &[u8], value: &[u8]) -> bool {
    if !printable(value) {
        return false;
    }
    if name == b"TERM" || is_locale_name(name) {
        // A `/` would let the value name a file: a terminfo entry or a
        // locale of the invoker's making.
        return !value.contains(&b'/');
    }
    if name == b"TZ" {
        let path = value.strip_prefix(b":").unwrap_or(value);
        let escapes = value.windows(2).any(|w| w == b"..");
        return !escapes && (!path.starts_with(b"/") || path.starts_with(ZONEINFO));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn show(env: &[Vec<u8>]) -> Vec<String> {
        env.iter()
            .map(|e| String::from_utf8_lossy(&e[..e.len() - 1]).into_owned())
            .collect()
    }

    fn base<'a>(invoker_env: &'a [&'a [u8]], keep: &'a [&'a [u8]]) -> Inputs<'a> {
        Inputs {
            invoker_env,
            target_name: b"mud",
            target_home: b"/home/mud",
            target_shell: b"/bin/sh",
            invoker_name: b"alice",
            keep,
            listen: None,
        }
    }

    #[test]
    fn built_from_nothing() {
        let env = build(&base(
            &[b"LD_PRELOAD=/tmp/x.so", b"PATH=/tmp", b"HOME=/root"],
            &[],
        ));
        assert_eq!(
            show(&env),
            [
                "PATH=/usr/local/bin:/usr/bin:/bin",
                "HOME=/home/mud",
                "USER=mud",
                "LOGNAME=mud",
                "SHELL=/bin/sh",
                "PORTBIND_USER=alice",
            ]
        );
        assert!(env.iter().all(|e| e.last() == Some(&0)));
    }

    #[test]
    fn hostile_variables_never_pass() {
        let hostile: &[&[u8]] = &[
            b"LD_PRELOAD=/tmp/evil.so",
            b"LD_LIBRARY_PATH=/tmp",
            b"GCONV_PATH=/tmp",
            b"MALLOC_CHECK_=3",
            b"LOCPATH=/tmp",
            b"NLSPATH=/tmp/%N",
            b"RUST_BACKTRACE=1",
            b"BASH_ENV=/tmp/x",
            b"BASH_FUNC_ls%%=() { :;}",
            b"IFS=x",
            b"LANG=../../tmp/evil",
            b"LC_ALL=/tmp/evil",
            b"TERM=../../tmp/t",
            b"TZ=/tmp/zone",
            b"TZ=:/etc/../tmp/zone",
            b"TZ=../../tmp/zone",
            b"LANGUAGE=en\x1b[2J",
            b"LC_lower=C",
            b"LC_MADE_UP=C",
        ];
        let env = show(&build(&base(hostile, &[])));
        assert_eq!(env.len(), 6, "{env:?}");
    }

    #[test]
    fn sane_terminal_and_locale_values_pass() {
        let good: &[&[u8]] = &[
            b"TERM=xterm-256color",
            b"LANG=en_US.UTF-8",
            b"LANGUAGE=en_US:en",
            b"LC_ALL=C.UTF-8",
            b"LC_TIME=de_DE.UTF-8",
            b"TZ=Europe/Paris",
            b"TZ=:/usr/share/zoneinfo/UTC",
            b"TZ=EST5EDT,M3.2.0,M11.1.0",
            b"TERM=vt100",
        ];
        let env = show(&build(&base(good, &[])));
        assert!(env.contains(&"TERM=xterm-256color".into()));
        assert!(env.contains(&"LC_TIME=de_DE.UTF-8".into()));
        assert!(env.contains(&"TZ=Europe/Paris".into()));
        assert_eq!(env.iter().filter(|e| e.starts_with("TZ=")).count(), 1);
        assert_eq!(env.iter().filter(|e| e.starts_with("TERM=")).count(), 1);
        let long = [b"TERM=".as_slice(), &[b'x'; 200]].concat();
        let env = show(&build(&base(&[&long], &[])));
        assert!(!env.iter().any(|e| e.starts_with("TERM=")));
    }

    #[test]
    fn kept_variables_pass_as_they_are_and_may_override() {
        let invoker: &[&[u8]] = &[
            b"MUD_HOME=/srv/mud lib",
            b"PATH=/opt/mud/bin",
            b"MUD_HOME=second",
        ];
        let env = show(&build(&base(invoker, &[b"MUD_HOME", b"PATH", b"ABSENT"])));
        assert!(env.contains(&"MUD_HOME=/srv/mud lib".into()));
        assert!(env.contains(&"PATH=/opt/mud/bin".into()));
        assert!(!env.iter().any(|e| e.starts_with("ABSENT")));
        assert_eq!(env.iter().filter(|e| e.starts_with("PATH=")).count(), 1);
    }

    #[test]
    fn socket_activation_variables() {
        let mut inputs = base(&[b"LISTEN_FDS=9", b"LISTEN_PID=1"], &[]);
        inputs.listen = Some((4242, &[80, 443]));
        let env = show(&build(&inputs));
        assert!(env.contains(&"LISTEN_FDS=2".into()));
        assert!(env.contains(&"LISTEN_PID=4242".into()));
        assert!(env.contains(&"LISTEN_FDNAMES=80:443".into()));
        assert_eq!(
            env.iter().filter(|e| e.starts_with("LISTEN_FDS=")).count(),
            1
        );
    }
}
