//! An in-memory runtime for plan/apply tests (STUB).
