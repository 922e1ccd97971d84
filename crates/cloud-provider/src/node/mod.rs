//! Nodes: initialization, addresses, the shared Node cache, the cloud node and node lifecycle
//! controllers.

pub mod addresses;
pub mod cache;
pub mod controller;
pub mod init;
pub mod lifecycle;
pub mod patch;
