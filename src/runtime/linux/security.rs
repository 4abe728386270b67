//! What a container's processes may do: their capabilities, `no_new_privs`, and the parts of
//! `/proc` and `/sys` hidden from them or read-only.
//!
//! Kubernetes leaves the defaults to the container runtime; rekon uses containerd's and
//! runc's (the same as Docker's): 14 capabilities, and the kubelet's masked and read-only
//! paths (`pkg/securitycontext/util.go`). `securityContext.capabilities` adds and drops
//! (`ALL` included) as containerd's CRI plugin does, `privileged: true` gives every
//! capability and an unmasked `/proc` with a writable `/sys`, and
//! `allowPrivilegeEscalation: false` sets `no_new_privs`
//! (`pkg/kubelet/kuberuntime/security_context.go`).
//!
//! A container's capabilities are its bounding set: a root process keeps exactly those
//! across `execve`, a non-root one gets none (Kubernetes gives non-root containers no
//! ambient capabilities). Commands run later in the container get the same restrictions:
//! exec hooks and probes from the supervisor, which started the container, and `rekon exec`
//! from the container process's `/proc/<pid>/status`.

use crate::manifest::capabilities::{NAMES, number};
use crate::manifest::types::container::SecurityContext;
use nix::errno::Errno;

/// The capabilities every container gets (containerd's `defaultUnixCaps`, runc's and
/// Docker's default).
const DEFAULT: [&str; 14] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// Paths masked in every unprivileged container: a file under `/dev/null`, a directory
/// under an empty read-only tmpfs (`defaultMaskedPaths`, pkg/securitycontext/util.go).
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths read-only in every unprivileged container (`defaultReadonlyPaths`).
pub const READONLY_PATHS: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// A set of capabilities, bit `n` for capability number `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(u64);

impl CapSet {
    /// Every capability rekon knows.
    pub fn all() -> CapSet {
        CapSet((1u64 << NAMES.len()) - 1)
    }

    /// Whether capability number `n` is in the set.
    pub fn contains(self, n: u32) -> bool {
        n < 64 && self.0 & (1 << n) != 0
    }

    /// The names in the set, in number order.
    pub fn names(self) -> Vec<&'static str> {
        (0..NAMES.len() as u32)
            .filter(|n| self.contains(*n))
            .map(|n| NAMES[n as usize])
            .collect()
    }

    /// The bits, as `/proc/<pid>/status` shows them (`CapBnd:`).
    pub fn bits(self) -> u64 {
        self.0
    }

    fn with(self, n: usize) -> CapSet {
        CapSet(self.0 | 1 << n)
    }

    fn without(self, n: usize) -> CapSet {
        CapSet(self.0 & !(1 << n))
    }
}

/// How a container's processes are restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restrictions {
    /// The bounding set.
    pub caps: CapSet,
    /// `prctl(PR_SET_NO_NEW_PRIVS)`: setuid binaries and file capabilities grant nothing.
    pub no_new_privs: bool,
    /// Leave `/proc` unmasked and `/sys` writable (`privileged`).
    pub unmasked: bool,
}

impl Default for Restrictions {
    fn default() -> Self {
        Restrictions {
            caps: DEFAULT.iter().filter_map(|n| number(n)).fold(CapSet(0), CapSet::with),
            no_new_privs: false,
            unmasked: false,
        }
    }
}

impl Restrictions {
    /// The restrictions of a container with this `securityContext`; an unknown capability
    /// name is an error (containerd refuses to create such a container).
    pub fn of(sc: Option<&SecurityContext>) -> Result<Restrictions, String> {
        let mut r = Restrictions::default();
        let Some(sc) = sc else { return Ok(r) };
        if sc.privileged == Some(true) {
            r.caps = CapSet::all();
            r.unmasked = true;
        }
        r.no_new_privs = sc.allow_privilege_escalation == Some(false);
        if let Some(caps) = &sc.capabilities {
            // containerd's WithCapabilities: ALL in add gives all, ALL in drop takes all
            // away, then the named ones are added and dropped.
            let is_all = |n: &String| n.eq_ignore_ascii_case("ALL");
            if caps.add.iter().any(is_all) {
                r.caps = CapSet::all();
            }
            if caps.drop.iter().any(is_all) {
                r.caps = CapSet(0);
            }
            let known = |n: &String| number(n).ok_or_else(|| format!("unknown capability {n:?}"));
            for name in caps.add.iter().filter(|n| !is_all(n)) {
                r.caps = r.caps.with(known(name)?);
            }
            for name in caps.drop.iter().filter(|n| !is_all(n)) {
                r.caps = r.caps.without(known(name)?);
            }
        }
        Ok(r)
    }

    /// The restrictions a process runs under: `CapBnd` and `NoNewPrivs` of its
    /// `/proc/<pid>/status` text.
    pub fn parse_status(status: &str) -> Option<Restrictions> {
        let field = |key: &str| status.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
        let caps = u64::from_str_radix(field("CapBnd:")?, 16).ok()?;
        Some(Restrictions {
            caps: CapSet(caps),
            no_new_privs: field("NoNewPrivs:") == Some("1"),
            unmasked: false,
        })
    }

    /// Applies the capability part to the calling process, which must still hold
    /// CAP_SETPCAP: drops every other capability from the bounding set, clears the ambient
    /// set and limits the inheritable set. Call before giving up root; makes system calls
    /// only (safe between `clone` and `exec`).
    #[allow(unsafe_code)]
    pub fn limit_capabilities(&self) -> nix::Result<()> {
        for n in 0..64u32 {
            if self.caps.contains(n) {
                continue;
            }
            // SAFETY: prctl with integer arguments.
            match Errno::result(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, n as libc::c_ulong, 0, 0, 0) }) {
                Ok(_) => {}
                // Past the kernel's last capability.
                Err(Errno::EINVAL) => break,
                Err(e) => return Err(e),
            }
        }
        // SAFETY: prctl with integer arguments; EINVAL on kernels without ambient sets.
        let cleared = unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) };
        if let Err(e) = Errno::result(cleared)
            && e != Errno::EINVAL
        {
            return Err(e);
        }
        let (mut header, mut data) = cap_structs();
        // SAFETY: capget writes two data structs (version 3) through valid pointers.
        Errno::result(unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) })?;
        for (i, d) in data.iter_mut().enumerate() {
            d.inheritable &= (self.caps.0 >> (32 * i)) as u32;
        }
        // SAFETY: capset reads the header and two data structs through valid pointers.
        Errno::result(unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) }).map(drop)
    }

    /// Sets `no_new_privs` on the calling process when asked for.
    #[allow(unsafe_code)]
    pub fn apply_no_new_privs(&self) -> nix::Result<()> {
        if !self.no_new_privs {
            return Ok(());
        }
        // SAFETY: prctl with integer arguments.
        Errno::result(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }).map(drop)
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn cap_structs() -> (CapHeader, [CapData; 2]) {
    // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.
    let header = CapHeader {
        version: 0x2008_0522,
        pid: 0,
    };
    (header, [CapData::default(); 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::types::container::Capabilities;

    fn sc(add: &[&str], drop: &[&str]) -> SecurityContext {
        SecurityContext {
            capabilities: Some(Capabilities {
                add: add.iter().map(|s| s.to_string()).collect(),
                drop: drop.iter().map(|s| s.to_string()).collect(),
            }),
            ..Default::default()
        }
    }

    fn names(sc: Option<&SecurityContext>) -> Vec<&'static str> {
        Restrictions::of(sc).unwrap().caps.names()
    }

    #[test]
    fn the_default_set_is_containerds() {
        assert_eq!(
            names(None),
            [
                "CHOWN",
                "DAC_OVERRIDE",
                "FOWNER",
                "FSETID",
                "KILL",
                "SETGID",
                "SETUID",
                "SETPCAP",
                "NET_BIND_SERVICE",
                "NET_RAW",
                "SYS_CHROOT",
                "MKNOD",
                "AUDIT_WRITE",
                "SETFCAP"
            ]
        );
        let r = Restrictions::default();
        assert!(!r.no_new_privs && !r.unmasked);
        // Numbers as in linux/capability.h: CAP_NET_ADMIN 12, CAP_SYS_ADMIN 21, CAP_BPF 39.
        assert_eq!(
            [number("NET_ADMIN"), number("cap_sys_admin"), number("BPF")],
            [Some(12), Some(21), Some(39)]
        );
    }

    #[test]
    fn add_and_drop_follow_containerd() {
        let only = names(Some(&sc(&["NET_ADMIN"], &["ALL"])));
        assert_eq!(only, ["NET_ADMIN"]);
        assert_eq!(names(Some(&sc(&[], &["all"]))), Vec::<&str>::new());
        let mut no_raw = names(None);
        no_raw.retain(|n| *n != "NET_RAW");
        assert_eq!(names(Some(&sc(&[], &["NET_RAW"]))), no_raw);
        assert_eq!(names(Some(&sc(&["ALL"], &["SYS_ADMIN"]))).len(), NAMES.len() - 1);
        assert!(names(Some(&sc(&["CAP_SYS_TIME"], &[]))).contains(&"SYS_TIME"));
        assert_eq!(
            Restrictions::of(Some(&sc(&["NET_FLY"], &[]))).unwrap_err(),
            "unknown capability \"NET_FLY\""
        );
    }

    #[test]
    fn privileged_and_no_escalation() {
        let privileged = SecurityContext {
            privileged: Some(true),
            ..Default::default()
        };
        let r = Restrictions::of(Some(&privileged)).unwrap();
        assert_eq!(r.caps, CapSet::all());
        assert!(r.unmasked);
        let no_escalation = SecurityContext {
            allow_privilege_escalation: Some(false),
            ..Default::default()
        };
        assert!(Restrictions::of(Some(&no_escalation)).unwrap().no_new_privs);
    }

    #[test]
    fn process_status_gives_the_bounding_set_and_no_new_privs() {
        let status = "Name:\tsh\nCapInh:\t0000000000000000\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\n";
        let r = Restrictions::parse_status(status).unwrap();
        assert_eq!(r.caps, Restrictions::default().caps, "a80425fb is the default set");
        assert!(r.no_new_privs);
        assert_eq!(Restrictions::parse_status("Name:\tsh\n"), None);
    }
}
