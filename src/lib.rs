//! helm-netaudit: finds network misconfigurations in Kubernetes applications.
//!
//! `model` turns rendered YAML into objects with source positions, `checks`
//! holds one file per check plus the registry, `audit` runs them, `report`
//! writes human/JSON/SARIF output; `app` and `cli` are the command line.
pub mod app;
pub mod audit;
pub mod checks;
pub mod cli;
pub mod config;
pub mod docs;
pub mod fix;
pub mod helm;
pub mod model;
pub mod probe;
pub mod report;
pub mod suppress;
pub mod values;
