//! Every error path answers with the SAKURA error envelope (`is_fatal`, `serial`, `status`,
//! `error_code`, `error_msg`) — never an empty body — including requests the HTTP layer itself
//! would refuse (sent here as raw bytes).

use crate::common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Send raw bytes, read until the server closes, parse the one response.
async fn raw_bytes(s: &Sim, bytes: &[u8]) -> Resp {
    let mut stream = TcpStream::connect(s.addr()).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response: {:?}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8(buf[..split].to_vec()).unwrap();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let text = String::from_utf8(buf[split + 4..].to_vec()).unwrap();
    Resp {
        status: head[9..12].parse().unwrap(),
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

fn malformed(detail: &str) -> String {
    improper(&format!("malformed HTTP request: {detail}"))
}

const BAD: &str = "400 Bad Request";

#[test]
fn unknown_paths_zones_and_methods() {
    test_runtime::run_multi(async {
        let s = start().await;
        assert_error(
            &s.get("nothing/here").await,
            "404 Not Found",
            "not_found",
            "nothing/here is not a known API path",
        );
        let r = raw(s.addr(), "GET", "/favicon.ico", &[], None).await;
        assert_error(
            &r,
            "404 Not Found",
            "not_found",
            " is not a SAKURA Cloud API path",
        );
        assert_error(
            &s.call("GET", "xx9z", "zone", None).await,
            "404 Not Found",
            "not_found",
            "zone \"xx9z\" does not exist",
        );
        assert_error(
            &s.call("PATCH", "is1a", "appliance", None).await,
            "405 Method Not Allowed",
            "method_not_allowed",
            "PATCH is not allowed on appliance",
        );
        assert_error(
            &s.call("DELETE", "is1a", "appliance/1/status", None).await,
            "405 Method Not Allowed",
            "method_not_allowed",
            "DELETE is not allowed on appliance/1/status",
        );
        assert_error(
            &s.get("server/not-a-number").await,
            "404 Not Found",
            "not_found",
            "Server[ID:not-a-number] is not found",
        );
        assert_error(
            &s.admin("GET", "nope", None).await,
            "404 Not Found",
            "not_found",
            "admin endpoint GET /_sim/nope does not exist",
        );
    });
}

#[test]
fn malformed_bodies_queries_and_overrides() {
    test_runtime::run_multi(async {
        let s = start().await;
        let h = vec![("Authorization", basic(TOKEN, SECRET))];
        let r = raw(
            s.addr(),
            "POST",
            "/is1a/api/cloud/1.1/appliance",
            &h,
            Some("{"),
        )
        .await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper(
                "request body is not valid JSON: EOF while parsing an object at line 1 column 1",
            ),
        );
        let r = raw(
            s.addr(),
            "GET",
            "/is1a/api/cloud/1.1/server?{\"Count\":",
            &h,
            None,
        )
        .await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper(
                "invalid find query: query is not JSON (EOF while parsing a value at line 1 column 9)",
            ),
        );
        let mut over = h.clone();
        over.push(("X-Sakura-HTTP-Method", "PATCH".to_owned()));
        let r = raw(
            s.addr(),
            "POST",
            "/is1a/api/cloud/1.1/server",
            &over,
            Some("{}"),
        )
        .await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper("X-Sakura-HTTP-Method must be GET, POST, PUT or DELETE, got \"PATCH\""),
        );
        let r = s.admin("PUT", "faults", Some("{")).await;
        assert_eq!(r.body["error_code"], "bad_request", "{}", r.text);
        assert_eq!(r.body["is_fatal"], true);
    });
}

#[test]
fn unauthorized_with_and_without_the_challenge() {
    test_runtime::run_multi(async {
        let s = start().await;
        let msg = "Authentication failed. Please check your API key (access token and secret).";
        let r = raw(s.addr(), "GET", "/is1a/api/cloud/1.1/server", &[], None).await;
        assert_error(&r, "401 Unauthorized", "unauthorized", msg);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"SAKURA Cloud API\"")
        );
        let wrong = vec![
            ("Authorization", basic(TOKEN, "wrong")),
            ("X-Sakura-No-Authenticate-Header", "1".to_owned()),
        ];
        let r = raw(s.addr(), "GET", "/is1a/api/cloud/1.1/server", &wrong, None).await;
        assert_error(&r, "401 Unauthorized", "unauthorized", msg);
        assert_eq!(r.header("www-authenticate"), None);
    });
}

#[test]
fn requests_the_http_layer_would_refuse() {
    test_runtime::run_multi(async {
        let s = start().await;
        let cases: Vec<(Vec<u8>, String)> = vec![
            (
                b"GET /is1a/api/cloud/1.1/zone HTTP/9.9\r\n\r\n".to_vec(),
                malformed("the request line is not \"METHOD target HTTP/1.x\""),
            ),
            (
                b"GET /is1a/api/cloud/1.1/zone HTTP/1.1\r\nthis is no header\r\n\r\n".to_vec(),
                malformed("a header line has no colon"),
            ),
            (
                b"GET /is1a/api/cloud/1.1/zone HTTP/1.1\r\nContent-Length: ten\r\n\r\n".to_vec(),
                malformed("Content-Length \"ten\" is not a number"),
            ),
            (
                format!(
                    "GET /is1a/api/cloud/1.1/zone HTTP/1.1\r\nX-Big: {}\r\n\r\n",
                    "a".repeat(70_000)
                )
                .into_bytes(),
                malformed("the request head is larger than 65536 bytes"),
            ),
            (
                format!(
                    "GET /is1a/api/cloud/1.1/zone?{} HTTP/1.1\r\n\r\n",
                    "\"".repeat(25_000)
                )
                .into_bytes(),
                malformed("the request-target is longer than 65000 bytes once encoded"),
            ),
        ];
        for (bytes, msg) in cases {
            let r = raw_bytes(&s, &bytes).await;
            assert_error(&r, BAD, "bad_request", &msg);
            assert_eq!(r.header("connection"), Some("close"));
        }
        // A client cannot fake a rejection: the internal header is dropped from real requests.
        let r = raw(
            s.addr(),
            "GET",
            "/is1a/api/cloud/1.1/zone",
            &[
                ("Authorization", basic(TOKEN, SECRET)),
                ("X-Sacloud-Sim-Rejected", "forged".to_owned()),
            ],
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
    });
}

#[test]
fn injected_faults_before_and_after_use_the_envelope() {
    test_runtime::run_multi(async {
        let s = start().await;
        let rule = json!({"status": 503, "count": 1, "path_prefix": "zone", "retry_after": 2});
        s.admin("POST", "faults/errors", Some(&rule.to_string()))
            .await;
        let r = s.get("zone").await;
        assert_error(
            &r,
            "503 Service Unavailable",
            "service_unavailable",
            "injected fault: 503 Service Unavailable",
        );
        assert_eq!(r.header("retry-after"), Some("2"));
        let rule = json!({"status": 500, "count": 1, "path_prefix": "zone", "phase": "after", "error_code": "oops", "message": "lost"});
        s.admin("POST", "faults/errors", Some(&rule.to_string()))
            .await;
        assert_error(
            &s.get("zone").await,
            "500 Internal Server Error",
            "oops",
            "lost",
        );
        assert_eq!(s.get("zone").await.status, 200);
    });
}
