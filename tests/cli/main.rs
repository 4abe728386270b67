//! Integration tests of the real `rekon` binary against throw-away git repositories.

mod corpus;
mod delete;
mod health;
mod output;
mod pipeline;
mod rollout;
mod runtime;
mod schedule;
mod schemas;
mod snapshots;
mod support;
mod verbs;
