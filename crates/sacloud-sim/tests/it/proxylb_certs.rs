//! The Enhanced Load Balancer's certificates (set, get, delete, the `""` quirk, validation) and
//! Let's Encrypt renewal after the configured delay.

use crate::common::*;
use crate::proxylb::{BAD, CERT, KEY, create, example};
use sacloud_sim::Simulator;
use serde_json::{Value, json};
use std::time::Duration;

#[test]
fn certificates_set_get_delete_with_the_empty_string_quirk() {
    test_runtime::run_multi(async {
        let s = start().await;
        let id = create(&s, &example()).await;
        let path = format!("commonserviceitem/{id}/proxylb/sslcertificate");
        let empty = s.get(&path).await;
        assert_eq!(empty.status, 200);
        assert_eq!(empty.body["ProxyLB"]["AdditionalCerts"], "");
        assert_eq!(
            empty.body["ProxyLB"]["PrimaryCert"]["ServerCertificate"],
            ""
        );

        let cert =
            json!({"ServerCertificate": CERT, "IntermediateCertificate": "", "PrivateKey": KEY});
        let r = s
            .put(
                &path,
                &json!({"ProxyLB": {"PrimaryCert": cert, "AdditionalCerts": []}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let primary = &r.body["ProxyLB"]["PrimaryCert"];
        assert_eq!(primary["CertificateCommonName"], "www.example.com");
        assert_eq!(
            primary["CertificateAltNames"],
            "www.example.com,example.com"
        );
        assert_eq!(primary["CertificateEndDate"], "Dec  3 10:08:37 2036 GMT");
        assert_eq!(primary["PrivateKey"], "", "keys are not sent back");
        assert_eq!(r.body["ProxyLB"]["AdditionalCerts"], "");

        let r = s
            .put(
                &path,
                &json!({"ProxyLB": {"PrimaryCert": cert, "AdditionalCerts": [cert]}}),
            )
            .await;
        assert_eq!(
            r.body["ProxyLB"]["AdditionalCerts"][0]["CertificateCommonName"],
            "www.example.com"
        );
        assert_eq!(
            s.get(&path).await.body["ProxyLB"]["AdditionalCerts"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let not_pem =
            json!({"ProxyLB": {"PrimaryCert": {"ServerCertificate": "hello", "PrivateKey": KEY}}});
        assert_error(
            &s.put(&path, &not_pem).await,
            BAD,
            "bad_request",
            &improper("ProxyLB.PrimaryCert.ServerCertificate is not a PEM X.509 certificate"),
        );
        let bad_key = json!({"ProxyLB": {"PrimaryCert": {"ServerCertificate": CERT, "PrivateKey": "hunter2"}}});
        let r = s.put(&path, &bad_key).await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper("ProxyLB.PrimaryCert.PrivateKey is not a PEM private key"),
        );
        assert!(!r.text.contains("hunter2"), "keys are never echoed");
        let too_many: Vec<Value> = (0..20).map(|_| cert.clone()).collect();
        let r = s
            .put(
                &path,
                &json!({"ProxyLB": {"PrimaryCert": cert, "AdditionalCerts": too_many}}),
            )
            .await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper("ProxyLB.AdditionalCerts: at most 19 certificates are allowed (got 20)"),
        );

        assert_eq!(s.delete(&path, None).await.status, 200);
        let r = s.get(&path).await;
        assert_eq!(
            (
                r.body["ProxyLB"]["PrimaryCert"]["ServerCertificate"].clone(),
                r.body["ProxyLB"]["AdditionalCerts"].clone()
            ),
            (json!(""), json!(""))
        );
    })
}

#[test]
fn lets_encrypt_renew_issues_after_the_delay() {
    test_runtime::run_multi(async {
        let s = start_with(
            Simulator::builder()
                .boot_delay(Duration::ZERO)
                .lets_encrypt_delay(Duration::from_secs(3600)),
        )
        .await;
        let id = create(&s, &example()).await;
        let renew = format!("commonserviceitem/{id}/proxylb/letsencryptrenew");
        let r = s.put(&renew, &json!({})).await;
        assert_error(
            &r,
            BAD,
            "bad_request",
            &improper(&format!(
                "Let's Encrypt is not enabled for CommonServiceItem[ID:{id}]: set Settings.ProxyLB.LetsEncrypt.Enabled and CommonName first"
            )),
        );
        let read =
            s.get(&format!("commonserviceitem/{id}")).await.body["CommonServiceItem"].clone();
        let mut settings = read["Settings"].clone();
        settings["ProxyLB"]["LetsEncrypt"] = json!({"Enabled": true, "CommonName": "www.example.com", "SubjectAltNames": "a.example.com,b.example.com"});
        let r = s.put(&format!("commonserviceitem/{id}"), &json!({"CommonServiceItem": {"Settings": settings, "SettingsHash": read["SettingsHash"]}})).await;
        assert_eq!(
            r.body["CommonServiceItem"]["Settings"]["ProxyLB"]["LetsEncrypt"]["SubjectAltNames"],
            "a.example.com,b.example.com"
        );
        // No body at all, as SAKURA's SDK sends it.
        let r = s.call("PUT", "is1a", &renew, None).await;
        assert_eq!(
            (r.status, r.body["Success"].clone()),
            (200, json!(true)),
            "{}",
            r.text
        );
        let certs = format!("commonserviceitem/{id}/proxylb/sslcertificate");
        assert_eq!(
            s.get(&certs).await.body["ProxyLB"]["PrimaryCert"]["CertificateCommonName"],
            ""
        );
        let moved = s.admin("POST", "advance", Some(r#"{"ms": 3600000}"#)).await;
        assert_eq!(moved.body["completed"], 1, "{}", moved.text);
        let primary = s.get(&certs).await.body["ProxyLB"]["PrimaryCert"].clone();
        assert_eq!(primary["CertificateCommonName"], "www.example.com");
        assert_eq!(
            primary["CertificateAltNames"],
            "www.example.com,a.example.com,b.example.com"
        );
        assert!(
            primary["ServerCertificate"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(
            primary["CertificateEndDate"]
                .as_str()
                .unwrap()
                .ends_with(" GMT")
        );
    })
}
