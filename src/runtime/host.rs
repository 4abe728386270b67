//! Facts about this host that need system calls: its name and whether we are root.

/// The host's name (`uname -n`), used as the default node name and recorded in plans.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Whether the effective user is root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The effective uid.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}
