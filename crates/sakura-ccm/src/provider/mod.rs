//! The SAKURA Cloud provider's decisions, one module per question. See
//! `docs/sakura-provider-decisions.md` for the rules in table form.

pub mod annotations;
pub mod cidr;
pub mod cloud_instances;
pub mod instances;
pub mod naming;
pub mod network;
pub mod reasons;
pub mod settings;
mod text;
