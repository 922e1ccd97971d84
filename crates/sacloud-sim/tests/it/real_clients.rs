//! Real SAKURA Cloud clients, byte for byte: libsacloud v1 (the original CCM's client: raw JSON
//! in the query string, `X-Sakura-Bigint-As-Int: 1`, numbers as strings, its User-Agent) and
//! saklient (every write a `POST` with `X-Sakura-HTTP-Method`, a form content type, numbers as
//! numbers, no Bigint header). Every endpoint the CCM uses is walked through in the same order in
//! separate simulators, and each answer must equal the canonical client's (percent-encoded
//! query, the `sacloud` crate's shapes).

use crate::common::*;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How a client spells its requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// The `sacloud` crate: percent-encoded query, JSON body, Bigint header or not.
    Canonical { bigint: bool },
    /// libsacloud v1.27.1 as the original CCM uses it.
    Libsacloud,
    /// saklient (Python; the other language bindings send the same).
    Saklient,
}

/// Python's `urllib.parse.quote`: everything but letters, digits, `_.-~` and `/` is encoded.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

/// Every number in a document as a string (libsacloud's `StringNumber` style).
fn strings(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.to_string()),
        Value::Array(a) => Value::Array(a.iter().map(strings).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), strings(v))).collect()),
        other => other.clone(),
    }
}

/// Every decimal string as a number (saklient sends numbers as numbers, IDs included).
fn numbers(v: &Value) -> Value {
    match v {
        Value::String(s)
            if !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" || !s.starts_with('0')) =>
        {
            s.parse::<u64>().map_or_else(|_| v.clone(), |n| json!(n))
        }
        Value::Array(a) => Value::Array(a.iter().map(numbers).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), numbers(v))).collect()),
        other => other.clone(),
    }
}

/// Answers without their timestamps (the worlds run a few milliseconds apart).
fn timeless(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(timeless).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.ends_with("At"))
                .map(|(k, v)| (k.clone(), timeless(v)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

fn id_of(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("not an ID: {other}"),
    }
}

/// One request in a client's style. `query` is the find JSON (GET only), `body` the JSON body.
async fn send(
    s: &Sim,
    style: Style,
    method: &str,
    path: &str,
    query: Option<&Value>,
    body: Option<&Value>,
) -> Resp {
    let mut headers = vec![("Authorization", basic(TOKEN, SECRET))];
    let base = format!("/is1a/api/cloud/1.1/{path}");
    let (wire_method, target, text) = match style {
        Style::Canonical { bigint } => {
            if bigint {
                headers.push(("X-Sakura-Bigint-As-Int", "1".into()));
            }
            let target = query.map_or(base.clone(), |v| format!("{base}?{}", q(v)));
            (method, target, body.map(Value::to_string))
        }
        Style::Libsacloud => {
            headers.extend([
                ("X-Sakura-Bigint-As-Int", "1".into()),
                ("User-Agent", "libsacloud/1.27.1".into()),
                ("Accept-Language", "en".into()),
                ("Accept-Encoding", "gzip".into()),
            ]);
            // `fmt.Sprintf("%s?%s", url, json)`: the JSON goes into the request line as it is.
            let target = query.map_or(base.clone(), |q| format!("{base}?{q}"));
            (method, target, body.map(|b| strings(b).to_string()))
        }
        Style::Saklient => {
            headers.extend([
                ("Content-Type", "application/x-www-form-urlencoded".into()),
                (
                    "User-Agent",
                    "saklient.python ver-0.0.2.2 rev-12b993d3bd1fedb86be7312ac4648dc4e5693cfa"
                        .into(),
                ),
                ("X-Requested-With", "XMLHttpRequest".into()),
                ("X-Sakura-No-Authenticate-Header", "1".into()),
                ("X-Sakura-HTTP-Method", method.into()),
                ("X-Sakura-Request-Format", "json".into()),
                ("X-Sakura-Response-Format", "json".into()),
                ("X-Sakura-Error-Level", "warning".into()),
            ]);
            if method == "GET" {
                let params = query.cloned().unwrap_or_else(|| json!({}));
                let quoted = utf8_percent_encode(&params.to_string(), QUOTE).to_string();
                ("GET", format!("{base}?{quoted}"), None)
            } else {
                let params = body.map_or_else(|| json!({}), numbers);
                ("POST", base.clone(), Some(params.to_string()))
            }
        }
    };
    raw(s.addr(), wire_method, &target, &headers, text.as_deref()).await
}

/// A load balancer on the router's switch (203.0.113.96/28) with worker-1/-2 as real servers.
fn lb_create(sw: u64) -> Value {
    let mut b = lb_body(
        sw,
        "a1b2c3",
        &["203.0.113.102"],
        1,
        "203.0.113.103",
        &["203.0.113.100", "203.0.113.101"],
    );
    b["Appliance"]["Description"] = json!("");
    b["Appliance"]["Icon"] = Value::Null;
    b["Appliance"]["Remark"]["Zone"] = json!({"ID": 31001});
    b
}

/// Walk every endpoint the CCM uses; returns each answer's status and (timeless) body.
async fn walk(style: Style) -> Vec<(String, u16, Value)> {
    let s = start_scenario(LB_SCENARIO).await;
    let mut out = Vec::new();
    let mut call = async |method: &str, path: &str, query: Option<Value>, body: Option<Value>| {
        let r = send(&s, style, method, path, query.as_ref(), body.as_ref()).await;
        assert!(r.status < 300, "{style:?} {method} {path}: {}", r.text);
        out.push((format!("{method} {path}"), r.status, timeless(&r.body)));
        r.body
    };
    call("GET", "auth-status", None, None).await;
    let found = call(
        "GET",
        "server",
        Some(json!({"From": 0, "Count": 100, "Filter": {"Name": "worker 1"}})),
        None,
    )
    .await;
    assert_eq!(found["Total"], 1, "{style:?}");
    let server = id_of(&found["Servers"][0]["ID"]);
    call("GET", &format!("server/{server}"), None, None).await;
    let k8s = json!({"From": 0, "Count": 100, "Filter": {"Tags.Name": [["@k8s"]]}});
    let routers = call("GET", "internet", Some(k8s.clone()), None).await;
    let router = id_of(&routers["Internet"][0]["ID"]);
    let sw = id_of(&routers["Internet"][0]["Switch"]["ID"]);
    call("GET", &format!("internet/{router}"), None, None).await;
    call("GET", "switch", Some(k8s), None).await;
    call("GET", &format!("switch/{sw}"), None, None).await;

    let lbs = json!({"From": 0, "Count": 100, "Filter": {"Class": "loadbalancer"}});
    call("GET", "appliance", Some(lbs.clone()), None).await;
    let created = call("POST", "appliance", None, Some(lb_create(sw))).await;
    let lb = id_of(&created["Appliance"]["ID"]);
    let path = format!("appliance/{lb}");
    let read = call("GET", &path, None, None).await;
    let mut update = lb_create(sw)["Appliance"].clone();
    update["SettingsHash"] = read["Appliance"]["SettingsHash"].clone();
    update["Settings"]["LoadBalancer"][0]["Servers"]
        .as_array_mut()
        .unwrap()
        .pop();
    call("PUT", &path, None, Some(json!({"Appliance": update}))).await;
    call("PUT", &format!("{path}/config"), None, None).await;
    call("GET", &format!("{path}/status"), None, None).await;
    call("GET", &format!("{path}/power"), None, None).await;
    call(
        "DELETE",
        &format!("{path}/power"),
        None,
        Some(json!({"Force": true})),
    )
    .await;
    call("GET", &format!("{path}/power"), None, None).await;
    call("DELETE", &path, None, None).await;
    call("GET", "appliance", Some(lbs), None).await;

    let elbs = json!({"From": 0, "Count": 100, "Filter": {"Provider.Class": "proxylb"}});
    call("GET", "commonserviceitem", Some(elbs.clone()), None).await;
    let created = call(
        "POST",
        "commonserviceitem",
        None,
        Some(crate::proxylb::example()),
    )
    .await;
    let elb = id_of(&created["CommonServiceItem"]["ID"]);
    let path = format!("commonserviceitem/{elb}");
    let read = call("GET", &path, None, None).await;
    let mut item = crate::proxylb::example()["CommonServiceItem"].clone();
    item["Description"] = json!("updated");
    item["SettingsHash"] = read["CommonServiceItem"]["SettingsHash"].clone();
    call("PUT", &path, None, Some(json!({"CommonServiceItem": item}))).await;
    call("GET", &format!("{path}/health"), None, None).await;
    call("DELETE", &path, None, None).await;
    call("GET", "commonserviceitem", Some(elbs), None).await;
    out
}

fn assert_same(got: &[(String, u16, Value)], want: &[(String, u16, Value)]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "answers differ for {}", w.0);
    }
}

#[test]
fn libsacloud_v1_gets_the_canonical_answers() {
    test_runtime::run_multi(async {
        let want = walk(Style::Canonical { bigint: true }).await;
        assert_eq!(want.len(), 25);
        assert_same(&walk(Style::Libsacloud).await, &want);
    });
}

#[test]
fn saklient_gets_the_canonical_answers() {
    test_runtime::run_multi(async {
        let want = walk(Style::Canonical { bigint: false }).await;
        // Without the Bigint header IDs are strings, as the real API sends them.
        assert!(want[1].2["Servers"][0]["ID"].is_string());
        assert_same(&walk(Style::Saklient).await, &want);
    });
}

/// Read one HTTP/1.1 response (Content-Length framed) from the front of `buf`.
fn next_response(buf: &mut Vec<u8>) -> (u16, String, Value) {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(buf[..split].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    let body: Vec<u8> = buf.drain(..split + 4 + len).skip(split + 4).collect();
    (status, head, serde_json::from_slice(&body).unwrap())
}

#[test]
fn every_request_of_a_keep_alive_connection_may_carry_raw_json() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let auth = basic(TOKEN, SECRET);
        let find = |name: &str, close: bool| {
            format!(
                "GET /is1a/api/cloud/1.1/server?{{\"From\":0,\"Count\":100,\"Filter\":{{\"Name\":\"{name}\"}}}} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nX-Sakura-Bigint-As-Int: 1\r\n{}\r\n",
                if close { "Connection: close\r\n" } else { "" }
            )
        };
        let body = r#"{"Force":true}"#;
        let mut stream = TcpStream::connect(s.addr()).await.unwrap();
        // Three requests pipelined in one write, a body in the middle, then one more afterwards.
        let first = format!(
            "{}PUT /is1a/api/cloud/1.1/server/1/power HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n{body}{}",
            find("worker 1", false),
            body.len(),
            find("worker 2", false),
        );
        stream.write_all(first.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut answers = Vec::new();
        while answers.len() < 3 {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed early");
            buf.extend_from_slice(&chunk[..n]);
            while buf.windows(4).any(|w| w == b"\r\n\r\n") && complete(&buf) {
                answers.push(next_response(&mut buf));
            }
        }
        stream
            .write_all(find("worker 3", true).as_bytes())
            .await
            .unwrap();
        stream.read_to_end(&mut buf).await.unwrap();
        answers.push(next_response(&mut buf));
        let names: Vec<(u16, Value)> = answers
            .iter()
            .map(|(st, _, b)| (*st, b["Servers"][0]["Name"].clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                (200, json!("worker-1")),
                (404, Value::Null),
                (200, json!("worker-2")),
                (200, json!("worker-3")),
            ]
        );
        assert_eq!(answers[1].2["error_code"], "not_found");
        assert_eq!(s.sim.handle().count("GET", "server"), 3);
    });
}

/// Whether `buf` holds at least one whole response.
fn complete(buf: &[u8]) -> bool {
    let Some(split) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..split]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    buf.len() >= split + 4 + len
}

#[test]
fn raw_json_queries_equal_encoded_ones() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let h = vec![
            ("Authorization", basic(TOKEN, SECRET)),
            ("X-Sakura-Bigint-As-Int", "1".to_owned()),
        ];
        for query in [
            json!({"Filter": {"Name": "worker 1"}}),
            json!({"Filter": {"Tags.Name": [["@k8s"]]}, "Sort": ["-Name"], "Count": 2}),
            json!({"Filter": {"Name": ["worker-2", "nobody <x>"]}, "Include": ["ID", "Name"]}),
            json!({"Filter": {"Name": "ワーカー #1"}}),
        ] {
            let base = "/is1a/api/cloud/1.1/server";
            let raw_answer = raw(s.addr(), "GET", &format!("{base}?{query}"), &h, None).await;
            let encoded = raw(s.addr(), "GET", &format!("{base}?{}", q(&query)), &h, None).await;
            assert_eq!(raw_answer.status, 200, "{query}: {}", raw_answer.text);
            assert_eq!(raw_answer.body, encoded.body, "{query}");
        }
        // libsacloud pre-escapes spaces inside strings (`url.PathEscape`): the same again.
        let target = "/is1a/api/cloud/1.1/server?{\"Filter\":{\"Name\":\"worker%201\"}}";
        let r = raw(s.addr(), "GET", target, &h, None).await;
        assert_eq!(r.body["Total"], 1, "{}", r.text);
    });
}

#[test]
fn method_override_and_headers() {
    test_runtime::run_multi(async {
        let s = start_scenario(LB_SCENARIO).await;
        let (sw, _) = switch_ids(&s).await;
        let created = s.post("appliance", &lb_create(sw)).await;
        let id = created.body["Appliance"]["ID"].as_u64().unwrap();
        let auth = ("Authorization", basic(TOKEN, SECRET));
        let over = |m: &str| vec![auth.clone(), ("X-Sakura-HTTP-Method", m.to_owned())];
        let target = format!("/is1a/api/cloud/1.1/appliance/{id}");
        // A plain POST on an item path is still a 405; with the override it is a PUT.
        let r = raw(
            s.addr(),
            "POST",
            &target,
            std::slice::from_ref(&auth),
            Some("{}"),
        )
        .await;
        assert_eq!(r.status, 405);
        let r = raw(
            s.addr(),
            "POST",
            &target,
            &over("put"),
            Some(r#"{"Appliance":{"Description":"via override"}}"#),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["Appliance"]["Description"], "via override");
        // GET by POST: the find query may come in the body.
        let r = raw(
            s.addr(),
            "POST",
            "/is1a/api/cloud/1.1/server",
            &over("GET"),
            Some(r#"{"Filter":{"Name":"worker-3"}}"#),
        )
        .await;
        assert_eq!((r.status, r.body["Total"].clone()), (200, json!(1)));
        // The override is only honoured on POST; on other methods it is ignored.
        let r = raw(s.addr(), "GET", &target, &over("DELETE"), None).await;
        assert_eq!(r.status, 200);
        // Counters record the method meant, not the one on the wire.
        assert_eq!(s.sim.handle().count("PUT", "appliance/{id}"), 1);
        assert_eq!(s.sim.handle().count("POST", "appliance/{id}"), 1);
        // A percent-encoded JSON body with a form content type is decoded.
        let form = vec![
            auth.clone(),
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=UTF-8".to_owned(),
            ),
        ];
        let encoded = q(&json!({"Appliance": {"Description": "form"}}));
        let r = raw(s.addr(), "PUT", &target, &form, Some(&encoded)).await;
        assert_eq!(r.body["Appliance"]["Description"], "form", "{}", r.text);
        // Bigint, Beautify (also spelled `true`), Error-Level and the formats are accepted.
        let h = vec![
            auth.clone(),
            ("X-Sakura-Bigint-As-Int", "true".to_owned()),
            ("X-Sakura-API-Beautify", "1".to_owned()),
            ("X-Sakura-Error-Level", "warning".to_owned()),
            ("X-Sakura-Request-Format", "json".to_owned()),
            ("X-Sakura-Response-Format", "json".to_owned()),
        ];
        let r = raw(s.addr(), "GET", &target, &h, None).await;
        assert!(r.body["Appliance"]["ID"].is_u64(), "{}", r.text);
        assert!(r.text.contains("\n  "), "pretty-printed: {}", r.text);
    });
}

#[test]
fn string_and_number_spellings_create_the_same_load_balancer() {
    test_runtime::run_multi(async {
        let mut answers = Vec::new();
        for spell in [strings as fn(&Value) -> Value, numbers, Value::clone] {
            let s = start_scenario(LB_SCENARIO).await;
            let (sw, _) = switch_ids(&s).await;
            let mut body = spell(&lb_create(sw));
            // Numbers the real API takes either way, beyond the settings' ports.
            body["Appliance"]["Settings"]["LoadBalancer"][0]["Servers"][0]["HealthCheck"] = spell(
                &json!({"Protocol": "http", "Path": "/healthz", "Status": 200, "Port": 10256, "Retry": 3, "ConnectTimeout": 5}),
            );
            let r = s.post("appliance", &body).await;
            assert_eq!(r.status, 202, "{}", r.text);
            let id = r.body["Appliance"]["ID"].as_u64().unwrap();
            let off = s
                .delete(
                    &format!("appliance/{id}/power"),
                    Some(&json!({"Force": "true"})),
                )
                .await;
            assert_eq!(off.status, 200, "{}", off.text);
            answers.push(timeless(&r.body));
        }
        assert_eq!(answers[0], answers[1]);
        assert_eq!(answers[0], answers[2]);
    });
}
