//! The report: Japanese text, exit codes, JSON.

use super::*;

// ---- output ----

#[test]
fn japanese_text() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        c.add_node("wrker-2");
        let report = doctor(&c).await;
        let text = report.render_text(Lang::Ja);
        assert!(
            text.contains("✗ nodes.unmatched: 1 個の Node に対応するサーバがありません"),
            "{text}"
        );
        assert!(
            text.contains("wrker-2: この名前のサーバはありません。近い名前: \"worker-2\""),
            "{text}"
        );
        assert!(
            text.contains("→ 対処: Node 名とサーバ名を一致させてください"),
            "{text}"
        );
        assert!(text.contains("結果: "), "{text}");
        let json: Value = serde_json::from_str(&report.render_json(Lang::Ja)).unwrap();
        let unmatched = json
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "nodes.unmatched")
            .unwrap();
        assert_eq!(unmatched["status"], "fail");
        assert!(
            unmatched["title"]
                .as_str()
                .unwrap()
                .contains("対応するサーバがありません")
        );
    })
}

/// The binary: same environment as the controller; exit 0 when healthy, 1 with a ✗, 2 when it
/// cannot start; JSON on stdout.
#[test]
fn the_binary_exits_0_1_2_and_prints_json() {
    test_runtime::run_multi(async {
        let c = healthy(SCENARIO).await;
        let dir = std::env::temp_dir().join(format!("sakura-ccm-doctor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&kubeconfig, c.api.kubeconfig()).unwrap();
        let run = |extra: &[&str]| {
            let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
            let kubeconfig = kubeconfig.clone();
            let root = c.sim.base_url();
            tokio::task::spawn_blocking(move || {
                Command::new(BINARY)
                    .env_clear()
                    .env("SAKURACLOUD_ACCESS_TOKEN", "sim-token")
                    .env("SAKURACLOUD_ACCESS_TOKEN_SECRET", "sim-secret")
                    .env("SAKURACLOUD_ZONE", "is1a")
                    .env("SAKURACLOUD_API_ROOT_URL", root)
                    .env("SAKURACLOUD_CLUSTER_ID", CLUSTER_ID)
                    .env("SAKURACLOUD_API_REQUEST_RATE_LIMIT", "0")
                    .arg("doctor")
                    .arg(format!("--kubeconfig={}", kubeconfig.display()))
                    .args(extra)
                    .stdin(Stdio::null())
                    .output()
                    .unwrap()
            })
        };

        let out = run(&["--output", "json"]).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_str(&stdout).unwrap();
        let items = json.as_array().unwrap();
        assert!(items.len() >= 20, "{stdout}");
        for item in items {
            assert_eq!(item["status"], "ok", "{item}");
            for key in ["id", "title", "detail", "fix"] {
                assert!(item[key].is_string(), "{key} in {item}");
            }
        }

        // The controller's defaults from --cloud-config: the Service is judged as enhanced.
        let cloud_config = dir.join("cloud-config.yaml");
        std::fs::write(
            &cloud_config,
            "loadBalancerDefaults:\n  load-balancer-type: enhanced\n",
        )
        .unwrap();
        let flag = format!("--cloud-config={}", cloud_config.display());
        let out = run(&["--output", "json", &flag]).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        let json: Value = serde_json::from_str(&stdout).unwrap();
        assert!(
            json.as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"] == "enhanced.ports" && f["status"] == "ok"),
            "{stdout}"
        );

        c.add_node("wrker-2");
        let out = run(&["--output", "json", "--lang", "ja"]).await.unwrap();
        assert_eq!(out.status.code(), Some(1));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            json.as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"] == "nodes.unmatched"
                    && f["status"] == "fail"
                    && f["title"].as_str().unwrap().contains("対応するサーバ"))
        );

        let out = run(&[]).await.unwrap();
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("✗ nodes.unmatched: 1 Node(s) match no server"),
            "{text}"
        );

        // No credentials at all: the ✗ line for it, exit 2.
        let out = tokio::task::spawn_blocking(move || {
            Command::new(BINARY)
                .env_clear()
                .arg("doctor")
                .arg(format!("--kubeconfig={}", kubeconfig.display()))
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("✗ cloud.config:"), "{text}");
        assert!(text.contains("SAKURACLOUD_ACCESS_TOKEN"), "{text}");
        assert_eq!(c.writes(), 0);
    })
}

// ---- the shipped manifests ----

/// The objects of `deploy/manifests/sakura-cloud-controller-manager.yaml` that the fake API
/// server serves (ServiceAccount and PodDisruptionBudget are not among them).
fn shipped_objects() -> Vec<(String, Value)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/manifests/sakura-cloud-controller-manager.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    text.split("\n---")
        .filter(|doc| {
            doc.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .map(|doc| serde_saphyr::from_str::<Value>(doc).unwrap())
        .filter_map(|obj| {
            let resource = match obj["kind"].as_str()? {
                "Deployment" => "deployments.apps",
                "ClusterRole" => "clusterroles.rbac.authorization.k8s.io",
                "ClusterRoleBinding" => "clusterrolebindings.rbac.authorization.k8s.io",
                _ => return None,
            };
            Some((resource.to_owned(), obj))
        })
        .collect()
}

/// Installed from `deploy/manifests/` as it ships, the controller passes doctor's controller
/// checks: its workload is found and tolerates the uninitialized taint, and its ClusterRole
/// grants everything the controller calls.
#[test]
fn the_shipped_manifests_pass_the_controller_checks() {
    test_runtime::run_multi(async {
        let c = Cluster::without_controller(SCENARIO).await;
        let objects = shipped_objects();
        assert_eq!(
            objects.len(),
            3,
            "Deployment, ClusterRole, ClusterRoleBinding"
        );
        for (resource, obj) in objects {
            let namespace = obj["metadata"]["namespace"].as_str().map(str::to_owned);
            let name = obj["metadata"]["name"].as_str().unwrap().to_owned();
            c.api
                .store()
                .create(&resource, namespace.as_deref(), obj)
                .unwrap();
            if resource == "deployments.apps" {
                c.api
                    .store()
                    .patch(
                        &resource,
                        namespace.as_deref(),
                        &name,
                        PatchType::Merge,
                        &json!({"status": {"replicas": 2, "readyReplicas": 2}}),
                        Subresource::Status,
                    )
                    .unwrap();
            }
        }
        add_lease(&c, &now());
        let report = doctor(&c).await;
        for id in [
            ids::CONTROLLER_WORKLOAD,
            ids::CONTROLLER_TOLERATIONS,
            ids::CONTROLLER_RBAC,
            ids::CONTROLLER_LEADER,
        ] {
            assert_verdict(&report, id, Status::Ok, "");
        }
    })
}
