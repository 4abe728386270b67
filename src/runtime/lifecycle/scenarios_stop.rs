//! Scenario tests of stopping.
