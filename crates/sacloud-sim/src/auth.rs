//! HTTP Basic authentication (access token as user, secret as password).

/// Decode standard base64 (with or without padding); `None` on any invalid character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.trim().trim_end_matches('=').bytes().collect();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i);
        }
        let n = chunk.len() - 1;
        out.extend_from_slice(&acc.to_be_bytes()[1..=n]);
    }
    Some(out)
}

/// Whether an `Authorization` header carries exactly `token:secret` as Basic credentials.
pub fn check_basic(header: Option<&str>, token: &str, secret: &str) -> bool {
    let Some(h) = header else { return false };
    let Some((scheme, rest)) = h.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Some(decoded) = base64_decode(rest).and_then(|b| String::from_utf8(b).ok()) else {
        return false;
    };
    decoded
        .split_once(':')
        .is_some_and(|(t, s)| t == token && s == secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64() {
        assert_eq!(
            base64_decode("dG9rZW46c2VjcmV0"),
            Some(b"token:secret".to_vec())
        );
        assert_eq!(base64_decode("YQ=="), Some(b"a".to_vec()));
        assert_eq!(base64_decode("YWI="), Some(b"ab".to_vec()));
        assert_eq!(base64_decode("!!!!"), None);
    }

    #[test]
    fn checks_credentials() {
        assert!(check_basic(
            Some("Basic dG9rZW46c2VjcmV0"),
            "token",
            "secret"
        ));
        assert!(check_basic(
            Some("basic dG9rZW46c2VjcmV0"),
            "token",
            "secret"
        ));
        assert!(!check_basic(
            Some("Basic dG9rZW46c2VjcmV0"),
            "token",
            "other"
        ));
        assert!(!check_basic(
            Some("Bearer dG9rZW46c2VjcmV0"),
            "token",
            "secret"
        ));
        assert!(!check_basic(Some("Basic"), "token", "secret"));
        assert!(!check_basic(None, "token", "secret"));
    }
}
