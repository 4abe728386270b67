//! Scenario tests of the lifecycle machine.
