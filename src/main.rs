//! The whole of what portbind does, in the order it does it. Each step is
//! one call; read top to bottom, this function is the security argument.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::convert::Infallible;
use core::ffi::{c_char, c_int};
use core::panic::PanicInfo;

use portbind::accounts::{resolve_target, Invoker};
use portbind::args::{self, Command, Options};
use portbind::audit::{self, AuditId};
use portbind::decide::{self, Grant, Needs};
use portbind::error::{Error, Text};
use portbind::privilege::{self, Start};
use portbind::{env, out, plan, sockets, sys, terminal};

#[global_allocator]
static ALLOCATOR: sys::LibcAlloc = sys::LibcAlloc;

// Nothing panics by design; running out of memory would end here. The
// process leaves at once, never reaching exec, with a line and the status
// for a failed system resource.
#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    sys::block_write_signals();
    let _ = sys::write_all(2, b"portbind: out of memory (or an internal error)\n");
    sys::exit(portbind::error::EX_OSERR)
}

// The prebuilt `alloc` refers to the unwinder even under panic=abort.
// Nothing unwinds here (a panic aborts), so these are never reached; they
// only satisfy the linker without pulling in an unwinder.
#[allow(unsafe_code)]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[allow(unsafe_code)]
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    sys::abort()
}

// The C entry point: musl's start code calls it with the kernel's argv
// and envp. Naming it is the one unsafe-adjacent act outside sys.
#[allow(unsafe_code)]
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: these are the kernel's argv (argc long) and envp as musl's
    // start code passes them, NULL-terminated and never freed.
    let (argv, envp) = unsafe {
        (
            sys::c_string_array(argv, Some(argc.max(0) as usize)),
            sys::c_string_array(envp, None),
        )
    };
    let error = match run(&argv, &envp) {
        Ok(never) => match never {},
        Err(error) => error,
    };
    out::error(&error);
    sys::exit(error.exit_status())
}

fn run(argv: &[&'static [u8]], envp: &[&'static [u8]]) -> Result<Infallible, Error> {
    // 0. A call without argv[0] is refused before anything else.
    let args = match argv.split_first() {
        Some((name, args)) if !name.is_empty() => args,
        // Since Linux 5.18 an empty argv arrives as one empty string.
        _ => return Err(Error::Usage("empty argument list (no argv[0])".into())),
    };

    // 1. A closed stdin, stdout or stderr is opened on /dev/null before
    // anything else is opened, so no file or socket can land there.
    guard_stdio()?;

    // 2. Parse, resolve the accounts, decide, log the decision.
    let opts = match args::parse(args)? {
        Command::Run(opts) => opts,
        Command::Help => exit_with_help(),
        Command::Version => exit_with_version(),
    };
    let start = Start::read()?;
    let invoker = Invoker::new(start.uids.0, start.gids.0, start.groups.clone())?;
    let target = resolve_target(&invoker, opts.user, opts.group)?;
    let addrs = sockets::plan(&opts)?;
    let backlog = listen_backlog(&opts);
    let (grant, needs, id) = decide_and_log(&start, &invoker, &opts, &addrs, &target)?;
    if opts.check {
        print_plan(&opts, &invoker, &addrs, backlog, &target, envp, grant, id);
        sys::exit(0);
    }

    // 3. Another account gets no hold on the invoker's terminal: a new
    // session, before anything is bound (a fork, if one is needed, leaves
    // the parent nothing but the wait).
    terminal::detach(&start, target.uid != invoker.uid)?;

    // 4. Bind, with privilege, and for this alone.
    privilege::raise_bind_capability(&start, &needs)?;
    let bound = sockets::bind_all(&addrs, backlog)?;

    // 5. Become the target for good.
    let keyring = privilege::drop_privileges(&start, &target, opts.ambient)?;

    // 6. Prove it, or stop here.
    privilege::verify_dropped(&target, opts.ambient, keyring)?;

    // 7. Sockets on their fds; every other fd above 2 closed.
    sockets::place_sockets(bound, opts.first_fd())?;

    // 8. A fresh environment, an empty signal mask, exec.
    let environment = driver_env(&opts, &invoker, &target, envp, addrs.len());
    sys::unblock_all_signals()
        .map_err(|e| Error::System("cannot reset the signal mask".into(), e))?;
    Err(exec_driver(opts.driver(), opts.driver_args, &environment))
}

/// Opens /dev/null once for each closed standard fd: open takes the
/// lowest free fd, so the closed ones fill in order.
fn guard_stdio() -> Result<(), Error> {
    let closed = sys::closed_stdio().iter().filter(|&&c| c).count();
    for _ in 0..closed {
        sys::open_dev_null().map_err(|e| Error::System("cannot open /dev/null".into(), e))?;
    }
    Ok(())
}

/// execve the driver by its path (never searched in PATH); returns only
/// the error.
fn exec_driver(driver: &[u8], args: &[&[u8]], environment: &[Vec<u8>]) -> Error {
    let argv = driver_argv(driver, args);
    let errno = sys::execve(&argv[0], &argv, environment);
    let shown = alloc::format!("{}", Text(driver));
    // ENOENT for a file that exists: its #! interpreter is missing.
    if errno.0 == libc::ENOENT && sys::exists(driver) {
        return Error::BadInterpreter(shown);
    }
    Error::Exec(shown, errno)
}

/// Decides, checks that portbind holds the privilege the request needs,
/// and logs the outcome; a refusal carries the log line's audit id.
fn decide_and_log(
    start: &Start,
    invoker: &Invoker,
    opts: &Options<'_>,
    addrs: &[core::net::SocketAddr],
    target: &portbind::accounts::Target,
) -> Result<(Grant, Needs, AuditId), Error> {
    let decision = decide::decide(invoker, opts.user.is_some(), addrs, target, opts.ambient)
        .and_then(|(grant, needs): (Grant, Needs)| {
            privilege::check_available(start, &needs, target)?;
            Ok((grant, needs))
        });
    let refusal = match &decision {
        Err(Error::NotPermitted(text) | Error::PolicyInvalid(text)) => Some(text.as_str()),
        // Anything else ended the run before there was a decision to log.
        Err(_) => return decision.map(|(grant, needs)| (grant, needs, AuditId(0))),
        Ok(_) => None,
    };
    let id = AuditId::new().ok_or_else(|| {
        Error::System(
            "cannot read the random source".into(),
            sys::Errno(libc::EIO),
        )
    })?;
    let sent = audit::log(&audit::Entry {
        id,
        refusal,
        check_only: opts.check,
        invoker: &plan::show_invoker(invoker),
        sockets: &plan::show_sockets(addrs),
        target: &plan::show_target(target),
        ambient: opts.ambient,
        driver: opts.driver(),
    });
    match decision {
        // A grant that rests on the policy is never made unrecorded.
        Ok((Grant::Rule(_), _)) if sent == audit::Sent::Lost => Err(Error::System(
            alloc::format!("cannot write the audit line for audit id {id} (the syslog queue is full); a grant by the policy needs it"),
            sys::Errno(libc::EAGAIN),
        )),
        Ok((grant, needs)) => Ok((grant, needs, id)),
        Err(Error::NotPermitted(text)) => Err(Error::NotPermitted(alloc::format!(
            "{text} [audit id {id}]"
        ))),
        Err(Error::PolicyInvalid(text)) => Err(Error::PolicyInvalid(alloc::format!(
            "{text} [audit id {id}]"
        ))),
        Err(other) => Err(other),
    }
}

/// What `-s` listens with unless `-b` says otherwise: today's SOMAXCONN
/// (musl's header still says 128); the kernel caps it at
/// net.core.somaxconn.
const SOCKET_ACTIVATION_BACKLOG: i32 = 4096;

/// `-b` asks for listen(); `-s` listens by default.
fn listen_backlog(opts: &Options<'_>) -> Option<i32> {
    match (opts.backlog, opts.systemd) {
        (Some(n), _) => Some(n as i32),
        (None, true) => Some(SOCKET_ACTIVATION_BACKLOG),
        (None, false) => None,
    }
}

fn driver_env(
    opts: &Options<'_>,
    invoker: &Invoker,
    target: &portbind::accounts::Target,
    envp: &[&[u8]],
    socket_count: usize,
) -> Vec<Vec<u8>> {
    let ports: Vec<u16> = opts.ports.iter().map(|p| p.port).collect();
    let invoker_name = invoker.name();
    env::build(&env::Inputs {
        invoker_env: envp,
        target_name: &target.name,
        target_home: &target.home,
        target_shell: &target.shell,
        invoker_name: invoker_name.as_bytes(),
        keep: &opts.keep_env,
        listen: (opts.systemd && socket_count > 0).then(|| (sys::getpid(), ports.as_slice())),
    })
}

fn driver_argv(driver: &[u8], args: &[&[u8]]) -> Vec<Vec<u8>> {
    core::iter::once(driver)
        .chain(args.iter().copied())
        .filter_map(sys::c_string)
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn print_plan(
    opts: &Options<'_>,
    invoker: &Invoker,
    addrs: &[core::net::SocketAddr],
    backlog: Option<i32>,
    target: &portbind::accounts::Target,
    envp: &[&[u8]],
    grant: Grant,
    id: AuditId,
) {
    let environment = driver_env(opts, invoker, target, envp, addrs.len());
    plan::print(&plan::Plan {
        invoker,
        sockets: addrs,
        first_fd: opts.first_fd(),
        backlog,
        target,
        ambient: opts.ambient,
        driver: opts.driver(),
        driver_args: opts.driver_args,
        env: &environment,
        grant,
        id,
    });
}

fn exit_with_help() -> ! {
    out::stdout(format_args!("{}", HELP));
    out::stdout(format_args!(
        "Policy file: {} (fixed when portbind was built; see portbind.conf(5)).",
        Text(decide::POLICY_PATH.to_bytes())
    ));
    sys::exit(0)
}

fn exit_with_version() -> ! {
    out::stdout(format_args!("portbind {}", env!("CARGO_PKG_VERSION")));
    sys::exit(0)
}

const HELP: &str = "\
usage: portbind -p [ADDR:]PORT [-p ...] [-i ADDR] [-d DRIVER] [-u USER] [-g GROUP]
                [-f FD | -s] [-b BACKLOG] [-a] [-e NAME]... [-c] [--] [DRIVER_ARG...]
       portbind -h | --help
       portbind -V | --version

Binds the ports, hands the sockets to DRIVER (on fd 6, 7, ...), becomes
USER for good, and executes DRIVER.

  -p [ADDR:]PORT  port to bind (1-65535); ADDR is a.b.c.d or [IPv6]; repeatable
  -i ADDR         address for every -p that names none (default 0.0.0.0)
  -d DRIVER       program to execute, by path (default ./driver)
  -u USER         account the driver runs as (name or uid)
  -g GROUP        group the driver runs as (name or gid)
  -f FD           first fd for the sockets (default 6, at least 3)
  -s              systemd socket activation: fds from 3, LISTEN_FDS/LISTEN_PID
  -b BACKLOG      also listen() with this backlog (1-65535)
  -a              grant the driver cap_net_bind_service as an ambient capability
  -e NAME         keep the invoker's environment variable NAME; repeatable
  -c              check only: print the decision and the plan, bind nothing
  --              end of options; the rest goes to the driver

Exit status: 64 usage, 67 unknown user or group, 71 system error,
77 not permitted, 78 bad policy file, 126 driver not executable,
127 driver not found.";
