//! An Enhanced Load Balancer's TLS certificates (`commonserviceitem/{id}/proxylb/sslcertificate`):
//! one primary certificate and up to 19 more for SNI, uploaded or issued by Let's Encrypt.
//!
//! Private keys are [`Secret`]s: `Debug` never shows them, and errors about these calls never
//! carry them. A response that cannot be decoded is reported without its body, because the body
//! may hold keys; a key that an error message echoes is replaced by `<redacted>`.

use reqwest::Method;
use serde::Deserialize;
use serde::de::Deserializer;
use serde_json::{Value, json};

use crate::client::{Client, Request};
use crate::error::Error;
use crate::secret::Secret;
use crate::wire::{Id, null_as_default};
use crate::zone::Zone;

/// At most this many additional (SNI) certificates besides the primary one.
pub const MAX_ADDITIONAL_CERTS: usize = 19;

/// One certificate with its key. The `certificate_*` fields are filled in by the API when it is
/// read and ignored when it is uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyLbCertificate {
    /// The server certificate (PEM).
    pub server_certificate: String,
    /// Intermediate certificates (PEM); empty for none.
    pub intermediate_certificate: String,
    /// The private key (PEM). Uploaded; the API may or may not send it back.
    pub private_key: Secret,
    /// Read-only: expiry, in the API's format (`"May  4 01:37:47 2019 GMT"`).
    pub certificate_end_date: String,
    /// Read-only: the subject's common name.
    pub certificate_common_name: String,
    /// Read-only: the subject alternative names, as the API lists them.
    pub certificate_alt_names: String,
}

impl ProxyLbCertificate {
    /// A certificate to upload.
    pub fn new(
        server_certificate: impl Into<String>,
        intermediate_certificate: impl Into<String>,
        private_key: Secret,
    ) -> Self {
        Self {
            server_certificate: server_certificate.into(),
            intermediate_certificate: intermediate_certificate.into(),
            private_key,
            certificate_end_date: String::new(),
            certificate_common_name: String::new(),
            certificate_alt_names: String::new(),
        }
    }

    /// The upload form: certificate, intermediates and key.
    fn to_wire(&self) -> Value {
        json!({
            "ServerCertificate": self.server_certificate,
            "IntermediateCertificate": self.intermediate_certificate,
            "PrivateKey": self.private_key.expose(),
        })
    }
}

/// The certificates of an Enhanced Load Balancer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxyLbCertificates {
    /// The primary certificate; `None` when none is set (the API then sends an empty one).
    pub primary: Option<ProxyLbCertificate>,
    /// Additional certificates for SNI (at most 19).
    pub additional: Vec<ProxyLbCertificate>,
}

/// A certificate as read. Deliberately not `Debug`: it holds the key as a plain string until it
/// is wrapped in a [`Secret`].
#[derive(Deserialize, Default)]
struct RawCert {
    #[serde(
        rename = "ServerCertificate",
        default,
        deserialize_with = "null_as_default"
    )]
    server_certificate: String,
    #[serde(
        rename = "IntermediateCertificate",
        default,
        deserialize_with = "null_as_default"
    )]
    intermediate_certificate: String,
    #[serde(rename = "PrivateKey", default, deserialize_with = "null_as_default")]
    private_key: String,
    #[serde(rename = "CertificateEndDate", default, deserialize_with = "text")]
    end_date: String,
    #[serde(rename = "CertificateCommonName", default, deserialize_with = "text")]
    common_name: String,
    #[serde(rename = "CertificateAltNames", default, deserialize_with = "text")]
    alt_names: String,
}

impl RawCert {
    /// `None` for the empty object the API sends when no certificate is set.
    fn into_certificate(self) -> Option<ProxyLbCertificate> {
        if self.server_certificate.trim().is_empty() {
            return None;
        }
        Some(ProxyLbCertificate {
            server_certificate: self.server_certificate,
            intermediate_certificate: self.intermediate_certificate,
            private_key: Secret::new(self.private_key),
            certificate_end_date: self.end_date,
            certificate_common_name: self.common_name,
            certificate_alt_names: self.alt_names,
        })
    }
}

/// `{"PrimaryCert": {...}, "AdditionalCerts": [...]}`; `AdditionalCerts` may be `""` when there
/// are none (a known quirk of the API).
#[derive(Deserialize, Default)]
struct RawCerts {
    #[serde(rename = "PrimaryCert", default)]
    primary: Option<RawCert>,
    #[serde(rename = "AdditionalCerts", default, deserialize_with = "additional")]
    additional: Vec<RawCert>,
}

/// A string, a list of strings (joined with `,`), or `null`.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => s,
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    })
}

/// `AdditionalCerts`: a list, or `""` / `null` for none.
fn additional<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawCert>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Vec::new()),
        Some(v @ Value::Array(_)) => Vec::<RawCert>::deserialize(v).map_err(|_| {
            serde::de::Error::custom("AdditionalCerts: an entry is not a certificate object")
        }),
        Some(_) => Err(serde::de::Error::custom(
            "AdditionalCerts: expected a list or \"\"",
        )),
    }
}

impl From<RawCerts> for ProxyLbCertificates {
    fn from(raw: RawCerts) -> Self {
        Self {
            primary: raw.primary.and_then(RawCert::into_certificate),
            additional: raw
                .additional
                .into_iter()
                .filter_map(RawCert::into_certificate)
                .collect(),
        }
    }
}

/// Decodes `{"ProxyLB": {...}}`. Never puts the body into an error: it may hold private keys.
fn decode(
    body: &mut serde_json::Map<String, Value>,
    method: &'static str,
    path: &str,
) -> Result<ProxyLbCertificates, Error> {
    let withheld = |what: &str| Error::Decode {
        method,
        path: path.to_owned(),
        message: format!("{what} (the body is not shown: it may hold private keys)"),
    };
    let raw = match body.remove("ProxyLB") {
        None | Some(Value::Null) => RawCerts::default(),
        Some(v) => RawCerts::deserialize(v)
            .map_err(|_| withheld("the certificates response is not in the expected shape"))?,
    };
    Ok(raw.into())
}

/// Makes an error about a certificate call safe to log: the body of an undecodable response is
/// withheld, every uploaded key an answer echoes becomes `<redacted>`, and a message that still
/// holds PEM key material (a truncated echo, say) is withheld as a whole.
fn scrub(error: Error, keys: &[&Secret]) -> Error {
    const WITHHELD: &str = "(withheld: it may hold a private key)";
    let error = match error {
        Error::Decode { method, path, .. } => Error::Decode {
            method,
            path,
            message: format!("the certificates response could not be read {WITHHELD}"),
        },
        other => other,
    };
    let keys: Vec<&str> = keys
        .iter()
        .map(|k| k.expose().trim())
        .filter(|k| !k.is_empty())
        .collect();
    error.map_text(|mut text| {
        for key in &keys {
            let escaped = key.replace('\n', "\\n");
            text = text
                .replace(key, "<redacted>")
                .replace(&escaped, "<redacted>");
        }
        if text.contains("PRIVATE KEY") {
            WITHHELD.to_owned()
        } else {
            text
        }
    })
}

fn cert_path(id: Id) -> String {
    format!("commonserviceitem/{id}/proxylb/sslcertificate")
}

const CERT_TEMPLATE: &str = "commonserviceitem/{id}/proxylb/sslcertificate";

impl Client {
    /// `GET commonserviceitem/{id}/proxylb/sslcertificate`: the certificates in use.
    /// `primary` is `None` and `additional` empty when none are set.
    pub async fn proxy_lb_certificates(&self, id: Id) -> Result<ProxyLbCertificates, Error> {
        let path = cert_path(id);
        let request = Request::new(Method::GET, CERT_TEMPLATE, path.clone()).in_zone(Zone::GLOBAL);
        let mut body = self.call(&request).await.map_err(|e| scrub(e, &[]))?;
        decode(&mut body, "GET", &path)
    }

    /// `PUT commonserviceitem/{id}/proxylb/sslcertificate`: replaces the certificates with
    /// `primary` and `additional` (at most 19; `[]` is sent when there are none) and returns
    /// them as the API read them (common name, alternative names, expiry).
    pub async fn set_proxy_lb_certificates(
        &self,
        id: Id,
        primary: &ProxyLbCertificate,
        additional: &[ProxyLbCertificate],
    ) -> Result<ProxyLbCertificates, Error> {
        let keys: Vec<&Secret> = std::iter::once(&primary.private_key)
            .chain(additional.iter().map(|c| &c.private_key))
            .collect();
        let path = cert_path(id);
        let body = json!({"ProxyLB": {
            "PrimaryCert": primary.to_wire(),
            "AdditionalCerts": additional.iter().map(ProxyLbCertificate::to_wire).collect::<Vec<_>>(),
        }});
        let request = Request::new(Method::PUT, CERT_TEMPLATE, path.clone())
            .in_zone(Zone::GLOBAL)
            .json(body);
        let mut answer = self.call(&request).await.map_err(|e| scrub(e, &keys))?;
        decode(&mut answer, "PUT", &path)
    }

    /// `DELETE commonserviceitem/{id}/proxylb/sslcertificate`: removes every certificate.
    pub async fn delete_proxy_lb_certificates(&self, id: Id) -> Result<(), Error> {
        self.action(
            Request::new(Method::DELETE, CERT_TEMPLATE, cert_path(id)).in_zone(Zone::GLOBAL),
        )
        .await
        .map_err(|e| scrub(e, &[]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----\n";

    fn read(v: Value) -> ProxyLbCertificates {
        let mut body = json!({ "ProxyLB": v }).as_object().cloned().unwrap();
        decode(&mut body, "GET", "x").unwrap()
    }

    #[test]
    fn empty_certificates_read_as_none_including_the_empty_string_quirk() {
        let empty = json!({"ServerCertificate": "", "IntermediateCertificate": "", "PrivateKey": "",
                           "CertificateEndDate": "", "CertificateCommonName": "", "CertificateAltNames": ""});
        for v in [
            json!({"PrimaryCert": empty, "AdditionalCerts": ""}),
            json!({"PrimaryCert": null, "AdditionalCerts": null}),
            json!({"PrimaryCert": {}, "AdditionalCerts": []}),
            json!({}),
        ] {
            assert_eq!(read(v.clone()), ProxyLbCertificates::default(), "{v}");
        }
    }

    #[test]
    fn reads_certificates_and_never_shows_the_key() {
        let certs = read(json!({
            "PrimaryCert": {"ServerCertificate": "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----",
                            "IntermediateCertificate": "", "PrivateKey": KEY,
                            "CertificateEndDate": "May  4 01:37:47 2019 GMT",
                            "CertificateCommonName": "www.example.com",
                            "CertificateAltNames": "www.example.com,example.com"},
            "AdditionalCerts": [{"ServerCertificate": "B", "PrivateKey": KEY, "CertificateAltNames": ["a", "b"]}]
        }));
        let primary = certs.primary.as_ref().unwrap();
        assert_eq!(primary.certificate_common_name, "www.example.com");
        assert_eq!(primary.certificate_end_date, "May  4 01:37:47 2019 GMT");
        assert_eq!(primary.private_key.expose(), KEY);
        assert_eq!(certs.additional.len(), 1);
        assert_eq!(certs.additional[0].certificate_alt_names, "a,b");
        let debug = format!("{certs:?}");
        assert!(!debug.contains("BEGIN PRIVATE KEY"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn undecodable_bodies_are_withheld() {
        let mut body =
            json!({"ProxyLB": {"PrimaryCert": {"PrivateKey": KEY}, "AdditionalCerts": {"x": KEY}}})
                .as_object()
                .cloned()
                .unwrap();
        let err = decode(&mut body, "GET", "x").unwrap_err();
        assert!(!err.to_string().contains("PRIVATE KEY"), "{err}");
        let err = scrub(
            Error::Decode {
                method: "GET",
                path: "x".into(),
                message: format!("body starts with: {KEY}"),
            },
            &[],
        );
        assert!(!err.to_string().contains("PRIVATE KEY"), "{err}");
    }

    #[test]
    fn echoed_keys_are_redacted_and_truncated_ones_withheld() {
        let envelope = |msg: String| {
            json!({"is_fatal": true, "serial": "s", "status": "400 Bad Request",
                   "error_code": "bad_request", "error_msg": msg})
            .to_string()
        };
        let key = Secret::new(KEY);
        let err = crate::error::api_error(
            "PUT",
            "p".into(),
            400,
            envelope(format!("rejected {KEY} because")).as_bytes(),
            None,
        );
        let text = scrub(err, &[&key]).to_string();
        assert!(!text.contains("MIGHAgEAMBMG"), "{text}");
        assert!(text.contains("rejected <redacted>"), "{text}");
        // Not an envelope: the body excerpt is raw JSON text, cut after 200 characters.
        let body = format!(
            "<html>{}</html>",
            json!({"PrivateKey": format!("{KEY}{}", "A".repeat(300))})
        );
        let err = crate::error::api_error("PUT", "p".into(), 502, body.as_bytes(), None);
        let text = scrub(err, &[&key]).to_string();
        assert!(
            !text.contains("MIGHAgEAMBMG") && !text.contains("PRIVATE KEY"),
            "{text}"
        );
    }

    #[test]
    fn upload_form_exposes_the_key_only_in_the_body() {
        let c = ProxyLbCertificate::new("CERT", "", Secret::new(KEY));
        assert_eq!(c.to_wire()["PrivateKey"], KEY);
        assert!(!format!("{c:?}").contains("PRIVATE KEY"));
    }
}
