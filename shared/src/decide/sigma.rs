//! Sigma rules (YAML) as a first-class input.
//!
//! Rules are parsed and evaluated by the `sigma-rust` engine; mamoru adds the scope (only
//! `logsource: product: aws, service: cloudtrail`), the checks that say why a rule cannot be
//! evaluated (never dropped silently), the rule's metadata for the alert (title, level, false
//! positives) and the CloudTrail calls a rule can match, from which `mamoru routes` derives the
//! EventBridge patterns. A CloudTrail event's `detail` is matched as the raw CloudTrail record
//! (`eventSource`, `userIdentity.arn`, `requestParameters.…`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_norway::Value as Yaml;
use wildmatch::WildMatch;

use super::severity::Band;

/// The prefix of a Sigma rule's id in `rule_ids`: `sigma:<the rule's id>`.
pub const ID_PREFIX: &str = "sigma:";

/// A Sigma rule file mamoru cannot evaluate, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: unsupported Sigma rule{}: {reason}", .id.as_ref().map(|i| format!(" `{i}`")).unwrap_or_default())]
pub struct Unsupported {
    pub file: String,
    /// The rule's id, when the file has one.
    pub id: Option<String>,
    pub reason: String,
}

/// The CloudTrail calls a Sigma rule can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// (eventSource, eventName) pairs; `*` for any source or name, a trailing `*` is a prefix.
    Calls(BTreeSet<(String, String)>),
    /// The rule selects on other fields only: only a route of every CloudTrail call reaches it.
    Broad,
}

/// One loaded Sigma rule.
#[derive(Debug, Clone)]
pub struct SigmaRule {
    /// The rule's own id (a UUID in SigmaHQ's rules), without the `sigma:` prefix.
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// The rule's `level`; `None` when it has none.
    pub level: Option<Band>,
    pub falsepositives: Vec<String>,
    /// The file it was read from.
    pub file: String,
    pub route: Route,
    /// The route's calls in lower case (the engine compares case-insensitively); `None` for a
    /// broad route.
    calls: Option<Vec<(String, String)>>,
    /// The top-level members of the record that the rule's selections read; `None` when a
    /// selection searches every value (keywords).
    keys: Option<BTreeSet<String>>,
    engine: Arc<sigma_rust::Rule>,
}

impl SigmaRule {
    /// Whether the rule matches the CloudTrail record.
    pub fn matches(&self, record: &sigma_rust::Event) -> bool {
        self.engine.is_match(record)
    }

    /// Whether the rule can match a call of this eventSource and eventName, by its route: the
    /// rules that cannot are not evaluated. The route covers every call the rule matches, so
    /// this never hides a match.
    ///
    /// `event_source` and `event_name` are in lower case ([`Call::lowered`]): the caller lowers
    /// them once per event rather than once per rule.
    pub fn may_match(&self, call: &Call) -> bool {
        let Some(calls) = &self.calls else {
            return true;
        };
        let (event_source, event_name) = (call.event_source.as_str(), call.event_name.as_str());
        let part = |pattern: &str, value: &str| {
            pattern == "*"
                || match pattern.strip_suffix('*') {
                    Some(stem) => value.starts_with(stem),
                    None => value == pattern,
                }
        };
        calls
            .iter()
            .any(|(s, n)| part(s, event_source) && part(n, event_name))
    }

    /// The top-level members of the record the rule reads; `None` when it searches every
    /// value (keywords).
    pub fn keys(&self) -> Option<&BTreeSet<String>> {
        self.keys.as_ref()
    }

    /// The id as it appears in `rule_ids`.
    pub fn rule_id(&self) -> String {
        format!("{ID_PREFIX}{}", self.id)
    }
}

/// A CloudTrail call's eventSource and eventName in lower case, as [`SigmaRule::may_match`]
/// compares them (the engine compares case-insensitively).
pub struct Call {
    event_source: String,
    event_name: String,
}

impl Call {
    pub fn lowered(event_source: &str, event_name: &str) -> Call {
        Call {
            event_source: event_source.to_lowercase(),
            event_name: event_name.to_lowercase(),
        }
    }
}

/// The top-level record members a set of rules reads: the union of their
/// [`SigmaRule`] keys, `None` (every member) when one of them searches keywords.
pub fn keys_of<'a>(rules: impl IntoIterator<Item = &'a SigmaRule>) -> Option<BTreeSet<String>> {
    let mut all = BTreeSet::new();
    for rule in rules {
        all.extend(rule.keys.as_ref()?.iter().cloned());
    }
    Some(all)
}

/// The top-level record members the detection's selections read: a field `a.b|mod` is looked
/// up by the engine as the member `a.b`, or nested under the member `a`, so both are kept.
/// `None` when a selection is a keyword search (a scalar or a list of scalars), which reads
/// every value.
fn keys_read(detection: &serde_norway::Mapping) -> Option<BTreeSet<String>> {
    fn add(field: &str, keys: &mut BTreeSet<String>) {
        keys.insert(field.to_string());
        if let Some((top, _)) = field.split_once('.') {
            keys.insert(top.to_string());
        }
    }
    fn fields(map: &serde_norway::Mapping, keys: &mut BTreeSet<String>) {
        for (key, value) in map {
            let Some(key) = key.as_str() else { continue };
            let mut parts = key.split('|');
            add(parts.next().unwrap_or(key), keys);
            // `|fieldref`: the values are the names of other fields, read too.
            if parts.any(|m| m == "fieldref") {
                match value {
                    Yaml::Sequence(names) => {
                        for name in names.iter().filter_map(Yaml::as_str) {
                            add(name, keys);
                        }
                    }
                    other => {
                        if let Some(name) = other.as_str() {
                            add(name, keys);
                        }
                    }
                }
            }
        }
    }
    let mut keys = BTreeSet::new();
    for (name, selection) in detection {
        if name.as_str() == Some("condition") {
            continue;
        }
        match selection {
            Yaml::Mapping(map) => fields(map, &mut keys),
            Yaml::Sequence(items) => {
                for item in items {
                    match item {
                        Yaml::Mapping(map) => fields(map, &mut keys),
                        _ => return None,
                    }
                }
            }
            _ => return None,
        }
    }
    Some(keys)
}

/// A CloudTrail record (an EventBridge `detail`) as the engine reads it. `None` when the detail
/// is not a JSON object. With `keys`, only those top-level members are copied: the rules to
/// be evaluated read no other ([`keys_of`]), and the copy is most of the cost.
///
/// Two normalisations make the engine read a record the way Sigma rules for CloudTrail are
/// written (see [`normalise_detection`] for the rule side): a member whose value is `null` is
/// the same as an absent one (`errorCode: null` selects successful calls), and booleans are
/// compared as text (`requestParameters.enable: 'false'` and `: false` both select
/// `"enable": false`).
pub fn record(
    detail: &serde_json::Value,
    keys: Option<&BTreeSet<String>>,
) -> Option<sigma_rust::Event> {
    let serde_json::Value::Object(members) = detail else {
        return None;
    };
    let kept = members
        .iter()
        .filter(|(k, v)| !v.is_null() && keys.is_none_or(|keys| keys.contains(k.as_str())))
        .map(|(k, v)| (k.clone(), normalise(v.clone())))
        .collect();
    sigma_rust::Event::try_from(serde_json::Value::Object(kept)).ok()
}

/// [`record`] of an event's detail, parsing only the members in `keys` from the event's text
/// (the others are skipped over unparsed). `None` when the detail is not a JSON object.
pub fn record_of(
    event: &crate::event::Event,
    keys: Option<&BTreeSet<String>>,
) -> Option<sigma_rust::Event> {
    let Some(keys) = keys else {
        return record(event.detail_value(), None);
    };
    let mut kept = serde_json::Map::new();
    for (name, raw) in event.detail_members()? {
        if !keys.contains(name.as_ref()) {
            continue;
        }
        // A later member of the same name replaces an earlier one, as in a parsed object.
        match serde_json::from_str::<serde_json::Value>(raw.get()) {
            Ok(v) if !v.is_null() => kept.insert(name.into_owned(), normalise(v)),
            _ => kept.remove(name.as_ref()),
        };
    }
    sigma_rust::Event::try_from(serde_json::Value::Object(kept)).ok()
}

/// The record side of the normalisations [`record`] describes, in place of a copy.
fn normalise(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Bool(b) => J::String(b.to_string()),
        J::Array(items) => J::Array(items.into_iter().map(normalise).collect()),
        J::Object(members) => J::Object(
            members
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, normalise(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The rule side of [`record`]'s normalisations: in the selections, a field compared with
/// `null` becomes `|exists: false`, and boolean values become text.
fn normalise_detection(detection: &mut serde_norway::Mapping) {
    fn value(v: &mut Yaml) {
        match v {
            Yaml::Bool(b) => *v = Yaml::String(b.to_string()),
            Yaml::Sequence(items) => items.iter_mut().for_each(value),
            Yaml::Mapping(m) => selection(m),
            _ => {}
        }
    }
    fn selection(fields: &mut serde_norway::Mapping) {
        let keys: Vec<Yaml> = fields.keys().cloned().collect();
        for key in keys {
            let Some(name) = key.as_str() else { continue };
            let exists = name
                .split('|')
                .skip(1)
                .any(|m| m.eq_ignore_ascii_case("exists"));
            if !name.contains('|') && fields.get(&key).is_some_and(Yaml::is_null) {
                fields.remove(&key);
                fields.insert(Yaml::String(format!("{name}|exists")), Yaml::Bool(false));
            } else if exists {
                // `|exists` takes a boolean: it says whether the field is there.
            } else if let Some(v) = fields.get_mut(&key) {
                value(v);
            }
        }
    }
    for (key, v) in detection.iter_mut() {
        if key.as_str() != Some("condition") {
            value(v);
        }
    }
}

fn unsupported(file: &str, id: Option<&str>, reason: impl Into<String>) -> Unsupported {
    Unsupported {
        file: file.to_string(),
        id: id.map(str::to_string),
        reason: reason.into(),
    }
}

fn level_band(level: &str) -> Option<Band> {
    match level {
        "informational" => Some(Band::Info),
        "low" => Some(Band::Low),
        "medium" => Some(Band::Medium),
        "high" => Some(Band::High),
        "critical" => Some(Band::Critical),
        _ => None,
    }
}

fn text_of<'a>(map: &'a serde_norway::Mapping, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Yaml::as_str)
}

/// Parses one Sigma rule file, or says why mamoru cannot evaluate it.
pub fn parse(file: &str, text: &str) -> Result<SigmaRule, Unsupported> {
    use serde::Deserialize as _;
    let mut documents = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        match Yaml::deserialize(doc) {
            Ok(v) => documents.push(v),
            Err(e) => return Err(unsupported(file, None, format!("not valid YAML: {e}"))),
        }
    }
    let doc = match documents.as_slice() {
        [one] => one,
        [] => return Err(unsupported(file, None, "the file is empty")),
        _ => {
            return Err(unsupported(
                file,
                None,
                format!(
                    "a rule collection ({} YAML documents): write one rule per file",
                    documents.len()
                ),
            ));
        }
    };
    let Some(map) = doc.as_mapping() else {
        return Err(unsupported(file, None, "not a YAML mapping"));
    };
    let id = text_of(map, "id");
    if map.contains_key("correlation") {
        return Err(unsupported(
            file,
            id,
            "a correlation rule: mamoru decides on one event at a time",
        ));
    }
    if map.contains_key("filter") && !map.contains_key("detection") {
        return Err(unsupported(
            file,
            id,
            "a Sigma filter (meta rule): write the exclusion into the rule itself",
        ));
    }
    let Some(id) = id else {
        return Err(unsupported(
            file,
            None,
            "no `id`: a match is named sigma:<id>, so the rule needs one",
        ));
    };
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(unsupported(
            file,
            Some(id),
            "bad `id`: use letters, digits, `-`, `_` and `.`",
        ));
    }
    let logsource = map.get("logsource").and_then(Yaml::as_mapping);
    let product = logsource.and_then(|l| text_of(l, "product"));
    let service = logsource.and_then(|l| text_of(l, "service"));
    if product != Some("aws") || service != Some("cloudtrail") {
        return Err(unsupported(
            file,
            Some(id),
            format!(
                "logsource product `{}` service `{}`: mamoru evaluates `product: aws, service: cloudtrail` rules only",
                product.unwrap_or("(none)"),
                service.unwrap_or("(none)")
            ),
        ));
    }
    if text_of(map, "status") == Some("unsupported") {
        return Err(unsupported(
            file,
            Some(id),
            "status `unsupported`: the rule says it cannot be used as it is",
        ));
    }
    let level = match map.get("level") {
        None => None,
        Some(l) => match l.as_str().and_then(level_band) {
            Some(b) => Some(b),
            None => {
                return Err(unsupported(
                    file,
                    Some(id),
                    format!("unknown level {l:?} (informational, low, medium, high or critical)"),
                ));
            }
        },
    };
    let Some(detection) = map.get("detection").and_then(Yaml::as_mapping) else {
        return Err(unsupported(file, Some(id), "no `detection` mapping"));
    };
    let detection = detection.clone();
    if detection.contains_key("timeframe") {
        return Err(unsupported(
            file,
            Some(id),
            "`timeframe` (an aggregation over time): mamoru decides on one event at a time",
        ));
    }
    let condition = detection.get("condition").and_then(Yaml::as_str);
    if condition.is_some_and(|c| c.contains('|')) {
        return Err(unsupported(
            file,
            Some(id),
            "an aggregation in the condition (`| count() …`): mamoru decides on one event at a time",
        ));
    }
    let mut normalised = doc.clone();
    if let Some(d) = normalised
        .as_mapping_mut()
        .and_then(|m| m.get_mut("detection"))
        .and_then(Yaml::as_mapping_mut)
    {
        normalise_detection(d);
    }
    let engine = serde_norway::from_value::<sigma_rust::Rule>(normalised).map_err(|e| {
        // The engine's errors name the modifier, selection or condition token at fault.
        let message = e.to_string();
        let message = message
            .strip_prefix("detection: ")
            .unwrap_or(&message)
            .to_string();
        unsupported(file, Some(id), message)
    })?;
    let route = condition
        .and_then(|c| route_of(&detection, c))
        .unwrap_or(Route::Broad);
    let calls = match &route {
        Route::Broad => None,
        Route::Calls(pairs) => Some(
            pairs
                .iter()
                .map(|(s, n)| (s.to_lowercase(), n.to_lowercase()))
                .collect(),
        ),
    };
    let keys = keys_read(&detection);
    Ok(SigmaRule {
        calls,
        keys,
        id: id.to_string(),
        title: engine.title.clone(),
        description: engine.description.clone(),
        level,
        falsepositives: engine.falsepositives.clone().unwrap_or_default(),
        file: file.to_string(),
        route,
        engine: Arc::new(engine),
    })
}

/// Sigma rule files named by the paths: files as given, directories searched (recursively) for
/// `*.yml` and `*.yaml`, in name order.
pub fn expand_paths(paths: &[impl AsRef<Path>], problems: &mut Vec<Unsupported>) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<Unsupported>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                problems.push(unsupported(
                    &dir.display().to_string(),
                    None,
                    format!("cannot read directory: {e}"),
                ));
                return;
            }
        };
        let mut found: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        found.sort();
        for p in found {
            if p.is_dir() {
                walk(&p, out, problems);
            } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for path in paths {
        let path = path.as_ref();
        if path.is_dir() {
            walk(path, &mut files, problems);
        } else {
            files.push(path.to_path_buf());
        }
    }
    files
}

// ---------------------------------------------------------------------------------------------
// The support matrix: each Sigma feature tried on the engine as mamoru loads it, with a record
// it must match and one it must not. Generated into docs/coverage.md, so it says what the code
// does, not what it was meant to do.

/// One Sigma feature and whether mamoru evaluates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    pub feature: &'static str,
    pub example: &'static str,
    /// `Err` says why not.
    pub result: Result<(), String>,
}

struct Probe {
    feature: &'static str,
    example: &'static str,
    /// The rule's `detection` (indented by four spaces), or a whole file when it starts with
    /// `title:`.
    rule: &'static str,
    matches: &'static str,
    differs: &'static str,
    /// Why not, when the engine loads the rule but does not match as Sigma means.
    otherwise: &'static str,
}

const PROBES: &[Probe] = &[
    Probe {
        feature: "plain value (case-insensitive)",
        example: "eventName: stoplogging",
        rule: "    s:\n        eventName: stoplogging\n    condition: s",
        matches: r#"{"eventName":"StopLogging"}"#,
        differs: r#"{"eventName":"StartLogging"}"#,
        otherwise: "",
    },
    Probe {
        feature: "list of values (any)",
        example: "eventName: [StopLogging, DeleteTrail]",
        rule: "    s:\n        eventName:\n            - StopLogging\n            - DeleteTrail\n    condition: s",
        matches: r#"{"eventName":"DeleteTrail"}"#,
        differs: r#"{"eventName":"UpdateTrail"}"#,
        otherwise: "",
    },
    Probe {
        feature: "wildcards `*` `?`",
        example: "eventName: 'Stop*ing'",
        rule: "    s:\n        eventName: 'Stop*ing'\n    condition: s",
        matches: r#"{"eventName":"StopLogging"}"#,
        differs: r#"{"eventName":"StopInstances"}"#,
        otherwise: "",
    },
    Probe {
        feature: "nested field (dotted name)",
        example: "userIdentity.type: Root",
        rule: "    s:\n        userIdentity.type: Root\n    condition: s",
        matches: r#"{"userIdentity":{"type":"Root"}}"#,
        differs: r#"{"userIdentity":{"type":"IAMUser"}}"#,
        otherwise: "",
    },
    Probe {
        feature: "`contains`",
        example: "userAgent|contains: aws-cli/",
        rule: "    s:\n        userAgent|contains: aws-cli/\n    condition: s",
        matches: r#"{"userAgent":"aws-cli/2.15.0 Python/3.11"}"#,
        differs: r#"{"userAgent":"console.amazonaws.com"}"#,
        otherwise: "",
    },
    Probe {
        feature: "`startswith`",
        example: "eventName|startswith: Delete",
        rule: "    s:\n        eventName|startswith: Delete\n    condition: s",
        matches: r#"{"eventName":"DeleteTrail"}"#,
        differs: r#"{"eventName":"UndeleteTrail"}"#,
        otherwise: "",
    },
    Probe {
        feature: "`endswith`",
        example: "userIdentity.arn|endswith: ':root'",
        rule: "    s:\n        userIdentity.arn|endswith: ':root'\n    condition: s",
        matches: r#"{"userIdentity":{"arn":"arn:aws:iam::123456789012:root"}}"#,
        differs: r#"{"userIdentity":{"arn":"arn:aws:iam::123456789012:user/root-admin"}}"#,
        otherwise: "",
    },
    Probe {
        feature: "`all`",
        example: "userAgent|contains|all: [stratus, red-team]",
        rule: "    s:\n        userAgent|contains|all:\n            - stratus\n            - red-team\n    condition: s",
        matches: r#"{"userAgent":"stratus-red-team_f3f1"}"#,
        differs: r#"{"userAgent":"stratus-cli"}"#,
        otherwise: "",
    },
    Probe {
        feature: "`re`",
        example: "userIdentity.arn|re: '.+:assumed-role/aws:.+'",
        rule: "    s:\n        userIdentity.arn|re: '.+:assumed-role/aws:.+'\n    condition: s",
        matches: r#"{"userIdentity":{"arn":"arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/i-0123"}}"#,
        differs: r#"{"userIdentity":{"arn":"arn:aws:sts::123456789012:assumed-role/admin/alice"}}"#,
        otherwise: "",
    },
    Probe {
        feature: "`cidr`",
        example: "sourceIPAddress|cidr: 203.0.113.0/24",
        rule: "    s:\n        sourceIPAddress|cidr: 203.0.113.0/24\n    condition: s",
        matches: r#"{"sourceIPAddress":"203.0.113.20"}"#,
        differs: r#"{"sourceIPAddress":"198.51.100.20"}"#,
        otherwise: "",
    },
    Probe {
        feature: "`exists`",
        example: "errorCode|exists: true",
        rule: "    s:\n        errorCode|exists: true\n    condition: s",
        matches: r#"{"errorCode":"AccessDenied"}"#,
        differs: r#"{"eventName":"StopLogging"}"#,
        otherwise: "",
    },
    Probe {
        feature: "`cased`",
        example: "eventName|cased: StopLogging",
        rule: "    s:\n        eventName|cased: StopLogging\n    condition: s",
        matches: r#"{"eventName":"StopLogging"}"#,
        differs: r#"{"eventName":"stoplogging"}"#,
        otherwise: "",
    },
    Probe {
        feature: "`gt`, `gte`, `lt`, `lte`",
        example: "requestParameters.maxResults|gte: 1000",
        rule: "    s:\n        requestParameters.maxResults|gte: 1000\n    condition: s",
        matches: r#"{"requestParameters":{"maxResults":1000}}"#,
        differs: r#"{"requestParameters":{"maxResults":50}}"#,
        otherwise: "",
    },
    Probe {
        feature: "`fieldref`",
        example: "userIdentity.userName|fieldref: requestParameters.userName",
        rule: "    s:\n        userIdentity.userName|fieldref: requestParameters.userName\n    condition: s",
        matches: r#"{"userIdentity":{"userName":"bob"},"requestParameters":{"userName":"bob"}}"#,
        differs: r#"{"userIdentity":{"userName":"bob"},"requestParameters":{"userName":"eve"}}"#,
        otherwise: "",
    },
    Probe {
        feature: "`base64offset`",
        example: "requestParameters.userData|base64offset|contains: curl",
        rule: "    s:\n        requestParameters.userData|base64offset|contains: curl\n    condition: s",
        matches: r#"{"requestParameters":{"userData":"IyEvYmluL3NoCmN1cmwgaHR0cDovL3g="}}"#,
        differs: r#"{"requestParameters":{"userData":"IyEvYmluL3NoCmVjaG8gaGk="}}"#,
        otherwise: "",
    },
    Probe {
        feature: "`null` (field absent)",
        example: "errorCode: null",
        rule: "    s:\n        eventName: StopLogging\n        errorCode: null\n    condition: s",
        matches: r#"{"eventName":"StopLogging"}"#,
        differs: r#"{"eventName":"StopLogging","errorCode":"AccessDenied"}"#,
        otherwise: "",
    },
    Probe {
        feature: "booleans as text",
        example: "requestParameters.enable: 'false'",
        rule: "    s:\n        requestParameters.enable: 'false'\n    condition: s",
        matches: r#"{"requestParameters":{"enable":false}}"#,
        differs: r#"{"requestParameters":{"enable":true}}"#,
        otherwise: "",
    },
    Probe {
        feature: "keywords (the whole value of any field; `*` for a part)",
        example: "keywords: ['stratus-red-team*']",
        rule: "    keywords:\n        - 'stratus-red-team*'\n    condition: keywords",
        matches: r#"{"userAgent":"stratus-red-team_f3f1"}"#,
        differs: r#"{"userAgent":"aws-cli/2"}"#,
        otherwise: "",
    },
    Probe {
        feature: "`and`, `or`, `not`, parentheses",
        example: "a and (b or c) and not d",
        rule: "    a:\n        eventSource: iam.amazonaws.com\n    b:\n        eventName: CreateUser\n    c:\n        eventName: CreateAccessKey\n    d:\n        userIdentity.type: AssumedRole\n    condition: a and (b or c) and not d",
        matches: r#"{"eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","userIdentity":{"type":"IAMUser"}}"#,
        differs: r#"{"eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","userIdentity":{"type":"AssumedRole"}}"#,
        otherwise: "",
    },
    Probe {
        feature: "`1 of`, `all of`, `them`",
        example: "all of sel_* and not 1 of filter_*",
        rule: "    sel_src:\n        eventSource: s3.amazonaws.com\n    sel_name:\n        eventName: PutBucketPolicy\n    filter_a:\n        userIdentity.type: AWSService\n    filter_b:\n        sourceIPAddress: AWS Internal\n    condition: all of sel_* and not 1 of filter_*",
        matches: r#"{"eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","userIdentity":{"type":"IAMUser"}}"#,
        differs: r#"{"eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","sourceIPAddress":"AWS Internal"}"#,
        otherwise: "",
    },
    Probe {
        feature: "values inside JSON lists",
        example: "resources.ARN: arn:aws:s3:::b",
        rule: "    s:\n        resources.ARN: 'arn:aws:s3:::b'\n    condition: s",
        matches: r#"{"resources":[{"ARN":"arn:aws:s3:::b"}]}"#,
        differs: r#"{"resources":[{"ARN":"arn:aws:s3:::c"}]}"#,
        otherwise: "the engine does not look into lists in the record (CloudTrail's `resources`, `ipPermissions.items`)",
    },
    Probe {
        feature: "a number written as text",
        example: "requestParameters.fromPort: '22'",
        rule: "    s:\n        requestParameters.fromPort: '22'\n    condition: s",
        matches: r#"{"requestParameters":{"fromPort":22}}"#,
        differs: r#"{"requestParameters":{"fromPort":23}}"#,
        otherwise: "the engine compares types strictly: write numbers as numbers (`fromPort: 22`)",
    },
    Probe {
        feature: "`expand` (placeholders)",
        example: "userIdentity.arn|expand: '%admins%'",
        rule: "    s:\n        userIdentity.arn|expand: '%admins%'\n    condition: s",
        matches: "{}",
        differs: "{}",
        otherwise: "",
    },
    Probe {
        feature: "aggregations",
        example: "selection | count() by userIdentity.arn > 20",
        rule: "    s:\n        eventName: GetSecretValue\n    condition: s | count() by userIdentity.arn > 20",
        matches: "{}",
        differs: "{}",
        otherwise: "",
    },
    Probe {
        feature: "`timeframe`",
        example: "timeframe: 5m",
        rule: "    s:\n        eventName: GetSecretValue\n    timeframe: 5m\n    condition: s",
        matches: "{}",
        differs: "{}",
        otherwise: "",
    },
    Probe {
        feature: "correlation rules",
        example: "correlation: {type: event_count, ...}",
        rule: "title: c\nid: probe\ncorrelation:\n    type: event_count\n    rules: [x]\n    timespan: 10m\n",
        matches: "{}",
        differs: "{}",
        otherwise: "",
    },
    Probe {
        feature: "other log sources",
        example: "logsource: {product: windows}",
        rule: "title: w\nid: probe\nlogsource:\n    product: windows\ndetection:\n    s:\n        EventID: 4688\n    condition: s\n",
        matches: "{}",
        differs: "{}",
        otherwise: "",
    },
];

/// What mamoru evaluates of Sigma, tried on the engine.
pub fn support_matrix() -> Vec<Support> {
    PROBES
        .iter()
        .map(|p| {
            let text = if p.rule.starts_with("title:") {
                p.rule.to_string()
            } else {
                format!(
                    "title: probe\nid: probe\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n{}\n",
                    p.rule
                )
            };
            let result = parse("probe.yml", &text)
                .map_err(|u| u.reason)
                .and_then(|rule| {
                    // The record as decide builds it: cut to the members the rule reads.
                    let keys = keys_of([&rule]);
                    let read = |json: &str| {
                        serde_json::from_str::<serde_json::Value>(json)
                            .ok()
                            .as_ref()
                            .and_then(|d| record(d, keys.as_ref()))
                    };
                    let hit = read(p.matches).is_some_and(|r| rule.matches(&r));
                    let miss = read(p.differs).is_some_and(|r| !rule.matches(&r));
                    if hit && miss {
                        Ok(())
                    } else if p.otherwise.is_empty() {
                        Err("the engine does not match as the rule means".to_string())
                    } else {
                        Err(p.otherwise.to_string())
                    }
                });
            Support {
                feature: p.feature,
                example: p.example,
                result,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Routes: which CloudTrail calls a rule can match, over-approximated from its detection.
//
// Each selection gives a set of "boxes" (eventSource set x eventName set, `None` for any); a
// condition combines them: `or` and `1 of` unite, `and` and `all of` intersect (keeping the
// smaller side where patterns make the exact intersection unknown, which still covers it), and
// `not` gives any call. Whatever cannot be read gives any call: a route may be broader than the
// rule, never narrower.

#[derive(Debug, Clone, PartialEq)]
struct CallBox {
    sources: Option<BTreeSet<String>>,
    names: Option<BTreeSet<String>>,
}

impl CallBox {
    fn any() -> CallBox {
        CallBox {
            sources: None,
            names: None,
        }
    }
}

type Boxes = Vec<CallBox>;

fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?', '\\'])
}

/// The values a field condition allows, as route entries; `None` when any value may match.
fn field_values(modifiers: &[String], value: &Yaml) -> Option<BTreeSet<String>> {
    let prefix = match modifiers {
        [] => false,
        [m] if m == "cased" => false,
        [m] if m == "startswith" => true,
        [a, b] if (a == "startswith" && b == "cased") || (a == "cased" && b == "startswith") => {
            true
        }
        _ => return None,
    };
    let values: Vec<&str> = match value {
        Yaml::String(s) => vec![s.as_str()],
        Yaml::Sequence(items) => items.iter().map(Yaml::as_str).collect::<Option<_>>()?,
        _ => return None,
    };
    let mut out = BTreeSet::new();
    for v in values {
        if v.is_empty() {
            return None;
        }
        // A trailing `*` alone is a prefix, as in the rules' own patterns; other wildcards or
        // escapes cannot be routed on.
        let (stem, star) = match v.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (v, false),
        };
        if stem.is_empty() || is_pattern(stem) {
            return None;
        }
        out.insert(if prefix || star {
            format!("{stem}*")
        } else {
            stem.to_string()
        });
    }
    Some(out)
}

fn intersect_sets(
    a: &Option<BTreeSet<String>>,
    b: &Option<BTreeSet<String>>,
) -> Option<BTreeSet<String>> {
    match (a, b) {
        (None, x) | (x, None) => x.clone(),
        (Some(a), Some(b)) => {
            if a.iter().chain(b.iter()).any(|s| s.ends_with('*')) {
                // Either side covers the intersection: keep the smaller one.
                Some(if a.len() <= b.len() {
                    a.clone()
                } else {
                    b.clone()
                })
            } else {
                Some(a.intersection(b).cloned().collect())
            }
        }
    }
}

fn intersect(a: &[CallBox], b: &[CallBox]) -> Boxes {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let sources = intersect_sets(&x.sources, &y.sources);
            let names = intersect_sets(&x.names, &y.names);
            // An empty set: no call satisfies both.
            if sources.as_ref().is_some_and(BTreeSet::is_empty)
                || names.as_ref().is_some_and(BTreeSet::is_empty)
            {
                continue;
            }
            let b = CallBox { sources, names };
            if !out.contains(&b) {
                out.push(b);
            }
        }
    }
    out
}

fn selection_boxes(selection: &Yaml) -> Boxes {
    match selection {
        Yaml::Mapping(fields) => {
            let mut one = vec![CallBox::any()];
            for (key, value) in fields {
                let Some(key) = key.as_str() else { continue };
                let mut parts = key.split('|');
                let field = parts.next().unwrap_or_default();
                let modifiers: Vec<String> = parts.map(str::to_ascii_lowercase).collect();
                let constraint = match field {
                    "eventSource" => CallBox {
                        sources: field_values(&modifiers, value),
                        names: None,
                    },
                    "eventName" => CallBox {
                        sources: None,
                        names: field_values(&modifiers, value),
                    },
                    _ => continue,
                };
                one = intersect(&one, &[constraint]);
            }
            one
        }
        // A list of mappings: any one of them.
        Yaml::Sequence(items) if items.iter().all(Yaml::is_mapping) && !items.is_empty() => {
            items.iter().flat_map(selection_boxes).collect()
        }
        // Keywords, or anything else: any call.
        _ => vec![CallBox::any()],
    }
}

struct ConditionParser<'a> {
    tokens: Vec<String>,
    pos: usize,
    selections: &'a BTreeMap<String, Boxes>,
}

impl ConditionParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.eq_ignore_ascii_case(word))
    }

    fn expr(&mut self) -> Option<Boxes> {
        let mut out = self.term()?;
        while self.keyword("or") {
            self.next();
            let rhs = self.term()?;
            for b in rhs {
                if !out.contains(&b) {
                    out.push(b);
                }
            }
        }
        Some(out)
    }

    fn term(&mut self) -> Option<Boxes> {
        let mut out = self.factor()?;
        while self.keyword("and") {
            self.next();
            let rhs = self.factor()?;
            out = intersect(&out, &rhs);
        }
        Some(out)
    }

    fn factor(&mut self) -> Option<Boxes> {
        let token = self.next()?;
        let lower = token.to_ascii_lowercase();
        match lower.as_str() {
            "not" => {
                // Whatever it negates, the negation can hold for any call.
                self.factor()?;
                Some(vec![CallBox::any()])
            }
            "(" => {
                let inner = self.expr()?;
                (self.next()? == ")").then_some(inner)
            }
            "1" | "any" | "all" => {
                if !self.keyword("of") {
                    return None;
                }
                self.next();
                let target = self.next()?;
                let all = lower == "all";
                let members: Vec<&Boxes> = if target.eq_ignore_ascii_case("them") {
                    self.selections
                        .iter()
                        // `all of them` counts on the named selections only.
                        .filter(|(name, _)| !(all && name.starts_with('_')))
                        .map(|(_, b)| b)
                        .collect()
                } else {
                    let pattern = WildMatch::new(&target);
                    self.selections
                        .iter()
                        .filter(|(name, _)| pattern.matches(name))
                        .map(|(_, b)| b)
                        .collect()
                };
                if members.is_empty() {
                    return None;
                }
                let mut out = members[0].clone();
                for m in &members[1..] {
                    if all {
                        out = intersect(&out, m);
                    } else {
                        for b in m.iter() {
                            if !out.contains(b) {
                                out.push(b.clone());
                            }
                        }
                    }
                }
                Some(out)
            }
            ")" | "and" | "or" | "of" => None,
            _ => self.selections.get(&token).cloned(),
        }
    }
}

fn tokenize(condition: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in condition.chars() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

/// The calls a rule with this detection can match; `None` when the condition cannot be read.
fn route_of(detection: &serde_norway::Mapping, condition: &str) -> Option<Route> {
    let selections: BTreeMap<String, Boxes> = detection
        .iter()
        .filter_map(|(k, v)| {
            let k = k.as_str()?;
            (k != "condition").then(|| (k.to_string(), selection_boxes(v)))
        })
        .collect();
    let mut parser = ConditionParser {
        tokens: tokenize(condition),
        pos: 0,
        selections: &selections,
    };
    let boxes = parser.expr()?;
    if parser.pos != parser.tokens.len() {
        return None;
    }
    let mut calls = BTreeSet::new();
    for b in boxes {
        match (b.sources, b.names) {
            (None, None) => return Some(Route::Broad),
            (sources, names) => {
                let sources = sources.unwrap_or_else(|| BTreeSet::from(["*".to_string()]));
                let names = names.unwrap_or_else(|| BTreeSet::from(["*".to_string()]));
                for s in &sources {
                    for n in &names {
                        calls.insert((s.clone(), n.clone()));
                    }
                }
            }
        }
    }
    Some(Route::Calls(calls))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn rule(detection: &str) -> String {
        format!(
            "title: t\nid: 0a1b2c3d-test\nlevel: high\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n{detection}\nfalsepositives:\n  - Administrators\n"
        )
    }

    fn calls(detection: &str) -> Route {
        parse("t.yml", &rule(detection)).unwrap().route
    }

    fn pairs(list: &[(&str, &str)]) -> Route {
        Route::Calls(
            list.iter()
                .map(|(s, n)| (s.to_string(), n.to_string()))
                .collect(),
        )
    }

    #[test]
    fn the_support_matrix_is_what_the_engine_does() {
        let m = support_matrix();
        let get = |f: &str| m.iter().find(|s| s.feature == f).unwrap().result.clone();
        for f in [
            "`contains`",
            "`startswith`",
            "`endswith`",
            "`all`",
            "`re`",
            "list of values (any)",
            "`and`, `or`, `not`, parentheses",
            "`1 of`, `all of`, `them`",
            "`null` (field absent)",
            "booleans as text",
        ] {
            assert_eq!(get(f), Ok(()), "{f}");
        }
        assert!(
            get("`expand` (placeholders)")
                .unwrap_err()
                .contains("expand")
        );
        assert!(
            get("correlation rules")
                .unwrap_err()
                .contains("correlation")
        );
        assert!(
            get("values inside JSON lists")
                .unwrap_err()
                .contains("lists")
        );
    }

    #[test]
    fn the_record_keeps_what_the_rule_reads() {
        let fields = parse(
            "f.yml",
            &rule("  sel:\n    eventName|startswith: Delete\n    userIdentity.arn|re: '.*:root'\n  other:\n    - requestParameters.bucketName: b\n  condition: sel and not other"),
        )
        .unwrap();
        let keys = keys_of([&fields]).unwrap();
        let want = [
            "eventName",
            "requestParameters",
            "requestParameters.bucketName",
            "userIdentity",
            "userIdentity.arn",
        ];
        assert_eq!(keys.iter().map(String::as_str).collect::<Vec<_>>(), want);
        let detail = serde_json::json!({
            "eventName": "DeleteTrail",
            "userIdentity": {"arn": "arn:aws:iam::111122223333:root"},
            "sourceIPAddress": "192.0.2.1",
            "requestParameters": {"bucketName": "c"}
        });
        let cut = record(&detail, Some(&keys)).unwrap();
        assert!(cut.get("sourceIPAddress").is_none());
        assert!(cut.get("userIdentity.arn").is_some());
        assert!(fields.matches(&cut));
        // `|fieldref` reads the field it names as well.
        let refs = parse(
            "r.yml",
            &rule("  s:\n    userIdentity.userName|fieldref: requestParameters.userName\n  condition: s"),
        )
        .unwrap();
        let keys = keys_of([&refs]).unwrap();
        assert!(
            keys.contains("requestParameters") && keys.contains("userIdentity"),
            "{keys:?}"
        );
        let same = serde_json::json!({
            "userIdentity": {"userName": "alice"},
            "eventName": "CreateAccessKey",
            "requestParameters": {"userName": "alice"}
        });
        assert!(refs.matches(&record(&same, Some(&keys)).unwrap()));
        // A keyword search reads every value: nothing is cut.
        let words = parse(
            "k.yml",
            &rule("  keywords:\n    - StopLogging\n  condition: keywords"),
        )
        .unwrap();
        assert!(keys_of([&fields, &words]).is_none());
    }

    #[test]
    fn metadata_is_read() {
        let r = parse(
            "t.yml",
            &rule("  sel:\n    eventName: StopLogging\n  condition: sel"),
        )
        .unwrap();
        assert_eq!(r.id, "0a1b2c3d-test");
        assert_eq!(r.rule_id(), "sigma:0a1b2c3d-test");
        assert_eq!(r.title, "t");
        assert_eq!(r.level, Some(Band::High));
        assert_eq!(r.falsepositives, vec!["Administrators".to_string()]);
    }

    #[test]
    fn routes_follow_the_condition() {
        assert_eq!(
            calls(
                "  sel:\n    eventSource: cloudtrail.amazonaws.com\n    eventName:\n      - StopLogging\n      - DeleteTrail\n  condition: sel"
            ),
            pairs(&[
                ("cloudtrail.amazonaws.com", "DeleteTrail"),
                ("cloudtrail.amazonaws.com", "StopLogging")
            ])
        );
        // `and not` keeps the positive side; `startswith` is a prefix.
        assert_eq!(
            calls(
                "  sel:\n    eventSource: iam.amazonaws.com\n    eventName|startswith: Delete\n  filter:\n    userIdentity.type: Root\n  condition: sel and not filter"
            ),
            pairs(&[("iam.amazonaws.com", "Delete*")])
        );
        // `1 of` unites, `all of` intersects.
        assert_eq!(
            calls(
                "  sel_a:\n    eventName: A\n  sel_b:\n    eventName: B\n  condition: 1 of sel_*"
            ),
            pairs(&[("*", "A"), ("*", "B")])
        );
        assert_eq!(
            calls(
                "  sel_src:\n    eventSource: s3.amazonaws.com\n  sel_name:\n    eventName:\n      - PutBucketAcl\n      - PutBucketPolicy\n  condition: all of sel_*"
            ),
            pairs(&[
                ("s3.amazonaws.com", "PutBucketAcl"),
                ("s3.amazonaws.com", "PutBucketPolicy")
            ])
        );
        // Fields only, `or` with a field-only selection, or `not` alone: a broad route.
        assert_eq!(
            calls("  sel:\n    userIdentity.type: Root\n  condition: sel"),
            Route::Broad
        );
        assert_eq!(
            calls(
                "  a:\n    eventName: A\n  b:\n    sourceIPAddress: 203.0.113.5\n  condition: a or b"
            ),
            Route::Broad
        );
        assert_eq!(
            calls("  a:\n    eventName: A\n  condition: not a"),
            Route::Broad
        );
        // `contains` on the name cannot be routed on: the source alone is the route.
        assert_eq!(
            calls(
                "  a:\n    eventSource: ec2.amazonaws.com\n    eventName|contains: Snapshot\n  condition: a"
            ),
            pairs(&[("ec2.amazonaws.com", "*")])
        );
        // A list of mappings is any one of them; parentheses group.
        assert_eq!(
            calls(
                "  a:\n    - eventName: A\n    - eventName: B\n  f:\n    eventSource: x.amazonaws.com\n  condition: (a) and f"
            ),
            pairs(&[("x.amazonaws.com", "A"), ("x.amazonaws.com", "B")])
        );
        // Contradictory exact names leave nothing to route for that branch.
        assert_eq!(
            calls(
                "  a:\n    eventName: A\n  b:\n    eventName: B\n  c:\n    eventName: C\n  condition: (a and b) or c"
            ),
            pairs(&[("*", "C")])
        );
    }

    #[test]
    fn unsupported_rules_say_why() {
        let why = |text: &str| parse("x.yml", text).unwrap_err().reason;
        assert!(
            why("title: t\nid: c1\ncorrelation:\n  type: event_count\n")
                .contains("correlation rule")
        );
        assert!(
            why("title: t\nid: a1\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 1\n  condition: sel\n")
                .contains("logsource product `windows`")
        );
        assert!(
            why(&rule(
                "  sel:\n    eventName|expand: '%x%'\n  condition: sel"
            ))
            .contains("expand")
        );
        assert!(
            why(&rule(
                "  sel:\n    eventName: A\n  condition: sel | count() > 5"
            ))
            .contains("aggregation")
        );
        assert!(
            why(&rule(
                "  sel:\n    eventName: A\n  timeframe: 5m\n  condition: sel"
            ))
            .contains("timeframe")
        );
        assert!(why(&rule("  sel:\n    eventName: A\n  condition: other")).contains("undefined"));
        assert!(why("title: t\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    eventName: A\n  condition: sel\n").contains("no `id`"));
        assert!(
            why(&format!(
                "{}---\n{}",
                rule("  s:\n    eventName: A\n  condition: s"),
                rule("  s:\n    eventName: B\n  condition: s")
            ))
            .contains("2 YAML documents")
        );
        let e = parse(
            "dir/x.yml",
            &rule("  sel:\n    eventName|re: '('\n  condition: sel"),
        )
        .unwrap_err();
        assert_eq!(e.file, "dir/x.yml");
        assert_eq!(e.id.as_deref(), Some("0a1b2c3d-test"));
        assert!(
            e.to_string()
                .starts_with("dir/x.yml: unsupported Sigma rule `0a1b2c3d-test`: "),
            "{e}"
        );
    }

    #[test]
    fn the_detail_is_matched_as_the_raw_record() {
        let r = parse(
            "t.yml",
            &rule("  sel:\n    eventSource: cloudtrail.amazonaws.com\n    userIdentity.arn|endswith: ':user/alice'\n    requestParameters.name|startswith: org-\n  condition: sel"),
        )
        .unwrap();
        let detail = serde_json::json!({
            "eventSource": "cloudtrail.amazonaws.com",
            "userIdentity": {"arn": "arn:aws:iam::111122223333:user/Alice"},
            "requestParameters": {"name": "org-trail"}
        });
        assert!(r.matches(&record(&detail, None).unwrap()));
        let other = serde_json::json!({
            "eventSource": "cloudtrail.amazonaws.com",
            "userIdentity": {"arn": "arn:aws:iam::111122223333:user/bob"},
            "requestParameters": {"name": "org-trail"}
        });
        assert!(!r.matches(&record(&other, None).unwrap()));
        assert!(record(&serde_json::json!([1]), None).is_none());
    }

    #[test]
    fn null_is_absent_and_booleans_are_text() {
        let r = parse(
            "t.yml",
            &rule("  sel:\n    eventName: UpdateDetector\n    errorCode: null\n    requestParameters.enable: 'false'\n  sel2:\n    eventName: UpdateDetector\n    requestParameters.enable: false\n  condition: sel and sel2"),
        )
        .unwrap();
        let ok = serde_json::json!({"eventName": "UpdateDetector", "requestParameters": {"enable": false}});
        let explicit_null = serde_json::json!({"eventName": "UpdateDetector", "errorCode": null, "requestParameters": {"enable": false}});
        let failed = serde_json::json!({"eventName": "UpdateDetector", "errorCode": "AccessDenied", "requestParameters": {"enable": false}});
        let enabled = serde_json::json!({"eventName": "UpdateDetector", "requestParameters": {"enable": true}});
        assert!(r.matches(&record(&ok, None).unwrap()));
        assert!(r.matches(&record(&explicit_null, None).unwrap()));
        assert!(!r.matches(&record(&failed, None).unwrap()));
        assert!(!r.matches(&record(&enabled, None).unwrap()));

        // `|exists` keeps its boolean.
        let r = parse(
            "t.yml",
            &rule("  sel:\n    eventName: UpdateDetector\n  failed:\n    errorCode|exists: true\n  condition: sel and not failed"),
        )
        .unwrap();
        assert!(r.matches(&record(&ok, None).unwrap()));
        assert!(!r.matches(&record(&failed, None).unwrap()));
    }
}
