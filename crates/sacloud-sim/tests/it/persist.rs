//! `--state-file`: state survives a restart.

use crate::common::*;
use sacloud_sim::Simulator;
use std::time::Duration;

#[test]
fn state_survives_restart() {
    test_runtime::run_multi(async {
        let dir =
            std::env::temp_dir().join(format!("sacloud-sim-it-{}-{}", std::process::id(), line!()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("state.json");
        let _ = std::fs::remove_file(&file);
        let sc = sacloud_sim::Scenario::parse(LB_SCENARIO).unwrap();
        let builder = || {
            Simulator::builder()
                .boot_delay(Duration::ZERO)
                .shutdown_delay(Duration::ZERO)
                .state_file(&file)
        };
        let s = start_with(builder().scenario(sc.clone())).await;
        let (sw, _) = switch_ids(&s).await;
        let created = s
            .post(
                "appliance",
                &lb_body(
                    sw,
                    "persisted",
                    &["203.0.113.102"],
                    1,
                    "203.0.113.104",
                    &["203.0.113.100"],
                ),
            )
            .await;
        let id = created.body["Appliance"]["ID"].as_u64().unwrap();
        s.sim.shutdown().await;
        assert!(file.exists());

        // Restart with the same scenario: the state file wins, nothing is duplicated.
        let s2 = start_with(builder().scenario(sc)).await;
        assert_eq!(s2.get("server").await.body["Total"], 3);
        let a = s2.get(&format!("appliance/{id}")).await;
        assert_eq!(a.body["Appliance"]["Name"], "persisted");
        // New IDs continue after the old ones.
        let (sw2, _) = switch_ids(&s2).await;
        assert_eq!(sw, sw2);
        let b = s2
            .post(
                "appliance",
                &lb_body(sw, "next", &["203.0.113.103"], 2, "203.0.113.105", &[]),
            )
            .await;
        assert!(b.body["Appliance"]["ID"].as_u64().unwrap() > id);
        s2.sim.shutdown().await;

        std::fs::write(&file, "garbage").unwrap();
        let err = Simulator::builder()
            .state_file(&file)
            .start()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not a simulator state"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    })
}
