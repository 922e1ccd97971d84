//! Just enough X.509 to answer like the real certificate endpoint: PEM → DER, then the subject's
//! common name, the DNS subject alternative names and the expiry (`notAfter`).
//!
//! Hand-written (base64 and a DER walker, no crates): the simulator only reads a few fields of
//! certificates clients upload. Anything that is not a parseable certificate is refused with
//! 400, as the real API refuses it. Keys are only checked to be a PEM `… PRIVATE KEY` block; that
//! the key matches the certificate is not checked.

use crate::time::{format_cert_date, unix_from_utc};

/// What the API reports about a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject common name (empty if the subject has none).
    pub common_name: String,
    /// DNS names of the subject alternative name extension, in order.
    pub alt_names: Vec<String>,
    /// `notAfter` in unix seconds.
    pub not_after_s: i64,
}

impl CertInfo {
    /// `CertificateEndDate` as the API writes it.
    pub fn end_date(&self) -> String {
        format_cert_date(self.not_after_s)
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding; whitespace is skipped. `None` on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            break;
        }
        let v = B64.iter().position(|b| *b == c)?;
        acc = (acc << 6) | u32::try_from(v).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// Standard base64 with padding, lines of 64 characters (PEM).
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 16 == 0 {
            out.push('\n');
        }
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for j in 0..4 {
            if j <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * j)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The body of the first PEM block whose label satisfies `label_ok`, decoded.
pub fn pem_block(text: &str, label_ok: impl Fn(&str) -> bool) -> Option<Vec<u8>> {
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = after.find("-----")?;
        let label = &after[..label_end];
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let body_end = body_start.find(&end_marker)?;
        if label_ok(label) {
            return base64_decode(&body_start[..body_end]).filter(|d| !d.is_empty());
        }
        rest = &body_start[body_end + end_marker.len()..];
    }
    None
}

/// Whether `text` holds a PEM private key (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`).
pub fn is_private_key_pem(text: &str) -> bool {
    pem_block(text, |l| l.ends_with("PRIVATE KEY")).is_some()
}

/// One DER element.
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

fn read_tlv(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(n)?;
        (
            bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)),
            rest,
        )
    };
    let (body, rest) = rest.split_at_checked(len)?;
    Some((Tlv { tag, body }, rest))
}

fn children(mut body: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let (t, rest) = read_tlv(body)?;
        out.push(t);
        body = rest;
    }
    Some(out)
}

const SEQUENCE: u8 = 0x30;
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

fn digits(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) → unix seconds.
fn parse_time(t: &Tlv<'_>) -> Option<i64> {
    let (year, rest) = match t.tag {
        0x17 => {
            let yy = digits(t.body.get(..2)?)?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                t.body.get(2..)?,
            )
        }
        0x18 => (digits(t.body.get(..4)?)?, t.body.get(4..)?),
        _ => return None,
    };
    let f = |i: usize| digits(rest.get(i..i + 2)?);
    let (mo, d, h, mi, s) = (f(0)?, f(2)?, f(4)?, f(6)?, f(8)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(unix_from_utc(year, mo, d, h, mi, s))
}

fn common_name(name: &Tlv<'_>) -> Option<String> {
    for set in children(name.body)? {
        for attr in children(set.body)? {
            let parts = children(attr.body)?;
            if let [oid, value, ..] = parts.as_slice()
                && oid.tag == 0x06
                && oid.body == OID_CN
            {
                return Some(String::from_utf8_lossy(value.body).into_owned());
            }
        }
    }
    None
}

fn dns_alt_names(extensions: &Tlv<'_>) -> Vec<String> {
    let list = children(extensions.body)
        .and_then(|outer| outer.into_iter().next())
        .and_then(|seq| children(seq.body))
        .unwrap_or_default();
    for ext in list {
        let Some(parts) = children(ext.body) else {
            continue;
        };
        let is_san = parts
            .first()
            .is_some_and(|oid| oid.tag == 0x06 && oid.body == OID_SAN);
        let Some(value) = parts.iter().rev().find(|p| p.tag == 0x04) else {
            continue;
        };
        if !is_san {
            continue;
        }
        let names = read_tlv(value.body)
            .and_then(|(seq, _)| children(seq.body))
            .unwrap_or_default();
        return names
            .iter()
            .filter(|n| n.tag == 0x82)
            .map(|n| String::from_utf8_lossy(n.body).into_owned())
            .collect();
    }
    Vec::new()
}

/// Reads a DER certificate.
pub fn parse_der(der: &[u8]) -> Option<CertInfo> {
    let (cert, _) = read_tlv(der)?;
    if cert.tag != SEQUENCE {
        return None;
    }
    let tbs = children(cert.body)?.into_iter().next()?;
    let mut fields = children(tbs.body)?.into_iter().peekable();
    if fields.peek().is_some_and(|f| f.tag == 0xa0) {
        fields.next(); // version
    }
    let _serial = fields.next()?;
    let _signature = fields.next()?;
    let _issuer = fields.next()?;
    let validity = fields.next()?;
    let subject = fields.next()?;
    let _spki = fields.next()?;
    let times = children(validity.body)?;
    let not_after_s = parse_time(times.get(1)?)?;
    let extensions = fields.find(|f| f.tag == 0xa3);
    Some(CertInfo {
        common_name: common_name(&subject).unwrap_or_default(),
        alt_names: extensions.map(|e| dns_alt_names(&e)).unwrap_or_default(),
        not_after_s,
    })
}

/// Reads the first `CERTIFICATE` block of a PEM text.
pub fn parse_pem_certificate(text: &str) -> Option<CertInfo> {
    parse_der(&pem_block(text, |l| l == "CERTIFICATE")?)
}

/// A stand-in PEM for a certificate the simulator "issued" (Let's Encrypt): a `CERTIFICATE`
/// block whose content is a readable note, not DER. Clients must not parse it.
pub fn placeholder_pem(common_name: &str) -> String {
    let note = format!("sacloud-sim placeholder certificate for {common_name} (not X.509)");
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64_encode(note.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl req -x509 -newkey ec … -subj "/O=sacloud-sim test/CN=www.example.com"
    /// -addext "subjectAltName=DNS:www.example.com,DNS:example.com"`.
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIB5zCCAY6gAwIBAgIUVH9o7e3fFGRJ9CyRMt7hgB5uQMYwCgYIKoZIzj0EAwIw
NTEZMBcGA1UECgwQc2FjbG91ZC1zaW0gdGVzdDEYMBYGA1UEAwwPd3d3LmV4YW1w
bGUuY29tMB4XDTI2MTIwNjEwMDgzN1oXDTM2MTIwMzEwMDgzN1owNTEZMBcGA1UE
CgwQc2FjbG91ZC1zaW0gdGVzdDEYMBYGA1UEAwwPd3d3LmV4YW1wbGUuY29tMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEG/zdjnPOopE88/4OpL0i6NAW1ER6Uzvj
o8lrM7j46P/sGuAX7eYBYOOT+kqJnonB5WWGWHatIEOTqeQlppDv1qN8MHowHQYD
VR0OBBYEFKWV//3D2vwvfa0wm8hR0P/8NuRRMB8GA1UdIwQYMBaAFKWV//3D2vwv
fa0wm8hR0P/8NuRRMA8GA1UdEwEB/wQFMAMBAf8wJwYDVR0RBCAwHoIPd3d3LmV4
YW1wbGUuY29tggtleGFtcGxlLmNvbTAKBggqhkjOPQQDAgNHADBEAiAGC9W61LuH
ms/zqhTo+Y6+/dmXpXwSNqTNCKlSi2WLbQIgbhbFdx8Ri/6ZO0yPDJJOjxl8HRQV
RSO8wGZQhSgY/c8=
-----END CERTIFICATE-----
";

    #[test]
    fn reads_cn_alt_names_and_expiry() {
        let info = parse_pem_certificate(CERT).unwrap();
        assert_eq!(info.common_name, "www.example.com");
        assert_eq!(info.alt_names, ["www.example.com", "example.com"]);
        // openssl x509 -enddate: notAfter=Dec  3 10:08:37 2036 GMT
        assert_eq!(info.end_date(), "Dec  3 10:08:37 2036 GMT");
    }

    #[test]
    fn base64_round_trips_and_refuses_garbage() {
        for data in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"abcd",
            &[0u8, 255, 128, 7, 9][..],
        ] {
            assert_eq!(base64_decode(&base64_encode(data)).unwrap(), data);
        }
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn refuses_what_is_not_a_certificate() {
        assert!(parse_pem_certificate("hello").is_none());
        assert!(parse_pem_certificate(&placeholder_pem("x.example")).is_none());
        let truncated = CERT.replace("RSO8wGZQhSgY/c8=\n", "");
        assert!(parse_pem_certificate(&truncated).is_none());
        assert!(
            parse_pem_certificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
                .is_none()
        );
    }

    #[test]
    fn private_keys_are_recognised_by_their_pem_label() {
        assert!(is_private_key_pem(
            "-----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY-----\n"
        ));
        assert!(is_private_key_pem(
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----"
        ));
        assert!(!is_private_key_pem(CERT));
        assert!(!is_private_key_pem("secret"));
    }
}
