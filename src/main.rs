//! The `rekon` binary: everything lives in the library; this only hands over.

/// The CLI allocates and frees many small objects (a plan over 10,000 objects builds and drops
/// millions of strings); mimalloc does that in less than half of glibc's time. The per-pod
/// supervisor (`rekon-shim`) keeps the system allocator for its memory budget. Built with
/// `no_thp`: mimalloc otherwise asks for transparent huge pages on every region it maps, and a
/// short-lived CLI pays for the huge-page faults and compaction (about 2.5 ms of system time
/// per `apply --no-wait`, and most of its spread) without living long enough to gain from them.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(rekon::cmd::main());
}
