//! Health probes in the per-pod supervisor (`spec/k8s-semantics.md` §2): the pure worker
//! algorithm ([`Worker`], [`Prober`]) that decides when to probe and what a run of results
//! means, and the executors that run exec, httpGet and tcpSocket probes in forked children
//! so that the supervisor's loop never blocks on them.

pub mod net;
pub mod prober;
pub mod worker;

pub use net::{HttpRequest, NetCheck};
pub use prober::{Due, ProbeId, Prober, Ticked, kind_word};
pub use worker::{Outcome, Tick, Timing, Worker};
