//! The `rekon` binary: everything lives in the library; this only hands over.

/// The CLI allocates and frees many small objects (a plan over 10,000 objects builds and drops
/// millions of strings); mimalloc does that in less than half of glibc's time. The per-pod
/// supervisor (`rekon-shim`) keeps the system allocator for its memory budget.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(rekon::cmd::main());
}
