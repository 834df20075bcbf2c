//! Typed event models and parsing.
//!
//! An EventBridge envelope is parsed first (reusing `aws_lambda_events`' `EventBridgeEvent`),
//! then its `detail` is parsed into the typed model chosen by `detail-type`. Unknown fields are
//! tolerated everywhere; a missing or mistyped required field is a [`ParseError`] that names the
//! field by its JSON path (for example `detail.resource.resourceType`).

pub mod cloudtrail;
pub mod config;
pub mod guardduty;

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::de::{self, DeserializeOwned, Deserializer as _, IgnoredAny};
use serde_json::value::RawValue;

pub use cloudtrail::{CloudTrailCall, SessionIssuer, UserIdentity};
pub use config::{ConfigComplianceChange, ConfigItemChange, ConfigurationItem, EvaluationResult};
pub use guardduty::{AccessKeyDetails, Finding};

/// Largest event EventBridge delivers (256 KB). Anything bigger is refused before parsing.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

pub const DT_GUARDDUTY_FINDING: &str = "GuardDuty Finding";
pub const DT_CLOUDTRAIL_CALL: &str = "AWS API Call via CloudTrail";
pub const DT_CONSOLE_SIGN_IN: &str = "AWS Console Sign In via CloudTrail";
pub const DT_CONFIG_ITEM_CHANGE: &str = "Config Configuration Item Change";
pub const DT_CONFIG_COMPLIANCE_CHANGE: &str = "Config Rules Compliance Change";

/// Why an event could not be parsed. Never retryable: the same bytes fail the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("event is {size} bytes, larger than the {MAX_EVENT_BYTES}-byte EventBridge limit")]
    TooLarge { size: usize },
    #[error("event is not valid JSON: {message}")]
    Syntax { message: String },
    #[error("field `{field}`: {message}")]
    Field { field: String, message: String },
}

impl ParseError {
    /// The JSON path of the offending field, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ParseError::Field { field, .. } => Some(field),
            _ => None,
        }
    }

    fn from_path_error(prefix: &str, err: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = match err.path().to_string() {
            p if p == "." => String::new(),
            p => p,
        };
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ParseError::Syntax {
                message: inner.to_string(),
            };
        }
        // serde quotes the offending value: mask it, it may be a secret in the wrong place.
        let message = crate::redact::text(&strip_position(&inner.to_string()));
        // serde reports a missing field at the parent path, naming the field in the message.
        let field = match missing_field_name(&message) {
            Some(name) => join_path(prefix, &join_path(&path, name)),
            None => join_path(prefix, &path),
        };
        ParseError::Field { field, message }
    }
}

fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}.{path}"),
    }
}

fn missing_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn from_str_at<T: DeserializeOwned>(prefix: &str, json: &str) -> Result<T, ParseError> {
    // Valid events take the fast path. Only a failure is parsed again, tracking the path, to
    // name the field at fault (the same deserializer, so the same error).
    if let Ok(value) = serde_json::from_str(json) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| ParseError::from_path_error(prefix, e))?;
    de.end().map_err(|e| ParseError::Syntax {
        message: e.to_string(),
    })?;
    Ok(value)
}

/// The event family, chosen by `detail-type`.
#[derive(Debug, Clone)]
pub enum EventKind {
    GuardDutyFinding(Box<Finding>),
    CloudTrailCall(Box<CloudTrailCall>),
    ConsoleSignIn(Box<CloudTrailCall>),
    ConfigItemChange(Box<ConfigItemChange>),
    ConfigComplianceChange(Box<ConfigComplianceChange>),
    /// A detail-type mamoru does not model. Its detail is not parsed.
    Unhandled,
}

/// A parsed EventBridge event: the envelope fields plus the typed detail.
#[derive(Debug)]
pub struct Event {
    pub id: String,
    pub detail_type: String,
    pub source: String,
    /// Envelope account, or the one in the detail when the envelope has none.
    pub account: String,
    /// Envelope region, or the one in the detail when the envelope has none.
    pub region: String,
    pub time: Option<String>,
    pub resources: Vec<String>,
    pub kind: EventKind,
    raw_detail: Box<RawValue>,
    detail_value: OnceLock<serde_json::Value>,
}

impl Clone for Event {
    fn clone(&self) -> Self {
        Event {
            id: self.id.clone(),
            detail_type: self.detail_type.clone(),
            source: self.source.clone(),
            account: self.account.clone(),
            region: self.region.clone(),
            time: self.time.clone(),
            resources: self.resources.clone(),
            kind: self.kind.clone(),
            raw_detail: self.raw_detail.clone(),
            detail_value: OnceLock::new(),
        }
    }
}

impl Event {
    /// Parses one EventBridge event from its JSON bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Event, ParseError> {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(ParseError::TooLarge { size: bytes.len() });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| ParseError::Syntax {
            message: format!("not UTF-8: {e}"),
        })?;
        Event::from_json(text)
    }

    /// Parses one EventBridge event from a JSON string.
    pub fn from_json(text: &str) -> Result<Event, ParseError> {
        if text.len() > MAX_EVENT_BYTES {
            return Err(ParseError::TooLarge { size: text.len() });
        }
        let envelope: EventBridgeEvent<Box<RawValue>> = from_str_at("", text)?;
        let id = required(envelope.id, "id")?;
        let detail_type = envelope.detail_type;
        let raw = envelope.detail;
        let kind = match detail_type.as_str() {
            DT_GUARDDUTY_FINDING => EventKind::GuardDutyFinding(parse_detail(&raw)?),
            DT_CLOUDTRAIL_CALL => EventKind::CloudTrailCall(parse_detail(&raw)?),
            DT_CONSOLE_SIGN_IN => EventKind::ConsoleSignIn(parse_detail(&raw)?),
            DT_CONFIG_ITEM_CHANGE => EventKind::ConfigItemChange(parse_detail(&raw)?),
            DT_CONFIG_COMPLIANCE_CHANGE => EventKind::ConfigComplianceChange(parse_detail(&raw)?),
            _ => EventKind::Unhandled,
        };
        let (detail_account, detail_region) = match &kind {
            EventKind::GuardDutyFinding(f) => (Some(&f.account_id), Some(&f.region)),
            EventKind::CloudTrailCall(c) | EventKind::ConsoleSignIn(c) => {
                (c.account_id(), Some(&c.aws_region))
            }
            EventKind::ConfigItemChange(c) => (
                c.configuration_item.aws_account_id.as_ref(),
                c.configuration_item.aws_region.as_ref(),
            ),
            EventKind::ConfigComplianceChange(c) => {
                (c.aws_account_id.as_ref(), c.aws_region.as_ref())
            }
            EventKind::Unhandled => (None, None),
        };
        let account = envelope
            .account
            .filter(|a| !a.is_empty())
            .or_else(|| detail_account.cloned())
            .unwrap_or_default();
        let region = envelope
            .region
            .filter(|r| !r.is_empty())
            .or_else(|| detail_region.cloned())
            .unwrap_or_default();
        Ok(Event {
            id,
            detail_type,
            source: envelope.source,
            account,
            region,
            time: envelope
                .time
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            resources: envelope.resources.unwrap_or_default(),
            kind,
            raw_detail: raw,
            detail_value: OnceLock::new(),
        })
    }

    /// The `detail` as a generic JSON value, parsed once on first use. Field-path rules do not
    /// need it: [`Event::detail_members`] and [`field_in`] read single fields without it.
    pub fn detail_value(&self) -> &serde_json::Value {
        self.detail_value.get_or_init(|| {
            serde_json::from_str(self.raw_detail.get()).unwrap_or(serde_json::Value::Null)
        })
    }

    /// The `detail` exactly as received.
    pub fn raw_detail(&self) -> &str {
        self.raw_detail.get()
    }

    /// The members of `detail`, scanned once without building their values: where field-path
    /// lookups ([`field_in`]) start. `None` when the detail is not a JSON object.
    pub fn detail_members(&self) -> Option<Members<'_>> {
        members(self.raw_detail.get())
    }

    /// The value at `path` below `detail` (`["resource", "resourceType"]`): what indexing
    /// [`Event::detail_value`] gives, without parsing the whole detail.
    pub fn detail_field<S: AsRef<str>>(&self, path: &[S]) -> Option<serde_json::Value> {
        if path.is_empty() {
            return Some(self.detail_value().clone());
        }
        field_in(&self.detail_members()?, path)
    }

    /// The CloudTrail record behind this event, for CloudTrail-delivered families.
    pub fn cloudtrail(&self) -> Option<&CloudTrailCall> {
        match &self.kind {
            EventKind::CloudTrailCall(c) | EventKind::ConsoleSignIn(c) => Some(c),
            _ => None,
        }
    }

    /// A short, stable name for the kind of event, used in notifications and message attributes.
    pub fn kind_name(&self) -> String {
        match &self.kind {
            EventKind::GuardDutyFinding(f) => format!("guardduty:{}", f.finding_type),
            EventKind::CloudTrailCall(c) => format!("{}:{}", c.service(), c.event_name),
            EventKind::ConsoleSignIn(c) => format!("signin:{}", c.event_name),
            EventKind::ConfigItemChange(c) => {
                format!("config-item:{}", c.configuration_item.resource_type)
            }
            EventKind::ConfigComplianceChange(c) => format!("config-rule:{}", c.config_rule_name),
            EventKind::Unhandled => format!("unhandled:{}", self.detail_type),
        }
    }
}

/// A JSON object's members in document order: names, and values as raw JSON text.
pub type Members<'a> = Vec<(Cow<'a, str>, &'a RawValue)>;

/// The members of the JSON object `text`, or `None` when it is not an object. Only the names
/// are decoded; the values are skipped over and kept as raw text.
pub fn members(text: &str) -> Option<Members<'_>> {
    struct Object;
    impl<'de> de::Visitor<'de> for Object {
        type Value = Members<'de>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
            while let Some(Name(name)) = map.next_key()? {
                out.push((name, map.next_value::<&RawValue>()?));
            }
            Ok(out)
        }
    }
    serde_json::Deserializer::from_str(text)
        .deserialize_map(Object)
        .ok()
}

/// Element `index` of the JSON array `text`.
fn element(text: &str, index: usize) -> Option<&RawValue> {
    struct Array(usize);
    impl<'de> de::Visitor<'de> for Array {
        type Value = Option<&'de RawValue>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut found = None;
            let mut i = 0;
            while i < self.0 {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Ok(None);
                }
                i += 1;
            }
            if let Some(v) = seq.next_element::<&RawValue>()? {
                found = Some(v);
                while seq.next_element::<IgnoredAny>()?.is_some() {}
            }
            Ok(found)
        }
    }
    serde_json::Deserializer::from_str(text)
        .deserialize_seq(Array(index))
        .ok()
        .flatten()
}

/// A member name, borrowed from the text unless it has escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The value at `path` (member names, and indexes into arrays) below an object whose members
/// are `top`. It is what indexing the parsed object gives (the last of duplicate names wins,
/// as in `serde_json::Value`), but only the objects on the way are scanned and only the value
/// found is parsed.
pub fn field_in<S: AsRef<str>>(
    top: &[(Cow<'_, str>, &RawValue)],
    path: &[S],
) -> Option<serde_json::Value> {
    fn last<'a>(m: &[(Cow<'_, str>, &'a RawValue)], name: &str) -> Option<&'a RawValue> {
        m.iter().rev().find(|(k, _)| k == name).map(|(_, v)| *v)
    }
    let (first, rest) = path.split_first()?;
    let mut cur: &RawValue = last(top, first.as_ref())?;
    for seg in rest {
        let text = cur.get();
        cur = match text.trim_start().as_bytes().first() {
            Some(b'{') => last(&members(text)?, seg.as_ref())?,
            Some(b'[') => element(text, seg.as_ref().parse().ok()?)?,
            _ => return None,
        };
    }
    serde_json::from_str(cur.get()).ok()
}

fn required(value: Option<String>, field: &str) -> Result<String, ParseError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(ParseError::Field {
            field: field.to_string(),
            message: "must not be empty".to_string(),
        }),
        None => Err(ParseError::Field {
            field: field.to_string(),
            message: format!("missing field `{field}`"),
        }),
    }
}

fn parse_detail<T: DeserializeOwned>(raw: &RawValue) -> Result<Box<T>, ParseError> {
    from_str_at("detail", raw.get()).map(Box::new)
}

/// Deserializes a JSON `null` as the type's default (CloudTrail writes `null` for empty members).
pub(crate) fn null_as_default<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENVELOPE: &str = r#"{"version":"0","id":"e1","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012","time":"2024-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":DETAIL}"#;

    fn finding(severity: &str) -> String {
        ENVELOPE.replace(
            "DETAIL",
            &format!(
                r#"{{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","id":"f1","type":"Recon:EC2/PortProbeUnprotectedPort","severity":{severity},"resource":{{"resourceType":"Instance"}},"service":{{"archived":false}},"extra":{{"tolerated":true}}}}"#
            ),
        )
    }

    #[test]
    fn severity_parses_as_integer_or_float() {
        for (text, want) in [("2", 2.0), ("2.0", 2.0), ("8.9", 8.9)] {
            let event = Event::from_json(&finding(text)).unwrap();
            let EventKind::GuardDutyFinding(f) = event.kind else {
                panic!("not a finding")
            };
            assert_eq!(f.severity, want, "severity {text}");
        }
    }

    #[test]
    fn missing_required_field_is_named() {
        let text = finding("5").replace(r#""type":"Recon:EC2/PortProbeUnprotectedPort","#, "");
        let err = Event::from_json(&text).unwrap_err();
        assert_eq!(err.field(), Some("detail.type"), "{err}");
    }

    #[test]
    fn nested_missing_field_is_named_with_its_path() {
        let text = finding("5").replace(r#""resourceType":"Instance""#, r#""x":1"#);
        let err = Event::from_json(&text).unwrap_err();
        assert_eq!(err.field(), Some("detail.resource.resourceType"), "{err}");
    }

    #[test]
    fn wrong_type_is_named() {
        let err = Event::from_json(&finding(r#""high""#)).unwrap_err();
        assert_eq!(err.field(), Some("detail.severity"), "{err}");
    }

    #[test]
    fn missing_envelope_fields_are_named() {
        let text = finding("5").replace(r#""detail-type":"GuardDuty Finding","#, "");
        assert_eq!(
            Event::from_json(&text).unwrap_err().field(),
            Some("detail-type")
        );
        let text = finding("5").replace(r#""id":"e1","#, "");
        assert_eq!(Event::from_json(&text).unwrap_err().field(), Some("id"));
    }

    #[test]
    fn malformed_and_oversize_input_are_errors() {
        assert!(matches!(
            Event::from_json("{not json"),
            Err(ParseError::Syntax { .. })
        ));
        let big = vec![b' '; MAX_EVENT_BYTES + 1];
        assert!(matches!(
            Event::from_slice(&big),
            Err(ParseError::TooLarge { .. })
        ));
    }

    #[test]
    fn field_lookups_without_the_whole_value_agree_with_indexing_it() {
        let detail = r#"{"a":{"b":[10,{"c":"x"},[true]],"d":null,"e\u0041":1.5e3},
            "dup":1,"dup":{"k":"last"},"s":"str","n":-0,"arr":[],"obj":{}}"#;
        let text = ENVELOPE
            .replace("DETAIL", detail)
            .replace("GuardDuty Finding", "Other");
        let event = Event::from_json(&text).unwrap();
        let whole = event.detail_value();
        for path in [
            "a",
            "a.b",
            "a.b.0",
            "a.b.1.c",
            "a.b.2.0",
            "a.b.3",
            "a.b.x",
            "a.d",
            "a.eA",
            "a.e\\u0041",
            "dup",
            "dup.k",
            "s",
            "s.0",
            "n",
            "arr.0",
            "obj.x",
            "missing",
            "a.b.-1",
            "a.b.01",
        ] {
            let segs: Vec<&str> = path.split('.').collect();
            let want = segs.iter().try_fold(whole, |v, seg| match v {
                serde_json::Value::Object(m) => m.get(*seg),
                serde_json::Value::Array(a) => a.get(seg.parse::<usize>().ok()?),
                _ => None,
            });
            assert_eq!(event.detail_field(&segs), want.cloned(), "path {path}");
        }
        assert_eq!(event.detail_field::<&str>(&[]).as_ref(), Some(whole));
    }

    #[test]
    fn unknown_detail_type_is_unhandled_without_parsing_detail() {
        let text = ENVELOPE
            .replace(
                "GuardDuty Finding",
                "EC2 Instance State-change Notification",
            )
            .replace("DETAIL", r#"{"state":"running"}"#);
        let event = Event::from_json(&text).unwrap();
        assert!(matches!(event.kind, EventKind::Unhandled));
        assert_eq!(event.detail_value()["state"], "running");
    }
}
