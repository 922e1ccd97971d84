//! The serving certificate: from the operator's files, or generated in memory like client-go's
//! `GenerateSelfSignedCertKey`; and the rustls server configuration around it.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::ServingError;

/// The serving certificate's common name (upstream's cert pair name).
pub(crate) const COMMON_NAME: &str = "cloud-controller-manager";

/// Backdated like upstream, so a client whose clock is a little behind still accepts it.
const BACKDATE: Duration = Duration::from_secs(60 * 60);
const VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A certificate chain and its key, plus the CA that signed it when we made it ourselves.
pub(crate) struct Identity {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
    pub(crate) ca_pem: Option<String>,
}

/// The names the self-signed certificate is valid for: `localhost`, `127.0.0.1`, `::1`, the
/// host name (when it is a usable DNS name) and the bind address (when it is a specific one).
pub(crate) fn self_signed_names(hostname: Option<&str>, bind: IpAddr) -> Vec<String> {
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = hostname.map(str::trim).filter(|h| is_dns_name(h)) {
        names.push(host.to_ascii_lowercase());
    }
    if !bind.is_unspecified() {
        names.push(bind.to_string());
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// A name a certificate can carry as a DNS SAN and a client can verify against.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A fresh CA (`cloud-controller-manager-ca@<unix seconds>`) and a serving certificate it signed
/// for `names`. Nothing is written to disk: a restart makes a new pair, which is why clients
/// of the self-signed server must not pin it.
pub(crate) fn self_signed(names: Vec<String>, now: SystemTime) -> Result<Identity, ServingError> {
    let err = |e: rcgen::Error| ServingError::SelfSigned(e.to_string());
    let unix = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let not_before = offset_date_time(now.checked_sub(BACKDATE).unwrap_or(now))?;
    let not_after = offset_date_time(now + VALIDITY)?;

    let mut ca = CertificateParams::default();
    ca.distinguished_name = common_name(&format!("{COMMON_NAME}-ca@{unix}"));
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(err)?).map_err(err)?;

    let mut leaf = CertificateParams::new(names).map_err(err)?;
    leaf.distinguished_name = common_name(COMMON_NAME);
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    let leaf_key = KeyPair::generate().map_err(err)?;
    let leaf = leaf.signed_by(&leaf_key, &ca).map_err(err)?;

    Ok(Identity {
        // The CA goes into the chain too, as upstream writes it into the cert file.
        chain: vec![leaf.der().clone(), ca.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        ca_pem: Some(ca.pem()),
    })
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn offset_date_time(t: SystemTime) -> Result<time::OffsetDateTime, ServingError> {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| ServingError::SelfSigned(format!("clock out of range: {secs}s")))
}

/// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1).
pub(crate) fn from_files(cert: &Path, key: &Path) -> Result<Identity, ServingError> {
    let cert_err = |reason: String| ServingError::CertFile {
        path: cert.to_owned(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err("no PEM CERTIFICATE block found".to_owned()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| ServingError::KeyFile {
        path: key.to_owned(),
        reason: match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no PEM private key (PKCS#8, PKCS#1 or SEC1) found".to_owned()
            }
            e => e.to_string(),
        },
    })?;
    Ok(Identity {
        chain,
        key,
        ca_pem: None,
    })
}

/// The ring provider, named explicitly: one crypto provider per binary (kube-rs uses ring), and
/// aws-lc-rs must never be linked.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls server configuration for `identity`; `files` names the sources in errors.
pub(crate) fn server_config(
    identity: Identity,
    files: Option<(&Path, &Path)>,
) -> Result<Arc<ServerConfig>, ServingError> {
    let provider = provider();
    // Checked on its own first so that an unusable key is reported against its file alone.
    if let Err(e) = provider
        .key_provider
        .load_private_key(identity.key.clone_key())
    {
        return Err(match files {
            Some((_, key)) => ServingError::KeyFile {
                path: key.to_owned(),
                reason: e.to_string(),
            },
            None => ServingError::SelfSigned(e.to_string()),
        });
    }
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| match files {
            Some((cert, key)) => ServingError::CertKeyPair {
                cert: cert.to_owned(),
                key: key.to_owned(),
                reason: e.to_string(),
            },
            None => ServingError::SelfSigned(e.to_string()),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn self_signed_names_cover_loopback_host_and_specific_bind_address() {
        assert_eq!(
            self_signed_names(Some("Node-1.example"), IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            ["localhost", "127.0.0.1", "::1", "node-1.example"]
        );
        assert_eq!(
            self_signed_names(Some("cp-1"), "192.0.2.10".parse().unwrap()),
            ["localhost", "127.0.0.1", "::1", "cp-1", "192.0.2.10"]
        );
        assert_eq!(
            self_signed_names(None, IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            ["localhost", "127.0.0.1", "::1"]
        );
        // No duplicates when the host or bind address is one of the defaults.
        assert_eq!(
            self_signed_names(Some("localhost"), IpAddr::V6(Ipv6Addr::LOCALHOST)),
            ["localhost", "127.0.0.1", "::1"]
        );
    }

    #[test]
    fn unusable_host_names_are_left_out() {
        for bad in [
            "",
            " ",
            "under_score",
            "-lead",
            "trail-.x",
            "a..b",
            "ümlaut",
        ] {
            assert_eq!(
                self_signed_names(Some(bad), "127.0.0.1".parse().unwrap()),
                ["localhost", "127.0.0.1", "::1"],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn self_signed_identity_makes_a_server_config() {
        let identity = self_signed(
            self_signed_names(Some("cp-1"), "127.0.0.1".parse().unwrap()),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(identity.chain.len(), 2);
        let ca = identity.ca_pem.clone().unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        let config = server_config(identity, None).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }
}
