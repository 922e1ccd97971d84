//! The sandbox end to end, in-process: from nothing to an external IP, narrated.

#![cfg(feature = "sandbox")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use sakura_ccm::sandbox::{SandboxArgs, run};

#[test]
fn the_sandbox_reaches_an_external_ip_and_tells_how() {
    test_runtime::run_multi(async {
        let dir =
            std::env::temp_dir().join(format!("sakura-ccm-sandbox-test-{}", std::process::id()));
        let args = SandboxArgs {
            scenario: None,
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
