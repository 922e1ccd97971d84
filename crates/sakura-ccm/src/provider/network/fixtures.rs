//! Test fixtures shared by the network modules.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use sacloud::api::common::{IdRef, Scope};
use sacloud::api::load_balancer::{ApplianceSwitch, Remark, RemarkSwitch, Vrrp};
use sacloud::api::server::{Interface, InterfaceSwitch};
use sacloud::api::switch::{InternetRef, IpRange, SwitchSubnet};
use sacloud::{Id, Internet, LoadBalancer, LoadBalancerSettings, Server, Switch};

use crate::provider::cidr::Ipv4Cidr;

pub(super) fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub(super) fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

pub(super) fn tags(t: &[&str]) -> Vec<String> {
    t.iter().map(|x| x.to_string()).collect()
}

pub(super) fn router(id: u64, name: &str, t: &[&str]) -> Internet {
    Internet {
        id: Id(id),
        name: name.into(),
        tags: tags(t),
        ..Internet::default()
    }
}

pub(super) fn plain_switch(id: u64, name: &str, t: &[&str]) -> Switch {
    Switch {
        id: Id(id),
        name: name.into(),
        tags: tags(t),
        scope: Some(Scope::User),
        ..Switch::default()
    }
}

pub(super) fn subnet(
    network: &str,
    gw: &str,
    min: &str,
    max: &str,
    next_hop: Option<&str>,
) -> SwitchSubnet {
    let c = cidr(network);
    SwitchSubnet {
        network_address: Some(c.network()),
        network_mask_len: Some(c.prefix_len()),
        default_route: (!gw.is_empty()).then(|| ip(gw)),
        next_hop: next_hop.map(ip),
        ip_addresses: (!min.is_empty()).then(|| IpRange {
            min: Some(ip(min)),
            max: Some(ip(max)),
        }),
        ..SwitchSubnet::default()
    }
}

/// The reference's router switch: a /28, usable .100–.110.
pub(super) fn router_switch() -> Switch {
    Switch {
        id: Id(500),
        name: "router".into(),
        scope: Some(Scope::User),
        subnets: vec![subnet(
            "133.242.253.96/28",
            "133.242.253.97",
            "133.242.253.100",
            "133.242.253.110",
            None,
        )],
        internet: Some(InternetRef::default()),
        ..Switch::default()
    }
}

pub(super) fn lb(id: u64, switch: Option<u64>, remark_switch: u64, vrid: u32) -> LoadBalancer {
    LoadBalancer {
        id: Id(id),
        class: "loadbalancer".into(),
        name: format!("lb-{id}"),
        description: String::new(),
        tags: vec![],
        plan: Some(IdRef { id: Id(1) }),
        service_class: String::new(),
        availability: None,
        instance: None,
        settings: LoadBalancerSettings::default(),
        settings_hash: String::new(),
        remark: Remark {
            switch: RemarkSwitch {
                id: Id(remark_switch),
            },
            vrrp: Vrrp { vrid },
            ..Remark::default()
        },
        switch: switch.map(|id| ApplianceSwitch {
            id: Id(id),
            ..ApplianceSwitch::default()
        }),
        interfaces: vec![],
        created_at: String::new(),
    }
}

pub(super) fn nic(
    switch_id: u64,
    scope: Scope,
    ip_address: Option<&str>,
    user: Option<&str>,
) -> Interface {
    Interface {
        ip_address: ip_address.map(ip),
        user_ip_address: user.map(ip),
        switch: Some(InterfaceSwitch {
            id: Id(switch_id),
            scope: Some(scope),
            ..InterfaceSwitch::default()
        }),
        ..Interface::default()
    }
}

pub(super) fn server(interfaces: Vec<Interface>) -> Server {
    Server {
        interfaces,
        ..Server::default()
    }
}

pub(super) fn set(ips: &[&str]) -> BTreeSet<Ipv4Addr> {
    ips.iter().map(|s| ip(s)).collect()
}
