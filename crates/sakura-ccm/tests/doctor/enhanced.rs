//! `enhanced.*`: Enhanced Load Balancers on the shared segment.

use super::*;

// ---- Enhanced Load Balancers ----

const ENHANCED: (&str, &str) = ("k8s.usacloud.jp/load-balancer-type", "enhanced");

/// `workers` servers `worker-01`... on the shared segment only (100.64.0.11...), and one server
/// only on a private switch: no switch+router, nothing tagged @k8s.
fn shared_segment_scenario(workers: usize) -> String {
    let mut s = String::from(
        "zone: is1a\nswitches:\n  - name: private-net\n    network: 192.168.0.0/24\nservers:\n",
    );
    for i in 1..=workers {
        s.push_str(&format!(
            "  - name: worker-{i:02}\n    nics: [{{shared: true, ip: 100.64.0.{}}}]\n",
            10 + i
        ));
    }
    s.push_str(
        "  - name: private-1\n    nics: [{switch: private-net, ip: 192.168.0.21, prefix_len: 24}]\n",
    );
    s
}

fn worker_ip(i: usize) -> String {
    format!("100.64.0.{}", 10 + i)
}

/// A cluster on the shared segment as the controller leaves it: `workers` initialized Nodes with
/// their global address, the controller's Deployment, Lease and RBAC, kube-proxy in iptables
/// mode. No Service yet.
async fn shared_segment_cluster(workers: usize) -> Cluster {
    let c = Cluster::without_controller(&shared_segment_scenario(workers)).await;
    for i in 1..=workers {
        let name = format!("worker-{i:02}");
        let id = c.server(&name).await.id.0;
        add_initialized_node(&c, &name, id, &worker_ip(i));
    }
    add_deployment(&c, deployment(true, &[]), 2);
    add_lease(&c, &now());
    add_rbac(&c, None);
    add_kube_proxy(&c, "mode: iptables\n");
    c
}

/// The Service's node ports, in port order.
async fn node_ports(c: &Cluster, name: &str) -> Vec<u16> {
    let svc = c.service(name).await.unwrap();
    svc.spec
        .unwrap()
        .ports
        .unwrap()
        .iter()
        .map(|p| u16::try_from(p.node_port.unwrap()).unwrap())
        .collect()
}

/// A LoadBalancer Service of `annotations` (the type too, if any) with its address and its
/// Enhanced LB as the controller leaves them: one listener per port (`modes`, `tcp` when
/// missing), the first `registered` workers at each node port, `lets_encrypt` on for that
/// common name. Returns the Enhanced LB's ID.
async fn add_enhanced_service(
    c: &Cluster,
    name: &str,
    annotations: &[(&str, &str)],
    ports: &[u16],
    registered: usize,
    lets_encrypt: Option<&str>,
) -> u64 {
    let uid = c.add_service(name, annotations, ports);
    c.api
        .store()
        .patch(
            "services",
            Some("default"),
            name,
            PatchType::Merge,
            &json!({"status": {"loadBalancer": {"ingress": [{"ip": "198.19.0.1"}]}}}),
            Subresource::Status,
        )
        .unwrap();
    let node_ports = node_ports(c, name).await;
    let bind_ports: Vec<Value> = ports
        .iter()
        .map(|p| {
            let mode = if *p == 443 && lets_encrypt.is_some() {
                "https"
            } else {
                "tcp"
            };
            json!({"ProxyMode": mode, "Port": p})
        })
        .collect();
    let servers: Vec<Value> = node_ports
        .iter()
        .flat_map(|np| {
            (1..=registered)
                .map(move |i| json!({"IPAddress": worker_ip(i), "Port": np, "Enabled": true}))
        })
        .collect();
    let mut settings = json!({
        "BindPorts": bind_ports,
        "Servers": servers,
        "HealthCheck": {"Protocol": "tcp", "DelayLoop": 10},
    });
    if let Some(cn) = lets_encrypt {
        settings["LetsEncrypt"] = json!({"Enabled": true, "CommonName": cn});
    }
    let scenario = json!({"proxylbs": [{
        "name": appliance_name(&uid),
        "tags": ["@k8s", format!("@k8s.ClusterID={CLUSTER_ID}"), format!("@k8s.Service={name}"),
                 format!("@k8s.ServiceUID={uid}")],
        "settings": settings,
    }]});
    let applied = c
        .sim
        .handle()
        .load_scenario(&Scenario::parse(&scenario.to_string()).unwrap())
        .unwrap();
    applied.proxylbs[0]
}

/// The shared segment is where the Enhanced LB is the only SAKURA load balancer: with every
/// Service `enhanced` (by annotation, or by the controller's default), `cloud.shared_segment`
/// and `cloud.network` pass and the enhanced checks run; one appliance Service fails it again.
#[test]
fn the_shared_segment_is_fine_for_enhanced_services() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(3).await;
        add_enhanced_service(&c, "web", &[ENHANCED], &[80], 3, None).await;
        let report = doctor(&c).await;
        let text = report.render_text(Lang::En);
        for f in &report.findings {
            assert_eq!(f.status, Status::Ok, "{}:\n{text}", f.id);
        }
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Ok,
            "worker-01: server \"worker-01\"",
        );
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Ok,
            "the load-balancer appliance (types internet and switch) is unavailable on the shared segment",
        );
        assert_verdict(&report, ids::CLOUD_NETWORK, Status::Ok, "none is needed");
        assert!(report.finding(ids::NODES_NETWORK).is_none(), "{text}");
        assert_verdict(
            &report,
            ids::NETWORK_KUBE_PROXY,
            Status::Ok,
            "kube-proxy needs no DSR settings",
        );
        for id in ids::ENHANCED {
            assert_verdict(&report, id, Status::Ok, "");
        }
        assert_verdict(
            &report,
            ids::ENHANCED_HEALTH,
            Status::Ok,
            "3 real server(s) up",
        );
        assert_eq!(report.exit_code(), 0);
        println!("{text}");
        let ja = report.render_text(Lang::Ja);
        assert!(
            ja.contains("エンハンスドロードバランサなら問題ありません"),
            "{ja}"
        );

        // The type from the controller's defaults (SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE).
        let c = shared_segment_cluster(3).await;
        add_enhanced_service(&c, "web", &[], &[80], 3, None).await;
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Fail,
            "Services using the load-balancer appliance: default/web",
        );
        assert_verdict(&report, ids::CLOUD_NETWORK, Status::Fail, "enhanced");
        let defaults = DoctorOptions {
            load_balancer_defaults: [(ENHANCED.0.to_owned(), ENHANCED.1.to_owned())].into(),
            ..options()
        };
        let report = doctor_with(&c, &c.cloud, &defaults).await;
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Ok,
            "(the cluster default, SAKURACLOUD_LOAD_BALANCERS_LOAD_BALANCER_TYPE)",
        );
        assert_verdict(&report, ids::ENHANCED_HEALTH, Status::Ok, "up");
        assert_eq!(report.exit_code(), 0, "{}", report.render_text(Lang::En));

        // A Service that asks for the appliance after all: the shared segment fails for it.
        c.add_service(
            "api",
            &[("k8s.usacloud.jp/load-balancer-type", "internet")],
            &[443],
        );
        let report = doctor_with(&c, &c.cloud, &defaults).await;
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Fail,
            "Services using the load-balancer appliance: default/api",
        );
        assert_verdict(
            &report,
            ids::CLOUD_SHARED_SEGMENT,
            Status::Fail,
            "k8s.usacloud.jp/load-balancer-type: enhanced",
        );
    })
}

#[test]
fn a_node_without_a_global_address_is_left_out_of_enhanced_load_balancers() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(2).await;
        let id = c.server("private-1").await.id.0;
        c.api
            .store()
            .create(
                "nodes",
                None,
                json!({
                    "metadata": {"name": "private-1"},
                    "spec": {"providerID": format!("sakuracloud://{id}")},
                    "status": {"addresses": [
                        {"type": "InternalIP", "address": "192.168.0.21"},
                        {"type": "Hostname", "address": "private-1"}
                    ]}
                }),
            )
            .unwrap();
        add_enhanced_service(&c, "web", &[ENHANCED], &[80], 2, None).await;
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_GLOBAL_ADDRESS,
            Status::Warn,
            "private-1: no ExternalIP: its server has no NIC on the shared segment or a switch+router; left out of default/web",
        );
        assert_verdict(
            &report,
            ids::ENHANCED_GLOBAL_ADDRESS,
            Status::Warn,
            "k8s.usacloud.jp/node-selector",
        );
        assert_eq!(report.exit_code(), 0, "a Node left out is a warning");
    })
}

#[test]
fn an_enhanced_service_with_three_ports_fails() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(2).await;
        add_enhanced_service(&c, "web", &[ENHANCED], &[80], 2, None).await;
        c.add_service("many", &[ENHANCED], &[80, 443, 8080]);
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_PORTS,
            Status::Fail,
            "default/many: 3 TCP ports; an Enhanced Load Balancer serves at most 2",
        );
        assert_verdict(
            &report,
            ids::ENHANCED_PORTS,
            Status::Fail,
            "split the ports over several Services",
        );
        // The appliance's limits (20 ports) do not judge it.
        assert_verdict(&report, ids::SERVICES_LIMITS, Status::Ok, "");
    })
}

#[test]
fn more_than_forty_real_server_entries_leave_nodes_out() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(21).await;
        add_enhanced_service(&c, "web", &[ENHANCED], &[80, 443], 20, None).await;
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_REAL_SERVERS,
            Status::Warn,
            "default/web: 21 Nodes × 2 ports = 42 real-server entries, at most 40: the first 20 Nodes by name are registered; left out: worker-21",
        );
        assert_verdict(
            &report,
            ids::ENHANCED_REAL_SERVERS,
            Status::Warn,
            "k8s.usacloud.jp/node-selector",
        );
        // One port fits them all.
        let c = shared_segment_cluster(21).await;
        add_enhanced_service(&c, "web", &[ENHANCED], &[80], 21, None).await;
        let report = doctor(&c).await;
        assert_verdict(&report, ids::ENHANCED_REAL_SERVERS, Status::Ok, "");
    })
}

#[test]
fn an_https_port_without_a_certificate_fails() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(2).await;
        add_enhanced_service(&c, "web", &[ENHANCED], &[80], 2, None).await;
        c.add_service(
            "shop",
            &[
                ENHANCED,
                (
                    "k8s.usacloud.jp/enhanced-lb-port-modes",
                    "80=http,443=https",
                ),
            ],
            &[80, 443],
        );
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_HTTPS,
            Status::Fail,
            "default/shop: port 443 is https (k8s.usacloud.jp/enhanced-lb-port-modes) but no certificate is named",
        );
        assert_verdict(
            &report,
            ids::ENHANCED_HTTPS,
            Status::Fail,
            "k8s.usacloud.jp/enhanced-lb-lets-encrypt",
        );
    })
}

#[test]
fn a_lets_encrypt_certificate_not_yet_issued_warns() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(2).await;
        let id = add_enhanced_service(
            &c,
            "shop",
            &[
                ENHANCED,
                ("k8s.usacloud.jp/enhanced-lb-port-modes", "443=https"),
                (
                    "k8s.usacloud.jp/enhanced-lb-lets-encrypt",
                    "www.example.com",
                ),
            ],
            &[443],
            2,
            Some("www.example.com"),
        )
        .await;
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_CERTIFICATE,
            Status::Warn,
            "default/shop: Let's Encrypt for www.example.com: no certificate yet on",
        );
        assert_verdict(
            &report,
            ids::ENHANCED_CERTIFICATE,
            Status::Warn,
            &format!("(ID {id}); each name must resolve to"),
        );
        assert_verdict(
            &report,
            ids::ENHANCED_CERTIFICATE,
            Status::Warn,
            "(A record)",
        );
        assert_verdict(&report, ids::ENHANCED_HTTPS, Status::Ok, "");
        assert_eq!(c.sim.handle().count("GET", "commonserviceitem"), 1);
        let ja = report.render_text(Lang::Ja);
        assert!(ja.contains("の証明書が"), "{ja}");
        assert!(ja.contains("にまだありません"), "{ja}");
    })
}

#[test]
fn real_servers_failing_the_health_check_are_named() {
    test_runtime::run_multi(async {
        let c = shared_segment_cluster(2).await;
        let id = add_enhanced_service(&c, "web", &[ENHANCED], &[80], 2, None).await;
        let node_port = node_ports(&c, "web").await[0];
        let worker_2: std::net::Ipv4Addr = worker_ip(2).parse().unwrap();
        c.sim
            .handle()
            .set_proxylb_server_health(id, worker_2, None, Some("down"))
            .unwrap();
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_HEALTH,
            Status::Warn,
            &format!(
                "(ID {id}): 1 of 2 real servers not up: {worker_2}:{node_port} (worker-02) down"
            ),
        );
        assert_verdict(&report, ids::ENHANCED_HEALTH, Status::Warn, "kube-proxy");
        assert_eq!(report.exit_code(), 0);

        let worker_1: std::net::Ipv4Addr = worker_ip(1).parse().unwrap();
        c.sim
            .handle()
            .set_proxylb_server_health(id, worker_1, None, Some("down"))
            .unwrap();
        let report = doctor(&c).await;
        assert_verdict(
            &report,
            ids::ENHANCED_HEALTH,
            Status::Fail,
            "every real server is down: the Service is unreachable",
        );
        assert_eq!(report.exit_code(), 1);
    })
}
