//! Masking secrets before anything reaches a log line or a notification.
//!
//! Masked: values of members whose name says they hold a secret (secretAccessKey, sessionToken,
//! password, privateKey, …), PEM private key blocks, and any string shaped like an AWS secret
//! access key (40 characters of base64 alphabet with mixed case).

use serde_json::Value;

pub const MASK: &str = "***redacted***";

const SECRET_NAMES: [&str; 10] = [
    "secretaccesskey",
    "sessiontoken",
    "password",
    "passwd",
    "privatekey",
    "secret",
    "credentials",
    "authorization",
    "clientsecret",
    "securitytoken",
];

/// True for a JSON member name that holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_NAMES
        .iter()
        .any(|s| n.ends_with(s) || n.starts_with(s))
        || n.contains("password")
        || n.contains("privatekey")
        || n.contains("secretkey")
}

/// Masks secrets in a JSON value, in place.
pub fn value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if is_secret_name(k) && !child.is_null() {
                    *child = Value::String(MASK.to_string());
                } else {
                    value(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(value),
        Value::String(s) => {
            if let Some(masked) = masked(s) {
                *s = masked;
            }
        }
        _ => {}
    }
}

/// Masks secrets in text. Returns the text unchanged when there is nothing to mask.
pub fn text(s: &str) -> String {
    masked(s).unwrap_or_else(|| s.to_string())
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'/' || c == b'+'
}

fn looks_like_secret_key(run: &[u8]) -> bool {
    run.len() == 40
        && run.iter().any(u8::is_ascii_uppercase)
        && run.iter().any(u8::is_ascii_lowercase)
        && run
            .iter()
            .any(|c| c.is_ascii_digit() || *c == b'/' || *c == b'+')
}

fn masked(s: &str) -> Option<String> {
    let mut out: Option<String> = None;
    // PEM private keys.
    if let Some(start) = s.find("-----BEGIN") {
        if s[start..].contains("PRIVATE KEY") {
            let end = s[start..]
                .find("-----END")
                .and_then(|e| {
                    s[start + e + 8..]
                        .find("-----")
                        .map(|f| start + e + 8 + f + 5)
                })
                .unwrap_or(s.len());
            let mut t = String::with_capacity(s.len());
            t.push_str(&s[..start]);
            t.push_str(MASK);
            t.push_str(&s[end..]);
            out = Some(masked(&t).unwrap_or(t));
            return out;
        }
    }
    // Secret-key-shaped runs.
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut last = 0;
    let mut buf = String::new();
    while i < bytes.len() {
        if is_b64(bytes[i]) {
            let start = i;
            while i < bytes.len() && is_b64(bytes[i]) {
                i += 1;
            }
            if looks_like_secret_key(&bytes[start..i]) {
                buf.push_str(&s[last..start]);
                buf.push_str(MASK);
                last = i;
                out = Some(String::new());
            }
        } else {
            i += 1;
        }
    }
    out.map(|_| {
        buf.push_str(&s[last..]);
        buf
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn secret_members_and_shapes_are_masked() {
        let mut v = json!({
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "secretAccessKey": "anything",
            "nested": {"SessionToken": "tok", "note": format!("key={SECRET} end")},
            "list": [SECRET],
            "pem": "a -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- b",
            "detectorId": "37da5a0204286ccd967d2395320d4dcd",
            "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        });
        value(&mut v);
        let text = v.to_string();
        assert!(!text.contains(SECRET));
        assert!(!text.contains("anything") && !text.contains("\"tok\""));
        assert!(!text.contains("MIIE"));
        assert_eq!(
            v["accessKeyId"], "AKIAIOSFODNN7EXAMPLE",
            "key ids are not secrets"
        );
        assert_eq!(v["nested"]["note"], format!("key={MASK} end"));
        assert_eq!(v["pem"], format!("a {MASK} b"));
        assert_eq!(v["detectorId"], "37da5a0204286ccd967d2395320d4dcd");
        assert_eq!(v["sha1"], "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }
}
