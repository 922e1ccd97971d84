//! Typed client for the SAKURA Cloud IaaS API.
#![warn(missing_docs)]
