use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use clap::{CommandFactory, FromArgMatches, Parser};

use super::*;
use ControllerName::*;

#[derive(Parser, Debug)]
struct TestCli {
    #[command(flatten)]
    o: CcmOptions,
}

fn parse(args: &[&str]) -> Result<CcmOptions, clap::Error> {
    TestCli::try_parse_from(std::iter::once("ccm").chain(args.iter().copied())).map(|c| c.o)
}

fn ok(args: &[&str]) -> CcmOptions {
    parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn the_command_is_well_formed_and_help_renders() {
    TestCli::command().debug_assert();
    let help = TestCli::command().render_long_help().to_string();
    for needle in [
        "--leader-elect[=<BOOL>]",
        "--kube-api-qps <QPS>",
        "-v, --v <LEVEL>",
        "[default: 15s]",
        "Generic flags",
        "Framework flags",
        "--load-balancer-class <CLASS>",
    ] {
        assert!(help.contains(needle), "help lacks {needle:?}:\n{help}");
    }
    // Deprecated upstream, and hidden there too.
    assert!(!help.contains("--node-sync-period"));
}

#[test]
fn defaults_are_upstreams() {
    let o = ok(&[]);
    assert_eq!(o.controllers, ["*"]);
    assert_eq!(o.min_resync_period, secs(12 * 3600));
    assert_eq!(
        o.kube_api_content_type,
        "application/vnd.kubernetes.protobuf"
    );
    assert_eq!(o.kube_api_qps, 20.0);
    assert_eq!(o.kube_api_burst, 30);
    assert_eq!(o.event_qps, 50.0);
    assert_eq!(o.event_burst, 100);
    assert_eq!(o.controller_start_interval, Duration::ZERO);
    assert!(o.leader_elect);
    assert_eq!(o.leader_elect_lease_duration, secs(15));
    assert_eq!(o.leader_elect_renew_deadline, secs(10));
    assert_eq!(o.leader_elect_retry_period, secs(2));
    assert_eq!(o.leader_elect_resource_lock, "leases");
    assert_eq!(o.leader_elect_resource_name, "cloud-controller-manager");
    assert_eq!(o.leader_elect_resource_namespace, "kube-system");
    assert!(o.feature_gates.is_empty());

    assert_eq!(o.cloud_provider, "");
    assert_eq!(o.cloud_config, None);
    assert_eq!(o.external_cloud_volume_plugin, "");
    assert!(!o.use_service_account_credentials);
    assert!(!o.allow_untagged_cloud);
    assert_eq!(o.route_reconciliation_period, secs(10));
    assert_eq!(o.node_monitor_period, secs(5));
    assert_eq!(o.cluster_name, "kubernetes");
    assert_eq!(o.cluster_cidr, None);
    assert!(!o.allocate_node_cidrs);
    assert_eq!(o.cidr_allocator_type, "RangeAllocator");
    assert!(o.configure_cloud_routes);
    assert_eq!(o.node_sync_period, Duration::ZERO);

    assert_eq!(o.concurrent_node_syncs, 1);
    assert_eq!(o.concurrent_node_status_updates, 0);
    assert_eq!(o.concurrent_service_syncs, 1);

    assert_eq!(o.master, None);
    assert_eq!(o.kubeconfig, None);
    assert_eq!(o.node_status_update_frequency, secs(300));

    assert_eq!(o.bind_address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    assert_eq!(o.secure_port, 10258);
    assert_eq!(o.cert_dir, None);
    assert_eq!(o.tls_cert_file, None);
    assert_eq!(o.tls_private_key_file, None);
    assert!(o.tls_cipher_suites.is_empty());
    assert_eq!(o.tls_min_version, "");
    assert!(o.tls_sni_cert_key.is_empty());
    assert_eq!(o.http2_max_streams_per_connection, 0);
    assert!(!o.permit_port_sharing);
    assert!(!o.permit_address_sharing);
    assert!(!o.disable_http2_serving);

    assert_eq!(o.authentication_kubeconfig, None);
    assert!(!o.authentication_skip_lookup);
    assert_eq!(o.authentication_token_webhook_cache_ttl, secs(10));
    assert!(!o.authentication_tolerate_lookup_failure);
    assert_eq!(o.client_ca_file, None);
    assert_eq!(o.requestheader_client_ca_file, None);
    assert!(o.requestheader_allowed_names.is_empty());
    assert_eq!(o.requestheader_extra_headers_prefix, ["x-remote-extra-"]);
    assert_eq!(o.requestheader_group_headers, ["x-remote-group"]);
    assert_eq!(o.requestheader_username_headers, ["x-remote-user"]);
    assert!(o.requestheader_uid_headers.is_empty());
    assert_eq!(o.authorization_kubeconfig, None);
    assert_eq!(
        o.authorization_always_allow_paths,
        ["/healthz", "/readyz", "/livez"]
    );
    assert_eq!(o.authorization_webhook_cache_authorized_ttl, secs(10));
    assert_eq!(o.authorization_webhook_cache_unauthorized_ttl, secs(10));

    assert!(o.webhooks.is_empty());
    assert_eq!(o.webhook_secure_port, 10260);
    assert_eq!(o.webhook_bind_address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    assert_eq!(o.webhook_cert_dir, None);

    assert!(o.profiling);
    assert!(!o.contention_profiling);
    assert!(!o.enable_leader_migration);
    assert_eq!(o.leader_migration_config, None);

    assert_eq!(o.v, 0);
    assert_eq!(o.log_directive(), "info");
    assert_eq!(o.logging_format, "text");
    assert_eq!(o.vmodule, "");
    assert_eq!(o.log_flush_frequency, secs(5));

    assert_eq!(o.load_balancer_class, None);
    assert_eq!(o.service_resync_period, secs(600));

    assert_eq!(o.validate(), Ok(()));
    assert_eq!(o.enabled_controllers(), Ok(ControllerName::ALL.into()));
    // No --cluster-cidr: no routes, as upstream.
    assert!(!o.route_controller_wanted());
}

#[test]
fn the_original_sakura_manifest_parses() {
    let o = ok(&[
        "--cloud-provider=sakuracloud",
        "--allocate-node-cidrs=false",
        "--configure-cloud-routes=false",
        "--leader-elect=true",
        "--use-service-account-credentials",
    ]);
    assert_eq!(o.cloud_provider, "sakuracloud");
    assert!(!o.allocate_node_cidrs);
    assert!(!o.configure_cloud_routes);
    assert!(o.leader_elect);
    assert!(o.use_service_account_credentials);
    assert_eq!(o.validate(), Ok(()));
    assert!(!o.route_controller_wanted());
}

#[test]
fn a_long_upstream_argument_list_parses() {
    let o = ok(&[
        "--v=2",
        "--bind-address=127.0.0.1",
        "--secure-port=10258",
        "--cloud-provider",
        "sakuracloud",
        "--cloud-config=/etc/x.yaml",
        "--controllers=*,-node-route-controller",
        "--kubeconfig=/etc/kubernetes/ccm.conf",
        "--authentication-kubeconfig=/etc/kubernetes/ccm.conf",
        "--authorization-kubeconfig",
        "/etc/kubernetes/ccm.conf",
        "--leader-elect-lease-duration=15s",
        "--leader-elect-renew-deadline=10s",
        "--leader-elect-retry-period=2s",
        "--leader-elect-resource-namespace=kube-system",
        "--node-monitor-period=5s",
        "--route-reconciliation-period=30s",
        "--node-status-update-frequency=5m0s",
        "--concurrent-service-syncs=2",
        "--concurrent-node-syncs",
        "3",
        "--kube-api-qps=20",
        "--kube-api-burst=30",
        "--kube-api-content-type=application/json",
        "--feature-gates=A=true,B=false",
        "--feature-gates",
        "C=1",
        "--profiling=false",
        "--contention-profiling=false",
        "--use-service-account-credentials=true",
        "--allow-untagged-cloud",
        "--cluster-cidr=10.244.0.0/16",
        "--cluster-name=prod",
        "--webhook-secure-port=0",
        "--min-resync-period=12h0m0s",
        "--tls-cert-file=/certs/tls.crt",
        "--tls-private-key-file=/certs/tls.key",
        "--tls-min-version=VersionTLS12",
        "--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256",
        "--tls-sni-cert-key=foo.crt,foo.key:*.foo.com,foo.com",
        "--tls-sni-cert-key=bar.crt,bar.key",
        "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
        "--requestheader-allowed-names=front-proxy-client",
        "--master=https://10.0.0.1:6443",
        "--logging-format=text",
        "--log-flush-frequency=5s",
        "--leader-elect-resource-lock=leases",
        "--node-sync-period=0",
        "--load-balancer-class=sakura.io/lb",
        "--service-resync-period=1m",
    ]);
    assert_eq!(o.v, 2);
    assert_eq!(o.bind_address, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(o.secure_port, 10258);
    assert_eq!(o.cloud_provider, "sakuracloud");
    assert_eq!(o.cloud_config.as_deref(), Some(Path::new("/etc/x.yaml")));
    assert_eq!(o.controllers, ["*", "-node-route-controller"]);
    assert_eq!(
        o.kubeconfig,
        Some(PathBuf::from("/etc/kubernetes/ccm.conf"))
    );
    assert_eq!(
        o.authorization_kubeconfig,
        Some(PathBuf::from("/etc/kubernetes/ccm.conf"))
    );
    assert_eq!(o.route_reconciliation_period, secs(30));
    assert_eq!(o.concurrent_service_syncs, 2);
    assert_eq!(o.concurrent_node_syncs, 3);
    assert_eq!(
        o.feature_gates,
        [
            ("A".to_owned(), true),
            ("B".to_owned(), false),
            ("C".to_owned(), true)
        ]
    );
    assert!(!o.profiling);
    assert_eq!(o.cluster_cidr.as_deref(), Some("10.244.0.0/16"));
    assert_eq!(o.cluster_name, "prod");
    assert_eq!(o.webhook_secure_port, 0);
    assert_eq!(o.tls_cipher_suites.len(), 2);
    assert_eq!(
        o.tls_sni_cert_key,
        ["foo.crt,foo.key:*.foo.com,foo.com", "bar.crt,bar.key"]
    );
    assert_eq!(o.authorization_always_allow_paths.len(), 4);
    assert_eq!(o.master.as_deref(), Some("https://10.0.0.1:6443"));
    assert_eq!(o.load_balancer_class.as_deref(), Some("sakura.io/lb"));
    assert_eq!(o.service_resync_period, secs(60));
    assert_eq!(o.validate(), Ok(()));
    assert_eq!(
        o.enabled_controllers(),
        Ok([CloudNode, ServiceLb, CloudNodeLifecycle].into())
    );
    // Routes are disabled by --controllers even with a cluster CIDR.
    assert!(!o.route_controller_wanted());
}

#[test]
fn bools_take_pflag_forms() {
    assert!(ok(&["--allocate-node-cidrs"]).allocate_node_cidrs);
    for t in ["1", "t", "T", "TRUE", "true", "True"] {
        assert!(ok(&[&format!("--allocate-node-cidrs={t}")]).allocate_node_cidrs);
    }
    for f in ["0", "f", "F", "FALSE", "false", "False"] {
        assert!(!ok(&[&format!("--leader-elect={f}")]).leader_elect);
    }
    assert!(parse(&["--leader-elect=yes"]).is_err());
    assert!(parse(&["--leader-elect="]).is_err());
    // As in pflag, a following word is not the value of a bool flag...
    assert!(parse(&["--leader-elect", "false"]).is_err());
    // ...so a bare bool flag never swallows the next flag.
    let o = ok(&["--use-service-account-credentials", "--leader-elect=false"]);
    assert!(o.use_service_account_credentials);
    assert!(!o.leader_elect);
}

#[test]
fn values_take_both_forms_and_the_last_one_wins() {
    assert_eq!(ok(&["--kube-api-qps=5.5"]).kube_api_qps, 5.5);
    assert_eq!(ok(&["--kube-api-qps", "5"]).kube_api_qps, 5.0);
    assert_eq!(ok(&["--secure-port=1", "--secure-port=2"]).secure_port, 2);
    let o = ok(&["--leader-elect=false", "--leader-elect"]);
    assert!(o.leader_elect);
    // List flags append, as pflag's string slices do.
    assert_eq!(
        ok(&["--controllers=cloud-node", "--controllers", "service,route"]).controllers,
        ["cloud-node", "service", "route"]
    );
    assert_eq!(
        ok(&["--controllers", "-route"]).controllers,
        ["-route"],
        "a leading '-' is a value of --controllers, not a flag"
    );
    assert!(parse(&["--secure-port=70000"]).is_err());
    assert!(parse(&["--bind-address=localhost"]).is_err());
    assert!(parse(&["--no-such-flag"]).is_err());
}

#[test]
fn verbosity_is_klogs() {
    for args in [
        ["--v=4"].as_slice(),
        &["-v=4"],
        &["-v", "4"],
        &["--v", "4"],
        &["-v4"],
    ] {
        assert_eq!(ok(args).v, 4, "{args:?}");
    }
    let level = |v: u32| {
        let mut o = ok(&[]);
        o.v = v;
        o.log_directive()
    };
    assert_eq!(
        [0, 1, 2, 3, 4, 5, 9].map(level),
        ["info", "info", "info", "debug", "debug", "trace", "trace"]
    );
}

#[test]
fn durations_are_gos() {
    let o = ok(&[
        "--leader-elect-lease-duration=1m30s",
        "--leader-elect-renew-deadline=45.5s",
        "--leader-elect-retry-period=300ms",
        "--node-monitor-period",
        "1h",
        "--service-resync-period=0",
    ]);
    assert_eq!(o.leader_elect_lease_duration, secs(90));
    assert_eq!(o.leader_elect_renew_deadline, Duration::from_millis(45_500));
    assert_eq!(o.leader_elect_retry_period, Duration::from_millis(300));
    assert_eq!(o.node_monitor_period, secs(3600));
    assert_eq!(o.service_resync_period, Duration::ZERO);
    assert_eq!(o.validate(), Ok(()));
    let err = parse(&["--node-monitor-period=5"]).unwrap_err().to_string();
    assert!(err.contains("missing unit"), "{err}");
    assert!(parse(&["--node-monitor-period=-5s"]).is_err());
}

#[test]
fn empty_values_of_acted_on_flags_are_rejected_and_of_ignored_ones_accepted() {
    for flag in [
        "--kubeconfig=",
        "--cloud-config=",
        "--master=",
        "--cluster-cidr=",
        "--load-balancer-class=",
        "--tls-cert-file=",
    ] {
        assert!(parse(&[flag]).is_err(), "{flag}");
    }
    let o = ok(&[
        "--cert-dir=",
        "--authentication-kubeconfig=",
        "--tls-min-version=",
    ]);
    assert_eq!(o.cert_dir, Some(PathBuf::new()));
}

#[test]
fn controllers_resolve_with_aliases_and_minus() {
    let o = ok(&["--controllers=cloud-node,service"]);
    assert_eq!(o.enabled_controllers(), Ok([CloudNode, ServiceLb].into()));
    let o = ok(&["--controllers=*,-cloud-node-lifecycle,-service-lb-controller"]);
    assert_eq!(o.enabled_controllers(), Ok([CloudNode, NodeRoute].into()));
    let o = ok(&["--controllers=*,-nodeipam"]);
    let err = o.enabled_controllers().unwrap_err();
    assert!(
        err.contains("\"nodeipam\"") && err.contains("cloud-node-controller"),
        "{err}"
    );
}

#[test]
fn the_route_controller_needs_routes_a_cidr_and_the_controller() {
    let wanted = |args: &[&str]| ok(args).route_controller_wanted();
    assert!(wanted(&["--cluster-cidr=10.244.0.0/16"]));
    assert!(wanted(&[
        "--cluster-cidr=10.244.0.0/16,fd00::/56",
        "--controllers=route"
    ]));
    assert!(!wanted(&[]));
    assert!(!wanted(&[
        "--cluster-cidr=10.244.0.0/16",
        "--configure-cloud-routes=false"
    ]));
    assert!(!wanted(&[
        "--cluster-cidr=10.244.0.0/16",
        "--controllers=*,-route"
    ]));
    assert!(!wanted(&[
        "--cluster-cidr=10.244.0.0/16",
        "--controllers=cloud-node"
    ]));
    assert!(!wanted(&[
        "--cluster-cidr=10.244.0.0/16",
        "--controllers=bogus,route"
    ]));
}

#[test]
fn cluster_cidrs_parse() {
    let o = ok(&["--cluster-cidr=10.244.0.0/16, fd00:10:244::/56"]);
    let cidrs = o.cluster_cidrs().unwrap();
    assert_eq!(cidrs.len(), 2);
    assert_eq!(cidrs[1].to_string(), "fd00:10:244::/56");
    assert_eq!(ok(&[]).cluster_cidrs(), Ok(vec![]));
}

#[test]
fn validate_reports_every_problem_at_once() {
    let o = ok(&[
        "--controllers=*,-bogus",
        "--kube-api-qps=0",
        "--kube-api-burst=0",
        "--event-qps=0",
        "--event-burst=0",
        "--leader-elect-lease-duration=10s",
        "--leader-elect-renew-deadline=10s",
        "--leader-elect-retry-period=9s",
        "--leader-elect-resource-lock=endpointsleases",
        "--concurrent-node-syncs=0",
        "--concurrent-service-syncs=0",
        "--node-monitor-period=0",
        "--cluster-cidr=10.244.0.0/16,10.245.0.0/16",
        "--tls-cert-file=/tls.crt",
    ]);
    let problems = o.validate().unwrap_err();
    for needle in [
        "\"bogus\"",
        "--kube-api-qps",
        "--kube-api-burst",
        "--event-qps",
        "--event-burst",
        "--leader-elect-lease-duration (10s) must be greater than --leader-elect-renew-deadline",
        "1.2 x --leader-elect-retry-period",
        "--leader-elect-resource-lock",
        "--concurrent-node-syncs",
        "--concurrent-service-syncs",
        "--node-monitor-period",
        "dual stack",
        "--tls-private-key-file",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "no problem mentions {needle:?}: {problems:#?}"
        );
    }
    assert_eq!(problems.len(), 13, "{problems:#?}");
}

#[test]
fn leader_election_rules_are_upstreams() {
    let problems = |lease, renew, retry| {
        LeaderElectionConfig {
            lease_duration: lease,
            renew_deadline: renew,
            retry_period: retry,
            ..LeaderElectionConfig::default()
        }
        .problems()
    };
    assert!(problems(secs(15), secs(10), secs(2)).is_empty());
    // renew must be strictly greater than retry * 1.2.
    assert!(problems(secs(15), Duration::from_millis(2_401), secs(2)).is_empty());
    assert_eq!(
        problems(secs(15), Duration::from_millis(2_400), secs(2)).len(),
        1
    );
    assert_eq!(problems(secs(0), secs(0), secs(0)).len(), 5);
    // Without leader election the timings are not checked (the lock kind still is).
    let o = ok(&[
        "--leader-elect=false",
        "--leader-elect-lease-duration=1s",
        "--leader-elect-renew-deadline=5s",
    ]);
    assert_eq!(o.validate(), Ok(()));
}

#[test]
fn more_than_two_or_bad_cluster_cidrs_are_problems() {
    let problems = ok(&["--cluster-cidr=10.0.0.0/8,fd00::/8,10.1.0.0/16"])
        .validate()
        .unwrap_err();
    assert!(problems[0].contains("at most 2"), "{problems:?}");
    let problems = ok(&["--cluster-cidr=10.0.0.0"]).validate().unwrap_err();
    assert!(problems[0].contains("invalid CIDR"), "{problems:?}");
}

fn given(args: &[&str]) -> Vec<&'static str> {
    let matches = TestCli::command()
        .try_get_matches_from(std::iter::once("ccm").chain(args.iter().copied()))
        .unwrap();
    // The matches must still build the options.
    TestCli::from_arg_matches(&matches).unwrap();
    ignored_flags_given(&matches)
}

#[test]
fn ignored_flags_given_lists_exactly_the_explicit_ignored_ones() {
    assert!(given(&[]).is_empty());
    assert!(
        given(&[
            "--cloud-provider=sakuracloud",
            "--leader-elect=true",
            "--kube-api-qps=5",
            "--v=3",
            "--cluster-cidr=10.244.0.0/16",
            "--load-balancer-class=x",
        ])
        .is_empty()
    );
    assert_eq!(
        given(&[
            "--use-service-account-credentials",
            "--cloud-provider=sakuracloud",
            "--profiling=true",
            "--feature-gates=A=true",
            "--webhook-secure-port=0",
            "--leader-elect-resource-lock=leases",
        ]),
        [
            "leader-elect-resource-lock",
            "feature-gates",
            "use-service-account-credentials",
            "webhook-secure-port",
            "profiling"
        ]
    );
}

#[test]
fn ignored_flags_are_real_flags_and_everything_else_is_acted_on() {
    let cmd = TestCli::command();
    let longs: Vec<&str> = cmd.get_arguments().filter_map(|a| a.get_long()).collect();
    for flag in IGNORED_FLAGS {
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(flag))
            .unwrap_or_else(|| panic!("{flag} is not a flag"));
        assert_eq!(arg.get_id().as_str(), flag.replace('-', "_"), "{flag}");
    }
    let acted: Vec<&str> = longs
        .iter()
        .copied()
        .filter(|l| !IGNORED_FLAGS.contains(l))
        .collect();
    assert_eq!(
        acted,
        [
            "controllers",
            "kube-api-qps",
            "kube-api-burst",
            "event-qps",
            "event-burst",
            "leader-elect",
            "leader-elect-lease-duration",
            "leader-elect-renew-deadline",
            "leader-elect-retry-period",
            "leader-elect-resource-name",
            "leader-elect-resource-namespace",
            "cloud-provider",
            "cloud-config",
            "route-reconciliation-period",
            "node-monitor-period",
            "cluster-name",
            "cluster-cidr",
            "allocate-node-cidrs",
            "configure-cloud-routes",
            "concurrent-node-syncs",
            "concurrent-service-syncs",
            "master",
            "kubeconfig",
            "node-status-update-frequency",
            "bind-address",
            "secure-port",
            "tls-cert-file",
            "tls-private-key-file",
            "v",
            "load-balancer-class",
            "service-resync-period",
        ]
    );
    // Every ignored flag given at once still parses (each with a value of its kind).
    let mut args = Vec::new();
    for flag in IGNORED_FLAGS {
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(flag))
            .unwrap();
        let value = match arg
            .get_value_names()
            .and_then(|n| n.first())
            .map(|n| n.as_str())
        {
            Some("BOOL") => "true",
            Some("DURATION") => "1s",
            Some("PORT" | "N") => "1",
            Some("IP") => "127.0.0.1",
            Some("NAME=BOOL") => "A=true",
            _ => "x",
        };
        args.push(format!("--{flag}={value}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(given(&args), IGNORED_FLAGS);
}

#[test]
fn docs_flags_md_lists_every_flag_with_its_default_and_effect() {
    let doc = include_str!("../../../../docs/flags.md");
    let cmd = TestCli::command();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `--{long}`")))
            .unwrap_or_else(|| panic!("docs/flags.md has no row for --{long}"));
        let cells: Vec<&str> = row.split(" | ").collect();
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let want_default = match defaults.join(",").as_str() {
            "" if defaults.is_empty() => "(none)".to_owned(),
            "" => "(empty)".to_owned(),
            d => format!("`{d}`"),
        };
        assert_eq!(
            cells[1], want_default,
            "default of --{long} in docs/flags.md"
        );
        let want_effect = if IGNORED_FLAGS.contains(&long) {
            "ignored"
        } else {
            "acted on"
        };
        assert_eq!(cells[2], want_effect, "effect of --{long} in docs/flags.md");
    }
}
