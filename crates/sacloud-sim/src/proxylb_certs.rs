//! An Enhanced Load Balancer's certificates (`…/proxylb/sslcertificate`) and the delayed
//! Let's Encrypt issuance (`…/proxylb/letsencryptrenew`).
//!
//! Uploaded certificates are read with [`crate::cert`] (common name, alternative names, expiry);
//! a renew request schedules a placeholder certificate for the settings' `CommonName` that
//! appears once the simulated clock passes its due time (lazily, like power transitions).

use crate::cert;
use crate::error::ApiError;
use crate::proxylb::ProxyLb;
use crate::time::format_cert_date;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Certificates besides the primary one.
pub const MAX_ADDITIONAL_CERTS: usize = 19;
/// Lifetime of a certificate "issued" by Let's Encrypt.
const LETS_ENCRYPT_DAYS: i64 = 90;

/// A certificate as stored. The private key is checked on upload and then dropped: it is never
/// sent back, so it is not kept (nor written to the state file or `/_sim/state`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCert {
    /// PEM.
    pub server_certificate: String,
    /// PEM (may be empty).
    pub intermediate_certificate: String,
    /// `CertificateCommonName`.
    pub common_name: String,
    /// `CertificateAltNames`.
    pub alt_names: Vec<String>,
    /// `CertificateEndDate`.
    pub end_date: String,
}

/// The certificates of one item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificates {
    /// `PrimaryCert`.
    pub primary: Option<StoredCert>,
    /// `AdditionalCerts`.
    pub additional: Vec<StoredCert>,
}

/// A Let's Encrypt issuance in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCert {
    /// Simulated unix ms at which the certificate appears.
    pub due_ms: u64,
    /// Its common name.
    pub common_name: String,
    /// Its alternative names.
    pub alt_names: Vec<String>,
}

fn bad(detail: impl AsRef<str>) -> ApiError {
    ApiError::invalid(detail)
}

fn parse_cert(v: &Value, what: &str) -> Result<StoredCert, ApiError> {
    if !v.is_object() {
        return Err(bad(format!("{what} must be an object")));
    }
    let field = |k: &str| -> Result<String, ApiError> {
        match v.get(k) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            // Never echo the value: it may be a key.
            Some(_) => Err(bad(format!("{what}.{k} must be a string"))),
        }
    };
    let server_certificate = field("ServerCertificate")?;
    let info = cert::parse_pem_certificate(&server_certificate).ok_or_else(|| {
        bad(format!(
            "{what}.ServerCertificate is not a PEM X.509 certificate"
        ))
    })?;
    let intermediate_certificate = field("IntermediateCertificate")?;
    if !intermediate_certificate.trim().is_empty()
        && cert::parse_pem_certificate(&intermediate_certificate).is_none()
    {
        return Err(bad(format!(
            "{what}.IntermediateCertificate is not a PEM X.509 certificate"
        )));
    }
    if !cert::is_private_key_pem(&field("PrivateKey")?) {
        return Err(bad(format!("{what}.PrivateKey is not a PEM private key")));
    }
    Ok(StoredCert {
        server_certificate,
        intermediate_certificate,
        end_date: info.end_date(),
        common_name: info.common_name,
        alt_names: info.alt_names,
    })
}

/// Parse `{"ProxyLB": {"PrimaryCert": {...}, "AdditionalCerts": [...]}}`.
pub fn parse_certificates(body: &Value) -> Result<Certificates, ApiError> {
    let p = body
        .get("ProxyLB")
        .filter(|p| p.is_object())
        .ok_or_else(|| ApiError::malformed("request body must be {\"ProxyLB\":{…}}"))?;
    let primary = p
        .get("PrimaryCert")
        .filter(|v| !v.is_null())
        .ok_or_else(|| bad("ProxyLB.PrimaryCert is required"))?;
    let additional = match p.get("AdditionalCerts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(_) => return Err(bad("ProxyLB.AdditionalCerts must be a list")),
    };
    if additional.len() > MAX_ADDITIONAL_CERTS {
        return Err(bad(format!(
            "ProxyLB.AdditionalCerts: at most {MAX_ADDITIONAL_CERTS} certificates are allowed (got {})",
            additional.len()
        )));
    }
    Ok(Certificates {
        primary: Some(parse_cert(primary, "ProxyLB.PrimaryCert")?),
        additional: additional
            .iter()
            .enumerate()
            .map(|(i, c)| parse_cert(c, &format!("ProxyLB.AdditionalCerts[{i}]")))
            .collect::<Result<_, _>>()?,
    })
}

fn render_cert(c: Option<&StoredCert>) -> Value {
    let empty = String::new();
    let get = |f: fn(&StoredCert) -> &String| c.map_or(&empty, f).clone();
    json!({
        "ServerCertificate": get(|c| &c.server_certificate),
        "IntermediateCertificate": get(|c| &c.intermediate_certificate),
        // Private keys are not handed back [unverified: the real API's answer is not known].
        "PrivateKey": "",
        "CertificateEndDate": get(|c| &c.end_date),
        "CertificateCommonName": get(|c| &c.common_name),
        "CertificateAltNames": c.map(|c| c.alt_names.join(",")).unwrap_or_default(),
    })
}

/// `{"PrimaryCert": {...}, "AdditionalCerts": [...]}`; with no additional certificates
/// `AdditionalCerts` is `""`, a quirk of the real API clients must survive. Without any
/// certificate `PrimaryCert` is an object of empty strings.
pub fn render_certificates(c: &Certificates) -> Value {
    let additional = if c.additional.is_empty() {
        json!("")
    } else {
        Value::Array(c.additional.iter().map(|a| render_cert(Some(a))).collect())
    };
    json!({"PrimaryCert": render_cert(c.primary.as_ref()), "AdditionalCerts": additional})
}

/// Start a Let's Encrypt issuance (due after `delay_ms`). 400 unless the settings enable Let's
/// Encrypt with a common name.
pub fn start_lets_encrypt(lb: &mut ProxyLb, now_ms: u64, delay_ms: u64) -> Result<(), ApiError> {
    let le = &lb.settings.lets_encrypt;
    if !le.enabled || le.common_name.is_empty() {
        return Err(bad(format!(
            "Let's Encrypt is not enabled for CommonServiceItem[ID:{}]: set Settings.ProxyLB.LetsEncrypt.Enabled and CommonName first",
            lb.id
        )));
    }
    lb.lets_encrypt = Some(PendingCert {
        due_ms: now_ms.saturating_add(delay_ms),
        common_name: le.common_name.clone(),
        alt_names: le.alt_names.clone(),
    });
    Ok(())
}

fn issue(lb: &mut ProxyLb, p: PendingCert, at_ms: u64) {
    let issued_s = i64::try_from(at_ms / 1000).unwrap_or(i64::MAX / 2);
    let mut alt_names = vec![p.common_name.clone()];
    alt_names.extend(p.alt_names.iter().filter(|n| **n != p.common_name).cloned());
    lb.certificates.primary = Some(StoredCert {
        server_certificate: cert::placeholder_pem(&p.common_name),
        intermediate_certificate: String::new(),
        end_date: format_cert_date(issued_s + LETS_ENCRYPT_DAYS * 86_400),
        common_name: p.common_name,
        alt_names,
    });
}

/// Issue a due Let's Encrypt certificate; `true` if one was.
pub fn settle(lb: &mut ProxyLb, now_ms: u64) -> bool {
    match lb.lets_encrypt.take() {
        Some(p) if p.due_ms <= now_ms => {
            let at = p.due_ms;
            issue(lb, p, at);
            true
        }
        other => {
            lb.lets_encrypt = other;
            false
        }
    }
}

/// Issue a pending Let's Encrypt certificate now, whatever its due time; `true` if one was.
pub fn complete(lb: &mut ProxyLb, now_ms: u64) -> bool {
    match lb.lets_encrypt.take() {
        Some(p) => {
            issue(lb, p, now_ms);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxylb::{insert, parse_create};
    use crate::store::State;

    fn msg(r: Result<impl std::fmt::Debug, ApiError>) -> String {
        r.unwrap_err().message
    }

    fn item() -> Value {
        json!({
            "Name": "svc", "Provider": {"Class": "proxylb"}, "ServiceClass": "cloud/proxylb/plain/100",
            "Settings": {"ProxyLB": {"BindPorts": [{"ProxyMode": "tcp", "Port": 80}],
                                     "HealthCheck": {"Protocol": "tcp"}}},
        })
    }

    #[test]
    fn lets_encrypt_needs_enabling_and_issues_when_due() {
        let mut st = State::default();
        let id = insert(&mut st, parse_create(&item()).unwrap(), 0).unwrap();
        let lb = st.proxylbs.get_mut(&id).unwrap();
        assert!(msg(start_lets_encrypt(lb, 0, 100)).contains("not enabled"));
        lb.settings.lets_encrypt.enabled = true;
        lb.settings.lets_encrypt.common_name = "www.example.com".into();
        lb.settings.lets_encrypt.alt_names = vec!["example.com".into()];
        start_lets_encrypt(lb, 1_000, 100).unwrap();
        assert!(!settle(lb, 1_099));
        assert_eq!(render_certificates(&lb.certificates)["AdditionalCerts"], "");
        assert_eq!(
            render_certificates(&lb.certificates)["PrimaryCert"]["ServerCertificate"],
            ""
        );
        assert!(settle(lb, 1_100));
        let c = render_certificates(&lb.certificates);
        assert_eq!(c["PrimaryCert"]["CertificateCommonName"], "www.example.com");
        assert_eq!(
            c["PrimaryCert"]["CertificateAltNames"],
            "www.example.com,example.com"
        );
        assert_eq!(
            c["PrimaryCert"]["CertificateEndDate"],
            "Apr  1 00:00:01 1970 GMT"
        );
    }
}
