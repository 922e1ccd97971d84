//! TEST DOUBLE: an in-memory Kubernetes API server.
#![warn(missing_docs)]
