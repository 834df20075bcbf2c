//! Sigma rules (YAML) as a first-class input.
//!
//! Rules are parsed and evaluated by the `sigma-rust` engine; mamoru adds the scope (only
//! `logsource: product: aws, service: cloudtrail`), the checks that say why a rule cannot be
//! evaluated (never dropped silently), the rule's metadata for the alert (title, level, false
//! positives) and the CloudTrail calls a rule can match, from which `mamoru routes` derives the
//! EventBridge patterns. A CloudTrail event's `detail` is matched as the raw CloudTrail record
//! (`eventSource`, `userIdentity.arn`, `requestParameters.…`).

use std::collections::{BTreeMap, BTreeSet};
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
    /// The fields the rule's selections read, as written; `None` as for `keys`.
    fields: Option<Vec<String>>,
    /// What the rule requires of text fields; `None` when nothing is known.
    guard: Option<Guard>,
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

    /// The route's calls, in lower case, when every one is an exact (eventSource, eventName)
    /// pair: the rule can then be found by the call, without holding each pattern against it.
    pub(crate) fn exact_calls(&self) -> Option<&[(String, String)]> {
        let calls = self.calls.as_deref()?;
        calls
            .iter()
            .all(|(s, n)| !s.ends_with('*') && !n.ends_with('*'))
            .then_some(calls)
    }

    /// Whether the event's fields pass the rule's guard (see "Guards" below): the rules that
    /// do not are not evaluated. The guard covers every event the rule matches.
    pub fn may_match_fields(&self, probe: &mut FieldProbe<'_>) -> bool {
        self.guard.as_ref().is_none_or(|g| g.holds(probe))
    }

    /// The top-level members of the record the rule reads; `None` when it searches every
    /// value (keywords).
    pub fn keys(&self) -> Option<&BTreeSet<String>> {
        self.keys.as_ref()
    }

    /// The fields the rule reads, as written (`userIdentity.arn`); `None` when it searches
    /// every value (keywords).
    pub fn fields(&self) -> Option<&[String]> {
        self.fields.as_deref()
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
    /// The eventSource and eventName, in lower case.
    pub(crate) fn parts(&self) -> (&str, &str) {
        (&self.event_source, &self.event_name)
    }

    pub fn lowered(event_source: &str, event_name: &str) -> Call {
        Call {
            event_source: lowered(event_source),
            event_name: lowered(event_name),
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
    let fields = fields_read(detection)?;
    let mut keys = BTreeSet::new();
    for field in fields {
        if let Some((top, _)) = field.split_once('.') {
            keys.insert(top.to_string());
        }
        keys.insert(field);
    }
    Some(keys)
}

/// The fields the detection's selections read, as written (`userIdentity.arn`); `None` when a
/// selection is a keyword search.
fn fields_read(detection: &serde_norway::Mapping) -> Option<BTreeSet<String>> {
    fn add(field: &str, keys: &mut BTreeSet<String>) {
        keys.insert(field.to_string());
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
    let kept = record_members(detail, keys)?;
    sigma_rust::Event::try_from(serde_json::Value::Object(kept)).ok()
}

/// The members of [`record`], normalised, before the engine's conversion.
fn record_members(
    detail: &serde_json::Value,
    keys: Option<&BTreeSet<String>>,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let serde_json::Value::Object(members) = detail else {
        return None;
    };
    Some(
        members
            .iter()
            .filter(|(k, v)| !v.is_null() && keys.is_none_or(|keys| keys.contains(k.as_str())))
            .map(|(k, v)| (k.clone(), normalise(v.clone())))
            .collect(),
    )
}

/// The record of the detail's members (already scanned, [`FieldProbe::members`]) that holds
/// what reading `fields` needs (see [`Normalised`]) and nothing else: the engine matches it as
/// it matches the whole record. Every member when `fields` is `None` (keywords).
pub fn record_of_fields(
    members: &crate::event::Members<'_>,
    fields: Option<&[&str]>,
) -> Option<sigma_rust::Event> {
    let kept = match fields {
        Some(fields) => pruned_record_members(members, fields),
        None => raw_record_members(members, |_| true),
    };
    sigma_rust::Event::try_from(serde_json::Value::Object(kept)).ok()
}

/// What reading `fields` needs of a member named `name`: all of it (`Some(None)`), some of the
/// members below it (`Some(Some(those fields))`), or nothing (`None`). The engine reads a field
/// `a.b.c` as the member `a.b.c`, else below the member `a` as `b.c`, and so on; an object is
/// the only value it looks below.
fn need<'f>(fields: &[&'f str], name: &str) -> Option<Option<Vec<&'f str>>> {
    // The engine splits a field at its first dot only: a name with a dot is never a head.
    let head = !name.contains('.');
    let mut below = Vec::new();
    for field in fields {
        let Some(rest) = field.strip_prefix(name) else {
            continue;
        };
        if rest.is_empty() {
            return Some(None);
        }
        if let Some(tail) = rest.strip_prefix('.')
            && head
        {
            below.push(tail);
        }
    }
    (!below.is_empty()).then_some(Some(below))
}

/// The members of [`record_of_fields`].
fn pruned_record_members(
    members: &crate::event::Members<'_>,
    fields: &[&str],
) -> serde_json::Map<String, serde_json::Value> {
    kept_members(members, |name| need(fields, name))
}

/// Every member `wanted` accepts, parsed and normalised in one pass over their text.
fn raw_record_members(
    members: &crate::event::Members<'_>,
    wanted: impl Fn(&str) -> bool,
) -> serde_json::Map<String, serde_json::Value> {
    kept_members(members, |name| wanted(name).then_some(None))
}

/// The members `need` keeps ([`need`]'s answer for each name), parsed and normalised in one
/// pass over their text. A later member of the same name replaces an earlier one, and a null
/// one removes it, as in a parsed object.
fn kept_members<'f>(
    members: &crate::event::Members<'_>,
    need: impl Fn(&str) -> Option<Option<Vec<&'f str>>>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut kept = serde_json::Map::new();
    for (name, raw) in members {
        let Some(below) = need(name) else {
            continue;
        };
        let seed = Normalised {
            below: below.as_deref(),
        };
        let mut de = serde_json::Deserializer::from_str(raw);
        match serde::de::DeserializeSeed::deserialize(seed, &mut de) {
            Ok(v) if !v.is_null() => kept.insert(name.to_string(), v),
            _ => kept.remove(name.as_ref()),
        };
    }
    kept
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

/// A JSON value parsed with [`normalise`] applied on the way, so that the record is built
/// without a second pass over a copy. With `below`, an object keeps only what reading those
/// fields needs of it ([`need`]); the rest is skipped over unparsed.
struct Normalised<'f> {
    below: Option<&'f [&'f str]>,
}

const WHOLE: Normalised<'static> = Normalised { below: None };

impl<'de> serde::de::DeserializeSeed<'de> for Normalised<'_> {
    type Value = serde_json::Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Normalised<'_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(serde_json::Value::String(b.to_string()))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(n.into())
    }
    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(n.into())
    }
    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        // As serde_json's own value: a number it cannot hold is null.
        Ok(serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(serde_json::Value::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(serde_json::Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        // The engine does not look below a list: its items are kept whole.
        while let Some(v) = seq.next_element_seed(WHOLE)? {
            items.push(v);
        }
        Ok(serde_json::Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let value = match self.below {
                None => map.next_value_seed(WHOLE)?,
                Some(fields) => match need(fields, &k) {
                    None => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        continue;
                    }
                    Some(None) => map.next_value_seed(WHOLE)?,
                    Some(Some(below)) => map.next_value_seed(Normalised {
                        below: Some(&below),
                    })?,
                },
            };
            // A null member is absent; a later member of the same name replaces an earlier.
            match value {
                serde_json::Value::Null => members.remove(&k),
                v => members.insert(k, v),
            };
        }
        Ok(serde_json::Value::Object(members))
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
                .map(|(s, n)| (lowered(s), lowered(n)))
                .collect(),
        ),
    };
    let keys = keys_read(&detection);
    let fields = fields_read(&detection).map(|f| f.into_iter().collect());
    let guard = condition.and_then(|c| guard_of(&detection, c));
    Ok(SigmaRule {
        calls,
        keys,
        fields,
        guard,
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

/// What a condition is approximated by: call boxes for routes ([`Boxes`]), field tests for
/// guards ([`Guard`]). Both over-approximate: `any` is what nothing is known of.
trait Approx: Clone + PartialEq {
    /// Anything may match.
    fn any() -> Self;
    /// Both hold.
    fn and(&self, other: &Self) -> Self;
    /// Either holds.
    fn or(self, other: Self) -> Self;
}

impl Approx for Boxes {
    fn any() -> Self {
        vec![CallBox::any()]
    }
    fn and(&self, other: &Self) -> Self {
        intersect(self, other)
    }
    fn or(mut self, other: Self) -> Self {
        for b in other {
            if !self.contains(&b) {
                self.push(b);
            }
        }
        self
    }
}

/// The condition grammar (`and`, `or`, `not`, parentheses, `1 of`/`any of`/`all of` a pattern
/// or `them`), evaluated over an approximation of each selection.
struct ConditionParser<'a, T> {
    tokens: Vec<String>,
    pos: usize,
    selections: &'a BTreeMap<String, T>,
}

impl<T: Approx> ConditionParser<'_, T> {
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

    /// The whole condition; `None` when it cannot be read.
    fn read(mut self) -> Option<T> {
        let out = self.expr()?;
        (self.pos == self.tokens.len()).then_some(out)
    }

    fn expr(&mut self) -> Option<T> {
        let mut out = self.term()?;
        while self.keyword("or") {
            self.next();
            out = out.or(self.term()?);
        }
        Some(out)
    }

    fn term(&mut self) -> Option<T> {
        let mut out = self.factor()?;
        while self.keyword("and") {
            self.next();
            let rhs = self.factor()?;
            out = out.and(&rhs);
        }
        Some(out)
    }

    fn factor(&mut self) -> Option<T> {
        let token = self.next()?;
        let lower = token.to_ascii_lowercase();
        match lower.as_str() {
            "not" => {
                // Whatever it negates, the negation can hold for any call.
                self.factor()?;
                Some(T::any())
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
                let members: Vec<&T> = if target.eq_ignore_ascii_case("them") {
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
                let (first, rest) = members.split_first()?;
                let mut out = (*first).clone();
                for m in rest {
                    out = if all {
                        out.and(m)
                    } else {
                        out.or((*m).clone())
                    };
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
    let boxes = ConditionParser {
        tokens: tokenize(condition),
        pos: 0,
        selections: &selections,
    }
    .read()?;
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

// ---------------------------------------------------------------------------------------------
// Guards: the field values a rule needs, checked before the engine runs.
//
// A rule that selects on other fields than eventSource and eventName (`userIdentity.type: Root`,
// `userAgent|contains: …`) has a broad route: every call reaches it. Its guard is what its
// selections require of plain text fields (equal to, starting with, ending with, containing one
// or all of some literals), combined by the condition as routes are. An event whose fields fail
// the guard cannot match, so the engine is not run (nor the record built when no rule is left).
// The guard over-approximates the engine: a modifier it does not model (`re`, `cidr`, `exists`,
// `base64`, `fieldref`, …), a wildcard, a non-text value, a negation or a field that is not text
// in the event passes; only an absent field or a text value that cannot match fails, exactly
// as the engine compares (case-insensitively, character by character).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Equals,
    StartsWith,
    EndsWith,
    Contains,
}

/// One field condition of a selection, with its literals in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldTest {
    field: String,
    compare: Compare,
    /// Every literal must match (`|all`), else one.
    all: bool,
    values: Vec<String>,
}

/// Any of these conjunctions of field tests may hold; one empty conjunction is "anything".
#[derive(Debug, Clone, PartialEq, Eq)]
struct Guard(Vec<Vec<FieldTest>>);

/// Past this many alternatives a guard says "anything" rather than grow.
const GUARD_ALTERNATIVES: usize = 32;

impl Guard {
    fn is_any(&self) -> bool {
        self.0.iter().any(Vec::is_empty)
    }
}

impl Approx for Guard {
    fn any() -> Self {
        Guard(vec![Vec::new()])
    }
    fn and(&self, other: &Self) -> Self {
        if self.0.len() * other.0.len() > GUARD_ALTERNATIVES {
            return Guard::any();
        }
        let mut out = Vec::new();
        for a in &self.0 {
            for b in &other.0 {
                let mut both = a.clone();
                both.extend(b.iter().filter(|t| !a.contains(t)).cloned());
                if !out.contains(&both) {
                    out.push(both);
                }
            }
        }
        Guard(out)
    }
    fn or(mut self, other: Self) -> Self {
        if self.is_any() || other.is_any() || self.0.len() + other.0.len() > GUARD_ALTERNATIVES {
            return Guard::any();
        }
        for c in other.0 {
            if !self.0.contains(&c) {
                self.0.push(c);
            }
        }
        self
    }
}

/// Lower case as the engine's comparisons make it: character by character (routes, calls and
/// guards all use it, so a prefilter never lowers differently from the engine).
fn lowered(s: &str) -> String {
    if s.is_ascii() {
        // The same, character by character, and much faster.
        s.to_ascii_lowercase()
    } else {
        s.chars().flat_map(char::to_lowercase).collect()
    }
}

/// The test a field condition makes of the record; `None` when the guard cannot model it.
fn field_test(key: &str, value: &Yaml) -> Option<FieldTest> {
    let mut parts = key.split('|');
    let field = parts.next()?;
    let mut compare = Compare::Equals;
    let mut all = false;
    for modifier in parts {
        match modifier.to_ascii_lowercase().as_str() {
            // A case-sensitive match is also a case-insensitive one.
            "cased" => {}
            "all" => all = true,
            "startswith" if compare == Compare::Equals => compare = Compare::StartsWith,
            "endswith" if compare == Compare::Equals => compare = Compare::EndsWith,
            "contains" if compare == Compare::Equals => compare = Compare::Contains,
            _ => return None,
        }
    }
    let literals: Vec<&str> = match value {
        Yaml::String(s) => vec![s.as_str()],
        Yaml::Sequence(items) if !items.is_empty() => {
            items.iter().map(Yaml::as_str).collect::<Option<_>>()?
        }
        _ => return None,
    };
    if literals.iter().any(|v| is_pattern(v)) {
        return None;
    }
    Some(FieldTest {
        field: field.to_string(),
        compare,
        all,
        values: literals.into_iter().map(lowered).collect(),
    })
}

fn selection_guard(selection: &Yaml) -> Guard {
    match selection {
        Yaml::Mapping(fields) => Guard(vec![
            fields
                .iter()
                .filter_map(|(k, v)| field_test(k.as_str()?, v))
                .collect(),
        ]),
        // A list of mappings: any one of them.
        Yaml::Sequence(items) if items.iter().all(Yaml::is_mapping) && !items.is_empty() => items
            .iter()
            .map(selection_guard)
            .reduce(Approx::or)
            .unwrap_or_else(Guard::any),
        // Keywords, or anything else.
        _ => Guard::any(),
    }
}

/// The guard of a detection; `None` when it says nothing (anything passes).
fn guard_of(detection: &serde_norway::Mapping, condition: &str) -> Option<Guard> {
    let selections: BTreeMap<String, Guard> = detection
        .iter()
        .filter_map(|(k, v)| {
            let k = k.as_str()?;
            (k != "condition").then(|| (k.to_string(), selection_guard(v)))
        })
        .collect();
    let guard = ConditionParser {
        tokens: tokenize(condition),
        pos: 0,
        selections: &selections,
    }
    .read()?;
    (!guard.is_any()).then_some(guard)
}

/// A field of the record, as a guard sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// Absent (or null, which the record drops).
    Absent,
    /// Text (booleans are text in the record), in lower case.
    Text(String),
    /// A number, list or object: the guard passes it.
    Other,
}

/// One event's fields, read once for all the guards of the rules it reaches: the detail's
/// members are scanned once, and each field a guard reads is found once, by walking the raw
/// JSON text (no member is parsed into a value tree).
pub struct FieldProbe<'e> {
    detail: Detail<'e>,
    /// Whether fields may be read from the event's typed model ([`Typed`]): set on first use.
    typed: std::cell::OnceCell<bool>,
    /// [`plain`]'s answer for each head of a dotted field read so far: one search of the
    /// event's text per head, however many fields and rules read below it.
    plain_heads: std::cell::RefCell<Vec<(String, bool)>>,
    /// The detail's members, scanned on first use.
    members: std::cell::OnceCell<Option<crate::event::Members<'e>>>,
    /// The members of the top-level objects the fields are read below (`userIdentity` for
    /// `userIdentity.type` and `userIdentity.arn`), each scanned once.
    nested: Vec<(String, Option<crate::event::Members<'e>>)>,
    seen: Vec<(String, Seen)>,
}

impl<'e> FieldProbe<'e> {
    pub fn new(event: &'e crate::event::Event) -> FieldProbe<'e> {
        FieldProbe {
            detail: Detail::Event(event),
            typed: std::cell::OnceCell::new(),
            plain_heads: std::cell::RefCell::new(Vec::new()),
            members: std::cell::OnceCell::new(),
            nested: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// The probe of a detail's JSON text.
    pub fn of_detail(detail: &'e str) -> FieldProbe<'e> {
        FieldProbe {
            detail: Detail::Text(detail),
            typed: std::cell::OnceCell::new(),
            plain_heads: std::cell::RefCell::new(Vec::new()),
            members: std::cell::OnceCell::new(),
            nested: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// The detail's members, scanned once ([`record_of_fields`] reads them too).
    pub fn members(&self) -> Option<&crate::event::Members<'e>> {
        self.members
            .get_or_init(|| match self.detail {
                // Found in the event's text in one pass, with no copy of the detail.
                Detail::Event(event) => event.detail_members(),
                Detail::Text(text) => crate::event::members(text),
            })
            .as_ref()
    }

    fn field(&mut self, name: &str) -> &Seen {
        if let Some(i) = self.seen.iter().position(|(n, _)| n == name) {
            return &self.seen[i].1;
        }
        let value = match self.typed_seen(name) {
            Some(value) => value,
            None => self.lookup(name),
        };
        self.seen.push((name.to_string(), value));
        &self.seen[self.seen.len() - 1].1
    }
}

impl<'e> FieldProbe<'e> {
    /// The event's typed CloudTrail record, when fields may be read from it: the typed parse
    /// keeps one member of each name it models, as the record does, but it skips the members it
    /// does not model, and among them could be one whose name holds a dot (`userIdentity.type`
    /// beside `userIdentity`), which the engine reads first. So the model answers a dotted
    /// field only when no name in the text starts with the field's head and a dot ([`plain`]),
    /// and never when the text has a `\u` escape (which could spell either).
    fn typed_call(&self) -> Option<(&'e crate::event::CloudTrailCall, &'e str)> {
        let Detail::Event(event) = self.detail else {
            return None;
        };
        let call = event.cloudtrail()?;
        let unescaped = *self.typed.get_or_init(|| !event.text().contains("\\u"));
        unescaped.then_some((call, event.text()))
    }

    /// The typed model's member that `key` is read from, and the rest of `key` below it; `None`
    /// when the model cannot answer for `key` ([`FieldProbe::typed_call`], [`plain`],
    /// [`typed_member`], [`identity_member`]).
    fn typed_field<'k>(&self, key: &'k str) -> Option<(Typed<'e>, Option<&'k str>)> {
        let (call, text) = self.typed_call()?;
        if !self.plain(text, key) {
            return None;
        }
        let (head, tail) = split_field(key);
        let member = typed_member(call, head)?;
        // The model holds some members of `userIdentity`, never the whole object.
        if let Typed::Identity(id) = &member {
            identity_member(id, tail?)?;
        }
        Some((member, tail))
    }

    /// [`plain`], searched once per head for this event.
    fn plain(&self, text: &str, field: &str) -> bool {
        let Some((head, _)) = field.split_once('.') else {
            return true;
        };
        let mut known = self.plain_heads.borrow_mut();
        if let Some((_, answer)) = known.iter().find(|(h, _)| h == head) {
            return *answer;
        }
        let answer = plain(text, field);
        known.push((head.to_string(), answer));
        answer
    }

    /// [`lookup`] answered from the typed model, or `None` when the model cannot say
    /// ([`FieldProbe::typed_field`]).
    fn typed_seen(&self, key: &str) -> Option<Seen> {
        let text = |t: Option<&str>| t.map_or(Seen::Absent, |t| Seen::Text(lowered(t)));
        Some(match self.typed_field(key)? {
            (Typed::Text(t), None) => text(t),
            // Nothing is below a string.
            (Typed::Text(_), Some(_)) => Seen::Absent,
            (Typed::Value(v), None) => seen_value(v),
            (Typed::Value(v), Some(tail)) => lookup_value(v, tail),
            (Typed::Identity(id), tail) => text(identity_member(id, tail?)?),
        })
    }

    /// The record that holds what reading `fields` needs ([`record_of_fields`]): built from
    /// the typed model when it holds every field read, else from the detail's members.
    /// `None` when the detail is not an object.
    pub fn record(&self, fields: Option<&[&str]>) -> Option<sigma_rust::Event> {
        if let Some(fields) = fields
            && let Some(kept) = self.typed_record_members(fields)
        {
            return sigma_rust::Event::try_from(serde_json::Value::Object(kept)).ok();
        }
        record_of_fields(self.members()?, fields)
    }

    /// [`pruned_record_members`] from the typed model, or `None` when it cannot say.
    fn typed_record_members(
        &self,
        fields: &[&str],
    ) -> Option<serde_json::Map<String, serde_json::Value>> {
        use serde_json::Value;
        let (call, _) = self.typed_call()?;
        let mut heads: Vec<&str> = Vec::with_capacity(fields.len());
        for field in fields {
            self.typed_field(field)?;
            let (head, _) = split_field(field);
            if !heads.contains(&head) {
                heads.push(head);
            }
        }
        let mut kept = serde_json::Map::new();
        for head in heads {
            let Some(below) = need(fields, head) else {
                continue;
            };
            let value = match typed_member(call, head)? {
                Typed::Text(text) => text.map(|t| Value::String(t.to_string())),
                Typed::Value(v) => Some(normalised_value(v, below.as_deref())),
                Typed::Identity(id) => {
                    let mut members = serde_json::Map::new();
                    for name in below.unwrap_or_default() {
                        if let Some(Some(text)) = identity_member(id, name) {
                            members.insert(name.to_string(), Value::String(text.to_string()));
                        }
                    }
                    Some(Value::Object(members))
                }
            };
            if let Some(value) = value.filter(|v| !v.is_null()) {
                kept.insert(head.to_string(), value);
            }
        }
        Some(kept)
    }
}

/// Whether no member name in the event's `text` can be read for `field` in place of what the
/// typed model holds: a field with a dot (`a.b`) is read from a member named `a.b` (or any
/// name that starts with `a.`) before the member `a`; the model holds no such member. Text
/// that holds `"a.` anywhere is left to the members' scan.
fn plain(text: &str, field: &str) -> bool {
    let Some((head, _)) = field.split_once('.') else {
        return true;
    };
    let mut marker = String::with_capacity(head.len() + 2);
    marker.push('"');
    marker.push_str(head);
    marker.push('.');
    !text.contains(&marker)
}

/// A field's first name and the rest of it: `a.b.c` is `a` and `b.c`.
fn split_field(field: &str) -> (&str, Option<&str>) {
    match field.split_once('.') {
        Some((head, tail)) => (head, Some(tail)),
        None => (field, None),
    }
}

/// A top-level member of a CloudTrail record as the typed model holds it.
enum Typed<'a> {
    /// Text, or absent (a null member is absent, as in the record).
    Text(Option<&'a str>),
    /// Any JSON value, kept whole by the model (`requestParameters`).
    Value(&'a serde_json::Value),
    /// `userIdentity`: the model holds some of its members ([`identity_member`]).
    Identity(&'a crate::event::UserIdentity),
}

/// The member `name` of the typed record, or `None` when the model does not hold it.
fn typed_member<'a>(call: &'a crate::event::CloudTrailCall, name: &str) -> Option<Typed<'a>> {
    Some(match name {
        "eventVersion" => Typed::Text(call.event_version.as_deref()),
        "eventTime" => Typed::Text(call.event_time.as_deref()),
        "eventSource" => Typed::Text(Some(&call.event_source)),
        "eventName" => Typed::Text(Some(&call.event_name)),
        "awsRegion" => Typed::Text(Some(&call.aws_region)),
        "sourceIPAddress" => Typed::Text(call.source_ip_address.as_deref()),
        "userAgent" => Typed::Text(call.user_agent.as_deref()),
        "errorCode" => Typed::Text(call.error_code.as_deref()),
        "errorMessage" => Typed::Text(call.error_message.as_deref()),
        "requestID" => Typed::Text(call.request_id.as_deref()),
        "eventID" => Typed::Text(call.event_id.as_deref()),
        "eventType" => Typed::Text(call.event_type.as_deref()),
        "recipientAccountId" => Typed::Text(call.recipient_account_id.as_deref()),
        "requestParameters" => Typed::Value(&call.request_parameters),
        "responseElements" => Typed::Value(&call.response_elements),
        "additionalEventData" => Typed::Value(&call.additional_event_data),
        "userIdentity" => Typed::Identity(&call.user_identity),
        _ => return None,
    })
}

/// The member `name` of the typed `userIdentity` (`Some(None)` when absent), or `None` when
/// the model does not hold it (a name with a dot is never held).
fn identity_member<'a>(
    identity: &'a crate::event::UserIdentity,
    name: &str,
) -> Option<Option<&'a str>> {
    Some(match name {
        "type" => identity.identity_type.as_deref(),
        "principalId" => identity.principal_id.as_deref(),
        "arn" => identity.arn.as_deref(),
        "accountId" => identity.account_id.as_deref(),
        "accessKeyId" => identity.access_key_id.as_deref(),
        "userName" => identity.user_name.as_deref(),
        "invokedBy" => identity.invoked_by.as_deref(),
        _ => return None,
    })
}

/// [`lookup`] below a parsed value.
fn lookup_value(value: &serde_json::Value, key: &str) -> Seen {
    let serde_json::Value::Object(members) = value else {
        return Seen::Absent;
    };
    if let Some(v) = members.get(key).filter(|v| !v.is_null()) {
        return seen_value(v);
    }
    let Some((head, tail)) = key.split_once('.') else {
        return Seen::Absent;
    };
    members
        .get(head)
        .map_or(Seen::Absent, |inner| lookup_value(inner, tail))
}

/// [`seen`] of a parsed value.
fn seen_value(value: &serde_json::Value) -> Seen {
    match value {
        serde_json::Value::String(s) => Seen::Text(lowered(s)),
        serde_json::Value::Bool(b) => Seen::Text(b.to_string()),
        serde_json::Value::Null => Seen::Absent,
        _ => Seen::Other,
    }
}

/// [`Normalised`] of a parsed value: what the record holds of it when `below` is read.
fn normalised_value(value: &serde_json::Value, below: Option<&[&str]>) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Bool(b) => Value::String(b.to_string()),
        // The engine does not look below a list: its items are kept whole.
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| normalised_value(v, None)).collect())
        }
        Value::Object(members) => {
            let mut kept = serde_json::Map::new();
            for (k, v) in members {
                let v = match below {
                    None => normalised_value(v, None),
                    Some(fields) => match need(fields, k) {
                        None => continue,
                        Some(None) => normalised_value(v, None),
                        Some(Some(below)) => normalised_value(v, Some(&below)),
                    },
                };
                if !v.is_null() {
                    kept.insert(k.clone(), v);
                }
            }
            Value::Object(kept)
        }
        other => other.clone(),
    }
}

impl<'e> FieldProbe<'e> {
    /// [`lookup`] in the detail, with the members of a top-level object kept for the next
    /// field read below it.
    fn lookup(&mut self, key: &str) -> Seen {
        let Some(top) = self.members() else {
            return Seen::Absent;
        };
        if let Some(text) = last(top, key).filter(|t| !t.starts_with('n')) {
            return seen(text);
        }
        let Some((head, tail)) = key.split_once('.') else {
            return Seen::Absent;
        };
        let i = match self.nested.iter().position(|(h, _)| h == head) {
            Some(i) => i,
            None => {
                let inner = last(top, head).and_then(crate::event::members);
                self.nested.push((head.to_string(), inner));
                self.nested.len() - 1
            }
        };
        match &self.nested[i].1 {
            Some(inner) => lookup(inner, tail),
            None => Seen::Absent,
        }
    }
}

/// The raw text of the last member named `name` (the one a parsed object keeps).
fn last<'a>(members: &[(std::borrow::Cow<'_, str>, &'a str)], name: &str) -> Option<&'a str> {
    members
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, raw)| raw.trim_start())
}

/// Where a probe reads the detail from.
enum Detail<'e> {
    Event(&'e crate::event::Event),
    Text(&'e str),
}

/// The engine's lookup of a field (`sigma_rust::Event::get`) among an object's members: the
/// member named `key`, else, below the member named by its first dotted part, the rest looked
/// up the same way. The last member of a name wins and a null member is absent, as in the
/// record ([`record`]).
fn lookup(members: &[(std::borrow::Cow<'_, str>, &str)], key: &str) -> Seen {
    if let Some(text) = last(members, key).filter(|t| !t.starts_with('n')) {
        return seen(text);
    }
    let Some((head, tail)) = key.split_once('.') else {
        return Seen::Absent;
    };
    match last(members, head).and_then(crate::event::members) {
        Some(inner) => lookup(&inner, tail),
        None => Seen::Absent,
    }
}

/// A field's raw JSON text as a guard sees it.
fn seen(text: &str) -> Seen {
    match text.as_bytes().first() {
        Some(b'"') => match serde_json::from_str::<&str>(text) {
            Ok(s) => Seen::Text(lowered(s)),
            // Escapes: decoded into an owned string.
            Err(_) => serde_json::from_str::<String>(text)
                .map_or(Seen::Other, |s| Seen::Text(lowered(&s))),
        },
        Some(b't') => Seen::Text("true".to_string()),
        Some(b'f') => Seen::Text("false".to_string()),
        Some(b'n') | None => Seen::Absent,
        Some(_) => Seen::Other,
    }
}

impl FieldTest {
    fn holds(&self, probe: &mut FieldProbe<'_>) -> bool {
        let text = match probe.field(&self.field) {
            Seen::Absent => return false,
            Seen::Other => return true,
            Seen::Text(t) => t,
        };
        let one = |v: &String| match self.compare {
            Compare::Equals => text == v,
            Compare::StartsWith => text.starts_with(v.as_str()),
            Compare::EndsWith => text.ends_with(v.as_str()),
            Compare::Contains => text.contains(v.as_str()),
        };
        if self.all {
            self.values.iter().all(one)
        } else {
            self.values.iter().any(one)
        }
    }
}

impl Guard {
    fn holds(&self, probe: &mut FieldProbe<'_>) -> bool {
        self.0
            .iter()
            .any(|conj| conj.iter().all(|t| t.holds(probe)))
    }
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

    /// The record keeps, of each member, only what the fields read: an object below a dotted
    /// field is cut to the members the rest of the field names, a member named by the whole
    /// field (`x.y`) is kept as it is, and a member no field names is not parsed.
    #[test]
    fn the_record_is_cut_to_the_fields_read() {
        let text = r#"{"userIdentity":{"type":"Root","arn":"a","sessionContext":{"x":1}},
            "x.y":"1","x":{"y":"2","z":"3","w":{"y":4}},"eventName":"n","errorCode":null,
            "list":[{"a":null}],"flag":true}"#;
        let members = crate::event::members(text).unwrap();
        let cut = pruned_record_members(
            &members,
            &[
                "userIdentity.type",
                "x.y",
                "x.w.y",
                "list.a",
                "flag",
                "errorCode",
            ],
        );
        assert_eq!(
            serde_json::Value::Object(cut),
            serde_json::json!({
                "userIdentity": {"type": "Root"},
                "x.y": "1",
                "x": {"y": "2", "w": {"y": 4}},
                "list": [{}],
                "flag": "true"
            })
        );
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

    /// Rules in the shapes the guards model and do not model.
    const GUARDED: [&str; 12] = [
        "  sel:\n    userIdentity.type: Root\n  filter:\n    eventType: AwsServiceEvent\n  condition: sel and not filter",
        "  sel:\n    userAgent|contains: 'AbC'\n  condition: sel",
        "  sel:\n    userIdentity.userName|endswith:\n      - '-X'\n      - '-y'\n  condition: sel",
        "  sel:\n    requestParameters.name|startswith|all:\n      - 'ab'\n      - 'a'\n  condition: sel",
        "  sel:\n    - eventName: A\n    - userAgent: b\n  condition: sel",
        "  a:\n    x.y: V\n  b:\n    z|contains|cased: Q\n  condition: 1 of a or b",
        "  sel_a:\n    x.y|startswith: v\n  sel_b:\n    userAgent|endswith: c\n  condition: all of sel_*",
        "  sel:\n    eventName: 'Get*'\n    userAgent: ab\n  condition: sel",
        "  sel:\n    errorCode: null\n    eventName: a\n  condition: sel",
        "  sel:\n    requestParameters.enable: false\n    userAgent|re: '^a'\n  condition: sel",
        "  sel:\n    eventName: a\n  not_this:\n    userAgent: b\n  condition: not not_this or (sel and not not_this)",
        "  keywords:\n    - abc\n  condition: keywords",
    ];

    fn guarded() -> Vec<SigmaRule> {
        GUARDED
            .iter()
            .map(|d| parse("g.yml", &rule(d)).unwrap())
            .collect()
    }

    /// Whether the guard lets the detail through, and whether the engine matches it. The
    /// guard reads the raw text, so it is held to one answer for the compact text, the
    /// pretty-printed one and one whose strings spell a letter as a `\u` escape.
    fn guard_and_engine(r: &SigmaRule, detail: &serde_json::Value) -> (bool, bool) {
        let compact = detail.to_string();
        let texts = [
            serde_json::to_string_pretty(detail).unwrap(),
            compact
                .replace("Root", "\\u0052oot")
                .replace("a\"", "\\u0061\""),
            compact,
        ];
        let guards: Vec<bool> = texts
            .iter()
            .map(|text| r.may_match_fields(&mut FieldProbe::of_detail(text)))
            .collect();
        assert!(
            guards.iter().all(|g| *g == guards[0]),
            "{guards:?} for {texts:?}"
        );
        (
            guards[0],
            record(detail, None).is_some_and(|rec| r.matches(&rec)),
        )
    }

    #[test]
    fn guards_skip_events_whose_fields_cannot_match() {
        let rules = guarded();
        let user = serde_json::json!({
            "eventName": "GetObject",
            "eventType": "AwsApiCall",
            "userAgent": "aws-cli/2",
            "userIdentity": {"type": "IAMUser", "userName": "alice"},
            "requestParameters": {"name": "trail"}
        });
        for (i, r) in rules.iter().enumerate().take(9) {
            assert_eq!(guard_and_engine(r, &user), (false, false), "rule {i}");
        }
        // What the guards cannot model (a regex, a boolean, a negation, keywords) lets
        // everything through to the engine.
        for (i, r) in rules.iter().enumerate().skip(9) {
            assert!(guard_and_engine(r, &user).0, "rule {i}");
        }
        // A wildcard is not modelled, the rest of its selection is: `userAgent: ab` decides.
        let wildcard = serde_json::json!({"eventName": "PutObject", "userAgent": "AB"});
        assert_eq!(guard_and_engine(&rules[7], &wildcard), (true, false));
        // `errorCode: null` (absent) is not modelled; `eventName: a` is.
        let failed = serde_json::json!({"eventName": "A", "errorCode": "AccessDenied"});
        assert_eq!(guard_and_engine(&rules[8], &failed), (true, false));
        let root = serde_json::json!({
            "eventType": "AwsApiCall",
            "userAgent": "xxaBcxx",
            "userIdentity": {"type": "ROOT", "userName": "ops-Y"},
            "requestParameters": {"name": "Abc"},
            "x.y": "v",
            "z": "q"
        });
        // Case-insensitive, `contains`, `endswith` of a list, `startswith|all`, a dotted member.
        for (i, r) in rules.iter().enumerate().take(4) {
            assert_eq!(guard_and_engine(r, &root), (true, true), "rule {i}");
        }
        // `x.y: V` holds but the engine also needs `b`: the guard passes, the engine says no.
        assert_eq!(guard_and_engine(&rules[5], &root), (true, true));
        // `|cased` is modelled case-insensitively: a wider guard, never a narrower one.
        let cased = serde_json::json!({"z": "q"});
        assert_eq!(guard_and_engine(&rules[5], &cased), (true, false));
        // Null is absent.
        let null = serde_json::json!({"userIdentity": {"type": null}});
        assert_eq!(guard_and_engine(&rules[0], &null), (false, false));
    }

    proptest::proptest! {
        /// The record built from the event's text in one pass is the record built from the
        /// parsed value, normalisations included.
        #[test]
        fn the_record_from_text_is_the_record_from_the_value(detail in detail_strategy()) {
            // Members of a name given twice: the later wins, a later null removes.
            let text = detail.to_string();
            let doubled = match text.strip_suffix('}') {
                Some(head) if detail.as_object().is_some_and(|m| !m.is_empty()) => {
                    format!(
                        "{head},\"x\":\"a\",\"x\":null,\"z\":{{\"n\":\"a\",\"n\":null,\"e\":true,\"e\":\"b\"}}}}"
                    )
                }
                _ => text.clone(),
            };
            let reparsed: serde_json::Value = serde_json::from_str(&doubled).unwrap();
            let members = crate::event::members(&doubled).unwrap();
            proptest::prop_assert_eq!(
                raw_record_members(&members, |_| true),
                record_members(&reparsed, None).unwrap()
            );
        }

        /// The record cut to what the remaining rules read matches as the whole record does.
        #[test]
        fn the_pruned_record_matches_as_the_whole_record(detail in detail_strategy()) {
            let text = detail.to_string();
            let members = crate::event::members(&text).unwrap();
            for r in guarded() {
                let fields: Option<Vec<&str>> =
                    r.fields().map(|f| f.iter().map(String::as_str).collect());
                let pruned = record_of_fields(&members, fields.as_deref())
                    .is_some_and(|rec| r.matches(&rec));
                let whole = record(&detail, None).is_some_and(|rec| r.matches(&rec));
                proptest::prop_assert_eq!(pruned, whole, "{:?} on {}", r.fields(), text);
            }
        }

        /// A guard never hides a match: whenever the engine matches a record, the guard passes.
        #[test]
        fn guards_never_hide_a_match(detail in detail_strategy()) {
            for (i, r) in guarded().iter().enumerate() {
                let (guard, engine) = guard_and_engine(r, &detail);
                proptest::prop_assert!(guard || !engine, "rule {} hid a match of {}", i, detail);
            }
        }
    }

    proptest::proptest! {
        /// The typed model answers as the members' scan does on generated records too: any
        /// `requestParameters`, and top-level members the model does not hold, dotted names
        /// that shadow a field of the model among them.
        #[test]
        fn the_typed_model_agrees_on_generated_records(
            params in detail_strategy(),
            extra in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "x.y",
                        "z",
                        "requestParameters.name",
                        "requestParameters.y",
                        "userIdentity.type",
                        "userIdentity.userName",
                    ]),
                    detail_strategy(),
                ),
                0..3,
            ),
        ) {
            let mut detail = serde_json::json!({
                "eventVersion": "1.08",
                "userIdentity": {"type": "IAMUser", "userName": "alice", "arn": "arn:aws:iam::111122223333:user/alice"},
                "eventSource": "s3.amazonaws.com",
                "eventName": "GetObject",
                "awsRegion": "us-east-1",
                "requestParameters": params,
            });
            for (name, value) in extra {
                detail[name] = value;
            }
            let text = serde_json::json!({
                "version": "0",
                "id": "1",
                "detail-type": "AWS API Call via CloudTrail",
                "source": "aws.s3",
                "account": "111122223333",
                "time": "2026-12-01T00:00:00Z",
                "region": "us-east-1",
                "resources": [],
                "detail": detail,
            })
            .to_string();
            let event = crate::event::Event::from_json(&text).unwrap();
            let members = event.detail_members().unwrap();
            let mut fields = Vec::new();
            paths(event.detail_value(), "", 3, &mut fields);
            fields.extend(["userIdentity.type", "requestParameters.name", "requestParameters.x.y"].map(String::from));
            let probe = FieldProbe::new(&event);
            for field in &fields {
                if let Some(typed) = probe.typed_seen(field) {
                    proptest::prop_assert_eq!(typed, lookup(&members, field), "{} in {}", field, text);
                }
                let one = [field.as_str()];
                if let Some(typed) = probe.typed_record_members(&one) {
                    proptest::prop_assert_eq!(typed, pruned_record_members(&members, &one), "{} in {}", field, text);
                }
            }
        }
    }

    fn detail_strategy() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::{Value, json};
        let text = prop::sample::select(vec![
            "root",
            "Root",
            "ROOT",
            "AbCd",
            "xabcx",
            "user-X",
            "user-x",
            "user-Y",
            "ab",
            "abc",
            "a",
            "A",
            "b",
            "B",
            "v",
            "V",
            "vc",
            "q",
            "Q",
            "AwsServiceEvent",
            "GetObject",
            "get",
            "ΣA",
            "σa",
            "İ",
            "",
        ])
        .prop_map(|s| Value::String(s.to_string()));
        let scalar = prop_oneof![
            6 => text,
            1 => Just(Value::Null),
            1 => any::<bool>().prop_map(Value::Bool),
            1 => (0u8..3).prop_map(|n| json!(n)),
            1 => Just(json!(["a", "b"])),
        ];
        let fields = [
            "eventName",
            "eventType",
            "userAgent",
            "errorCode",
            "x.y",
            "z",
            "userIdentity",
            "requestParameters",
            "x",
        ];
        let inner = ["type", "userName", "name", "enable", "y"];
        let object =
            prop::collection::vec((prop::sample::select(inner.to_vec()), scalar.clone()), 0..4)
                .prop_map(|m| {
                    Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                });
        let member = prop_oneof![3 => scalar, 1 => object];
        prop::collection::vec((prop::sample::select(fields.to_vec()), member), 0..7)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    }

    /// Every member path of a value, to `depth` names: `a`, `a.b`, `a.b.c`.
    fn paths(value: &serde_json::Value, prefix: &str, depth: usize, out: &mut Vec<String>) {
        let serde_json::Value::Object(members) = value else {
            return;
        };
        for (k, v) in members {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if depth > 1 {
                paths(v, &path, depth - 1, out);
            }
            out.push(path);
        }
    }

    /// The typed model answers each field as the scan of the detail's members does, and builds
    /// the same record, on every CloudTrail fixture: every member path to depth three, the
    /// model's names, and names that no fixture has.
    #[test]
    fn the_typed_model_reads_fields_as_the_members_do() {
        let mut answered = 0;
        let mut records = 0;
        for file in crate::event::tests::fixture_files() {
            let text = std::fs::read_to_string(&file).unwrap();
            let Ok(event) = crate::event::Event::from_json(&text) else {
                continue;
            };
            if event.cloudtrail().is_none() {
                continue;
            }
            let members = event.detail_members().unwrap();
            let mut fields = Vec::new();
            paths(event.detail_value(), "", 3, &mut fields);
            fields.extend(
                [
                    "userIdentity",
                    "userIdentity.sessionContext.sessionIssuer.userName",
                    "userIdentity.nope",
                    "errorCode",
                    "errorMessage",
                    "requestParameters.nope.x",
                    "eventName.x",
                    "nope",
                ]
                .map(String::from),
            );
            let probe = FieldProbe::new(&event);
            for field in &fields {
                if let Some(typed) = probe.typed_seen(field) {
                    assert_eq!(
                        typed,
                        lookup(&members, field),
                        "{field} in {}",
                        file.display()
                    );
                    answered += 1;
                }
                let one = [field.as_str()];
                if let Some(typed) = probe.typed_record_members(&one) {
                    assert_eq!(
                        typed,
                        pruned_record_members(&members, &one),
                        "{field} in {}",
                        file.display()
                    );
                    records += 1;
                }
            }
            let mut all: Vec<&str> = fields
                .iter()
                .map(String::as_str)
                .filter(|f| probe.typed_seen(f).is_some())
                .collect();
            all.sort_unstable();
            all.dedup();
            let typed = probe.typed_record_members(&all).unwrap();
            assert_eq!(
                typed,
                pruned_record_members(&members, &all),
                "{}",
                file.display()
            );
        }
        assert!(answered > 2_000 && records > 2_000, "{answered} {records}");
    }

    /// A member whose name holds a dot is read by the engine before the object it seems to be
    /// below, and the typed model holds no such member; a `\u` escape can spell either. Both
    /// send the fields they could touch to the scan of the members.
    #[test]
    fn dotted_names_and_escapes_leave_the_typed_model() {
        let text = include_str!("../../../tests/fixtures/events/aws.iam/ct-create-access-key.json");
        let root = parse(
            "t.yml",
            &rule("  sel:\n    eventName: CreateAccessKey\n    userIdentity.type: Root\n  condition: sel"),
        )
        .unwrap();
        let fields = ["eventName", "userIdentity.type"];
        let plain = crate::event::Event::from_json(text).unwrap();
        let probe = FieldProbe::new(&plain);
        assert_eq!(
            probe.typed_seen("userIdentity.type"),
            Some(Seen::Text("iamuser".into()))
        );
        assert!(!root.matches(&probe.record(Some(&fields)).unwrap()));

        let dotted = text.replacen(
            "\"detail\": {",
            "\"detail\": {\"userIdentity.type\": \"Root\", \"requestParameters.userName\": \"x\",",
            1,
        );
        let escaped = text.replacen(
            "\"detail\": {",
            "\"detail\": {\"user\\u0049dentity.type\": \"Root\",",
            1,
        );
        for text in [dotted, escaped] {
            let event = crate::event::Event::from_json(&text).unwrap();
            let mut probe = FieldProbe::new(&event);
            assert_eq!(probe.typed_seen("userIdentity.type"), None, "{text}");
            assert_eq!(probe.typed_record_members(&fields), None);
            assert_eq!(probe.field("userIdentity.type"), &Seen::Text("root".into()));
            assert!(
                root.matches(&probe.record(Some(&fields)).unwrap()),
                "{text}"
            );
        }
        // An undotted field is still read from the model beside a dotted name.
        let dotted = crate::event::Event::from_json(&text.replacen(
            "\"detail\": {",
            "\"detail\": {\"userIdentity.type\": \"Root\",",
            1,
        ))
        .unwrap();
        assert_eq!(
            FieldProbe::new(&dotted).typed_seen("eventName"),
            Some(Seen::Text("createaccesskey".into()))
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
