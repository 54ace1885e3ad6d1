//! helm-netaudit: finds network misconfigurations in Kubernetes applications.
//!
//! The layers, bottom up (a layer imports only those below it):
//! `yaml` (a line-aware YAML tree, its readers and writer) <- `model`
//! (manifests as objects, the runtime vocabulary) <- `source` (helm,
//! manifests files), `checks` (one file per check) and `reach` (the one
//! reachability engine) <- `engine` (runs checks, applies config and
//! waivers) <- `report` (human, JSON, SARIF) <- `probe` (sandboxes) and
//! `fix` (policies, patches) <- `commands` (one per subcommand) <- `cli`.
//! docs/design.md draws it.
//!
//! The public modules are what the binary, the tests, the benchmarks and
//! the examples use; everything else is crate-private.

pub mod checks;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod fix;
pub mod fuzzing;
pub mod model;
pub mod probe;
pub mod reach;
pub mod report;
pub mod source;
pub mod yaml;
