//! 5,000 servers seeded through the admin API and paged through completely.

use crate::common::*;
use serde_json::{Value, json};
use std::collections::HashSet;

#[test]
fn page_through_5000_servers() {
    test_runtime::run_multi(async {
        let s = start().await;
        let specs: Vec<Value> = (0..5000)
        .map(|i| json!({"name": format!("node-{i:05}"), "tags": ["@k8s"], "nics": [{"shared": true}]}))
        .collect();
        let r = s
            .admin("POST", "servers", Some(&Value::Array(specs).to_string()))
            .await;
        assert_eq!(r.status, 200, "{}", &r.text[..r.text.len().min(300)]);
        let started = std::time::Instant::now();
        let mut seen = HashSet::new();
        let mut from = 0;
        loop {
            let page = s
                .find(
                    "server",
                    &json!({"From": from, "Count": 500, "Filter": {"Tags.Name": [["@k8s"]]}}),
                )
                .await;
            assert_eq!(page.body["Total"], 5000);
            assert_eq!(page.body["From"], from);
            let items = page.body["Servers"].as_array().unwrap();
            assert_eq!(page.body["Count"], items.len());
            if items.is_empty() {
                break;
            }
            for it in items {
                assert!(
                    seen.insert(it["ID"].as_u64().unwrap()),
                    "duplicate {}",
                    it["ID"]
                );
            }
            from += items.len();
        }
        assert_eq!(seen.len(), 5000);
        eprintln!(
            "paged 5000 servers in {:?} (debug build)",
            started.elapsed()
        );
    })
}
