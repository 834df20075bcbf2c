//! Masking secrets before anything reaches a log line, a notification or an answer.
//!
//! Masked:
//! - values of members whose name says they hold a secret (secretAccessKey, sessionToken,
//!   password, privateKey, SecretString, apiKey, accessToken, clientSecret, …);
//! - PEM and PuTTY private key blocks (to their end line, or to the end of the text);
//! - strings shaped like an AWS secret access key (40 characters of the base64 alphabet, mixed
//!   case, also URL-encoded or with characters glued on) and long base64 tokens (session
//!   tokens, 100 characters or more);
//! - `name=value` / `name: value` in free text when the name says secret (`password=…`,
//!   `client_secret: …`, `aws_secret_access_key = …`), except names of identifiers (`…Id`,
//!   `…Arn`, `…Name`);
//! - GitHub (`ghp_…`, `github_pat_…`) and Slack (`xox…-`) tokens, JWTs, and the user
//!   information of URLs (`https://user:pass@host`).
//!
//! Kept visible: access key ids, ARNs, request and event ids, hex digests, detector ids.
//!
//! Every pass is linear in the text: one scan for the base64 runs and one search of a
//! [`regex`] automaton (no backtracking) for the patterns; the private-key headers are looked for
//! within a bounded window.

use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::Value;

pub const MASK: &str = "***redacted***";

const SECRET_WORDS: [&str; 18] = [
    "secretaccesskey",
    "sessiontoken",
    "securitytoken",
    "password",
    "passwd",
    "passphrase",
    "privatekey",
    "clientsecret",
    "secretkey",
    "secretstring",
    "secretbinary",
    "apikey",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "authtoken",
    "bearertoken",
    "connectionstring",
];

const SECRET_NAMES: [&str; 5] = ["secret", "credentials", "authorization", "token", "pwd"];

/// [`SECRET_WORDS`] as one automaton: a name is searched once for all of them.
static SECRET_WORD_SEARCH: LazyLock<Option<aho_corasick::AhoCorasick>> =
    LazyLock::new(|| aho_corasick::AhoCorasick::new(SECRET_WORDS).ok());

/// True for a JSON member name that holds a secret: its ASCII letters and digits, in lower
/// case, contain one of [`SECRET_WORDS`] or are one of [`SECRET_NAMES`].
pub fn is_secret_name(name: &str) -> bool {
    let n: Vec<u8> = name
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let word = match SECRET_WORD_SEARCH.as_ref() {
        Some(search) => search.is_match(n.as_slice()),
        None => SECRET_WORDS
            .iter()
            .any(|w| n.windows(w.len()).any(|x| x == w.as_bytes())),
    };
    word || SECRET_NAMES.iter().any(|w| n == w.as_bytes())
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

/// The patterns masked in free text, one automaton. Group names say what matched:
/// `key` a private key block, `kv` a secret-named assignment (`name` and `value`), `url` a
/// URL's user information (`scheme`), `tok` a token of a known shape.
///
/// No counted repetition (`{0,1024}`, `{0,40}`): each count is as many automaton states, and
/// together they overflow the lazy DFA's cache, so that every search fell back to the PikeVM,
/// at about 0.5 MB/s (12 ms of CPU for one notification's texts). Unbounded, the same search
/// runs in the DFA at about 190 MB/s, and masks a long value whole instead of its first
/// 1,024 bytes. The criterion group `notification` measures it.
static PATTERNS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        // PEM private keys (RSA, EC, DSA, OPENSSH, ENCRYPTED, plain), to the END line or the end.
        r"(?P<key>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
        // PuTTY private key files, to the MAC line or the end.
        r"|PuTTY-User-Key-File-[0-9]+:(?s:.*?)(?:Private-MAC:[ \t]*[0-9A-Fa-f]+|\z))",
        // name=value, name: value, "name": "value" with a secret-saying name.
        r#"|(?P<kv>(?P<name>(?i:[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|api[_-]?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|private[_-]?key)[A-Za-z0-9_.-]*|pwd|token))"?[ \t]*[=:][ \t]*(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"',;&}\]]+))"#,
        // The user information of a URL.
        r"|(?P<url>(?P<scheme>(?-u:\b)[A-Za-z][A-Za-z0-9+.-]*://)[^\s/@:]+(?::[^\s/@]*)?@)",
        // Tokens of known shapes: GitHub, Slack, JWT.
        r"|(?P<tok>(?-u:\b)gh[pousr]_[A-Za-z0-9]{30,}(?-u:\b)|(?-u:\b)github_pat_[A-Za-z0-9_]{22,}(?-u:\b)|(?-u:\b)xox[abposre]-[A-Za-z0-9-]{10,}|(?-u:\b)xapp-[0-9]-[A-Za-z0-9-]{10,}|(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)",
    ))
    .ok()
});

/// Names of identifiers, not secrets: `secretId`, `clientSecretArn`, `apiKeyName`, `tokenIssueTime`.
fn names_an_identifier(name: &str) -> bool {
    let n = name.trim_matches('"').to_ascii_lowercase();
    [
        "id", "ids", "arn", "arns", "name", "names", "type", "time", "length", "policy", "version",
    ]
    .iter()
    .any(|suffix| n.ends_with(suffix))
}

const fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'/' || c == b'+'
}

/// Length in bytes of the base64 character at `i` (1, or 3 for URL-encoded `/`, `+`, `=`),
/// and whether it is one.
fn b64_at(bytes: &[u8], i: usize) -> usize {
    match bytes.get(i) {
        Some(c) if is_b64(*c) => 1,
        Some(b'%') => match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(b'2'), Some(b'F' | b'f' | b'B' | b'b')) => 3,
            _ => 0,
        },
        _ => 0,
    }
}

/// Whether a run of base64 characters is shaped like a secret: mixed case with digits or
/// symbols, and either exactly an AWS secret key's 40 characters, a long token (100 or more),
/// or a longer run holding a 40-character stretch as varied as a random key (a key with
/// characters glued on, or inside a path).
fn secret_shaped(chars: &[u8]) -> bool {
    let n = chars.len();
    if n < 40 {
        return false;
    }
    let mixed = |run: &[u8]| {
        run.iter().any(u8::is_ascii_uppercase)
            && run.iter().any(u8::is_ascii_lowercase)
            && run
                .iter()
                .any(|c| c.is_ascii_digit() || *c == b'/' || *c == b'+')
    };
    if !mixed(chars) {
        return false;
    }
    if n == 40 || n >= 100 {
        return true;
    }
    // 41..99: a random 40-character key uses about 30 distinct characters; words, paths and
    // dates use far fewer. Count distinct characters over a sliding window, in one pass.
    let mut counts = [0u16; 128];
    let mut distinct = 0;
    for (i, &c) in chars.iter().enumerate() {
        let c = usize::from(c & 0x7f);
        if counts[c] == 0 {
            distinct += 1;
        }
        counts[c] += 1;
        if i >= 40 {
            let old = usize::from(chars[i - 40] & 0x7f);
            counts[old] -= 1;
            if counts[old] == 0 {
                distinct -= 1;
            }
        }
        if i >= 39 && distinct >= 27 && mixed(&chars[i + 1 - 40..=i]) {
            return true;
        }
    }
    false
}

/// Masks secret-shaped base64 runs (`=` padding included). `None` when there are none.
fn mask_runs(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut result: Option<String> = None;
    let mut decoded: Vec<u8> = Vec::new();
    let (mut i, mut last) = (0, 0);
    while i < bytes.len() {
        if b64_at(bytes, i) == 0 {
            i += 1;
            continue;
        }
        let start = i;
        decoded.clear();
        loop {
            let w = b64_at(bytes, i);
            if w == 0 {
                break;
            }
            decoded.push(if w == 1 { bytes[i] } else { b'/' });
            i += w;
        }
        let mut end = i;
        while end < bytes.len() && bytes[end] == b'=' {
            end += 1;
        }
        if secret_shaped(&decoded) {
            let out = result.get_or_insert_with(|| String::with_capacity(s.len()));
            out.push_str(&s[last..start]);
            out.push_str(MASK);
            last = end;
        }
        i = end.max(i);
    }
    result.map(|mut out| {
        out.push_str(&s[last..]);
        out
    })
}

/// Masks the patterns of [`PATTERNS`]. `None` when nothing matched.
fn mask_patterns(s: &str) -> Option<String> {
    let Some(re) = PATTERNS.as_ref() else {
        // Unreachable (the pattern is a constant that a test compiles); mask everything
        // rather than let a secret through.
        return Some(MASK.to_string());
    };
    let mut changed = false;
    let out = re.replace_all(s, |c: &Captures<'_>| {
        let whole = c.get(0).map_or("", |m| m.as_str());
        if let Some(name) = c.name("name")
            && c.name("kv").is_some()
        {
            // `arn:aws:secretsmanager:…` and `…:secret:name` are ARN fields, not assignments.
            let in_arn = s[..name.start()].ends_with(':');
            if in_arn || names_an_identifier(name.as_str()) {
                return whole.to_string();
            }
            let Some(value_match) = c.name("value") else {
                return whole.to_string();
            };
            let value = value_match.as_str();
            if value.trim_matches(['"', '\'']) == MASK {
                return whole.to_string();
            }
            changed = true;
            let keep = value_match.start() - c.get(0).map_or(0, |m| m.start());
            let quote = if value.starts_with('"') { "\"" } else { "" };
            return format!("{}{quote}{MASK}{quote}", &whole[..keep.min(whole.len())]);
        }
        changed = true;
        if let Some(scheme) = c.name("scheme") {
            return format!("{}{MASK}@", scheme.as_str());
        }
        MASK.to_string()
    });
    changed.then(|| out.into_owned())
}

/// The bytes of a base64 run as [`may_hold_secret`] counts them: [`is_b64`] and `%`, one table
/// lookup per byte.
static RUN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = is_b64(b) || b == b'%';
        c += 1;
    }
    table
};

/// Whether `bytes` holds `n` (at least 1) [`RUN_BYTES`] in a row. Only every `n`-th byte is
/// looked at until one is a run byte; then the run around it is measured, and the search goes
/// on `n` bytes past its end: text with no long run is mostly skipped over.
fn has_run(bytes: &[u8], n: usize) -> bool {
    let run = |i: usize| bytes.get(i).is_some_and(|c| RUN_BYTES[usize::from(*c)]);
    // `end`: the last byte of the next run of `n` that could be there.
    let mut end = n.saturating_sub(1);
    while end < bytes.len() {
        if !run(end) {
            end += n;
            continue;
        }
        let mut start = end;
        while start > 0 && end - start + 1 < n && run(start - 1) {
            start -= 1;
        }
        let mut past = end + 1;
        while past - start < n && run(past) {
            past += 1;
        }
        if past - start >= n {
            return true;
        }
        // `past` is not a run byte: a run of `n` ends at `past + n` or later.
        end = past + n;
    }
    false
}

/// Whether masking could change the text at all. Most text holds none of the markers and is
/// left untouched without building anything.
fn may_hold_secret(s: &str) -> bool {
    // A run long enough to be a secret-shaped base64 run ([`mask_runs`]).
    if has_run(s.as_bytes(), 40) {
        return true;
    }
    // What [`PATTERNS`] needs, as plain markers. Its names are matched case-insensitively
    // with Unicode's case folding (`ſ` is an `s`): text that is not ASCII is searched in full.
    if !s.is_ascii() {
        return true;
    }
    let Some(markers) = MARKERS.as_ref() else {
        return true;
    };
    // Most text holds no marker at all: one search with the automaton's prefilter says so
    // before every marker is found and weighed.
    if !markers.is_match(s) {
        return false;
    }
    let bytes = s.as_bytes();
    markers.find_overlapping_iter(s).any(|m| {
        match MARKER_TEXTS[m.pattern().as_usize()] {
            // A secret-saying name: the rest of the name, an optional quote, blanks, and `=` or
            // `:`, as the pattern's `kv` reads it.
            "pass" | "secret" | "key" | "token" | "pwd" => assignment_at(bytes, m.end()),
            // A URL's user information needs an `@` after the scheme.
            "://" => bytes[m.end()..].contains(&b'@'),
            _ => true,
        }
    })
}

/// Whether a secret-saying name that reaches `i` is assigned: `[A-Za-z0-9_.-]*"?[ \t]*[=:]`
/// follows.
fn assignment_at(bytes: &[u8], mut i: usize) -> bool {
    let name = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-');
    while bytes.get(i).is_some_and(|c| name(*c)) {
        i += 1;
    }
    if bytes.get(i) == Some(&b'"') {
        i += 1;
    }
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    matches!(bytes.get(i), Some(b'=' | b':'))
}

/// Every literal one of [`PATTERNS`]' matches must contain (compared ignoring ASCII case): the
/// secret-saying names' stems, the key block and token prefixes, and a URL's `://`.
const MARKER_TEXTS: [&str; 17] = [
    "pass",
    "secret",
    "key",
    "token",
    "pwd",
    "-----BEGIN",
    "PuTTY-User-Key-File-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xox",
    "xapp-",
    "eyJ",
    "://",
];

static MARKERS: LazyLock<Option<aho_corasick::AhoCorasick>> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(MARKER_TEXTS)
        .ok()
});

/// The text with secrets masked, or `None` if clean.
fn masked(s: &str) -> Option<String> {
    if !may_hold_secret(s) {
        return None;
    }
    masked_unfiltered(s)
}

/// [`masked`] without the [`may_hold_secret`] prefilter.
fn masked_unfiltered(s: &str) -> Option<String> {
    let patterned = mask_patterns(s);
    let base = patterned.as_deref().unwrap_or(s);
    match mask_runs(base) {
        Some(m) => Some(m),
        None => patterned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    proptest::proptest! {
        /// [`has_run`] says what counting every run says.
        #[test]
        fn has_run_finds_every_long_run(
            segments in proptest::collection::vec((0usize..14, 1usize..3), 0..12),
            n in 1usize..12,
        ) {
            // Runs of every length, each followed by one or two bytes that end it.
            let mut text = Vec::new();
            for (i, (len, gap)) in segments.into_iter().enumerate() {
                text.extend((0..len).map(|j| b"aZ9+/%"[(i + j) % 6]));
                text.extend((0..gap).map(|j| b":-. "[(i + j) % 4]));
            }
            let longest = text
                .split(|c| !RUN_BYTES[usize::from(*c)])
                .map(<[u8]>::len)
                .max()
                .unwrap_or(0);
            proptest::prop_assert_eq!(has_run(&text, n), longest >= n);
        }
    }

    /// Text made of the pieces the patterns look for (names, separators, prefixes, base64),
    /// in any case, with filler.
    fn texts() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            prop::sample::select(vec![
                "password",
                "PassWd",
                "secret",
                "api_key",
                "api-Key",
                "PRIVATE-KEY",
                "token",
                "access_token",
                "pwd",
                "Pwd",
                "clientSecretArn",
                "-----BEGIN RSA PRIVATE KEY-----",
                "-----END RSA PRIVATE KEY-----",
                "PuTTY-User-Key-File-2: ssh-rsa",
                "Private-MAC: ab12",
                "ghp_",
                "github_pat_",
                "xoxb-",
                "xapp-1-",
                "eyJhbGciOiJIUzI1",
                ".eyJzdWIiOiIxMjM0",
                "https://",
                "user:pw@",
                "@",
                "=",
                ":",
                "\"",
                "'",
                " ",
                "\t",
                "\n",
                "%2F",
                "arn:aws:secretsmanager:",
                "ſecret",
                "K",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "AKIAIOSFODNN7EXAMPLE",
            ])
            .prop_map(str::to_string),
            "[A-Za-z0-9/+_.-]{0,50}",
        ];
        prop::collection::vec(piece, 0..10).prop_map(|p| p.concat())
    }

    proptest::proptest! {
        /// The prefilter never lets text with something to mask through unmasked.
        #[test]
        fn the_prefilter_never_skips_what_would_be_masked(s in texts()) {
            proptest::prop_assert_eq!(masked(&s), masked_unfiltered(&s));
        }
    }

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
    fn the_pattern_compiles() {
        assert!(PATTERNS.is_some());
    }

    /// (text, what must not survive masking). Each of these was shown in a notification or a
    /// log line before masking knew its shape.
    const SECRETS: &[(&str, &str)] = &[
        (
            "key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end",
            "bPxRfiCYEXAMPLEKEY",
        ),
        (
            "url-encoded wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY",
            "bPxRfiCYEXAMPLEKEY",
        ),
        (
            "lower-case escape wJalrXUtnFEMI%2fK7MDENG%2fbPxRfiCYEXAMPLEKEY",
            "bPxRfiCYEXAMPLEKEY",
        ),
        (
            "glued wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYabc",
            "bPxRfiCYEXAMPLEKEY",
        ),
        (
            "glued front QQQwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "bPxRfiCYEXAMPLEKEY",
        ),
        (
            "s3://bucket/wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY/file.txt",
            "bPxRfiCYEXAMPLEKEY",
        ),
        ("password=hunter2", "hunter2"),
        ("PASSWORD: correct-horse-battery", "correct-horse"),
        ("db_password = 's3cr3t value'", "s3cr3t"),
        ("login with passwd=letmein&next=1", "letmein"),
        ("client_secret=abcDEF123", "abcDEF123"),
        (
            "aws_secret_access_key = Zm9vYmFyYmF6cXV4",
            "Zm9vYmFyYmF6cXV4",
        ),
        (r#"{"apiKey": "k-12345"}"#, "k-12345"),
        ("token: deadbeefcafe", "deadbeefcafe"),
        (
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 leaked",
            "ghp_aBcDeF",
        ),
        ("gho_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "gho_aBcDeF"),
        (
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "github_pat_11ABC",
        ),
        (
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "xoxb-1234",
        ),
        (
            "xoxp-123456789012-123456789012-123456789012-abcdef0123456789",
            "xoxp-1234",
        ),
        (
            "see https://admin:Sup3rS3cret@git.example.com/repo.git",
            "Sup3rS3cret",
        ),
        ("ftp://deploy:pa55@198.51.100.7/", "pa55"),
        (
            "bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "dozjgNryP4J3",
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
            "b3BlbnNzaC1rZXktdjEAAAAA",
        ),
        (
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----",
            "MHcCAQEE",
        ),
        ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHz", "MIIFHz"),
        (
            "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nPublic-Lines: 1\nAAAAB3NzaC1yc2E\nPrivate-Lines: 1\nAAABAQCprivatepart\nPrivate-MAC: 8f6f2c1d",
            "AAABAQCprivatepart",
        ),
        (
            "PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\nAAAAIEDprivate",
            "AAAAIEDprivate",
        ),
        (
            "IQoJb3JpZ2luX2VjEXAMPLEIQoJb3JpZ2luX2VjEXAMPLEIQoJb3JpZ2luX2VjEXAMPLEIQoJb3JpZ2luX2VjEXAMPLEIQoJb3JpZ2luX2Vj",
            "IQoJb3JpZ2lu",
        ),
        ("secret: hush-hush", "hush-hush"),
        ("x-api-key: 0123abcd", "0123abcd"),
        ("refresh_token=rt.abc.def", "rt.abc.def"),
    ];

    /// Identifiers that look a little like secrets and must stay readable.
    const VISIBLE: &[&str] = &[
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAIOSFODNN7EXAMPLE",
        "arn:aws:iam::123456789012:role/service-role/mamoru-cloudtrail-role",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
        "request 4d6e5f1a-7b8c-4d9e-8f0a-1b2c3d4e5f6a",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "detector 37da5a0204286ccd967d2395320d4dcd",
        r#"{"secretId":"prod/db-password"}"#,
        "secretArn=arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
        "tokenIssueTime: 2024-01-01T00:00:00Z",
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/file.json.gz",
        "AWSLogs/111122223333/CloudTrail/useast1/2024/01/01/x",
        "https://console.aws.amazon.com/guardduty/home?region=us-east-1#/findings",
        "user alice@example.com",
        "Someone is after credentials: rotate those the principal could reach.",
        "GuardDuty CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin",
        "Stealth:IAMUser/PasswordPolicyChange",
        "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----",
    ];

    #[test]
    fn a_table_of_secret_shapes_is_masked() {
        for (text_in, secret) in SECRETS {
            let out = text(text_in);
            assert!(
                !out.contains(secret),
                "{text_in:?} kept {secret:?}: {out:?}"
            );
            assert!(out.contains(MASK), "{text_in:?}: {out:?}");
        }
        assert!(SECRETS.len() + VISIBLE.len() >= 30);
    }

    #[test]
    fn near_misses_stay_visible() {
        for v in VISIBLE {
            assert_eq!(&text(v), v);
        }
        // The name of a secret assignment stays, so the reader knows what was there.
        assert_eq!(text("password=hunter2 ok"), format!("password={MASK} ok"));
        assert_eq!(
            text("see https://admin:pw@git.example.com/x"),
            format!("see https://{MASK}@git.example.com/x")
        );
    }

    #[test]
    fn new_secret_member_names_are_masked_and_ids_are_not() {
        for name in [
            "SecretString",
            "apiKey",
            "accessToken",
            "clientSecret",
            "SecretBinary",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["secretId", "accessKeyId", "userName", "tokenIssueTime"] {
            assert!(!is_secret_name(name), "{name}");
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
