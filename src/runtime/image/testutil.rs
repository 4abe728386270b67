//! A tiny busybox root filesystem for tests (ours and those of the pod runtime): the host's
//! static `/bin/busybox` plus applet symlinks and the usual top-level directories.

use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

/// Where the static busybox is taken from (Debian's `busybox-static`).
pub const HOST_BUSYBOX: &str = "/bin/busybox";

/// Applets linked into `/bin`, enough for shells, probes and hooks in tests.
const APPLETS: [&str; 24] = [
    "sh", "cat", "echo", "ls", "sleep", "env", "true", "false", "id", "hostname", "ps", "mkdir", "rm", "touch", "wget",
    "nc", "test", "kill", "pwd", "grep", "head", "tail", "mount", "date",
];

/// `printenv [NAME...]` as coreutils': every variable, or the value of each set NAME (exit 1
/// when one is unset).
const PRINTENV: &str = r#"#!/bin/sh
[ $# -eq 0 ] && exec env
rc=0
for n in "$@"; do
  if env | grep -q "^$n="; then eval "printf '%s\n' \"\$$n\""; else rc=1; fi
done
exit $rc
"#;

/// Fills `dir` (created when missing) with a busybox root filesystem: `bin/busybox`
/// copied from [`HOST_BUSYBOX`], `bin/<applet>` symlinks to it, `/etc/passwd` and
/// `/etc/group` with root and nobody, and empty `dev proc sys tmp root var`. Import it with
/// an entrypoint such as `["/bin/sh"]` to get a usable image. Fails with a hint when the
/// host has no static busybox.
pub fn busybox_rootfs(dir: &Path) -> io::Result<()> {
    if !Path::new(HOST_BUSYBOX).is_file() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{HOST_BUSYBOX} is missing; install a static busybox (apt-get install busybox-static)"),
        ));
    }
    for d in ["bin", "etc", "dev", "proc", "sys", "tmp", "root", "var", "usr"] {
        fs::create_dir_all(dir.join(d))?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    fs::set_permissions(dir.join("tmp"), fs::Permissions::from_mode(0o1777))?;
    // A hard link where possible: a fresh copy's write descriptor can leak into a child forked
    // meanwhile by another thread, and exec then fails with ETXTBSY.
    if fs::hard_link(HOST_BUSYBOX, dir.join("bin/busybox")).is_err() {
        fs::copy(HOST_BUSYBOX, dir.join("bin/busybox"))?;
    }
    fs::set_permissions(dir.join("bin/busybox"), fs::Permissions::from_mode(0o755))?;
    for applet in APPLETS {
        symlink("busybox", dir.join("bin").join(applet))?;
    }
    symlink("../bin", dir.join("usr/bin"))?;
    // Debian's static busybox has no printenv applet; the upstream examples call it.
    fs::write(dir.join("bin/printenv"), PRINTENV)?;
    fs::set_permissions(dir.join("bin/printenv"), fs::Permissions::from_mode(0o755))?;
    fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    fs::write(dir.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
    Ok(())
}
