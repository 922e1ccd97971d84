//! The health and metrics server over real HTTPS on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cloud_provider::metrics::{ControllerMetrics, ReconcileOutcome};
use cloud_provider::serving::{
    Checks, RunningServer, ServingConfig, ServingError, check_fn, serve,
};
use prometheus_client::registry::Registry;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::AsyncWriteExt;

fn loopback() -> ServingConfig {
    ServingConfig {
        bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        secure_port: Some(0),
        ..ServingConfig::default()
    }
}

async fn start(checks: Checks) -> RunningServer {
    serve(&loopback(), checks, Arc::new(Registry::default()))
        .await
        .unwrap()
        .expect("serving enabled")
}

fn client(ca_pem: &str) -> reqwest::Client {
    support::https_client(ca_pem)
}

fn server_client(server: &RunningServer) -> reqwest::Client {
    client(server.ca_certificate_pem().expect("self-signed CA"))
}

/// GET `https://127.0.0.1:<port><path>`: (status, content type, body).
async fn get(client: &reqwest::Client, addr: SocketAddr, path: &str) -> (u16, String, String) {
    let response = client
        .get(format!("https://{addr}{path}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A check whose health the test switches.
fn switch(name: &str, healthy: &Arc<AtomicBool>, reason: &'static str) -> Checks {
    let healthy = healthy.clone();
    Checks::new().with_health(check_fn(name, move || {
        if healthy.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(reason.to_owned())
        }
    }))
}

#[test]
fn probes_answer_ok_when_every_check_passes() {
    test_runtime::run(async {
        let checks = Checks::new()
            .with_health(check_fn("leader-election", || Ok(())))
            .with_ready(check_fn("informer-sync", || Ok(())));
        let server = start(checks).await;
        let c = server_client(&server);
        for path in ["/healthz", "/livez", "/readyz"] {
            let (status, content_type, body) = get(&c, server.local_addr(), path).await;
            assert_eq!((status, body.as_str()), (200, "ok"), "{path}");
            assert_eq!(content_type, "text/plain; charset=utf-8");
        }
        server.shutdown().await;
    })
}

#[test]
fn a_failing_health_check_fails_every_probe_until_it_recovers() {
    test_runtime::run(async {
        let healthy = Arc::new(AtomicBool::new(true));
        let server = start(switch(
            "leader-election",
            &healthy,
            "lease not renewed for 35s",
        ))
        .await;
        let c = server_client(&server);
        let addr = server.local_addr();
        assert_eq!(get(&c, addr, "/healthz").await.0, 200);

        healthy.store(false, Ordering::SeqCst);
        for probe in ["healthz", "livez", "readyz"] {
            let (status, _, body) = get(&c, addr, &format!("/{probe}")).await;
            assert_eq!(status, 500, "{probe}");
            assert_eq!(
                body,
                format!(
                    "[+]ping ok\n[-]leader-election failed: lease not renewed for 35s\n{probe} check failed\n"
                )
            );
        }

        healthy.store(true, Ordering::SeqCst);
        assert_eq!(get(&c, addr, "/livez").await.0, 200);
    })
}

#[test]
fn a_failing_ready_check_fails_only_readyz() {
    test_runtime::run(async {
        let checks = Checks::new()
            .with_health(check_fn("leader-election", || Ok(())))
            .with_ready(check_fn("informer-sync", || {
                Err("nodes not listed yet".to_owned())
            }));
        let server = start(checks).await;
        let c = server_client(&server);
        let addr = server.local_addr();
        assert_eq!(get(&c, addr, "/healthz").await.0, 200);
        assert_eq!(get(&c, addr, "/livez").await.0, 200);
        let (status, _, body) = get(&c, addr, "/readyz").await;
        assert_eq!(status, 500);
        assert_eq!(
            body,
            "[+]ping ok\n[+]leader-election ok\n[-]informer-sync failed: nodes not listed yet\nreadyz check failed\n"
        );
    })
}

#[test]
fn verbose_lists_the_checks_on_success() {
    test_runtime::run(async {
        let checks = Checks::new()
            .with_health(check_fn("leader-election", || Ok(())))
            .with_ready(check_fn("informer-sync", || Ok(())));
        let server = start(checks).await;
        let c = server_client(&server);
        let addr = server.local_addr();
        let (status, _, body) = get(&c, addr, "/healthz?verbose").await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            "[+]ping ok\n[+]leader-election ok\nhealthz check passed\n"
        );
        let (_, _, body) = get(&c, addr, "/readyz?verbose=1").await;
        assert_eq!(
            body,
            "[+]ping ok\n[+]leader-election ok\n[+]informer-sync ok\nreadyz check passed\n"
        );
    })
}

#[test]
fn sub_paths_run_one_check() {
    test_runtime::run(async {
        let checks = Checks::new()
            .with_health(check_fn("leader-election", || Err("lost".to_owned())))
            .with_ready(check_fn("informer-sync", || Ok(())));
        let server = start(checks).await;
        let c = server_client(&server);
        let addr = server.local_addr();
        assert_eq!(
            get(&c, addr, "/healthz/ping").await.2,
            "ok",
            "ping passes while another check fails"
        );
        let (status, _, body) = get(&c, addr, "/livez/leader-election").await;
        assert_eq!(
            (status, body.as_str()),
            (500, "internal server error: lost\n")
        );
        assert_eq!(get(&c, addr, "/readyz/informer-sync").await.0, 200);
        // A ready check is not part of /healthz; unknown names are not found.
        assert_eq!(get(&c, addr, "/healthz/informer-sync").await.0, 404);
        assert_eq!(get(&c, addr, "/readyz/nope").await.0, 404);
    })
}

#[test]
fn metrics_are_served_in_openmetrics_text() {
    test_runtime::run(async {
        let mut registry = Registry::default();
        let metrics = ControllerMetrics::register(&mut registry);
        let server = serve(&loopback(), Checks::new(), Arc::new(registry))
            .await
            .unwrap()
            .unwrap();
        let c = server_client(&server);
        let addr = server.local_addr();

        metrics.observe_reconcile(
            "service-lb-controller",
            ReconcileOutcome::Error,
            Duration::from_millis(120),
        );
        metrics.set_queue_depth("cloud-node-controller", 3);
        metrics.observe_node_initialization(Duration::from_secs(12));
        metrics.set_leader("cloud-controller-manager", true);

        let (status, content_type, body) = get(&c, addr, "/metrics").await;
        assert_eq!(status, 200);
        assert_eq!(
            content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        for line in [
            r#"cloud_provider_reconcile_total{controller="service-lb-controller",result="error"} 1"#,
            r#"cloud_provider_reconcile_duration_seconds_count{controller="service-lb-controller"} 1"#,
            r#"cloud_provider_queue_depth{controller="cloud-node-controller"} 3"#,
            "cloud_provider_node_initialization_delay_seconds_count 1",
            r#"leader_election_master_status{name="cloud-controller-manager"} 1"#,
        ] {
            assert!(body.contains(line), "missing {line:?} in\n{body}");
        }
        assert!(body.ends_with("# EOF\n"));

        // Each scrape reads the live values.
        metrics.observe_reconcile(
            "service-lb-controller",
            ReconcileOutcome::Error,
            Duration::from_millis(1),
        );
        metrics.set_leader("cloud-controller-manager", false);
        let (_, _, body) = get(&c, addr, "/metrics").await;
        assert!(body.contains(
            r#"cloud_provider_reconcile_total{controller="service-lb-controller",result="error"} 2"#
        ));
        assert!(
            body.contains(r#"leader_election_master_status{name="cloud-controller-manager"} 0"#)
        );
    })
}

#[test]
fn unknown_paths_are_not_found() {
    test_runtime::run(async {
        let server = start(Checks::new()).await;
        let c = server_client(&server);
        for path in [
            "/",
            "/configz",
            "/metrics/slis",
            "/healthzz",
            "/debug/pprof/",
        ] {
            let (status, _, body) = get(&c, server.local_addr(), path).await;
            assert_eq!(
                (status, body.as_str()),
                (404, "404 page not found\n"),
                "{path}"
            );
        }
    })
}

#[test]
fn self_signed_certificate_is_valid_for_localhost() {
    test_runtime::run(async {
        let server = start(Checks::new()).await;
        let addr = server.local_addr();
        let ca = server.ca_certificate_pem().unwrap().to_owned();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
            .unwrap();
        let by_name = reqwest::Client::builder()
            .tls_backend_preconfigured(
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
            )
            .resolve("localhost", addr)
            .resolve("elsewhere.example", addr)
            .build()
            .unwrap();
        let response = by_name
            .get(format!("https://localhost:{}/healthz", addr.port()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.text().await.unwrap(), "ok");
        // The name is verified: one the certificate does not carry is refused.
        assert!(
            by_name
                .get(format!("https://elsewhere.example:{}/healthz", addr.port()))
                .send()
                .await
                .is_err()
        );
    })
}

#[test]
fn bad_clients_do_not_stop_the_server() {
    test_runtime::run(async {
        let server = start(Checks::new()).await;
        let addr = server.local_addr();

        // Plain HTTP on the TLS port.
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        drop(tcp);
        // A client that does not trust the certificate aborts the handshake.
        let other_ca =
            CertifiedIssuer::self_signed(ca_params(), KeyPair::generate().unwrap()).unwrap();
        let untrusting = client(&other_ca.pem());
        assert!(
            untrusting
                .get(format!("https://{addr}/healthz"))
                .send()
                .await
                .is_err()
        );
        // A connection that never speaks, left open.
        let _idle = tokio::net::TcpStream::connect(addr).await.unwrap();

        let c = server_client(&server);
        assert_eq!(get(&c, addr, "/healthz").await.2, "ok");
    })
}

#[test]
fn shutdown_and_drop_stop_serving() {
    test_runtime::run(async {
        let server = start(Checks::new()).await;
        let addr = server.local_addr();
        let c = server_client(&server);
        assert_eq!(get(&c, addr, "/healthz").await.0, 200);
        server.shutdown().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());

        let server = start(Checks::new()).await;
        let addr = server.local_addr();
        drop(server);
        eventually("the dropped server to stop listening", || async {
            tokio::net::TcpStream::connect(addr).await.is_err()
        })
        .await;
    })
}

#[test]
fn disabled_serving_is_none() {
    test_runtime::run(async {
        let config = ServingConfig {
            secure_port: ServingConfig::port_from_flag(0),
            ..ServingConfig::default()
        };
        let server = serve(&config, Checks::new(), Arc::new(Registry::default()))
            .await
            .unwrap();
        assert!(server.is_none());
    })
}

// ---- certificate files ----

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "cloud-provider-serving-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(contents.as_bytes())
            .unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An operator's CA and a serving certificate for 127.0.0.1 it signed: (CA PEM, leaf DER,
/// chain PEM, key PEM).
fn operator_pki() -> (String, Vec<u8>, String, String) {
    let ca = CertifiedIssuer::self_signed(ca_params(), KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "ccm.example".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let chain = format!("{}{}", leaf.pem(), ca.pem());
    (ca.pem(), leaf.der().to_vec(), chain, key.serialize_pem())
}

#[test]
fn serves_the_operators_certificate() {
    test_runtime::run(async {
        let dir = TempDir::new();
        let (ca, leaf_der, chain, key) = operator_pki();
        let config = ServingConfig {
            tls_cert_file: Some(dir.write("tls.crt", &chain)),
            tls_private_key_file: Some(dir.write("tls.key", &key)),
            ..loopback()
        };
        let server = serve(&config, Checks::new(), Arc::new(Registry::default()))
            .await
            .unwrap()
            .unwrap();
        assert!(server.ca_certificate_pem().is_none());

        let response = client(&ca)
            .get(format!("https://{}/healthz", server.local_addr()))
            .send()
            .await
            .unwrap();
        let peer = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .unwrap()
            .to_vec();
        assert_eq!(peer, leaf_der);
        assert_eq!(response.text().await.unwrap(), "ok");
    })
}

#[test]
fn unusable_certificate_files_are_named_in_the_error() {
    test_runtime::run(async {
        let dir = TempDir::new();
        let (_, _, chain, key) = operator_pki();
        let (_, _, _, other_key) = operator_pki();
        let cert_file = dir.write("tls.crt", &chain);
        let key_file = dir.write("tls.key", &key);
        let garbage_key = dir.write("garbage.key", "not a key\n");
        let try_serve = |cert: Option<PathBuf>, key: Option<PathBuf>| {
            let config = ServingConfig {
                tls_cert_file: cert,
                tls_private_key_file: key,
                ..loopback()
            };
            async move {
                serve(&config, Checks::new(), Arc::new(Registry::default()))
                    .await
                    .map(|s| s.is_some())
            }
        };

        let error = try_serve(Some(cert_file.clone()), Some(garbage_key.clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ServingError::KeyFile { path, .. } if *path == garbage_key),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains(&garbage_key.display().to_string()),
            "{error}"
        );

        let missing = dir.0.join("missing.crt");
        let error = try_serve(Some(missing.clone()), Some(key_file.clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ServingError::CertFile { path, .. } if *path == missing),
            "{error:?}"
        );

        let not_a_cert = dir.write("key-as.crt", &key);
        let error = try_serve(Some(not_a_cert.clone()), Some(key_file.clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ServingError::CertFile { path, .. } if *path == not_a_cert),
            "{error:?}"
        );

        let wrong_key = dir.write("other.key", &other_key);
        let error = try_serve(Some(cert_file.clone()), Some(wrong_key.clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ServingError::CertKeyPair { cert, key, .. } if *cert == cert_file && *key == wrong_key),
            "{error:?}"
        );

        let error = try_serve(Some(cert_file), None).await.unwrap_err();
        assert!(
            matches!(error, ServingError::IncompleteCertKeyPair),
            "{error:?}"
        );
    })
}

#[test]
fn invalid_check_names_are_refused() {
    test_runtime::run(async {
        let checks = Checks::new()
            .with_health(check_fn("dup", || Ok(())))
            .with_ready(check_fn("dup", || Ok(())));
        let error = serve(&loopback(), checks, Arc::new(Registry::default()))
            .await
            .unwrap_err();
        assert!(matches!(error, ServingError::InvalidCheck(_)), "{error:?}");
    })
}
