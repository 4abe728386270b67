//! The few raw system calls the runtime needs that nix does not wrap safely: process
//! creation, `close_range`, `_exit`, signal dispositions and the `SIOCSIFFLAGS` ioctl.
//!
//! Children created here run between `fork`/`clone` and `exec` in a copy of a possibly
//! multi-threaded parent: they only make system calls and allocate (glibc's malloc is
//! fork-safe); they never take std's stdout or environment locks.
#![allow(unsafe_code)]

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigprocmask};
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Stack size of a cloned child; it runs the setup code, then execs or pauses.
const CHILD_STACK: usize = 1 << 20;

/// Creates a child process with `flags` (namespace and `CLONE_PARENT` flags) that runs `child`
/// on a fresh stack and exits with its return value. The child is reported to the parent
/// (or, with `CLONE_PARENT`, to the grandparent) by SIGCHLD.
pub(crate) fn clone_child(flags: CloneFlags, child: &mut dyn FnMut() -> i32) -> nix::Result<Pid> {
    let mut stack = vec![0u8; CHILD_STACK];
    let cb = Box::new(|| {
        let code = child();
        exit_now(code)
    });
    // SAFETY: without CLONE_VM the child runs on its own copy of `stack` and of the whole
    // address space, so the buffer outliving the call in the parent is irrelevant; the
    // callback never returns into glibc's clone trampoline with borrowed state because it
    // ends in `_exit`. The child only runs async-signal-tolerant code (see module docs).
    unsafe { nix::sched::clone(cb, &mut stack, flags, Some(libc::SIGCHLD)) }
}

/// `fork(2)`: returns the child's pid in the parent and None in the child.
pub(crate) fn fork() -> nix::Result<Option<Pid>> {
    // SAFETY: the child only makes system calls and exits with `_exit` (see module docs).
    match unsafe { nix::unistd::fork()? } {
        nix::unistd::ForkResult::Parent { child } => Ok(Some(child)),
        nix::unistd::ForkResult::Child => Ok(None),
    }
}

/// Ends the current (child) process at once, without running atexit handlers or flushing
/// stdio buffers that belong to the parent.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` takes no pointers and never returns.
    unsafe { libc::_exit(code) }
}

/// Marks every descriptor from `first` upwards close-on-exec.
pub(crate) fn cloexec_from(first: u32) -> nix::Result<()> {
    // SAFETY: close_range takes integers only; with CLOSE_RANGE_CLOEXEC nothing is closed now.
    let res = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    Errno::result(res).map(drop)
}

/// Closes every descriptor from `first` upwards except `keep`.
pub(crate) fn close_all_except(first: u32, keep: i32) -> nix::Result<()> {
    let keep = keep as u32;
    let ranges = [(first, keep.saturating_sub(1)), (keep + 1, u32::MAX)];
    for (lo, hi) in ranges {
        if lo > hi {
            continue;
        }
        // SAFETY: closes descriptors of this (child) process only; no Rust object owns them
        // any longer in this process because it is about to run nothing but the pause loop.
        let res = unsafe { libc::syscall(libc::SYS_close_range, lo, hi, 0) };
        Errno::result(res)?;
    }
    Ok(())
}

/// Duplicates `src` onto `dst` (without close-on-exec).
pub(crate) fn dup_onto(src: i32, dst: i32) -> nix::Result<()> {
    if src == dst {
        // SAFETY: fcntl on an integer descriptor; clears FD_CLOEXEC so it survives exec.
        return Errno::result(unsafe { libc::fcntl(src, libc::F_SETFD, 0) }).map(drop);
    }
    // SAFETY: dup2 takes integers; `dst` (0, 1 or 2) is replaced atomically.
    Errno::result(unsafe { libc::dup2(src, dst) }).map(drop)
}

/// Duplicates `fd` to a descriptor number of at least 3, close-on-exec, so that moving
/// stdio into place cannot clobber another source.
pub(crate) fn dup_high(fd: i32) -> nix::Result<OwnedFd> {
    // SAFETY: fcntl on an integer descriptor.
    let new = Errno::result(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) })?;
    // SAFETY: F_DUPFD_CLOEXEC returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Restores every signal to its default action and unblocks all, as a new program expects
/// (Rust ignores SIGPIPE, and `exec` keeps ignored signals ignored).
pub(crate) fn reset_signals() -> nix::Result<()> {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for signal in Signal::iterator() {
        if matches!(signal, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: installing SIG_DFL cannot violate any handler's invariants.
        unsafe { nix::sys::signal::sigaction(signal, &default)? };
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Installs a handler that does nothing for `signal`. A PID-namespace init only receives
/// signals it has a handler for, so the pause process needs one to be told to stop.
pub(crate) fn catch_signal(signal: Signal) -> nix::Result<()> {
    let action = SigAction::new(SigHandler::Handler(ignore_signal), SaFlags::SA_RESTART, SigSet::empty());
    // SAFETY: the handler is an empty extern "C" function, async-signal-safe.
    unsafe { nix::sys::signal::sigaction(signal, &action) }.map(drop)
}

/// `struct ifreq` with the `ifr_flags` member of its union (40 bytes on Linux).
#[repr(C)]
struct IfReqFlags {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Brings a network interface of the current network namespace up (`ip link set lo up`).
pub(crate) fn set_link_up(name: &str) -> nix::Result<()> {
    // SAFETY: socket(2) takes integers; the result is checked before it is owned.
    let raw = Errno::result(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut req = IfReqFlags {
        name: [0; libc::IFNAMSIZ],
        flags: 0,
        _pad: [0; 22],
    };
    for (dst, src) in req.name.iter_mut().zip(name.bytes().take(libc::IFNAMSIZ - 1)) {
        *dst = src as libc::c_char;
    }
    // SAFETY: `req` is a properly sized, initialised ifreq that outlives both calls.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) })?;
    req.flags |= libc::IFF_UP as libc::c_short;
    // SAFETY: as above.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) }).map(drop)
}
