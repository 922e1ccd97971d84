//! A local simulator of the SAKURA Cloud IaaS API.
#![warn(missing_docs)]
