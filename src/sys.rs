//! The one module with `unsafe`: thin wrappers over the system calls and C
//! library functions portbind uses, each named after what it calls. Every
//! other module forbids unsafe code and works with the safe types here.

use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::ffi::{c_char, c_int, c_void, CStr};
use core::mem::{size_of, zeroed};
use core::net::SocketAddr;
use core::ptr;

use crate::ids::{Gid, Uid};

/// An errno value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub c_int);

impl Errno {
    pub fn last() -> Errno {
        // SAFETY: __errno_location returns the calling thread's errno slot,
        // valid for the life of the thread.
        Errno(unsafe { *libc::__errno_location() })
    }

    /// The text for this errno, e.g. "Address already in use": the
    /// wording of errno(3) where musl's own differs for the errors
    /// portbind is likely to meet, musl's strerror otherwise.
    pub fn text(self) -> &'static [u8] {
        match self.0 {
            libc::EADDRINUSE => return b"Address already in use",
            libc::EADDRNOTAVAIL => return b"Cannot assign requested address",
            libc::EMFILE => return b"Too many open files",
            libc::ENFILE => return b"Too many open files in system",
            _ => {}
        }
        // SAFETY: musl's strerror returns a pointer to a static,
        // NUL-terminated string for every value, known or not.
        unsafe { CStr::from_ptr(libc::strerror(self.0)) }.to_bytes()
    }
}

pub type SysResult<T> = Result<T, Errno>;

fn check(ret: c_int) -> SysResult<c_int> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

fn check_long(ret: libc::c_long) -> SysResult<libc::c_long> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// A NUL-terminated copy of a byte string; `None` when it holds a NUL.
pub fn c_string(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.contains(&0) {
        return None;
    }
    let mut owned = Vec::with_capacity(bytes.len() + 1);
    owned.extend_from_slice(bytes);
    owned.push(0);
    Some(owned)
}

fn as_c_ptr(c: &[u8]) -> *const c_char {
    debug_assert_eq!(c.last(), Some(&0));
    c.as_ptr().cast()
}

// ---------------------------------------------------------------------------
// Process start, memory and exit.

/// The C library's allocator, for `alloc`.
pub struct LibcAlloc;

// SAFETY: malloc, realloc, posix_memalign and free meet GlobalAlloc's
// contract; alignments above what malloc guarantees go through
// posix_memalign, and a zero-size layout never reaches us.
unsafe impl GlobalAlloc for LibcAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= 16 {
            // SAFETY: plain malloc of a non-zero size.
            return unsafe { libc::malloc(layout.size()) }.cast();
        }
        let mut out: *mut c_void = ptr::null_mut();
        // SAFETY: the alignment is a power of two, a multiple of the
        // pointer size, and `out` is a valid place for the result.
        match unsafe { libc::posix_memalign(&mut out, layout.align(), layout.size()) } {
            0 => out.cast(),
            _ => ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: ptr came from malloc, realloc or posix_memalign.
        unsafe { libc::free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= 16 {
            // SAFETY: ptr came from malloc with an alignment realloc keeps.
            return unsafe { libc::realloc(ptr.cast(), new_size) }.cast();
        }
        // SAFETY: a valid layout of the new size with the old alignment.
        let new =
            unsafe { self.alloc(Layout::from_size_align_unchecked(new_size, layout.align())) };
        if !new.is_null() {
            // SAFETY: both blocks are at least min(old, new) bytes long and
            // distinct; the old one is freed right after.
            unsafe {
                ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

/// Borrows the NUL-terminated strings of a C `argv` or `envp` array.
///
/// # Safety
///
/// `array` is null, or a NULL-terminated array of valid C strings (or one
/// of at least `limit` valid strings) that stays untouched until exit or
/// exec, which is why `'static` holds: the kernel's argv and envp as
/// handed to `main`, which nothing in portbind frees or rewrites.
pub unsafe fn c_string_array(
    array: *const *const c_char,
    limit: Option<usize>,
) -> Vec<&'static [u8]> {
    let mut out = Vec::new();
    if array.is_null() {
        return out;
    }
    loop {
        if limit.is_some_and(|n| out.len() >= n) {
            break;
        }
        // SAFETY: the kernel builds argv and envp as NULL-terminated arrays
        // of valid C strings, and we stop at the NULL (or at argc).
        let item = unsafe { *array.add(out.len()) };
        if item.is_null() {
            break;
        }
        // SAFETY: item is a valid NUL-terminated string (see above).
        out.push(unsafe { CStr::from_ptr(item) }.to_bytes());
    }
    out
}

/// _exit(2): leaves at once; portbind has no buffers to flush.
pub fn exit(status: u8) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(c_int::from(status)) }
}

/// abort(3), for what can never happen.
pub fn abort() -> ! {
    // SAFETY: abort never returns and has no preconditions.
    unsafe { libc::abort() }
}

pub fn getpid() -> u32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }.unsigned_abs()
}

// ---------------------------------------------------------------------------
// File descriptors.

/// An fd portbind owns and closes on drop.
#[derive(Debug)]
pub struct OwnedFd(c_int);

impl OwnedFd {
    pub fn raw(&self) -> c_int {
        self.0
    }

    /// Gives up ownership: the fd stays open.
    pub fn into_raw(self) -> c_int {
        let fd = self.0;
        core::mem::forget(self);
        fd
    }
}

impl Drop for OwnedFd {
    fn drop(&mut self) {
        // SAFETY: we own this fd and nobody uses it after drop.
        unsafe { libc::close(self.0) };
    }
}

/// poll(2) on fds 0, 1 and 2 at once: which of them are closed.
pub fn closed_stdio() -> [bool; 3] {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: fds is a valid array of three pollfd; timeout 0 never blocks.
    let ret = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    if ret < 0 {
        // poll itself failed (no memory): assume the worst for each fd.
        return [true; 3];
    }
    fds.map(|p| p.revents & libc::POLLNVAL != 0)
}

/// open(2) of /dev/null for reading and writing, without close-on-exec:
/// it takes the lowest free fd, which is what fills a closed stdio slot.
pub fn open_dev_null() -> SysResult<c_int> {
    // SAFETY: a constant NUL-terminated path.
    check(unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_NOCTTY) })
}

/// write(2) of the whole buffer; errors are the caller's to ignore.
pub fn write_all(fd: c_int, mut bytes: &[u8]) -> SysResult<()> {
    while !bytes.is_empty() {
        // SAFETY: bytes is a valid readable buffer of the given length.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            let e = Errno::last();
            if e.0 == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        bytes = bytes.get(n.unsigned_abs()..).unwrap_or_default();
    }
    Ok(())
}

/// What fstat(2) tells about a file that is about to be trusted.
pub struct FileFacts {
    pub regular: bool,
    pub directory: bool,
    pub owner: Uid,
    pub mode: u32,
    pub size: u64,
}

impl FileFacts {
    fn of(st: &libc::stat) -> FileFacts {
        FileFacts {
            regular: st.st_mode & libc::S_IFMT == libc::S_IFREG,
            directory: st.st_mode & libc::S_IFMT == libc::S_IFDIR,
            owner: Uid(st.st_uid),
            mode: st.st_mode & 0o7777,
            size: u64::try_from(st.st_size).unwrap_or(u64::MAX),
        }
    }
}

/// Opens `path` read-only without following a final symlink and without
/// blocking on a FIFO, and reads at most `limit` bytes after an fstat.
/// Returns the facts and, when the file is regular and small enough, its
/// contents.
pub fn read_trusted_file(path: &CStr, limit: usize) -> SysResult<(FileFacts, Option<Vec<u8>>)> {
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK;
    // SAFETY: path is NUL-terminated.
    let fd = OwnedFd(check(unsafe { libc::open(path.as_ptr(), flags) })?);
    // SAFETY: an all-zero stat is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { zeroed() };
    // SAFETY: fd is open and st is a valid stat buffer.
    check(unsafe { libc::fstat(fd.raw(), &mut st) })?;
    let facts = FileFacts::of(&st);
    if !facts.regular || facts.size > limit as u64 {
        return Ok((facts, None));
    }
    let contents = read_to_end(&fd, limit)?;
    Ok((facts, Some(contents)))
}

/// lstat(2) of a path given as bytes: a symbolic link is reported as
/// itself (neither regular nor a directory), not followed.
pub fn lstat(path: &[u8]) -> SysResult<FileFacts> {
    let path = c_string(path).ok_or(Errno(libc::EINVAL))?;
    // SAFETY: an all-zero stat is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { zeroed() };
    // SAFETY: path is NUL-terminated and st is a valid stat buffer.
    check(unsafe { libc::lstat(as_c_ptr(&path), &mut st) })?;
    Ok(FileFacts::of(&st))
}

/// Reads a small file such as a /proc/sys value.
pub fn read_small_file(path: &CStr, limit: usize) -> SysResult<Vec<u8>> {
    // SAFETY: path is NUL-terminated.
    let fd = OwnedFd(check(unsafe {
        libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC)
    })?);
    read_to_end(&fd, limit)
}

/// Reads until end of file, refusing (EFBIG) anything longer than `limit`.
fn read_to_end(fd: &OwnedFd, limit: usize) -> SysResult<Vec<u8>> {
    let mut buf: Vec<u8> = Vec::with_capacity(limit.min(4096) + 1);
    loop {
        if buf.len() > limit {
            return Err(Errno(libc::EFBIG));
        }
        buf.reserve(4096.min(limit + 1 - buf.len()).max(1));
        let spare = buf.capacity() - buf.len();
        // SAFETY: the spare capacity is writable memory of that length.
        let n = unsafe { libc::read(fd.raw(), buf.as_mut_ptr().add(buf.len()).cast(), spare) };
        if n < 0 {
            let e = Errno::last();
            if e.0 == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Ok(buf);
        }
        // SAFETY: read initialised n more bytes.
        unsafe { buf.set_len(buf.len() + n.unsigned_abs()) };
    }
}

/// fcntl(F_DUPFD_CLOEXEC): a close-on-exec copy of `fd` at or above `min`.
pub fn dup_at_least(fd: c_int, min: c_int) -> SysResult<OwnedFd> {
    // SAFETY: fcntl with integer arguments only.
    check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) }).map(OwnedFd)
}

/// dup2(2): `fd` also on `target`, without close-on-exec.
pub fn dup2(fd: c_int, target: c_int) -> SysResult<()> {
    // SAFETY: dup2 with integer arguments only.
    check(unsafe { libc::dup2(fd, target) }).map(drop)
}

/// fcntl(F_SETFD) to clear close-on-exec.
pub fn clear_cloexec(fd: c_int) -> SysResult<()> {
    // SAFETY: fcntl with integer arguments only.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }).map(drop)
}

/// close_range(2) of `first..=last`.
pub fn close_range(first: u32, last: u32) -> SysResult<()> {
    // SAFETY: a raw system call with integer arguments only.
    check_long(unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) }).map(drop)
}

/// The fallback for kernels before 5.9: list /proc/self/fd and close
/// every fd in `first..=last`. Its cost follows the number of open fds,
/// not RLIMIT_NOFILE.
pub fn close_listed_fds(first: c_int, last: c_int) -> SysResult<()> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: a constant NUL-terminated path.
    let dir = OwnedFd(check(unsafe {
        libc::open(c"/proc/self/fd".as_ptr(), flags)
    })?);
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: buf is writable for its length.
        let n =
            unsafe { libc::syscall(libc::SYS_getdents64, dir.raw(), buf.as_mut_ptr(), buf.len()) };
        let n = usize::try_from(check_long(n)?).unwrap_or(0);
        if n == 0 {
            return Ok(());
        }
        let mut offset = 0;
        while offset + 19 < n {
            // linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name.
            let reclen = usize::from(u16::from_ne_bytes([buf[offset + 16], buf[offset + 17]]));
            if reclen == 0 || offset + reclen > n {
                break;
            }
            let name = &buf[offset + 19..offset + reclen];
            let name = name.split(|&b| b == 0).next().unwrap_or_default();
            if let Some(fd) = crate::num::parse_decimal(name, i32::MAX as u64) {
                let fd = fd as c_int;
                if fd >= first && fd <= last && fd != dir.raw() {
                    // SAFETY: closing an fd that nothing in portbind uses.
                    unsafe { libc::close(fd) };
                }
            }
            offset += reclen;
        }
    }
}

/// isatty(3) by ioctl(TCGETS).
pub fn isatty(fd: c_int) -> bool {
    // SAFETY: isatty takes an integer only.
    unsafe { libc::isatty(fd) == 1 }
}

/// Whether the process has a controlling terminal: /dev/tty opens only
/// then. Any failure but "no such device" (or no /dev/tty at all) counts
/// as yes, to err on the side of detaching.
pub fn has_controlling_terminal() -> bool {
    let flags = libc::O_RDONLY | libc::O_NOCTTY | libc::O_CLOEXEC | libc::O_NONBLOCK;
    // SAFETY: a constant NUL-terminated path.
    match check(unsafe { libc::open(c"/dev/tty".as_ptr(), flags) }) {
        Ok(fd) => {
            drop(OwnedFd(fd));
            true
        }
        Err(e) => e.0 != libc::ENXIO && e.0 != libc::ENOENT,
    }
}

pub fn setsid() -> SysResult<()> {
    // SAFETY: setsid takes no arguments.
    check(unsafe { libc::setsid() }).map(drop)
}

// ---------------------------------------------------------------------------
// Sockets.

/// socket(2), close-on-exec while portbind owns it.
pub fn socket(addr: &SocketAddr) -> SysResult<OwnedFd> {
    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: socket takes integers only.
    check(unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) }).map(OwnedFd)
}

/// setsockopt(2) of an int option.
pub fn set_int_option(fd: &OwnedFd, level: c_int, name: c_int, value: c_int) -> SysResult<()> {
    // SAFETY: value is a valid int for the length passed.
    check(unsafe {
        libc::setsockopt(
            fd.raw(),
            level,
            name,
            (&value as *const c_int).cast(),
            size_of::<c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// bind(2) to an IPv4 or IPv6 address.
pub fn bind(fd: &OwnedFd, addr: &SocketAddr) -> SysResult<()> {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: all-zero is a valid sockaddr_in.
            let mut sin: libc::sockaddr_in = unsafe { zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            // SAFETY: sin is a valid sockaddr_in of the length passed.
            check(unsafe {
                libc::bind(
                    fd.raw(),
                    (&sin as *const libc::sockaddr_in).cast(),
                    size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            })
        }
        SocketAddr::V6(a) => {
            // SAFETY: all-zero is a valid sockaddr_in6.
            let mut sin6: libc::sockaddr_in6 = unsafe { zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            // SAFETY: sin6 is a valid sockaddr_in6 of the length passed.
            check(unsafe {
                libc::bind(
                    fd.raw(),
                    (&sin6 as *const libc::sockaddr_in6).cast(),
                    size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            })
        }
    }
    .map(drop)
}

pub fn listen(fd: &OwnedFd, backlog: c_int) -> SysResult<()> {
    // SAFETY: listen takes integers only.
    check(unsafe { libc::listen(fd.raw(), backlog) }).map(drop)
}

/// Sends one datagram to the syslog socket /dev/log, waiting at most a
/// second for room in a full queue (EAGAIN then). Other failures (no
/// syslog daemon, a stream socket there) are reported too; what to make
/// of them is the caller's choice.
pub fn send_to_dev_log(message: &[u8]) -> SysResult<()> {
    // SAFETY: socket takes integers only.
    let fd = OwnedFd(check(unsafe {
        libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)
    })?);
    let limit = libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    // SAFETY: limit is a valid timeval for the length passed.
    check(unsafe {
        libc::setsockopt(
            fd.raw(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&limit as *const libc::timeval).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    })?;
    // SAFETY: all-zero is a valid sockaddr_un.
    let mut sun: libc::sockaddr_un = unsafe { zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in sun.sun_path.iter_mut().zip(b"/dev/log") {
        *dst = *src as c_char;
    }
    // SAFETY: message is readable for its length; sun is a valid
    // sockaddr_un of the length passed.
    let sent = unsafe {
        libc::sendto(
            fd.raw(),
            message.as_ptr().cast(),
            message.len(),
            libc::MSG_NOSIGNAL,
            (&sun as *const libc::sockaddr_un).cast(),
            size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    let result = if sent < 0 { Err(Errno::last()) } else { Ok(()) };
    // The socket is close-on-exec and is closed with every other stray fd
    // when the sockets are placed (or at exit): no close of its own.
    let _ = fd.into_raw();
    result
}

// ---------------------------------------------------------------------------
// Identity.

pub fn getresuid() -> (Uid, Uid, Uid) {
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: three valid places for the ids; getresuid cannot fail then.
    unsafe { libc::getresuid(&mut r, &mut e, &mut s) };
    (Uid(r), Uid(e), Uid(s))
}

pub fn getresgid() -> (Gid, Gid, Gid) {
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: three valid places for the ids; getresgid cannot fail then.
    unsafe { libc::getresgid(&mut r, &mut e, &mut s) };
    (Gid(r), Gid(e), Gid(s))
}

/// getgroups(2): the supplementary groups, sorted, without repeats.
pub fn getgroups() -> SysResult<Vec<Gid>> {
    let mut groups: Vec<libc::gid_t> = alloc::vec![0; 32];
    loop {
        let room = c_int::try_from(groups.len()).unwrap_or(c_int::MAX);
        // SAFETY: groups has room for the length passed.
        match check(unsafe { libc::getgroups(room, groups.as_mut_ptr()) }) {
            Ok(n) => {
                groups.truncate(n.unsigned_abs() as usize);
                break;
            }
            // More groups than room: the kernel allows at most 65536.
            Err(e) if e.0 == libc::EINVAL && groups.len() < 65536 => {
                groups.resize(65536, 0);
            }
            Err(e) => return Err(e),
        }
    }
    let mut groups: Vec<Gid> = groups.into_iter().map(Gid).collect();
    crate::ids::sort_dedup(&mut groups);
    Ok(groups)
}

/// setgroups(2) through the raw system call: musl's wrapper would
/// broadcast to other threads, and there are none.
pub fn setgroups(groups: &[Gid]) -> SysResult<()> {
    let raw: Vec<libc::gid_t> = groups.iter().map(|g| g.0).collect();
    // SAFETY: raw holds the number of gids passed.
    check_long(unsafe { libc::syscall(libc::SYS_setgroups, raw.len(), raw.as_ptr()) }).map(drop)
}

/// setresgid(2) through the raw system call: musl's wrapper would
/// broadcast to other threads, and there are none.
pub fn setresgid(gid: Gid) -> SysResult<()> {
    // SAFETY: a raw system call with integer arguments only.
    check_long(unsafe { libc::syscall(libc::SYS_setresgid, gid.0, gid.0, gid.0) }).map(drop)
}

/// setresuid(2) through the raw system call (see `setresgid`).
pub fn setresuid(uid: Uid) -> SysResult<()> {
    // SAFETY: a raw system call with integer arguments only.
    check_long(unsafe { libc::syscall(libc::SYS_setresuid, uid.0, uid.0, uid.0) }).map(drop)
}

// ---------------------------------------------------------------------------
// Capabilities and securebits.

/// Capability sets as 64-bit masks, bit N for capability N.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_NET_BIND_SERVICE: u32 = 10;

const CAP_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn join(data: &[CapData; 2], pick: fn(&CapData) -> u32) -> u64 {
    u64::from(pick(&data[0])) | (u64::from(pick(&data[1])) << 32)
}

/// capget(2) for this process.
pub fn capget() -> SysResult<CapSets> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: a version-3 header with room for two data structs.
    check_long(unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) })?;
    Ok(CapSets {
        effective: join(&data, |d| d.effective),
        permitted: join(&data, |d| d.permitted),
        inheritable: join(&data, |d| d.inheritable),
    })
}

/// capset(2) for this process.
pub fn capset(sets: CapSets) -> SysResult<()> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let split = |v: u64| [v as u32, (v >> 32) as u32];
    let (e, p, i) = (
        split(sets.effective),
        split(sets.permitted),
        split(sets.inheritable),
    );
    let data = [0, 1].map(|n| CapData {
        effective: e[n],
        permitted: p[n],
        inheritable: i[n],
    });
    // SAFETY: a version-3 header and two data structs.
    check_long(unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) }).map(drop)
}

fn prctl(option: c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> SysResult<c_int> {
    // SAFETY: the prctl options used here take integer arguments only.
    check(unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) })
}

/// prctl(PR_GET_SECUREBITS).
pub fn securebits() -> SysResult<u32> {
    prctl(libc::PR_GET_SECUREBITS, 0, 0).map(|v| v.unsigned_abs())
}

/// prctl(PR_SET_KEEPCAPS).
pub fn set_keepcaps(on: bool) -> SysResult<()> {
    prctl(libc::PR_SET_KEEPCAPS, libc::c_ulong::from(on), 0).map(drop)
}

/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap).
pub fn ambient_raise(cap: u32) -> SysResult<()> {
    let raise = libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong;
    prctl(libc::PR_CAP_AMBIENT, raise, libc::c_ulong::from(cap)).map(drop)
}

/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap).
pub fn ambient_is_set(cap: u32) -> SysResult<bool> {
    let is_set = libc::PR_CAP_AMBIENT_IS_SET as libc::c_ulong;
    prctl(libc::PR_CAP_AMBIENT, is_set, libc::c_ulong::from(cap)).map(|v| v == 1)
}

const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): leaves the inherited session
/// keyring for a new, empty one; returns its id.
pub fn join_new_session_keyring() -> SysResult<libc::c_long> {
    // SAFETY: a raw system call; a null name asks for an anonymous keyring.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            ptr::null::<c_char>(),
        )
    })
}

/// keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0): the id of
/// the session keyring, without creating one.
pub fn session_keyring_id() -> SysResult<libc::c_long> {
    // SAFETY: a raw system call with integer arguments only.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_GET_KEYRING_ID,
            KEY_SPEC_SESSION_KEYRING,
            0 as libc::c_long,
        )
    })
}

/// prctl(PR_GET_NO_NEW_PRIVS).
pub fn no_new_privs() -> bool {
    prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0).is_ok_and(|v| v == 1)
}

/// Whether the running executable lies on a filesystem mounted nosuid
/// (statvfs of /proc/self/exe).
pub fn exe_on_nosuid_mount() -> bool {
    // SAFETY: an all-zero statvfs is a valid value to be overwritten.
    let mut st: libc::statvfs = unsafe { zeroed() };
    // SAFETY: a constant path and a valid statvfs buffer.
    let ret = unsafe { libc::statvfs(c"/proc/self/exe".as_ptr(), &mut st) };
    ret == 0 && st.f_flag & libc::ST_NOSUID != 0
}

// ---------------------------------------------------------------------------
// Account database (musl reads /etc/passwd, /etc/group and nscd).

/// What portbind needs of a passwd entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passwd {
    pub name: Vec<u8>,
    pub uid: Uid,
    pub gid: Gid,
    pub home: Vec<u8>,
    pub shell: Vec<u8>,
}

fn passwd_from(pw: &libc::passwd) -> Passwd {
    let text = |p: *const c_char| -> Vec<u8> {
        if p.is_null() {
            return Vec::new();
        }
        // SAFETY: the C library fills every string field with a valid
        // NUL-terminated string inside the caller's buffer.
        unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
    };
    Passwd {
        name: text(pw.pw_name),
        uid: Uid(pw.pw_uid),
        gid: Gid(pw.pw_gid),
        home: text(pw.pw_dir),
        shell: text(pw.pw_shell),
    }
}

enum PwKey<'a> {
    Name(&'a [u8]),
    Uid(Uid),
}

fn getpw(key: PwKey<'_>) -> SysResult<Option<Passwd>> {
    let name = match key {
        PwKey::Name(n) => Some(c_string(n).ok_or(Errno(libc::EINVAL))?),
        PwKey::Uid(_) => None,
    };
    let mut size = 1024;
    loop {
        let mut buf: Vec<c_char> = alloc::vec![0; size];
        // SAFETY: an all-zero passwd is a valid value to be overwritten.
        let mut pw: libc::passwd = unsafe { zeroed() };
        let mut result: *mut libc::passwd = ptr::null_mut();
        // SAFETY: every pointer refers to live storage of the size given.
        let ret = unsafe {
            match (&name, &key) {
                (Some(n), _) => libc::getpwnam_r(
                    as_c_ptr(n),
                    &mut pw,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut result,
                ),
                (None, PwKey::Uid(uid)) => {
                    libc::getpwuid_r(uid.0, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result)
                }
                (None, PwKey::Name(_)) => libc::EINVAL,
            }
        };
        match ret {
            0 if result.is_null() => return Ok(None),
            0 => return Ok(Some(passwd_from(&pw))),
            libc::ERANGE if size < 1 << 20 => size *= 4,
            e => return Err(Errno(e)),
        }
    }
}

/// getpwnam_r(3).
pub fn getpwnam(name: &[u8]) -> SysResult<Option<Passwd>> {
    getpw(PwKey::Name(name))
}

/// getpwuid_r(3).
pub fn getpwuid(uid: Uid) -> SysResult<Option<Passwd>> {
    getpw(PwKey::Uid(uid))
}

/// getgrnam_r(3): the gid of the group called `name`.
pub fn getgrnam(name: &[u8]) -> SysResult<Option<Gid>> {
    let name = c_string(name).ok_or(Errno(libc::EINVAL))?;
    let mut size = 1024;
    loop {
        let mut buf: Vec<c_char> = alloc::vec![0; size];
        // SAFETY: an all-zero group is a valid value to be overwritten.
        let mut gr: libc::group = unsafe { zeroed() };
        let mut result: *mut libc::group = ptr::null_mut();
        // SAFETY: every pointer refers to live storage of the size given.
        let ret = unsafe {
            libc::getgrnam_r(
                as_c_ptr(&name),
                &mut gr,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        match ret {
            0 if result.is_null() => return Ok(None),
            0 => return Ok(Some(Gid(gr.gr_gid))),
            libc::ERANGE if size < 1 << 22 => size *= 4,
            e => return Err(Errno(e)),
        }
    }
}

/// getgrouplist(3): `gid` and every group that lists the user `name`,
/// sorted and without repeats.
pub fn getgrouplist(name: &[u8], gid: Gid) -> SysResult<Vec<Gid>> {
    let name = c_string(name).ok_or(Errno(libc::EINVAL))?;
    let mut size: c_int = 64;
    loop {
        let mut groups: Vec<libc::gid_t> = alloc::vec![0; size.unsigned_abs() as usize];
        let mut n = size;
        // SAFETY: groups has room for n entries and n is a valid place.
        let ret =
            unsafe { libc::getgrouplist(as_c_ptr(&name), gid.0, groups.as_mut_ptr(), &mut n) };
        if ret >= 0 {
            groups.truncate(n.unsigned_abs() as usize);
            let mut groups: Vec<Gid> = groups.into_iter().map(Gid).collect();
            crate::ids::sort_dedup(&mut groups);
            return Ok(groups);
        }
        if n <= size || n > 65536 {
            // Not a matter of room: the lookup itself failed.
            return Err(Errno(libc::EIO));
        }
        size = n;
    }
}

// ---------------------------------------------------------------------------
// Randomness, signals, exec.

/// Eight bytes from the kernel's random source.
pub fn random_u64() -> Result<u64, getrandom::Error> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)?;
    Ok(u64::from_ne_bytes(bytes))
}

/// Adds SIGPIPE and SIGXFSZ to the signal mask, so that a write to a pipe
/// without a reader, or past RLIMIT_FSIZE, fails with an errno instead of
/// killing the process.
pub fn block_write_signals() {
    // SAFETY: an all-zero sigset_t is a valid set, emptied by sigemptyset.
    let mut set: libc::sigset_t = unsafe { zeroed() };
    // SAFETY: set is a valid sigset_t; the old mask is not wanted.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::sigaddset(&mut set, libc::SIGXFSZ);
        libc::sigprocmask(libc::SIG_BLOCK, &set, ptr::null_mut());
    }
}

/// Empties the signal mask.
pub fn unblock_all_signals() -> SysResult<()> {
    // SAFETY: an all-zero sigset_t is a valid set, emptied by sigemptyset.
    let mut set: libc::sigset_t = unsafe { zeroed() };
    // SAFETY: set is a valid sigset_t; the old mask is not wanted.
    unsafe {
        libc::sigemptyset(&mut set);
        check(libc::sigprocmask(libc::SIG_SETMASK, &set, ptr::null_mut())).map(drop)
    }
}

/// Whether `path` names an existing file, by access(2) with F_OK (with
/// the real ids, which after the drop are the target's).
pub fn exists(path: &[u8]) -> bool {
    let Some(path) = c_string(path) else {
        return false;
    };
    // SAFETY: path is NUL-terminated.
    unsafe { libc::access(as_c_ptr(&path), libc::F_OK) == 0 }
}

/// execve(2). Returns only on failure. Every element of `argv` and `envp`
/// is NUL-terminated (made by `c_string`).
pub fn execve(path: &[u8], argv: &[Vec<u8>], envp: &[Vec<u8>]) -> Errno {
    let argv_ptrs: Vec<*const c_char> = argv
        .iter()
        .map(|a| as_c_ptr(a))
        .chain(core::iter::once(ptr::null()))
        .collect();
    let envp_ptrs: Vec<*const c_char> = envp
        .iter()
        .map(|e| as_c_ptr(e))
        .chain(core::iter::once(ptr::null()))
        .collect();
    // SAFETY: path and every string are NUL-terminated; both arrays end
    // with NULL and outlive the call.
    unsafe { libc::execve(as_c_ptr(path), argv_ptrs.as_ptr(), envp_ptrs.as_ptr()) };
    Errno::last()
}

/// fork(2). Ok(None) in the child, Ok(Some(pid)) in the parent.
pub fn fork() -> SysResult<Option<i32>> {
    // SAFETY: portbind has a single thread, so the child may go on
    // running ordinary code.
    let pid = check(unsafe { libc::fork() })?;
    Ok((pid != 0).then_some(pid))
}

/// kill(2) with SIGKILL, for a child of our own.
pub fn kill(pid: i32) {
    // SAFETY: kill takes integers only.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Sets SIGCHLD to its default disposition and returns the one it had, for
/// `restore_sigchld`: with SIGCHLD ignored the kernel reaps children
/// itself and there would be no status to wait for.
pub fn default_sigchld() -> libc::sigaction {
    // SAFETY: all-zero sigaction values are valid; the new one asks for
    // SIG_DFL (0) with an empty mask, and the old one is written back.
    unsafe {
        let new: libc::sigaction = zeroed();
        let mut old: libc::sigaction = zeroed();
        libc::sigaction(libc::SIGCHLD, &new, &mut old);
        old
    }
}

/// Puts back the SIGCHLD disposition `default_sigchld` saved.
pub fn restore_sigchld(saved: &libc::sigaction) {
    // SAFETY: saved came from sigaction and is a valid disposition.
    unsafe { libc::sigaction(libc::SIGCHLD, saved, ptr::null_mut()) };
}

/// Waits for the child `pid` and returns its exit status, or 128 plus
/// the signal that ended it, as a shell reports it.
pub fn wait_for(pid: i32) -> SysResult<u8> {
    loop {
        let mut status: c_int = 0;
        // SAFETY: status is a valid place for the result.
        let ret = unsafe { libc::waitpid(pid, &mut status, 0) };
        if ret < 0 {
            let e = Errno::last();
            if e.0 == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        if libc::WIFEXITED(status) {
            return Ok(libc::WEXITSTATUS(status) as u8);
        }
        if libc::WIFSIGNALED(status) {
            return Ok(128u8.wrapping_add(libc::WTERMSIG(status) as u8));
        }
    }
}
