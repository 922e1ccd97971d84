//! Node decisions: initialization, addresses.

pub mod addresses;
pub mod init;
