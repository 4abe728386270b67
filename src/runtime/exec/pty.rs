//! The pseudo-terminal of `rekon exec -t`: allocate it, make it the command's controlling
//! terminal, put the local terminal in raw mode and relay both ways until the command ends.
#![allow(unsafe_code)]

use super::ExecError;
use super::process::{sys, try_wait, wait};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::Winsize;
use nix::sys::stat::Mode;
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};
use nix::unistd::Pid;
use std::io::{IsTerminal, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Both ends of a new pseudo-terminal.
#[derive(Debug)]
pub(super) struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
}

/// Opens a pty in the container's own devpts instance (its `/dev/pts/ptmx`), sized like the
/// local terminal. A pty from the host's devpts would work as a terminal but `tty`/`ttyname`
/// inside the container could not name it (runc allocates inside the container too).
/// Both ends close on exec.
pub(super) fn open(container_pid: i32) -> Result<Pty, ExecError> {
    let root = nix::fcntl::open(
        format!("/proc/{container_pid}/root").as_str(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys("open the container's root"))?;
    // Resolved inside the container's root, so a symlink there cannot lead to a host file.
    let path = crate::runtime::linux::mounts::resolve_in_root(&root, Path::new("dev/pts/ptmx"), None)
        .map_err(sys("find /dev/pts/ptmx in the container"))?;
    let master = nix::fcntl::open(
        crate::runtime::linux::mounts::fd_path(&path).as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys("open the container's /dev/pts/ptmx"))?;
    let stat = nix::sys::stat::fstat(&master).map_err(sys("stat the container's ptmx"))?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFCHR || nix::sys::stat::major(stat.st_rdev) != 5 {
        return Err(ExecError::Sys {
            op: "open the container's /dev/pts/ptmx".to_string(),
            source: Errno::ENOTTY,
        });
    }
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int through the pointer, which lives across the call.
    Errno::result(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })
        .map_err(sys("unlock the pseudo-terminal"))?;
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new descriptor (or -1).
    let peer = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    let peer = Errno::result(peer).map_err(sys("open the pseudo-terminal's peer"))?;
    // SAFETY: the ioctl just returned this descriptor, and nothing else owns it.
    let slave = unsafe { OwnedFd::from_raw_fd(peer) };
    copy_size(&master);
    Ok(Pty { master, slave })
}

impl Pty {
    /// The parent keeps only the master; dropping the slave lets reads see EIO once the
    /// command (and everything it started) has closed the terminal.
    pub(super) fn into_master(self) -> OwnedFd {
        self.master
    }

    /// In the command's process: a new session with the slave as controlling terminal and
    /// as stdin, stdout and stderr.
    pub(super) fn attach_as_controlling_terminal(&self) -> nix::Result<()> {
        nix::unistd::setsid()?;
        // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal another session's
        // terminal); the descriptor is open for the duration of the call.
        let res = unsafe { libc::ioctl(self.slave.as_raw_fd(), libc::TIOCSCTTY, 0) };
        Errno::result(res)?;
        nix::unistd::dup2_stdin(&self.slave)?;
        nix::unistd::dup2_stdout(&self.slave)?;
        nix::unistd::dup2_stderr(&self.slave)
    }
}

/// Gives the pty the local terminal's size (the kernel sends the command SIGWINCH when it
/// changes, as kubectl's resize stream makes the container runtime do).
fn copy_size(master: &OwnedFd) {
    if let Some(size) = local_size() {
        // SAFETY: TIOCSWINSZ reads a winsize through the pointer, valid across the call.
        let _ = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    }
}

fn local_size() -> Option<Winsize> {
    let mut size = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the valid, exclusively borrowed `size`.
    let res = unsafe { libc::ioctl(std::io::stdout().as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (res == 0 && size.ws_row > 0).then_some(size)
}

/// Puts the local terminal in raw mode and restores it when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> Option<RawMode> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        let saved = tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&stdin, SetArg::TCSADRAIN, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin(), SetArg::TCSADRAIN, &self.saved);
    }
}

/// Copies the local stdin (when `stdin`) to the terminal and the terminal to stdout until
/// `child` has ended, then returns its exit code. A resize of the local terminal (SIGWINCH)
/// is passed on to the pty.
pub(super) fn relay(master: &OwnedFd, stdin: bool, child: Pid) -> Result<i32, ExecError> {
    let _raw = RawMode::enter();
    let resized = Arc::new(AtomicBool::new(false));
    let winch = signal_hook::flag::register(signal_hook::consts::SIGWINCH, Arc::clone(&resized)).ok();
    let code = relay_until_exit(master, stdin, child, &resized);
    if let Some(id) = winch {
        signal_hook::low_level::unregister(id);
    }
    code
}

fn relay_until_exit(master: &OwnedFd, stdin: bool, child: Pid, resized: &AtomicBool) -> Result<i32, ExecError> {
    let local_in = std::io::stdin();
    let mut stdout = std::io::stdout();
    let mut stdin_open = stdin;
    let mut buf = [0u8; 8192];
    loop {
        let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if stdin_open {
            fds.push(PollFd::new(local_in.as_fd(), PollFlags::POLLIN));
        }
        // SIGWINCH interrupts the poll, so a resize is passed on at once.
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(sys("poll the terminal")(e)),
        }
        if resized.swap(false, Ordering::Relaxed) {
            copy_size(master);
        }
        let ready = |fd: &PollFd| {
            fd.revents()
                .is_some_and(|r| r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR))
        };
        let (master_ready, stdin_ready) = (ready(&fds[0]), fds.get(1).is_some_and(ready));
        drop(fds);
        if master_ready && !copy_out(master.as_fd(), &mut stdout, &mut buf) {
            break;
        }
        if stdin_ready {
            match nix::unistd::read(&local_in, &mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => write_all(master.as_fd(), &buf[..n]),
            }
        }
        if let Some(code) = try_wait(child)? {
            // Output written just before the exit is still in the terminal's buffer.
            while poll(&mut [PollFd::new(master.as_fd(), PollFlags::POLLIN)], PollTimeout::ZERO).unwrap_or(0) > 0 {
                if !copy_out(master.as_fd(), &mut stdout, &mut buf) {
                    break;
                }
            }
            return Ok(code);
        }
    }
    wait(child)
}

/// One read from the terminal to stdout; false at its end (EIO once the slave is closed).
fn copy_out(master: BorrowedFd<'_>, stdout: &mut std::io::Stdout, buf: &mut [u8]) -> bool {
    match nix::unistd::read(master, buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let _ = stdout.write_all(&buf[..n]);
            let _ = stdout.flush();
            true
        }
    }
}

fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}
