//! Sleeping without spinning: SIGCHLD, SIGTERM, SIGINT and SIGHUP arrive through a signalfd, polled
//! together with the containers' output pipes and a timeout (the next machine wakeup).

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

/// What ended a [`Waiter::wait`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Woken {
    /// A child changed state.
    pub child: bool,
    /// SIGTERM or SIGINT arrived.
    pub terminate: bool,
    /// SIGHUP arrived: apply wrote new config data for the pod.
    pub reload: bool,
    /// Indexes of the polled descriptors that are readable or hung up.
    pub readable: Vec<usize>,
}

/// The supervisor's signal descriptor; creating it blocks the signals it reads.
#[derive(Debug)]
pub struct Waiter {
    signals: SignalFd,
}

fn handled() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.add(Signal::SIGHUP);
    set
}

impl Waiter {
    /// Blocks SIGCHLD, SIGTERM and SIGINT and opens the signalfd that receives them.
    pub fn new() -> nix::Result<Waiter> {
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&handled()), None)?;
        let signals = SignalFd::with_flags(&handled(), SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        Ok(Waiter { signals })
    }

    /// Waits until a signal arrives, one of `fds` is readable, or `timeout` passes (None:
    /// forever).
    pub fn wait(&self, fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> nix::Result<Woken> {
        let mut polled = vec![PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
        polled.extend(fds.iter().map(|fd| PollFd::new(*fd, PollFlags::POLLIN)));
        let timeout = match timeout {
            // Round up so that a wakeup a few microseconds away does not turn into a spin.
            Some(d) => PollTimeout::try_from(d.as_millis().saturating_add(1).min(i32::MAX as u128) as i32)
                .unwrap_or(PollTimeout::MAX),
            None => PollTimeout::NONE,
        };
        let mut woken = Woken::default();
        match poll(&mut polled, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        for (i, fd) in polled.iter().enumerate().skip(1) {
            if fd.any().unwrap_or(false) {
                woken.readable.push(i - 1);
            }
        }
        while let Ok(Some(info)) = self.signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) => woken.child = true,
                Ok(Signal::SIGTERM | Signal::SIGINT) => woken.terminate = true,
                Ok(Signal::SIGHUP) => woken.reload = true,
                _ => {}
            }
        }
        Ok(woken)
    }
}

/// Unblocks every signal; for children that exec other programs.
pub fn unblock_all() -> nix::Result<()> {
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
}
