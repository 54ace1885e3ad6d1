//! The NCA differential test's parts (tests/nca_oracle.rs): the probe pods
//! that stand for other namespaces, and the table of differences that are
//! not netaudit bugs.

pub mod exceptions;
pub mod probes;
