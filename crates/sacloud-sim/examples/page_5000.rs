//! Times listing 5,000 servers page by page (the "under 1 s in release" target).
//!
//! `cargo run --release -p sacloud-sim --example page_5000`

use sacloud_sim::{Scenario, ServerSpec, Simulator};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn get(
    addr: std::net::SocketAddr,
    target: &str,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let mut s = std::net::TcpStream::connect(addr)?;
    // "sacloud-sim-token:sacloud-sim-secret" in base64.
    let auth = "c2FjbG91ZC1zaW0tdG9rZW46c2FjbG91ZC1zaW0tc2VjcmV0";
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no header end")?;
    Ok(serde_json::from_slice(&buf[split + 4..])?)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = (0..5000)
        .map(|i| ServerSpec {
            name: format!("node-{i:05}"),
            tags: vec!["@k8s".into()],
            ..ServerSpec::default()
        })
        .collect();
    let sc = Scenario {
        servers,
        ..Scenario::default()
    };
    let sim = Simulator::builder()
        .boot_delay(Duration::ZERO)
        .scenario(sc)
        .start()
        .await?;
    let addr = sim.addr();
    for count in [100, 1000] {
        let t = Instant::now();
        let total = tokio::task::spawn_blocking(move || -> Result<usize, String> {
            let mut seen = 0;
            loop {
                let q = format!("%7B%22From%22%3A{seen}%2C%22Count%22%3A{count}%7D");
                let page = get(addr, &format!("/is1a/api/cloud/1.1/server?{q}"))
                    .map_err(|e| e.to_string())?;
                let n = page["Servers"].as_array().map_or(0, Vec::len);
                if n == 0 {
                    return Ok(seen);
                }
                seen += n;
            }
        })
        .await??;
        println!(
            "listed {total} servers with Count={count} in {:?}",
            t.elapsed()
        );
    }
    sim.shutdown().await;
    Ok(())
}
