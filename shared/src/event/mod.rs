//! Typed event models and parsing.
//!
//! An EventBridge envelope is parsed first (reusing `aws_lambda_events`' `EventBridgeEvent`),
//! then its `detail` is parsed into the typed model chosen by `detail-type`. Unknown fields are
//! tolerated everywhere; a missing or mistyped required field is a [`ParseError`] that names the
//! field by its JSON path (for example `detail.resource.resourceType`).

pub mod cloudtrail;
pub mod config;
pub mod guardduty;
pub mod guardduty_events;
pub mod ocsf;
pub mod securityhub;
pub mod sequence;

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::de::{self, DeserializeOwned, Deserializer as _, IgnoredAny};
use serde_json::value::RawValue;

pub use cloudtrail::{CloudTrailCall, SessionIssuer, UserIdentity};
pub use config::{ConfigComplianceChange, ConfigItemChange, ConfigurationItem, EvaluationResult};
pub use guardduty::{AccessKeyDetails, Finding};
pub use guardduty_events::{
    DT_MALWARE_OBJECT_SCAN_RESULT, DT_MALWARE_POST_SCAN_ACTION_FAILED,
    DT_RUNTIME_PROTECTION_UNHEALTHY, ServiceEvent,
};
pub use ocsf::{DT_SECURITYHUB_V2, OcsfEvent, OcsfFinding};
pub use securityhub::{
    AsffFinding, DT_SECURITYHUB_CUSTOM_ACTION, DT_SECURITYHUB_IMPORTED, SecurityHubEvent,
};

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
    /// GuardDuty's events other than findings (malware scan results, runtime health).
    GuardDutyService(Box<ServiceEvent>),
    /// Security Hub findings (ASFF), imported or sent by a custom action.
    SecurityHub(Box<SecurityHubEvent>),
    /// The new Security Hub's findings (OCSF), `Findings Imported V2`.
    SecurityHubOcsf(Box<OcsfEvent>),
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
    /// Envelope region, or the one in the detail when the envelope has none. For a Security Hub
    /// finding, the finding's own region first.
    pub region: String,
    pub time: Option<String>,
    pub resources: Vec<String>,
    pub kind: EventKind,
    /// The event as received; the detail's text is found in it only when a rule reads a field
    /// the typed model does not hold.
    text: Box<str>,
    raw_detail: OnceLock<Option<Box<str>>>,
    /// Where the detail's members are in `text`, found on first use in one pass.
    detail_index: OnceLock<Option<DetailIndex>>,
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
            text: self.text.clone(),
            raw_detail: self.raw_detail.clone(),
            detail_index: OnceLock::new(),
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
    ///
    /// One pass: EventBridge writes `detail-type` before `detail`, so the detail is parsed into
    /// its typed model on the way. Anything else (another member order, or an event that does
    /// not parse) takes the two-step path, envelope then detail, which names the field at fault.
    pub fn from_json(text: &str) -> Result<Event, ParseError> {
        if text.len() > MAX_EVENT_BYTES {
            return Err(ParseError::TooLarge { size: text.len() });
        }
        match serde_json::from_str::<Envelope>(text) {
            Ok(Envelope {
                id: Some(id),
                detail_type: Some(detail_type),
                source: Some(source),
                detail: Some(kind),
                account,
                time,
                region,
                resources,
                ..
            }) if !id.is_empty() => Ok(Event::assemble(
                id,
                detail_type,
                source,
                account,
                region,
                time,
                resources,
                kind,
                text,
                OnceLock::new(),
            )),
            _ => Event::from_json_in_two_steps(text),
        }
    }

    fn from_json_in_two_steps(text: &str) -> Result<Event, ParseError> {
        let envelope: EventBridgeEvent<Box<RawValue>> = from_str_at("", text)?;
        let id = required(envelope.id, "id")?;
        let detail_type = envelope.detail_type;
        let raw = envelope.detail;
        let kind = kind_from_raw(&detail_type, &raw)?;
        Ok(Event::assemble(
            id,
            detail_type,
            envelope.source,
            envelope.account,
            envelope.region,
            envelope.time,
            envelope.resources,
            kind,
            text,
            OnceLock::from(Some(Box::<str>::from(raw))),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        id: String,
        detail_type: String,
        source: String,
        account: Option<String>,
        region: Option<String>,
        time: Option<chrono::DateTime<chrono::Utc>>,
        resources: Option<Vec<String>>,
        kind: EventKind,
        text: &str,
        raw_detail: OnceLock<Option<Box<str>>>,
    ) -> Event {
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
            EventKind::GuardDutyService(g) => (g.account(), None),
            EventKind::SecurityHub(_) | EventKind::SecurityHubOcsf(_) => (None, None),
            EventKind::Unhandled => (None, None),
        };
        let account = account
            .filter(|a| !a.is_empty())
            .or_else(|| detail_account.cloned())
            .unwrap_or_default();
        // A Security Hub finding names the region it is about; the envelope's is the region
        // that received it (the aggregation region, in an organization).
        let finding_region = match &kind {
            EventKind::SecurityHub(sh) => sh
                .finding()
                .and_then(|f| f.home_region())
                .map(str::to_string),
            EventKind::SecurityHubOcsf(sh) => sh
                .finding()
                .and_then(|f| f.home_region())
                .map(str::to_string),
            _ => None,
        };
        let region = finding_region
            .or_else(|| region.filter(|r| !r.is_empty()))
            .or_else(|| detail_region.cloned())
            .unwrap_or_default();
        Event {
            id,
            detail_type,
            source,
            account,
            region,
            time: time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            resources: resources.unwrap_or_default(),
            kind,
            text: text.into(),
            raw_detail,
            detail_index: OnceLock::new(),
            detail_value: OnceLock::new(),
        }
    }

    /// The `detail` as a generic JSON value, parsed once on first use. Field-path rules do not
    /// need it: [`Event::detail_members`] and [`field_in`] read single fields without it.
    pub fn detail_value(&self) -> &serde_json::Value {
        self.detail_value.get_or_init(|| {
            serde_json::from_str(self.raw_detail()).unwrap_or(serde_json::Value::Null)
        })
    }

    /// The event exactly as received.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The `detail` exactly as received, found in the event's text on first use.
    pub fn raw_detail(&self) -> &str {
        self.raw_detail
            .get_or_init(|| {
                members(&self.text)?
                    .into_iter()
                    .rev()
                    .find(|(k, _)| k == "detail")
                    .map(|(_, v)| Box::from(v))
            })
            .as_deref()
            .unwrap_or("null")
    }

    /// The members of `detail`, scanned once without building their values: where field-path
    /// lookups ([`field_in`]) start. `None` when the detail is not a JSON object.
    pub fn detail_members(&self) -> Option<Members<'_>> {
        let index = self
            .detail_index
            .get_or_init(|| detail_index(&self.text))
            .as_ref()?;
        index
            .iter()
            .map(|(name, value)| {
                let name = match name {
                    NameAt::At(at) => Cow::Borrowed(self.text.get(at.clone())?),
                    NameAt::Owned(name) => Cow::Borrowed(&**name),
                };
                Some((name, self.text.get(value.clone())?))
            })
            .collect()
    }

    /// The value at `path` below `detail` (`["resource", "resourceType"]`): what indexing
    /// [`Event::detail_value`] gives, without parsing the whole detail.
    pub fn detail_field<S: AsRef<str>>(&self, path: &[S]) -> Option<serde_json::Value> {
        if path.is_empty() {
            return Some(self.detail_value().clone());
        }
        field_in(&self.detail_members()?, path)
    }

    /// The value at `path` below `detail` read from the typed model, when the model holds it:
    /// `Some(value)` (the inner `None` when the event has no such field), or `None` when the
    /// path leaves the model and the raw detail must be read ([`Event::detail_field`]). Both
    /// agree, with JSON `null` read as absent (every field condition does so).
    pub fn modelled_field<S: AsRef<str>>(&self, path: &[S]) -> Option<Option<serde_json::Value>> {
        use serde_json::Value;
        fn text(s: &str) -> Option<Option<Value>> {
            Some(Some(Value::String(s.to_string())))
        }
        fn opt(s: Option<&str>) -> Option<Option<Value>> {
            Some(s.map(|s| Value::String(s.to_string())))
        }
        fn below<S: AsRef<str>>(root: &Value, path: &[S]) -> Option<Option<Value>> {
            Some(value_at(root, path).filter(|v| !v.is_null()).cloned())
        }
        let segs: Vec<&str> = path.iter().map(AsRef::as_ref).collect();
        match (&self.kind, segs.as_slice()) {
            (EventKind::GuardDutyFinding(f), p) => match p {
                ["type"] => text(&f.finding_type),
                ["id"] => text(&f.id),
                ["accountId"] => text(&f.account_id),
                ["region"] => text(&f.region),
                ["resource", "resourceType"] => text(&f.resource.resource_type),
                ["resource", "accessKeyDetails", field] => {
                    let k = f.resource.access_key_details.as_ref();
                    match *field {
                        "accessKeyId" => opt(k.and_then(|k| k.access_key_id.as_deref())),
                        "principalId" => opt(k.and_then(|k| k.principal_id.as_deref())),
                        "userType" => opt(k.and_then(|k| k.user_type.as_deref())),
                        "userName" => opt(k.and_then(|k| k.user_name.as_deref())),
                        _ => None,
                    }
                }
                _ => None,
            },
            (EventKind::CloudTrailCall(c) | EventKind::ConsoleSignIn(c), p) => match p {
                ["requestParameters", rest @ ..] => below(&c.request_parameters, rest),
                ["responseElements", rest @ ..] => below(&c.response_elements, rest),
                ["additionalEventData", rest @ ..] => below(&c.additional_event_data, rest),
                ["eventSource"] => text(&c.event_source),
                ["eventName"] => text(&c.event_name),
                ["awsRegion"] => text(&c.aws_region),
                ["errorCode"] => opt(c.error_code.as_deref()),
                ["sourceIPAddress"] => opt(c.source_ip_address.as_deref()),
                _ => None,
            },
            (EventKind::ConfigComplianceChange(c), p) => match p {
                ["configRuleName"] => text(&c.config_rule_name),
                ["newEvaluationResult", "complianceType"] => {
                    text(&c.new_evaluation_result.compliance_type)
                }
                ["oldEvaluationResult", "complianceType"] => opt(c.old_compliance()),
                ["resourceType"] => opt(c.resource_type.as_deref()),
                ["resourceId"] => opt(c.resource_id.as_deref()),
                _ => None,
            },
            (EventKind::ConfigItemChange(c), p) => match p {
                ["configurationItem", "resourceType"] => text(&c.configuration_item.resource_type),
                ["configurationItem", "configuration", rest @ ..] => {
                    below(&c.configuration_item.configuration, rest)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The account the event happened in, which owns the resources it names: a finding's
    /// `accountId`, a CloudTrail record's `recipientAccountId`, a Config item's or compliance
    /// result's `awsAccountId`. In an organization the envelope's `account` is the account that
    /// received the event (the security account), so it is only the fallback.
    pub fn owner_account(&self) -> &str {
        let owner = match &self.kind {
            EventKind::GuardDutyFinding(f) => Some(f.account_id.as_str()),
            // Not userIdentity.accountId: that is the caller's account, which can be another.
            EventKind::CloudTrailCall(c) | EventKind::ConsoleSignIn(c) => {
                c.recipient_account_id.as_deref()
            }
            EventKind::ConfigItemChange(c) => c.configuration_item.aws_account_id.as_deref(),
            EventKind::ConfigComplianceChange(c) => c.aws_account_id.as_deref(),
            EventKind::GuardDutyService(g) => g.account().map(String::as_str),
            EventKind::SecurityHub(sh) => sh.finding().map(|f| f.aws_account_id.as_str()),
            EventKind::SecurityHubOcsf(sh) => sh.finding().map(|f| f.cloud.account.uid.as_str()),
            EventKind::Unhandled => None,
        };
        owner
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or(&self.account)
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
            EventKind::GuardDutyService(g) => format!("guardduty:{}", g.kind_name()),
            EventKind::SecurityHub(sh) => match sh.finding() {
                Some(f) => format!(
                    "securityhub:{}",
                    f.control_id()
                        .or(f.product_name.as_deref())
                        .unwrap_or("finding")
                ),
                None => format!("securityhub:{} findings", sh.findings.len()),
            },
            EventKind::SecurityHubOcsf(sh) => match sh.finding() {
                Some(f) => format!(
                    "securityhub:{}",
                    f.control()
                        .or(f.metadata.product.name.as_deref())
                        .unwrap_or("finding")
                ),
                None => format!("securityhub:{} findings", sh.findings.len()),
            },
            EventKind::Unhandled => format!("unhandled:{}", self.detail_type),
        }
    }
}

/// A JSON object's members in document order: names, and values as raw JSON text.
pub type Members<'a> = Vec<(Cow<'a, str>, &'a str)>;

/// A member name's place in the event's text, or the name itself when it has escapes.
#[derive(Debug)]
enum NameAt {
    At(std::ops::Range<usize>),
    Owned(Box<str>),
}

/// The members of an event's `detail`: each name, and where its value is in the event's text.
type DetailIndex = Vec<(NameAt, std::ops::Range<usize>)>;

/// [`DetailIndex`] of the event `text`, in one pass over it: `None` when it has no `detail`
/// object. The last `detail` member wins, as in a parsed object.
fn detail_index(text: &str) -> Option<DetailIndex> {
    let base = text.as_ptr() as usize;
    let at = move |s: &str| {
        let start = (s.as_ptr() as usize).wrapping_sub(base);
        start..start + s.len()
    };
    /// The envelope: every member skipped but `detail`.
    struct Envelope<F>(F);
    impl<'de, F: Fn(&str) -> std::ops::Range<usize> + Copy> de::Visitor<'de> for Envelope<F> {
        type Value = Option<DetailIndex>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(Name(name)) = map.next_key()? {
                if name == "detail" {
                    found = map.next_value_seed(Detail(self.0))?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }
    /// The detail: its members' places when it is an object, else `None`.
    struct Detail<F>(F);
    impl<'de, F: Fn(&str) -> std::ops::Range<usize> + Copy> de::DeserializeSeed<'de> for Detail<F> {
        type Value = Option<DetailIndex>;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de, F: Fn(&str) -> std::ops::Range<usize> + Copy> de::Visitor<'de> for Detail<F> {
        type Value = Option<DetailIndex>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
            while let Some(Name(name)) = map.next_key()? {
                let name = match name {
                    Cow::Borrowed(name) => NameAt::At((self.0)(name)),
                    Cow::Owned(name) => NameAt::Owned(name.into()),
                };
                out.push((name, (self.0)(map.next_value::<&RawValue>()?.get())));
            }
            Ok(Some(out))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    serde_json::Deserializer::from_str(text)
        .deserialize_map(Envelope(at))
        .ok()
        .flatten()
}

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
                out.push((name, map.next_value::<&RawValue>()?.get()));
            }
            Ok(out)
        }
    }
    serde_json::Deserializer::from_str(text)
        .deserialize_map(Object)
        .ok()
}

/// Element `index` of the JSON array `text`, as raw JSON text.
fn element(text: &str, index: usize) -> Option<&str> {
    struct Array(usize);
    impl<'de> de::Visitor<'de> for Array {
        type Value = Option<&'de str>;
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
                found = Some(v.get());
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
    top: &[(Cow<'_, str>, &str)],
    path: &[S],
) -> Option<serde_json::Value> {
    fn last<'a>(m: &[(Cow<'_, str>, &'a str)], name: &str) -> Option<&'a str> {
        m.iter().rev().find(|(k, _)| k == name).map(|(_, v)| *v)
    }
    let (first, rest) = path.split_first()?;
    let mut cur: &str = last(top, first.as_ref())?;
    for seg in rest {
        let text = cur;
        cur = match text.trim_start().as_bytes().first() {
            Some(b'{') => last(&members(text)?, seg.as_ref())?,
            Some(b'[') => element(text, seg.as_ref().parse().ok()?)?,
            _ => return None,
        };
    }
    serde_json::from_str(cur).ok()
}

/// The value at `path` (member names, and indexes into arrays) below `root`.
pub fn value_at<'v, S: AsRef<str>>(
    root: &'v serde_json::Value,
    path: &[S],
) -> Option<&'v serde_json::Value> {
    use serde_json::Value;
    let mut cur = root;
    for seg in path {
        cur = match cur {
            Value::Object(m) => m.get(seg.as_ref())?,
            Value::Array(a) => a.get(seg.as_ref().parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn kind_from_raw(detail_type: &str, raw: &RawValue) -> Result<EventKind, ParseError> {
    Ok(match detail_type {
        DT_GUARDDUTY_FINDING => EventKind::GuardDutyFinding(parse_detail(raw)?),
        DT_CLOUDTRAIL_CALL => EventKind::CloudTrailCall(parse_detail(raw)?),
        DT_CONSOLE_SIGN_IN => EventKind::ConsoleSignIn(parse_detail(raw)?),
        DT_CONFIG_ITEM_CHANGE => EventKind::ConfigItemChange(parse_detail(raw)?),
        DT_CONFIG_COMPLIANCE_CHANGE => EventKind::ConfigComplianceChange(parse_detail(raw)?),
        DT_MALWARE_OBJECT_SCAN_RESULT => EventKind::GuardDutyService(Box::new(
            ServiceEvent::ObjectScanResult(*parse_detail(raw)?),
        )),
        DT_RUNTIME_PROTECTION_UNHEALTHY => EventKind::GuardDutyService(Box::new(
            ServiceEvent::RuntimeProtectionHealth(*parse_detail(raw)?),
        )),
        DT_MALWARE_POST_SCAN_ACTION_FAILED => EventKind::GuardDutyService(Box::new(
            ServiceEvent::PostScanActionFailed(*parse_detail(raw)?),
        )),
        DT_SECURITYHUB_IMPORTED | DT_SECURITYHUB_CUSTOM_ACTION => {
            EventKind::SecurityHub(parse_detail(raw)?)
        }
        DT_SECURITYHUB_V2 => EventKind::SecurityHubOcsf(parse_detail(raw)?),
        _ => EventKind::Unhandled,
    })
}

/// The envelope of the one-pass parse ([`Event::from_json`]): the members of
/// `aws_lambda_events`' `EventBridgeEvent`, with the same types, and the detail already typed
/// when `detail-type` came first (else `detail` is `None` and the two-step path takes over).
/// Any error, a repeated member included, sends the event to the two-step path, which reports
/// it the way it always has.
#[derive(Default)]
struct Envelope {
    id: Option<String>,
    detail_type: Option<String>,
    source: Option<String>,
    account: Option<String>,
    time: Option<chrono::DateTime<chrono::Utc>>,
    region: Option<String>,
    resources: Option<Vec<String>>,
    detail: Option<EventKind>,
}

impl<'de> serde::Deserialize<'de> for Envelope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Envelope;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an EventBridge event")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
                let mut e = Envelope::default();
                let mut seen = [false; 9];
                let mut detail_seen = false;
                while let Some(Name(name)) = map.next_key()? {
                    let slot = match name.as_ref() {
                        "version" => 0,
                        "id" => 1,
                        "detail-type" => 2,
                        "source" => 3,
                        "account" => 4,
                        "time" => 5,
                        "region" => 6,
                        "resources" => 7,
                        "detail" => 8,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    if std::mem::replace(&mut seen[slot], true) {
                        return Err(de::Error::duplicate_field("member"));
                    }
                    match slot {
                        0 => drop(map.next_value::<Option<String>>()?),
                        1 => e.id = map.next_value()?,
                        2 => e.detail_type = Some(map.next_value()?),
                        3 => e.source = Some(map.next_value()?),
                        4 => e.account = map.next_value()?,
                        5 => e.time = map.next_value()?,
                        6 => e.region = map.next_value()?,
                        7 => e.resources = map.next_value()?,
                        _ => {
                            detail_seen = true;
                            match e.detail_type.as_deref() {
                                Some(dt) => e.detail = Some(map.next_value_seed(DetailSeed(dt))?),
                                // Out of order: leave it to the two-step path.
                                None => return Err(de::Error::custom("detail before detail-type")),
                            }
                        }
                    }
                }
                if !detail_seen {
                    return Err(de::Error::missing_field("detail"));
                }
                Ok(e)
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses `detail` straight into the model its detail-type names.
struct DetailSeed<'a>(&'a str);

impl<'de> de::DeserializeSeed<'de> for DetailSeed<'_> {
    type Value = EventKind;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<EventKind, D::Error> {
        use serde::Deserialize;
        Ok(match self.0 {
            DT_GUARDDUTY_FINDING => EventKind::GuardDutyFinding(Box::new(Finding::deserialize(d)?)),
            DT_CLOUDTRAIL_CALL => {
                EventKind::CloudTrailCall(Box::new(CloudTrailCall::deserialize(d)?))
            }
            DT_CONSOLE_SIGN_IN => {
                EventKind::ConsoleSignIn(Box::new(CloudTrailCall::deserialize(d)?))
            }
            DT_CONFIG_ITEM_CHANGE => {
                EventKind::ConfigItemChange(Box::new(ConfigItemChange::deserialize(d)?))
            }
            DT_CONFIG_COMPLIANCE_CHANGE => {
                EventKind::ConfigComplianceChange(Box::new(ConfigComplianceChange::deserialize(d)?))
            }
            DT_MALWARE_OBJECT_SCAN_RESULT => EventKind::GuardDutyService(Box::new(
                ServiceEvent::ObjectScanResult(guardduty_events::ObjectScanResult::deserialize(d)?),
            )),
            DT_RUNTIME_PROTECTION_UNHEALTHY => {
                EventKind::GuardDutyService(Box::new(ServiceEvent::RuntimeProtectionHealth(
                    guardduty_events::RuntimeProtectionHealth::deserialize(d)?,
                )))
            }
            DT_MALWARE_POST_SCAN_ACTION_FAILED => {
                EventKind::GuardDutyService(Box::new(ServiceEvent::PostScanActionFailed(
                    guardduty_events::PostScanActionFailed::deserialize(d)?,
                )))
            }
            DT_SECURITYHUB_IMPORTED | DT_SECURITYHUB_CUSTOM_ACTION => {
                EventKind::SecurityHub(Box::new(SecurityHubEvent::deserialize(d)?))
            }
            DT_SECURITYHUB_V2 => EventKind::SecurityHubOcsf(Box::new(OcsfEvent::deserialize(d)?)),
            _ => {
                IgnoredAny::deserialize(d)?;
                EventKind::Unhandled
            }
        })
    }
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
pub(crate) mod tests {
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

    /// Every event fixture of the tests.
    pub(crate) fn fixture_files() -> Vec<std::path::PathBuf> {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events");
        let mut files = Vec::new();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    files.push(path);
                }
            }
        }
        files
    }

    fn summary(e: &Event) -> String {
        format!(
            "{} {} {} {} {} {:?} {:?} {:?} {}",
            e.id,
            e.detail_type,
            e.source,
            e.account,
            e.region,
            e.time,
            e.resources,
            e.kind,
            e.raw_detail()
        )
    }

    /// The one-pass parse gives what the two-step parse gives, on every fixture, in EventBridge's
    /// member order and with `detail` moved first; and it fails where the two-step parse fails,
    /// with the two-step parse's error.
    /// The detail's members found in one pass over the event's text are the members of the
    /// detail's own text: on every fixture, pretty-printed or not, and on the edge cases.
    #[test]
    fn the_detail_index_finds_the_detail_members() {
        fn direct(e: &Event) -> Option<Members<'_>> {
            members(e.raw_detail())
        }
        let mut seen = 0;
        for file in fixture_files() {
            let text = std::fs::read_to_string(&file).unwrap();
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            for text in [text, serde_json::to_string_pretty(&value).unwrap()] {
                if let Ok(e) = Event::from_json(&text) {
                    assert_eq!(e.detail_members(), direct(&e), "{}", file.display());
                    seen += 1;
                }
            }
        }
        assert!(seen > 100, "{seen} fixtures");
        // An escaped name is decoded; a detail that is not an object has no members. (A
        // second `detail` is refused by the parse, so the index never meets one.)
        let edge = |text: &str| Event::from_json_in_two_steps(text).unwrap();
        let cases = [
            r#"{"id":"1","detail-type":"x","source":"s","detail":{"b\u0041": "c" , "d":[1,{"e":null}]}}"#,
            r#"{"id":"1","detail-type":"x","source":"s","detail":"text"}"#,
            r#"{"id":"1","detail-type":"x","source":"s","detail":[{"a":1}]}"#,
        ];
        for text in cases {
            let e = edge(text);
            assert_eq!(e.detail_members(), direct(&e), "{text}");
        }
        assert_eq!(
            edge(cases[0]).detail_members().unwrap(),
            vec![
                (Cow::Borrowed("bA"), "\"c\""),
                (Cow::Borrowed("d"), "[1,{\"e\":null}]")
            ]
        );
        assert!(edge(cases[1]).detail_members().is_none());
        assert!(edge(cases[2]).detail_members().is_none());
    }

    #[test]
    fn one_pass_parse_agrees_with_the_two_step_parse() {
        let mut parsed = 0;
        for file in fixture_files() {
            let text = std::fs::read_to_string(&file).unwrap();
            let two = Event::from_json_in_two_steps(&text);
            let one = Event::from_json(&text);
            match (&one, &two) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(summary(a), summary(b), "{}", file.display());
                    parsed += 1;
                }
                (Err(a), Err(b)) => assert_eq!(a, b, "{}", file.display()),
                _ => panic!("{}: {one:?} against {two:?}", file.display()),
            }
            // `detail` first: the one-pass parse cannot type it on the way, and still agrees.
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if let Some(detail) = v.as_object_mut().and_then(|m| m.remove("detail")) {
                let mut reordered = serde_json::Map::new();
                reordered.insert("detail".to_string(), detail);
                reordered.extend(v.as_object().unwrap().clone());
                let text = serde_json::Value::Object(reordered).to_string();
                let a = Event::from_json(&text).map(|e| summary(&e));
                let b = Event::from_json_in_two_steps(&text).map(|e| summary(&e));
                assert_eq!(a, b, "{} reordered", file.display());
            }
        }
        assert!(parsed > 50, "{parsed} fixtures parsed");
        // Repeated members are refused, as by the derived envelope.
        let twice = finding("5").replacen(r#""id":"e1","#, r#""id":"e1","id":"e2","#, 1);
        assert!(Event::from_json_in_two_steps(&twice).is_err());
        assert_eq!(
            Event::from_json(&twice).unwrap_err(),
            Event::from_json_in_two_steps(&twice).unwrap_err()
        );
    }

    /// The typed shortcut for field lookups gives what the raw detail gives, on every fixture.
    #[test]
    fn modelled_fields_agree_with_the_raw_detail_on_every_fixture() {
        let files = fixture_files();
        let paths = [
            "type",
            "id",
            "accountId",
            "region",
            "resource.resourceType",
            "resource.accessKeyDetails.accessKeyId",
            "resource.accessKeyDetails.principalId",
            "resource.accessKeyDetails.userType",
            "resource.accessKeyDetails.userName",
            "resource.accessKeyDetails.other",
            "requestParameters",
            "requestParameters.name",
            "requestParameters.enable",
            "requestParameters.activate",
            "requestParameters.action",
            "requestParameters.bucketName",
            "requestParameters.Workflow.Status",
            "requestParameters.workflow.status",
            "requestParameters.ipPermissions.items.0",
            "requestParameters.policyArn",
            "responseElements",
            "responseElements.ConsoleLogin",
            "additionalEventData.MFAUsed",
            "eventSource",
            "eventName",
            "awsRegion",
            "errorCode",
            "sourceIPAddress",
            "configRuleName",
            "newEvaluationResult.complianceType",
            "oldEvaluationResult.complianceType",
            "resourceType",
            "resourceId",
            "configurationItem.resourceType",
            "configurationItem.configuration",
            "configurationItem.configuration.ipPermissions.0.ipRanges",
            "configurationItem.configuration.isMultiRegionTrail",
            "configurationItem.tags",
        ];
        let mut compared = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            let Ok(event) = Event::from_json(&text) else {
                continue;
            };
            for path in paths {
                let segs: Vec<&str> = path.split('.').collect();
                if let Some(typed) = event.modelled_field(&segs) {
                    let raw = event.detail_field(&segs).filter(|v| !v.is_null());
                    assert_eq!(typed, raw, "{} {path}", file.display());
                    compared += 1;
                }
            }
        }
        assert!(
            files.len() > 50 && compared > 200,
            "{} files, {compared} compared",
            files.len()
        );
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
