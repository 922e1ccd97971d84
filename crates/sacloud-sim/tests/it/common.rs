//! Test helpers: an in-process simulator on an ephemeral loopback port and a tiny HTTP/1.1
//! client (no TLS stack needed for plain loopback HTTP).

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use sacloud_sim::{RunningSimulator, Scenario, Simulator};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const TOKEN: &str = "test-token";
pub const SECRET: &str = "test-secret";

/// A response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn basic(token: &str, secret: &str) -> String {
    format!("Basic {}", base64(format!("{token}:{secret}").as_bytes()))
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = body.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..pos]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[pos + 2..pos + 2 + size]);
        body = &body[pos + 2 + size + 2..];
    }
    out
}

/// Send one request and read the whole response (`Connection: close`).
pub async fn raw(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, String)],
    body: Option<&str>,
) -> Resp {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&buf[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut payload = buf[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        payload = dechunk(&payload);
    }
    let text = String::from_utf8(payload).unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        text,
    }
}

/// Percent-encode a find query the way SAKURA clients do.
pub fn q(v: &Value) -> String {
    utf8_percent_encode(&v.to_string(), NON_ALPHANUMERIC).to_string()
}

/// A simulator for one test.
pub struct Sim {
    pub sim: RunningSimulator,
    pub bigint: bool,
}

pub async fn start_with(builder: sacloud_sim::SimulatorBuilder) -> Sim {
    let sim = builder
        .credentials(TOKEN, SECRET)
        .seed(7)
        .start()
        .await
        .unwrap();
    Sim { sim, bigint: true }
}

/// Zero delays: lifecycles settle on the next request.
pub async fn start() -> Sim {
    start_with(
        Simulator::builder()
            .boot_delay(Duration::ZERO)
            .shutdown_delay(Duration::ZERO),
    )
    .await
}

pub async fn start_scenario(yaml: &str) -> Sim {
    let sc = Scenario::parse(yaml).unwrap();
    start_with(
        Simulator::builder()
            .boot_delay(Duration::ZERO)
            .shutdown_delay(Duration::ZERO)
            .scenario(sc),
    )
    .await
}

impl Sim {
    pub fn addr(&self) -> SocketAddr {
        self.sim.addr()
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("Authorization", basic(TOKEN, SECRET))];
        if self.bigint {
            h.push(("X-Sakura-Bigint-As-Int", "1".to_owned()));
        }
        h
    }

    /// Call `/{zone}/api/cloud/1.1/{path}`.
    pub async fn call(&self, method: &str, zone: &str, path: &str, body: Option<&Value>) -> Resp {
        let text = body.map(Value::to_string);
        raw(
            self.addr(),
            method,
            &format!("/{zone}/api/cloud/1.1/{path}"),
            &self.headers(),
            text.as_deref(),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", "is1a", path, None).await
    }

    pub async fn find(&self, resource: &str, query: &Value) -> Resp {
        self.call("GET", "is1a", &format!("{resource}?{}", q(query)), None)
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.call("PUT", "is1a", path, Some(body)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call("POST", "is1a", path, Some(body)).await
    }

    pub async fn delete(&self, path: &str, body: Option<&Value>) -> Resp {
        self.call("DELETE", "is1a", path, body).await
    }

    /// Call the admin API.
    pub async fn admin(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        raw(self.addr(), method, &format!("/_sim/{path}"), &[], body).await
    }
}

/// Assert a SAKURA error envelope, exactly.
#[track_caller]
pub fn assert_error(r: &Resp, status: &str, code: &str, msg: &str) {
    let b = &r.body;
    assert_eq!(r.status.to_string(), status[..3], "{}", r.text);
    assert_eq!(b["is_fatal"], true, "{}", r.text);
    assert_eq!(b["status"], status, "{}", r.text);
    assert_eq!(b["error_code"], code, "{}", r.text);
    assert_eq!(b["error_msg"], msg, "{}", r.text);
    let serial = b["serial"].as_str().unwrap();
    assert!(
        serial.len() == 32 && serial.chars().all(|c| c.is_ascii_hexdigit()),
        "{serial}"
    );
    assert_eq!(b.as_object().unwrap().len(), 5, "{}", r.text);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
}

/// The 400 message for a rule violation.
pub fn improper(detail: &str) -> String {
    format!("{}\n{detail}", sacloud_sim::IMPROPER_REQUEST)
}

/// A router + switch + two servers on the router (203.0.113.100/101 are the servers), one stopped.
pub const LB_SCENARIO: &str = r#"
zone: is1a
routers:
  - name: k8s-router
    tags: ["@k8s", "a-first"]
    network: 203.0.113.96/28
switches:
  - name: private-net
    tags: ["@k8s"]
    network: 192.168.0.0/24
servers:
  - name: worker-1
    tags: ["@k8s"]
    nics: [{router: k8s-router}]
  - name: worker-2
    tags: ["@k8s"]
    status: down
    nics: [{router: k8s-router}]
  - name: worker-3
    nics: [{switch: private-net, ip: 192.168.0.11, prefix_len: 24}]
"#;

/// IDs of the router's switch and the plain switch.
pub async fn switch_ids(s: &Sim) -> (u64, u64) {
    let r = s
        .find(
            "switch",
            &serde_json::json!({"Filter": {"Name": "k8s-router"}}),
        )
        .await;
    let router_sw = r.body["Switches"][0]["ID"].as_u64().unwrap();
    let r = s
        .find(
            "switch",
            &serde_json::json!({"Filter": {"Name": "private-net"}}),
        )
        .await;
    (router_sw, r.body["Switches"][0]["ID"].as_u64().unwrap())
}

/// A load-balancer create body on `switch_id` (router network 203.0.113.96/28).
pub fn lb_body(
    switch_id: u64,
    name: &str,
    ips: &[&str],
    vrid: u32,
    vip: &str,
    real: &[&str],
) -> Value {
    serde_json::json!({"Appliance": {
        "Class": "loadbalancer",
        "Name": name,
        "Tags": ["z-tag", "@k8s"],
        "Plan": {"ID": 1},
        "Remark": {
            "Switch": {"ID": switch_id.to_string()},
            "VRRP": {"VRID": vrid},
            "Network": {"NetworkMaskLen": 28, "DefaultRoute": "203.0.113.97"},
            "Servers": ips.iter().map(|ip| serde_json::json!({"IPAddress": ip})).collect::<Vec<_>>(),
            "Plan": {"ID": 1},
        },
        "Settings": {"LoadBalancer": [{
            "VirtualIPAddress": vip, "Port": "80", "DelayLoop": "10",
            "Servers": real.iter().map(|ip| serde_json::json!({"IPAddress": ip, "Port": "80", "HealthCheck": {"Protocol": "ping"}, "Enabled": "True"})).collect::<Vec<_>>(),
        }]},
    }})
}

/// Poll until `cond` holds or the deadline passes (no fixed sleeps).
pub async fn eventually<F, Fut>(mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within 10 s"
        );
        tokio::task::yield_now().await;
    }
}
