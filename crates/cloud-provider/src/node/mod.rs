//! Nodes: initialization, addresses, the cloud node and node lifecycle controllers.

pub mod addresses;
pub mod controller;
pub mod init;
pub mod lifecycle;
