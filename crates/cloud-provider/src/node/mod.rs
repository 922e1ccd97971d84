//! Nodes: initialization, addresses, the cloud node controller.

pub mod addresses;
pub mod controller;
pub mod init;
