//! The sandbox end to end, in-process: from nothing to an external IP, narrated; in the
//! default scenario (a load-balancer appliance), in `--scenario shared-segment` (an Enhanced
//! Load Balancer) and in `--scenario two-zones` (an appliance across a bridge).

#![cfg(feature = "sandbox")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use sakura_ccm::cli::{Cli, Command};
use sakura_ccm::sandbox::{SandboxArgs, ScenarioChoice, run};

#[test]
fn the_sandbox_reaches_an_external_ip_and_tells_how() {
    test_runtime::run_multi(async {
        let dir =
            std::env::temp_dir().join(format!("sakura-ccm-sandbox-test-{}", std::process::id()));
        let args = SandboxArgs {
            scenario: ScenarioChoice::Default,
            boot_delay: Duration::from_millis(300),
            dir: Some(dir.clone()),
            no_service: false,
            exit_when_ready: true,
        };
        let mut out: Vec<u8> = Vec::new();
        tokio::time::timeout(
            Duration::from_secs(60),
            run(args, &mut out, std::future::pending()),
        )
        .await
        .expect("the sandbox is ready within a minute")
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        for expected in [
            "export KUBECONFIG=",
            "node worker-1: initialized: providerID sakuracloud://",
            "ExternalIP 203.0.113.21",
            "region=is1 zone=is1a instance-type=4core-8gb",
            "with VIP 203.0.113.25; waiting for it to boot",
            "real servers 203.0.113.21, 203.0.113.22, 203.0.113.23",
            "service default/hello: external IP assigned: 203.0.113.25",
            "ready: the Service has its external IP",
            "stopped",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        assert!(
            !text.contains("real servers 203.0.113.20"),
            "the control plane (excluded from load balancers) is not a real server:\n{text}"
        );
        assert!(dir.join("kubeconfig").exists());
    })
}

/// The sandbox's output, readable while it runs.
#[derive(Clone, Default)]
struct SharedOut(Arc<Mutex<Vec<u8>>>);

impl SharedOut {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The line that starts with `prefix` (after the time stamp), if any.
fn line_with<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (_, rest) = l.split_once("] ")?;
        rest.starts_with(prefix).then_some(rest)
    })
}

/// Runs the sandbox with `scenario` (appliances boot in 300 ms) until its narration satisfies
/// `done` (or 60 s pass), then stops it; returns the narration and the sandbox's directory.
/// The Service can get its IP before every Node's address is known (a node-set update
/// follows), so each test waits for the lines it reads rather than for `--exit-when-ready`.
async fn run_scenario_until(
    scenario: ScenarioChoice,
    name: &str,
    done: impl Fn(&str) -> bool + Send + 'static,
) -> (String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "sakura-ccm-sandbox-{name}-test-{}",
        std::process::id()
    ));
    let args = SandboxArgs {
        scenario,
        boot_delay: Duration::from_millis(300),
        dir: Some(dir.clone()),
        no_service: false,
        exit_when_ready: false,
    };
    let out = SharedOut::default();
    let watch = out.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    let shutdown = async move {
        while !done(&watch.text()) && Instant::now() <= deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(
        Duration::from_secs(90),
        run(args, &mut out.clone(), shutdown),
    )
    .await
    .expect("the sandbox stops within 90 s")
    .unwrap();
    (out.text(), dir)
}

/// `--scenario shared-segment`: seed 000's servers, on the shared segment only. The demo Service
/// asks for an Enhanced Load Balancer; the narration shows it created (ID, VIP, port), its real
/// servers (the workers' shared-segment addresses at the Service's node port, not the control
/// plane) and the Service getting the VIP as its external IP. No appliance is created.
#[test]
fn the_shared_segment_scenario_gets_an_enhanced_load_balancer_and_tells_how() {
    test_runtime::run_multi(async {
        let (text, dir) = run_scenario_until(ScenarioChoice::SharedSegment, "shared", |text| {
            // Every worker: a Node whose address arrives late gets a second update.
            let servers = text.lines().any(|l| {
                [
                    "): real servers 100.64.0.11:",
                    "100.64.0.12:",
                    "100.64.0.13:",
                ]
                .iter()
                .all(|part| l.contains(part))
            });
            servers && text.contains("external IP assigned")
        })
        .await;

        for expected in [
            "scenario shared-segment: every server is on the shared segment only",
            "service default/hello: created (type LoadBalancer, port 80/TCP, k8s.usacloud.jp/load-balancer-type: enhanced)",
            "node worker-1: initialized: providerID sakuracloud://",
            "ExternalIP 100.64.0.11",
            "Normal LoadBalancerSettingsApplied: created Enhanced Load Balancer a",
            "stopped",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        // "enhanced load balancer <name> (ID <id>): created, 100 CPS, region is1, VIP <vip>, ports 80/tcp"
        let created = text
            .lines()
            .find(|l| l.contains("): created, 100 CPS, region is1, VIP "))
            .unwrap_or_else(|| panic!("no Enhanced LB created line in:\n{text}"));
        assert!(created.contains("] enhanced load balancer a"), "{created}");
        assert!(created.ends_with(", ports 80/tcp"), "{created}");
        let vip = created
            .split(", VIP ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .unwrap();
        assert!(
            vip.starts_with("198.19."),
            "a VIP from the Enhanced LB pool: {vip}"
        );
        assert_eq!(
            line_with(&text, "service default/hello: external IP assigned: "),
            Some(format!("service default/hello: external IP assigned: {vip}").as_str()),
            "{text}"
        );

        // The real servers: the three workers at one node port, the control plane left out.
        let servers = text
            .lines()
            .filter_map(|l| l.split_once("): real servers ").map(|(_, r)| r))
            .rfind(|r| r.starts_with("100.64.0.11:"))
            .unwrap();
        let entries: Vec<(&str, u16)> = servers
            .split(", ")
            .map(|e| {
                let (ip, port) = e.split_once(':').unwrap();
                (ip, port.parse().unwrap())
            })
            .collect();
        let ips: Vec<&str> = entries.iter().map(|(ip, _)| *ip).collect();
        assert_eq!(ips, ["100.64.0.11", "100.64.0.12", "100.64.0.13"], "{text}");
        let node_port = entries[0].1;
        assert!((30000..=32767).contains(&node_port), "{node_port}");
        assert!(entries.iter().all(|(_, p)| *p == node_port), "{servers}");
        assert!(
            !text.contains("100.64.0.10:"),
            "the control plane is excluded:\n{text}"
        );
        assert!(
            !text.contains("] appliance "),
            "no load-balancer appliance:\n{text}"
        );
        assert!(!text.contains("could not look"), "{text}");
        assert!(dir.join("kubeconfig").exists());
    })
}

/// `--scenario two-zones`: a cluster across is1a and is1b. The Nodes get their own server's
/// zone; the appliance lives in is1a on the `@k8s` router's switch, with worker-3 (is1b, on a
/// switch bridged to it) among its real servers and worker-4 (is1b, on a switch on no bridge)
/// left out with the `NodesNotBridged` Warning. Stops once all of that has been told (the
/// Service can get its IP before every Node's address is known, then a node-set update
/// follows), like the shared-segment test.
#[test]
fn the_two_zones_scenario_balances_across_the_bridge_and_tells_who_is_left_out() {
    test_runtime::run_multi(async {
        let (text, _) = run_scenario_until(ScenarioChoice::TwoZones, "zones", |text| {
            text.contains("real servers 203.0.113.21, 203.0.113.22, 203.0.113.30")
                && text.contains("Warning NodesNotBridged")
                && text.contains("external IP assigned")
        })
        .await;

        for expected in [
            "(zones is1a, is1b; credentials accepted",
            "export SAKURACLOUD_ZONES=is1a,is1b",
            "scenario two-zones: the cluster spans is1a and is1b",
            "ExternalIP 203.0.113.21",
            "region=is1 zone=is1a instance-type=4core-8gb",
            "with VIP 203.0.113.24; waiting for it to boot",
            "): real servers 203.0.113.21, 203.0.113.22, 203.0.113.30",
            "service default/hello: external IP assigned: 203.0.113.24",
            "stopped",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        // Each Node in its own server's zone, the region shared.
        for (node, zone) in [
            ("worker-1", "is1a"),
            ("worker-3", "is1b"),
            ("worker-4", "is1b"),
        ] {
            let line = line_with(&text, &format!("node {node}: initialized: "))
                .unwrap_or_else(|| panic!("{node} not initialized in:\n{text}"));
            assert!(line.contains(&format!("region=is1 zone={zone} ")), "{line}");
        }
        let warning = text
            .lines()
            .find(|l| l.contains("Warning NodesNotBridged: "))
            .unwrap();
        assert!(warning.contains("worker-4 (is1b)"), "{warning}");
        assert!(!warning.contains("worker-3"), "{warning}");
        assert!(warning.contains("zone is1a"), "{warning}");
        assert!(
            !text
                .lines()
                .any(|l| l.contains("): real servers ") && l.contains("192.168.20.14")),
            "worker-4 is not a real server:\n{text}"
        );
        assert!(!text.contains("could not look"), "{text}");
    })
}

/// `--scenario` takes the built-in names or a file.
#[test]
fn the_scenario_flag_takes_a_built_in_name_or_a_file() {
    let parse = |args: &[&str]| {
        let mut argv = vec!["sakura-cloud-controller-manager", "sandbox"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Some(Command::Sandbox(args)) => args.scenario,
            other => panic!("not the sandbox: {other:?}"),
        }
    };
    assert_eq!(parse(&[]), ScenarioChoice::Default);
    assert_eq!(parse(&["--scenario", "default"]), ScenarioChoice::Default);
    assert_eq!(
        parse(&["--scenario", "shared-segment"]),
        ScenarioChoice::SharedSegment
    );
    assert_eq!(
        parse(&["--scenario", "two-zones"]),
        ScenarioChoice::TwoZones
    );
    assert_eq!(
        parse(&["--scenario", "my-cloud.yaml"]),
        ScenarioChoice::File("my-cloud.yaml".into())
    );
    assert!(
        Cli::try_parse_from([
            "sakura-cloud-controller-manager",
            "sandbox",
            "--scenario",
            ""
        ])
        .is_err()
    );
}
