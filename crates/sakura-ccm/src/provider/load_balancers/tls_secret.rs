//! A `kubernetes.io/tls` Secret as an Enhanced Load Balancer certificate: pure decisions.
//!
//! `tls.crt` holds the server certificate first and then its intermediates (as cert-manager
//! and `kubectl create secret tls` write it); `tls.key` the private key. The key never leaves
//! a [`sacloud::Secret`] and never reaches a message.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use k8s_openapi::api::core::v1::Secret as KubeSecret;
use sacloud::Secret;

/// The certificate, intermediates and key of a TLS Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPair {
    /// The server certificate (one PEM block).
    pub server: String,
    /// The intermediate certificates (PEM blocks), empty for none.
    pub intermediate: String,
    /// The private key (PEM).
    pub key: Secret,
}

impl TlsPair {
    /// A fingerprint of the pair (not of the key's text: of its hash), to tell a changed
    /// Secret from the one already uploaded without keeping the key around.
    pub fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.server.hash(&mut h);
        self.intermediate.hash(&mut h);
        self.key.expose().hash(&mut h);
        h.finish()
    }

    /// Whether the certificate the load balancer reports is this one.
    pub fn same_certificate(&self, server: &str, intermediate: &str) -> bool {
        normalize(server) == normalize(&self.server)
            && normalize(intermediate) == normalize(&self.intermediate)
    }
}

const BEGIN_CERT: &str = "-----BEGIN CERTIFICATE-----";
const END_CERT: &str = "-----END CERTIFICATE-----";

/// The PEM certificate blocks of `text`, each from BEGIN to END.
fn certificate_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN_CERT) {
        let Some(end) = rest[start..].find(END_CERT) else {
            break;
        };
        let end = start + end + END_CERT.len();
        blocks.push(rest[start..end].to_owned());
        rest = &rest[end..];
    }
    blocks
}

/// PEM text compared without regard to line endings and surrounding space.
fn normalize(pem: &str) -> String {
    pem.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The pair in `secret`, or what is wrong with it (never its contents).
pub fn tls_pair(secret: &KubeSecret) -> Result<TlsPair, String> {
    let type_ = secret.type_.as_deref().unwrap_or("Opaque");
    if type_ != "kubernetes.io/tls" {
        return Err(format!(
            "it has type {type_}, not kubernetes.io/tls (kubectl create secret tls makes one)"
        ));
    }
    let data = secret.data.as_ref();
    let text = |key: &str| -> Result<String, String> {
        let bytes = data
            .and_then(|d| d.get(key))
            .ok_or_else(|| format!("it has no {key}"))?;
        String::from_utf8(bytes.0.clone()).map_err(|_| format!("its {key} is not PEM text"))
    };
    let crt = text("tls.crt")?;
    let key = text("tls.key")?;
    let blocks = certificate_blocks(&crt);
    let Some((server, intermediates)) = blocks.split_first() else {
        return Err("its tls.crt holds no PEM certificate".to_owned());
    };
    if !(key.contains("-----BEGIN") && key.contains("PRIVATE KEY-----")) {
        return Err("its tls.key holds no PEM private key".to_owned());
    }
    Ok(TlsPair {
        server: server.clone(),
        intermediate: intermediates.join("\n"),
        key: Secret::new(key),
    })
}

/// What to tell the user when the Secret cannot be read, by the API's status code.
pub fn unreadable(code: u16, namespace: &str, name: &str) -> String {
    match code {
        403 => format!(
            "the controller may not read the Secret {namespace}/{name}: reading Secrets is a privilege it does not have by default; set the Helm chart value enhancedLoadBalancer.certificateSecrets=true (it grants get on Secrets)"
        ),
        404 => format!(
            "the Secret {namespace}/{name} does not exist; create it (kubectl create secret tls {name} --cert=... --key=...) or fix k8s.usacloud.jp/enhanced-lb-certificate-secret"
        ),
        code => format!("reading the Secret {namespace}/{name} failed with HTTP {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use std::collections::BTreeMap;

    const CERT_A: &str = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
    const CERT_B: &str = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nKKKK\n-----END PRIVATE KEY-----\n";

    fn secret(type_: &str, crt: Option<&str>, key: Option<&str>) -> KubeSecret {
        let mut data = BTreeMap::new();
        if let Some(c) = crt {
            data.insert("tls.crt".to_owned(), ByteString(c.as_bytes().to_vec()));
        }
        if let Some(k) = key {
            data.insert("tls.key".to_owned(), ByteString(k.as_bytes().to_vec()));
        }
        KubeSecret {
            type_: Some(type_.to_owned()),
            data: Some(data),
            ..KubeSecret::default()
        }
    }

    #[test]
    fn the_first_certificate_is_the_server_the_rest_intermediates() {
        let chain = format!("{CERT_A}\n{CERT_B}\n");
        let pair = tls_pair(&secret("kubernetes.io/tls", Some(&chain), Some(KEY))).unwrap();
        assert_eq!(pair.server, CERT_A);
        assert_eq!(pair.intermediate, CERT_B);
        assert!(pair.same_certificate(&format!("{CERT_A}\r\n"), CERT_B));
        assert!(!pair.same_certificate(CERT_B, CERT_B));
        let alone = tls_pair(&secret("kubernetes.io/tls", Some(CERT_A), Some(KEY))).unwrap();
        assert_eq!(alone.intermediate, "");
        assert_ne!(pair.fingerprint(), alone.fingerprint());
    }

    #[test]
    fn what_is_wrong_is_said_without_the_contents() {
        for (s, expected) in [
            (
                secret("Opaque", Some(CERT_A), Some(KEY)),
                "not kubernetes.io/tls",
            ),
            (secret("kubernetes.io/tls", None, Some(KEY)), "no tls.crt"),
            (
                secret("kubernetes.io/tls", Some("junk"), Some(KEY)),
                "no PEM certificate",
            ),
            (
                secret("kubernetes.io/tls", Some(CERT_A), Some("junk")),
                "no PEM private key",
            ),
        ] {
            let e = tls_pair(&s).unwrap_err();
            assert!(e.contains(expected), "{e}");
            assert!(!e.contains("KKKK") && !e.contains("AAAA"), "{e}");
        }
        assert!(
            format!(
                "{:?}",
                tls_pair(&secret("kubernetes.io/tls", Some(CERT_A), Some(KEY))).unwrap()
            )
            .contains("TlsPair")
        );
        assert!(
            !format!(
                "{:?}",
                tls_pair(&secret("kubernetes.io/tls", Some(CERT_A), Some(KEY))).unwrap()
            )
            .contains("KKKK")
        );
    }

    #[test]
    fn unreadable_secrets_say_what_to_do() {
        assert!(
            unreadable(403, "web", "tls").contains("enhancedLoadBalancer.certificateSecrets=true")
        );
        assert!(unreadable(404, "web", "tls").contains("kubectl create secret tls"));
    }
}
