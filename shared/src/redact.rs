//! Masking secrets before anything reaches a log line, a notification or an answer.
//!
//! Masked: values of members whose name says they hold a secret (secretAccessKey, sessionToken,
//! password, privateKey, …), PEM private key blocks, strings shaped like an AWS secret access
//! key (40 characters of the base64 alphabet, mixed case) and long base64 tokens (session
//! tokens, 100 characters or more).

use serde_json::Value;

pub const MASK: &str = "***redacted***";

const SECRET_WORDS: [&str; 8] = [
    "secretaccesskey",
    "sessiontoken",
    "securitytoken",
    "password",
    "passwd",
    "privatekey",
    "clientsecret",
    "secretkey",
];

const SECRET_NAMES: [&str; 4] = ["secret", "credentials", "authorization", "token"];

/// True for a JSON member name that holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_WORDS.iter().any(|w| n.contains(w)) || SECRET_NAMES.contains(&n.as_str())
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
            if let Some(m) = masked(s) {
                *s = m;
            }
        }
        _ => {}
    }
}

/// Masks secrets in text. Returns the text unchanged when there is nothing to mask.
pub fn text(s: &str) -> String {
    masked(s).unwrap_or_else(|| s.to_string())
}

/// Masks secrets in a string in place; allocates nothing when there is nothing to mask.
pub fn text_in_place(s: &mut String) {
    if let Some(m) = masked(s) {
        *s = m;
    }
}

/// Whether masking could change the text at all: only a PEM header (five dashes) or a run of
/// at least 40 base64 characters can be masked. Most text is neither, and is left untouched
/// without building anything.
fn may_hold_secret(s: &str) -> bool {
    let (mut dashes, mut b64) = (0, 0);
    for &c in s.as_bytes() {
        dashes = if c == b'-' { dashes + 1 } else { 0 };
        b64 = if is_b64(c) { b64 + 1 } else { 0 };
        if dashes >= 5 || b64 >= 40 {
            return true;
        }
    }
    false
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'/' || c == b'+'
}

fn secret_shaped(run: &[u8]) -> bool {
    let mixed = run.iter().any(u8::is_ascii_uppercase)
        && run.iter().any(u8::is_ascii_lowercase)
        && run
            .iter()
            .any(|c| c.is_ascii_digit() || *c == b'/' || *c == b'+');
    mixed && (run.len() == 40 || run.len() >= 100)
}

/// The text with PEM private key blocks and secret-shaped runs masked, or `None` if clean.
fn masked(s: &str) -> Option<String> {
    if !may_hold_secret(s) {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut rest = s;
    // PEM private keys: from BEGIN … PRIVATE KEY to the matching END line (or the end).
    while let Some(start) = rest.find("-----BEGIN") {
        let header_end = rest[start..]
            .find("-----\n")
            .or_else(|| rest[start + 10..].find("-----").map(|i| i + 10));
        let is_private = header_end.is_some_and(|h| rest[start..start + h].contains("PRIVATE KEY"));
        if !is_private {
            out.push_str(&rest[..start + 10]);
            rest = &rest[start + 10..];
            continue;
        }
        out.push_str(&rest[..start]);
        out.push_str(MASK);
        changed = true;
        rest = match rest[start..].find("-----END") {
            Some(e) => {
                let after_end = start + e + 8;
                match rest[after_end..].find("-----") {
                    Some(f) => &rest[after_end + f + 5..],
                    None => "",
                }
            }
            None => "",
        };
    }
    out.push_str(rest);
    // Secret-shaped runs of the base64 alphabet ('=' padding included).
    let bytes = out.as_bytes();
    let mut result = String::with_capacity(out.len());
    let (mut i, mut last) = (0, 0);
    while i < bytes.len() {
        if !is_b64(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_b64(bytes[i]) {
            i += 1;
        }
        let mut end = i;
        while end < bytes.len() && bytes[end] == b'=' {
            end += 1;
        }
        if secret_shaped(&bytes[start..i]) {
            result.push_str(&out[last..start]);
            result.push_str(MASK);
            last = end;
            changed = true;
        }
        i = end.max(i);
    }
    result.push_str(&out[last..]);
    changed.then_some(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn secret_members_and_shapes_are_masked() {
        let token = "IQoJb3JpZ2luX2VjEXAMPLE".repeat(8) + "==";
        let mut v = json!({
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "secretAccessKey": "anything",
            "nested": {"SessionToken": "tok", "note": format!("key={SECRET} end")},
            "list": [SECRET],
            "pem": "a -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- b",
            "cert": "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----",
            "free": format!("token {token} here"),
            "detectorId": "37da5a0204286ccd967d2395320d4dcd",
            "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "arn": "arn:aws:iam::123456789012:role/service-role/mamoru-cloudtrail-role",
            "newPassword": "Hunter2!",
        });
        value(&mut v);
        let text = v.to_string();
        assert!(!text.contains(SECRET));
        assert!(
            !text.contains("anything") && !text.contains("\"tok\"") && !text.contains("Hunter2")
        );
        assert!(!text.contains("MIIE"));
        assert!(!text.contains("IQoJb3JpZ2lu"), "{text}");
        assert_eq!(
            v["accessKeyId"], "AKIAIOSFODNN7EXAMPLE",
            "key ids are not secrets"
        );
        assert_eq!(v["nested"]["note"], format!("key={MASK} end"));
        assert_eq!(v["pem"], format!("a {MASK} b"));
        assert_eq!(v["free"], format!("token {MASK} here"));
        assert!(
            v["cert"].as_str().unwrap().contains("MIIC"),
            "certificates are public"
        );
        assert_eq!(v["detectorId"], "37da5a0204286ccd967d2395320d4dcd");
        assert_eq!(v["sha1"], "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            v["arn"],
            "arn:aws:iam::123456789012:role/service-role/mamoru-cloudtrail-role"
        );
    }

    #[test]
    fn clean_text_is_left_alone_and_in_place_masking_agrees() {
        let almost = "a".repeat(39) + "/" + " AKIAIOSFODNN7EXAMPLE ----";
        for clean in ["", "arn:aws:iam::123456789012:user/alice", &almost] {
            assert!(masked(clean).is_none(), "{clean}");
        }
        for dirty in [SECRET, "x -----BEGIN PRIVATE KEY-----\nMIIE", "clean"] {
            let mut s = dirty.to_string();
            text_in_place(&mut s);
            assert_eq!(s, text(dirty));
        }
    }

    #[test]
    fn an_unterminated_private_key_is_masked_to_the_end() {
        assert_eq!(
            text("x -----BEGIN PRIVATE KEY-----\nMIIE"),
            format!("x {MASK}")
        );
    }
}
