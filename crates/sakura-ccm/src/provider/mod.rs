//! The SAKURA Cloud provider's decisions, one module per question. See
//! `docs/load-balancers.md` for the rules in table form.

pub mod annotations;
pub mod cidr;
pub mod cloud_instances;
pub mod errors;
pub mod instances;
pub mod listing;
pub mod load_balancers;
pub mod naming;
pub mod network;
pub mod node_selector;
pub mod reasons;
pub mod servers;
pub mod settings;
mod text;
