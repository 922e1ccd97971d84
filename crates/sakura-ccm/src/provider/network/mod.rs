//! Which router or switch a load balancer goes on, which addresses it gets, and its VRID.
//!
//! The original CCM took the first router tagged `@k8s`, only its first subnet, only the last
//! octet of the range, counted only NIC 0 of servers as used, and picked VRID 1 whatever was on
//! the switch. Here every subnet and every address count, an ambiguous choice is an error that
//! says what to do, and allocation is deterministic (lowest free address first).

mod allocation;
#[cfg(test)]
mod fixtures;
mod pool;
mod selection;

pub use allocation::{Allocation, AllocationError, MAX_VRID, VridExhausted, allocate, select_vrid};
pub use pool::{
    AddressPool, AddressRange, PoolSubnet, on_switch, router_pool, switch_pool, used_addresses,
};
pub use selection::{NetworkCandidate, NetworkKind, SelectionError, select_network};
