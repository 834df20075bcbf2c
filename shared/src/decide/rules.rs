//! Response rules as data: a TOML format, its validation, and matching.
//!
//! The built-in playbook (`shared/rules/builtin.toml`) is written in this format and compiled
//! into every binary; deployments add or override rules by id with files of their own.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use toml::Spanned;
use wildmatch::WildMatch;

use super::facts::{Principal, Signal};
use super::severity::{Band, Severity};
use crate::action::ActionKind;
use crate::event::{Event, EventKind, Members, field_in, value_at};

/// The built-in playbook, compiled into the binaries.
pub const BUILTIN_RULES: &str = include_str!("../../rules/builtin.toml");
pub const BUILTIN_NAME: &str = "builtin.toml";

// DEPLOYMENT_RULES: the deployment's own rule files (rules/*.toml, or MAMORU_RULES_DIR at build
// time), compiled into the binaries so they ship with the functions.
// DEPLOYMENT_SIGMA: the deployment's Sigma rules (rules/sigma/*.yml), compiled in likewise.
include!(concat!(env!("OUT_DIR"), "/deployment_rules.rs"));

/// A rule file problem, with the file and line it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RuleError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Whether a rule's actions run (`enforce`) or are only reported as "would have" (`shadow`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleMode {
    #[default]
    Enforce,
    Shadow,
}

// ---------------------------------------------------------------------------------------------
// The file format (deserialized as written, then compiled).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Spanned<RuleDef>>,
    #[serde(default)]
    case: Vec<Spanned<super::cases::CaseDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    description: String,
    #[serde(default)]
    mode: RuleMode,
    #[serde(rename = "match")]
    matcher: MatchDef,
    #[serde(default)]
    response: ResponseDef,
    #[serde(default)]
    exceptions: ExceptionsDef,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchDef {
    #[serde(default)]
    source: Vec<String>,
    #[serde(default)]
    detail_type: Vec<String>,
    #[serde(default)]
    finding_type: Vec<String>,
    #[serde(default)]
    event_source: Vec<String>,
    #[serde(default)]
    event_name: Vec<String>,
    #[serde(default)]
    severity: Option<RangeDef>,
    #[serde(default)]
    principal_type: Vec<String>,
    #[serde(default)]
    principal_arn: Vec<String>,
    #[serde(default)]
    account: Vec<String>,
    #[serde(default)]
    region: Vec<String>,
    #[serde(default)]
    call: Option<CallOutcome>,
    #[serde(default)]
    signal: Vec<String>,
    #[serde(default)]
    field: Vec<FieldDef>,
    /// At least one of these must hold (where `field` needs all).
    #[serde(default)]
    any_field: Vec<FieldDef>,
    /// Sigma rule ids (with or without `sigma:`): the event matched one of them.
    #[serde(default)]
    sigma: Vec<String>,
    /// The calls are read-only management events (`detail.readOnly` is true): EventBridge
    /// delivers them only to a rule in the state `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`,
    /// which the stack creates with `ReadOnlyEvents=on` ([`super::routing::Routes`]).
    #[serde(default)]
    read_only: bool,
    /// A windowed threshold: the rule matches only on the event that brings the count (of
    /// events, or of distinct values) to `count` within the window, per `by`.
    #[serde(default)]
    threshold: Option<ThresholdDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdDef {
    count: u64,
    /// A field path: count the distinct values it takes, not the events.
    #[serde(default)]
    distinct: Option<String>,
    /// `30s`, `10m`, `1h`: at most a day.
    window: String,
    /// `principal` (the default), `account`, or a field path.
    #[serde(default)]
    by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeDef {
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
}

/// Whether the CloudTrail call behind the event succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallOutcome {
    Succeeded,
    Failed,
    Any,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldDef {
    path: String,
    #[serde(default)]
    equals: Option<toml::Value>,
    #[serde(default)]
    one_of: Option<Vec<toml::Value>>,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    glob: Option<String>,
    #[serde(default)]
    cidr: Option<String>,
    #[serde(default)]
    exists: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseDef {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    severity: Option<SeverityDef>,
    #[serde(default)]
    severity_floor: Option<String>,
    #[serde(default = "yes")]
    notify: bool,
    #[serde(default)]
    actions: Vec<ActionDef>,
    #[serde(default)]
    runbook: Option<String>,
    /// `false`: the rule's actions do not count against the remediation budgets (actions that
    /// are always safe to repeat, such as restarting a trail).
    #[serde(default = "yes")]
    budget: bool,
}

impl Default for ResponseDef {
    fn default() -> Self {
        ResponseDef {
            title: None,
            severity: None,
            severity_floor: None,
            notify: true,
            actions: Vec::new(),
            runbook: None,
            budget: true,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SeverityDef {
    Score(f64),
    Band(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionDef {
    action: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionsDef {
    #[serde(default)]
    principals: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    source_ips: Vec<String>,
    #[serde(default)]
    resource_tags: BTreeMap<String, String>,
}

// ---------------------------------------------------------------------------------------------
// Compiled rules.

/// A glob pattern (`*` and `?`), compiled once.
#[derive(Clone)]
pub struct Glob {
    text: String,
    pattern: WildMatch,
}

impl Glob {
    pub fn new(text: &str) -> Glob {
        Glob {
            text: text.to_string(),
            pattern: WildMatch::new(text),
        }
    }

    pub fn matches(&self, s: &str) -> bool {
        self.pattern.matches(s)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

fn any_glob(globs: &[Glob], s: &str) -> bool {
    globs.iter().any(|g| g.matches(s))
}

#[derive(Debug, Clone)]
enum FieldOp {
    Equals(Value),
    OneOf(Vec<Value>),
    Prefix(String),
    Glob(Glob),
    Cidr(IpNet),
    Exists(bool),
}

#[derive(Debug, Clone)]
struct FieldCond {
    path: Vec<String>,
    op: FieldOp,
}

#[derive(Debug, Clone, Default)]
struct Matcher {
    source: Vec<String>,
    detail_type: Vec<String>,
    finding_type: Vec<Glob>,
    event_source: Vec<String>,
    event_name: Vec<Glob>,
    severity_min: Option<f64>,
    severity_max: Option<f64>,
    principal_type: Vec<String>,
    principal_arn: Vec<Glob>,
    account: Vec<String>,
    region: Vec<String>,
    call: Option<CallOutcome>,
    signal: Vec<Signal>,
    field: Vec<FieldCond>,
    any_field: Vec<FieldCond>,
    /// Sigma rule ids (without `sigma:`), any of which the event must have matched.
    sigma: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Exceptions {
    principals: Vec<Glob>,
    accounts: Vec<String>,
    source_ips: Vec<IpNet>,
    resource_tags: BTreeMap<String, String>,
}

/// How a rule sets the severity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeveritySpec {
    /// Keep the event's own severity (a finding's score; Medium for other events).
    FromEvent,
    Fixed(Severity),
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub description: String,
    pub mode: RuleMode,
    pub title: Option<String>,
    pub severity: SeveritySpec,
    pub severity_floor: Option<Band>,
    pub notify: bool,
    pub actions: Vec<ActionKind>,
    pub runbook: Option<String>,
    /// Whether its actions count against the remediation budgets (`response.budget`).
    pub budget: bool,
    /// Where the rule was defined: `file:line`.
    pub origin: String,
    /// The title and runbook with their placeholders parsed.
    pub(crate) title_template: Option<super::template::Template>,
    pub(crate) runbook_template: Option<super::template::Template>,
    /// Things `rules check` warns about but that do not stop the rule (a placeholder path no
    /// event of the rule's detail-types has).
    pub warnings: Vec<String>,
    /// For a rule made from a Sigma rule: the CloudTrail calls it can match.
    pub sigma_route: Option<super::sigma::Route>,
    /// Its calls are read-only management events (`match.read_only`).
    pub read_only: bool,
    /// Its windowed threshold (`match.threshold`): it matches only on the event that reaches
    /// it ([`crate::state::Store::tally`]).
    pub threshold: Option<Threshold>,
    matcher: Matcher,
    exceptions: Exceptions,
}

/// A rule's windowed threshold, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub count: u64,
    /// The field whose distinct values are counted (`None`: the events).
    pub distinct: Option<Vec<String>>,
    /// The window's length in seconds. Windows are fixed: the event time divided by it.
    pub window: i64,
    pub by: By,
}

/// What a threshold counts by: each value has its own count.
#[derive(Debug, Clone, PartialEq)]
pub enum By {
    /// The caller's ARN.
    Principal,
    /// The account the event is about.
    Account,
    /// A field's value.
    Field(Vec<String>),
}

impl Threshold {
    /// The window text as written (`10m`).
    pub fn window_text(&self) -> String {
        match self.window {
            w if w % 3600 == 0 => format!("{}h", w / 3600),
            w if w % 60 == 0 => format!("{}m", w / 60),
            w => format!("{w}s"),
        }
    }
}

/// `30s`, `10m`, `2h`, `1d` in seconds: from 1 minute to 1 day.
fn parse_window(text: &str) -> Result<i64, String> {
    let bad = || format!("bad threshold window `{text}`: write a number and s, m, h or d (`10m`)");
    let unit = text.chars().last().ok_or_else(bad)?;
    let n: i64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| bad())?;
    let secs = match unit {
        's' => Some(n),
        'm' => n.checked_mul(60),
        'h' => n.checked_mul(3600),
        'd' => n.checked_mul(86_400),
        _ => return Err(bad()),
    };
    match secs {
        Some(secs) if (60..=86_400).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "threshold window `{text}` is outside 1 minute to 1 day"
        )),
    }
}

fn compile_threshold(t: ThresholdDef, errors: &mut Vec<String>) -> Option<Threshold> {
    let max = crate::state::MAX_THRESHOLD_COUNT;
    if !(2..=max).contains(&t.count) {
        errors.push(format!("threshold count {} is outside 2–{max}", t.count));
    }
    let window = parse_window(&t.window).map_err(|e| errors.push(e)).ok()?;
    let distinct = match t.distinct.as_deref().map(compile_path) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            errors.push(format!("threshold distinct: {e}"));
            return None;
        }
    };
    let by = match t.by.as_deref() {
        None | Some("principal") => By::Principal,
        Some("account") => By::Account,
        Some(path) => match compile_path(path) {
            Ok(p) => By::Field(p),
            Err(e) => {
                errors.push(format!(
                    "threshold by: `principal`, `account` or a field path: {e}"
                ));
                return None;
            }
        },
    };
    Some(Threshold {
        count: t.count,
        distinct,
        window,
        by,
    })
}

/// The result of matching one rule against an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    No,
    Yes,
    /// The rule matched, but one of its exceptions applies: the exception wins.
    Excepted,
}

/// An ordered set of rules with unique ids. Rules made from Sigma rules come first, so that
/// a response rule attached to one (`match.sigma`) names the event on a severity tie.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    sigma: Vec<super::sigma::SigmaRule>,
    sigma_unsupported: Vec<super::sigma::Unsupported>,
}

impl RuleSet {
    /// The built-in playbook.
    pub fn builtin() -> Result<RuleSet, Vec<RuleError>> {
        let mut set = RuleSet::default();
        set.add_source(BUILTIN_NAME, BUILTIN_RULES, false)?;
        // Rules the deployment compiled in (rules/ at build time) add to or override these.
        for (name, text) in DEPLOYMENT_RULES {
            set.add_source(name, text, true)?;
        }
        for (name, text) in DEPLOYMENT_SIGMA {
            set.add_sigma(name, text);
        }
        Ok(set)
    }

    /// Adds one Sigma rule file. A rule mamoru cannot evaluate is kept in
    /// [`RuleSet::sigma_unsupported`] with the reason, never dropped silently; so is a second
    /// rule with an id already loaded.
    pub fn add_sigma(&mut self, file: &str, text: &str) {
        let parsed = super::sigma::parse(file, text).and_then(|rule| {
            match self.sigma.iter().find(|r| r.id == rule.id) {
                Some(first) => Err(super::sigma::Unsupported {
                    file: file.to_string(),
                    id: Some(rule.id.clone()),
                    reason: format!("duplicate Sigma id (already loaded from {})", first.file),
                }),
                None => Ok(rule),
            }
        });
        match parsed {
            Ok(rule) => {
                self.rules.insert(self.sigma.len(), Rule::from_sigma(&rule));
                self.sigma.push(rule);
            }
            Err(why) => self.sigma_unsupported.push(why),
        }
    }

    /// Adds the Sigma rule files the paths name (directories searched for `*.yml`, `*.yaml`).
    pub fn add_sigma_paths(&mut self, paths: &[impl AsRef<Path>]) {
        let mut problems = Vec::new();
        for file in super::sigma::expand_paths(paths, &mut problems) {
            let name = file.display().to_string();
            match std::fs::read_to_string(&file) {
                Ok(text) => self.add_sigma(&name, &text),
                Err(e) => problems.push(super::sigma::Unsupported {
                    file: name,
                    id: None,
                    reason: format!("cannot read: {e}"),
                }),
            }
        }
        self.sigma_unsupported.extend(problems);
    }

    /// The Sigma rules loaded.
    pub fn sigma_rules(&self) -> &[super::sigma::SigmaRule] {
        &self.sigma
    }

    /// The Sigma rule files that could not be loaded, each with its reason.
    pub fn sigma_unsupported(&self) -> &[super::sigma::Unsupported] {
        &self.sigma_unsupported
    }

    /// Response rules whose `match.sigma` names a Sigma rule that is not loaded: they could
    /// never match.
    pub fn sigma_reference_errors(&self) -> Vec<RuleError> {
        let mut errors = Vec::new();
        for rule in &self.rules {
            for id in &rule.matcher.sigma {
                if rule.sigma_route.is_none() && !self.sigma.iter().any(|s| &s.id == id) {
                    let (file, line) = match rule.origin.rsplit_once(':') {
                        Some((f, l)) => (f.to_string(), l.parse().unwrap_or(0)),
                        None => (rule.origin.clone(), 0),
                    };
                    errors.push(RuleError {
                        file,
                        line,
                        message: format!(
                            "rule `{}`: match.sigma names Sigma rule `{id}`, which is not loaded (add it with --sigma or MAMORU_SIGMA_PATH)",
                            rule.id
                        ),
                    });
                }
            }
        }
        errors
    }

    /// The ids (without `sigma:`) of the Sigma rules a CloudTrail-delivered event matches.
    /// Only the rules whose route covers the call are evaluated; the record is built only when
    /// there is one.
    pub fn sigma_matches(&self, event: &Event) -> Vec<String> {
        let Some(call) = event.cloudtrail() else {
            return Vec::new();
        };
        let candidates: Vec<&super::sigma::SigmaRule> = self
            .sigma
            .iter()
            .filter(|r| r.may_match(&call.event_source, &call.event_name))
            .collect();
        if candidates.is_empty() {
            return Vec::new();
        }
        let Some(record) = super::sigma::record(event.detail_value()) else {
            return Vec::new();
        };
        candidates
            .into_iter()
            .filter(|r| r.matches(&record))
            .map(|r| r.id.clone())
            .collect()
    }

    /// The built-in playbook plus rule files (or directories of `*.toml`). A rule whose id is
    /// already defined replaces it: that is how a deployment overrides a built-in rule.
    pub fn builtin_with(paths: &[impl AsRef<Path>]) -> Result<RuleSet, Vec<RuleError>> {
        RuleSet::builtin_with_cases(paths).map(|(set, _)| set)
    }

    /// Like [`RuleSet::builtin_with`], also returning the test cases the files hold.
    pub fn builtin_with_cases(
        paths: &[impl AsRef<Path>],
    ) -> Result<(RuleSet, Vec<super::cases::Case>), Vec<RuleError>> {
        let mut set = RuleSet::builtin()?;
        let mut errors = Vec::new();
        let mut cases = Vec::new();
        for file in expand_paths(paths, &mut errors) {
            match std::fs::read_to_string(&file) {
                Ok(text) => match set.add_source(&file.display().to_string(), &text, true) {
                    Ok(found) => cases.extend(found),
                    Err(e) => errors.extend(e),
                },
                Err(e) => errors.push(RuleError {
                    file: file.display().to_string(),
                    line: 0,
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        if errors.is_empty() {
            Ok((set, cases))
        } else {
            Err(errors)
        }
    }

    /// Parses and adds one rule file. With `override_ids`, a rule reusing an id replaces the
    /// earlier one; duplicate ids within one file are always an error.
    pub fn add_source(
        &mut self,
        file: &str,
        text: &str,
        override_ids: bool,
    ) -> Result<Vec<super::cases::Case>, Vec<RuleError>> {
        let parsed: RuleFile = toml::from_str(text).map_err(|e| {
            vec![RuleError {
                file: file.to_string(),
                line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
                message: e.message().trim().to_string(),
            }]
        })?;
        let mut errors = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut compiled = Vec::new();
        for spanned in parsed.rule {
            let line = line_of(text, spanned.span().start);
            let def = spanned.into_inner();
            if let Some(first) = seen.get(&def.id) {
                errors.push(RuleError {
                    file: file.to_string(),
                    line,
                    message: format!(
                        "duplicate rule id `{}` (first defined on line {first})",
                        def.id
                    ),
                });
                continue;
            }
            seen.insert(def.id.clone(), line);
            match compile(def, &format!("{file}:{line}")) {
                Ok(rule) => compiled.push(rule),
                Err(messages) => errors.extend(messages.into_iter().map(|message| RuleError {
                    file: file.to_string(),
                    line,
                    message,
                })),
            }
        }
        let mut cases = Vec::new();
        for spanned in parsed.case {
            let line = line_of(text, spanned.span().start);
            match super::cases::compile(spanned.into_inner(), file, line) {
                Ok(c) => cases.push(c),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        for rule in compiled {
            match self.rules.iter().position(|r| r.id == rule.id) {
                Some(i) if override_ids => self.rules[i] = rule,
                Some(i) => {
                    return Err(vec![RuleError {
                        file: file.to_string(),
                        line: rule
                            .origin
                            .rsplit(':')
                            .next()
                            .and_then(|l| l.parse().ok())
                            .unwrap_or(0),
                        message: format!(
                            "duplicate rule id `{}` (already defined at {})",
                            rule.id, self.rules[i].origin
                        ),
                    }]);
                }
                None => self.rules.push(rule),
            }
        }
        Ok(cases)
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Every action kind any rule can take.
    pub fn action_kinds(&self) -> Vec<ActionKind> {
        let mut kinds: Vec<ActionKind> =
            self.rules.iter().flat_map(|r| r.actions.clone()).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// Rule files named by the paths: files as given, directories expanded to their `*.toml`.
pub fn expand_paths(
    paths: &[impl AsRef<Path>],
    errors: &mut Vec<RuleError>,
) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        let path = path.as_ref();
        if path.is_dir() {
            match std::fs::read_dir(path) {
                Ok(entries) => {
                    let mut found: Vec<_> = entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                        .collect();
                    found.sort();
                    files.extend(found);
                }
                Err(e) => errors.push(RuleError {
                    file: path.display().to_string(),
                    line: 0,
                    message: format!("cannot read directory: {e}"),
                }),
            }
        } else {
            files.push(path.to_path_buf());
        }
    }
    files
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

const ENVELOPE_FIELDS: [&str; 7] = [
    "id",
    "source",
    "detail-type",
    "account",
    "region",
    "time",
    "resources",
];

fn compile_path(path: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = path.split('.').map(str::to_string).collect();
    if parts.iter().any(String::is_empty) {
        return Err(format!("bad field path `{path}`: empty segment"));
    }
    match parts.first().map(String::as_str) {
        Some("detail") => Ok(parts),
        Some(first) if ENVELOPE_FIELDS.contains(&first) => Ok(parts),
        _ => Err(format!(
            "bad field path `{path}`: it must start with `detail.` or name an envelope field ({})",
            ENVELOPE_FIELDS.join(", ")
        )),
    }
}

fn check_glob(pattern: &str, what: &str, errors: &mut Vec<String>) -> Glob {
    if pattern.is_empty() {
        errors.push(format!("bad pattern in {what}: empty pattern"));
    } else if pattern.contains("**") {
        errors.push(format!(
            "bad pattern `{pattern}` in {what}: `**` is not supported, `*` already matches any characters"
        ));
    }
    Glob::new(pattern)
}

fn compile_fields(defs: Vec<FieldDef>, errors: &mut Vec<String>) -> Vec<FieldCond> {
    let mut field = Vec::new();
    for f in defs {
        let path = match compile_path(&f.path) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let mut ops = Vec::new();
        if let Some(v) = &f.equals {
            ops.push(FieldOp::Equals(toml_to_json(v)));
        }
        if let Some(vs) = &f.one_of {
            ops.push(FieldOp::OneOf(vs.iter().map(toml_to_json).collect()));
        }
        if let Some(p) = f.prefix {
            ops.push(FieldOp::Prefix(p));
        }
        if let Some(g) = f.glob {
            ops.push(FieldOp::Glob(check_glob(
                &g,
                &format!("field `{}`", f.path),
                errors,
            )));
        }
        if let Some(c) = f.cidr {
            match c.parse::<IpNet>() {
                Ok(net) => ops.push(FieldOp::Cidr(net)),
                Err(_) => errors.push(format!("bad CIDR `{c}` in field `{}`", f.path)),
            }
        }
        if let Some(e) = f.exists {
            ops.push(FieldOp::Exists(e));
        }
        if ops.len() != 1 {
            errors.push(format!(
                "field `{}` needs exactly one of equals, one_of, prefix, glob, cidr, exists (found {})",
                f.path,
                ops.len()
            ));
            continue;
        }
        field.extend(ops.into_iter().map(|op| FieldCond {
            path: path.clone(),
            op,
        }));
    }
    field
}

fn compile(def: RuleDef, origin: &str) -> Result<Rule, Vec<String>> {
    let mut errors = Vec::new();
    let id_ok = !def.id.is_empty()
        && def
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id_ok {
        errors.push(format!(
            "bad rule id `{}`: use letters, digits, `-` and `_`",
            def.id
        ));
    }
    let m = def.matcher;
    let field = compile_fields(m.field, &mut errors);
    let any_field = compile_fields(m.any_field, &mut errors);
    let mut signal = Vec::new();
    for s in &m.signal {
        match Signal::parse(s) {
            Some(sig) => signal.push(sig),
            None => errors.push(format!(
                "unknown signal `{s}` (known: {})",
                Signal::ALL.map(Signal::name).join(", ")
            )),
        }
    }
    let (severity_min, severity_max) = match &m.severity {
        Some(r) => (r.min, r.max),
        None => (None, None),
    };
    for v in [severity_min, severity_max].into_iter().flatten() {
        if !(0.0..=10.0).contains(&v) {
            errors.push(format!("severity bound {v} is outside 0–10"));
        }
    }
    let finding_type = m
        .finding_type
        .iter()
        .map(|g| check_glob(g, "finding_type", &mut errors))
        .collect();
    let principal_arn = m
        .principal_arn
        .iter()
        .map(|g| check_glob(g, "principal_arn", &mut errors))
        .collect();
    let sigma = m
        .sigma
        .iter()
        .map(|id| {
            id.strip_prefix(super::sigma::ID_PREFIX)
                .unwrap_or(id)
                .to_string()
        })
        .collect();
    let threshold = m.threshold.and_then(|t| compile_threshold(t, &mut errors));
    let read_only = m.read_only;
    if threshold.is_some() && m.event_name.is_empty() {
        errors.push(
            "a threshold rule names its calls (match.event_name): it counts those calls"
                .to_string(),
        );
    }
    let mut field = field;
    if read_only {
        // Only what CloudTrail records as read-only (the route the stack makes for them).
        field.push(FieldCond {
            path: vec!["detail".to_string(), "readOnly".to_string()],
            op: FieldOp::Equals(Value::Bool(true)),
        });
    }
    let matcher = Matcher {
        sigma,
        source: m.source,
        detail_type: m.detail_type,
        finding_type,
        event_source: m.event_source,
        event_name: m
            .event_name
            .iter()
            .map(|g| check_glob(g, "event_name", &mut errors))
            .collect(),
        severity_min,
        severity_max,
        principal_type: m.principal_type,
        principal_arn,
        account: m.account,
        region: m.region,
        call: m.call,
        signal,
        field,
        any_field,
    };

    let r = def.response;
    let severity = match r.severity {
        None => SeveritySpec::FromEvent,
        Some(SeverityDef::Score(s)) if (0.0..=10.0).contains(&s) => {
            SeveritySpec::Fixed(Severity::from_score(s))
        }
        Some(SeverityDef::Score(s)) => {
            errors.push(format!("severity {s} is outside 0–10"));
            SeveritySpec::FromEvent
        }
        Some(SeverityDef::Band(b)) => match b.parse::<Band>() {
            Ok(band) => SeveritySpec::Fixed(Severity::from_band(band)),
            Err(e) => {
                errors.push(e);
                SeveritySpec::FromEvent
            }
        },
    };
    let severity_floor = match r.severity_floor.as_deref().map(str::parse::<Band>) {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            errors.push(e);
            None
        }
    };
    let mut actions = Vec::new();
    for a in &r.actions {
        match a.action.parse::<ActionKind>() {
            Ok(kind) => {
                // The event must be able to supply the action's parameters: the rule has to be
                // limited to detail-types the action can read them from.
                let supported = kind.detail_types();
                if matcher.detail_type.is_empty() {
                    errors.push(format!(
                        "action `{kind}` takes its parameters from {} events: restrict match.detail_type to those",
                        supported.join(" or ")
                    ));
                } else if let Some(dt) = matcher
                    .detail_type
                    .iter()
                    .find(|d| !supported.contains(&d.as_str()))
                {
                    errors.push(format!(
                        "action `{kind}` cannot take its parameters from `{dt}` events (it needs {})",
                        supported.join(" or ")
                    ));
                }
                actions.push(kind);
            }
            Err(e) => errors.push(e),
        }
    }
    let mut warnings = Vec::new();
    let mut template = |text: &Option<String>, what: &str| -> Option<super::template::Template> {
        let text = text.as_ref()?;
        match super::template::Template::parse(text) {
            Ok(t) => {
                warnings.extend(super::template::path_warnings(
                    &t,
                    &matcher.detail_type,
                    what,
                ));
                Some(t)
            }
            Err(e) => {
                errors.push(format!("{what}: {e}"));
                None
            }
        }
    };
    let title_template = template(&r.title, "title");
    let runbook_template = template(&r.runbook, "runbook");
    let ex = def.exceptions;
    let mut source_ips = Vec::new();
    for ip in &ex.source_ips {
        let parsed = ip
            .parse::<IpNet>()
            .or_else(|_| ip.parse::<IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => source_ips.push(net),
            Err(_) => errors.push(format!("bad IP or CIDR `{ip}` in exceptions.source_ips")),
        }
    }
    let exceptions = Exceptions {
        principals: ex
            .principals
            .iter()
            .map(|g| check_glob(g, "exceptions.principals", &mut errors))
            .collect(),
        accounts: ex.accounts,
        source_ips,
        resource_tags: ex.resource_tags,
    };
    if !errors.is_empty() {
        return Err(errors
            .into_iter()
            .map(|e| format!("rule `{}`: {e}", def.id))
            .collect());
    }
    Ok(Rule {
        id: def.id,
        description: def.description,
        mode: def.mode,
        title: r.title,
        severity,
        severity_floor,
        notify: r.notify,
        actions,
        runbook: r.runbook,
        budget: r.budget,
        origin: origin.to_string(),
        title_template,
        runbook_template,
        warnings,
        sigma_route: None,
        read_only,
        threshold,
        matcher,
        exceptions,
    })
}

/// `{` and `}` written so that a template shows them as they are.
fn literal(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

impl Rule {
    /// The rule a Sigma rule stands for: `sigma:<id>` on CloudTrail-delivered events that match
    /// it, notifying with its level (Medium without one), its title, and its description and
    /// false positives as the runbook. It takes no action: a response rule attaches actions
    /// with `match.sigma`.
    pub fn from_sigma(s: &super::sigma::SigmaRule) -> Rule {
        let mut runbook = format!("Sigma rule {} ({}).", s.rule_id(), s.file);
        if let Some(d) = &s.description {
            runbook.push(' ');
            runbook.push_str(d.trim());
        }
        if s.falsepositives.is_empty() {
            runbook.push_str(" Known false positives: none listed.");
        } else {
            runbook.push_str(&format!(
                " Known false positives: {}.",
                s.falsepositives.join("; ")
            ));
        }
        let title_template = super::template::Template::parse(&literal(&s.title)).ok();
        let runbook_template = super::template::Template::parse(&literal(&runbook)).ok();
        Rule {
            id: s.rule_id(),
            description: s.title.clone(),
            mode: RuleMode::Enforce,
            title: Some(s.title.clone()),
            severity: s.level.map_or(SeveritySpec::FromEvent, |b| {
                SeveritySpec::Fixed(Severity::from_band(b))
            }),
            severity_floor: None,
            notify: true,
            actions: Vec::new(),
            runbook: Some(runbook),
            budget: true,
            origin: s.file.clone(),
            title_template,
            runbook_template,
            warnings: Vec::new(),
            sigma_route: Some(s.route.clone()),
            read_only: false,
            threshold: None,
            matcher: Matcher {
                detail_type: vec![
                    crate::event::DT_CLOUDTRAIL_CALL.to_string(),
                    crate::event::DT_CONSOLE_SIGN_IN.to_string(),
                ],
                sigma: vec![s.id.clone()],
                ..Matcher::default()
            },
            exceptions: Exceptions::default(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Matching.

/// What the matcher needs from an event, computed once per event.
pub struct Subject<'a> {
    pub event: &'a Event,
    pub principal: Option<Principal>,
    pub signals: Vec<Signal>,
    /// The ids of the Sigma rules the event matched ([`RuleSet::sigma_matches`]).
    pub sigma: Vec<String>,
    /// The detail's members, scanned on the first field-path lookup and shared by the others.
    detail: OnceCell<Option<Members<'a>>>,
}

impl<'a> Subject<'a> {
    pub fn new(event: &'a Event) -> Subject<'a> {
        Subject {
            event,
            principal: Principal::of(event),
            signals: super::facts::signals(event),
            sigma: Vec::new(),
            detail: OnceCell::new(),
        }
    }

    /// A field of the detail, read without parsing the whole detail.
    fn detail_field<S: AsRef<str>>(&self, path: &[S]) -> Option<Value> {
        if path.is_empty() {
            return Some(self.event.detail_value().clone());
        }
        // Most conditions read fields the typed event already holds.
        if let Some(found) = self.event.modelled_field(path) {
            return found;
        }
        let members = self.detail.get_or_init(|| self.event.detail_members());
        field_in(members.as_deref()?, path)
    }

    pub(crate) fn field(&self, path: &[String]) -> Option<Value> {
        let e = self.event;
        let (first, rest) = path.split_first()?;
        let root = match first.as_str() {
            "detail" => return self.detail_field(rest),
            "id" => Value::String(e.id.clone()),
            "source" => Value::String(e.source.clone()),
            "detail-type" => Value::String(e.detail_type.clone()),
            "account" => Value::String(e.account.clone()),
            "region" => Value::String(e.region.clone()),
            "time" => e.time.clone().map(Value::String)?,
            "resources" => Value::Array(e.resources.iter().cloned().map(Value::String).collect()),
            _ => return None,
        };
        value_at(&root, rest).cloned()
    }

    /// The resource tags the event carries (Config items, GuardDuty instance details).
    fn tags(&self) -> Vec<(String, String)> {
        match &self.event.kind {
            EventKind::ConfigItemChange(c) => match &c.configuration_item.tags {
                Value::Object(m) => m
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect(),
                _ => Vec::new(),
            },
            EventKind::GuardDutyFinding(_) => self
                .detail_field(&["resource", "instanceDetails", "tags"])
                .as_ref()
                .and_then(Value::as_array)
                .map(|tags| {
                    tags.iter()
                        .filter_map(|t| {
                            Some((
                                t.get("key")?.as_str()?.to_string(),
                                t.get("value")?.as_str()?.to_string(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

impl FieldCond {
    fn holds(&self, subject: &Subject<'_>) -> bool {
        let value = subject.field(&self.path);
        let value = match (&self.op, value) {
            (FieldOp::Exists(want), v) => return v.is_some_and(|v| !v.is_null()) == *want,
            (_, None) => return false,
            (_, Some(v)) => v,
        };
        // A condition on a list holds when it holds for any element.
        if let Value::Array(items) = &value
            && !matches!(self.op, FieldOp::Equals(Value::Array(_)))
        {
            return items.iter().any(|v| self.holds_on(v));
        }
        self.holds_on(&value)
    }

    fn holds_on(&self, v: &Value) -> bool {
        match &self.op {
            FieldOp::Equals(want) => values_equal(v, want),
            FieldOp::OneOf(wants) => wants.iter().any(|w| values_equal(v, w)),
            FieldOp::Prefix(p) => v.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            FieldOp::Glob(g) => v.as_str().is_some_and(|s| g.matches(s)),
            FieldOp::Cidr(net) => v
                .as_str()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|ip| net.contains(&ip)),
            FieldOp::Exists(_) => true,
        }
    }
}

/// The event's own severity: a finding's score, else Medium.
pub fn event_severity(event: &Event) -> Severity {
    match &event.kind {
        EventKind::GuardDutyFinding(f) => Severity::from_score(f.severity),
        EventKind::SecurityHub(sh) => sh
            .finding()
            .map_or(Severity::from_band(Band::Medium), |f| f.severity()),
        _ => Severity::from_band(Band::Medium),
    }
}

fn in_list(list: &[String], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
}

impl Rule {
    pub fn matches(&self, s: &Subject<'_>) -> Match {
        if !self.matcher.matches(s) {
            return Match::No;
        }
        if self.exceptions.applies(s) {
            return Match::Excepted;
        }
        Match::Yes
    }

    /// The detail-types this rule is limited to (empty: any).
    pub fn detail_types(&self) -> &[String] {
        &self.matcher.detail_type
    }

    /// The lower severity bound the rule sets for itself, if any. A rule with its own bound
    /// decides remediation for itself instead of MAMORU_MIN_REMEDIATION_SEVERITY.
    pub fn severity_min(&self) -> Option<f64> {
        self.matcher.severity_min
    }

    /// The CloudTrail eventSources this rule is limited to (empty: any).
    /// Whether the rule matches less than every event of its detail-types and event sources
    /// (a condition beyond them, or an exception). A rule that does not can only be shown
    /// not matching by an event of another kind.
    pub fn narrows_its_kind(&self) -> bool {
        let m = &self.matcher;
        let e = &self.exceptions;
        !(m.finding_type.is_empty()
            && m.event_name.is_empty()
            && m.severity_min.is_none()
            && m.severity_max.is_none()
            && m.principal_type.is_empty()
            && m.principal_arn.is_empty()
            && m.account.is_empty()
            && m.region.is_empty()
            && m.call.is_none()
            && m.signal.is_empty()
            && m.field.is_empty()
            && m.any_field.is_empty()
            && m.sigma.is_empty()
            && e.principals.is_empty()
            && e.accounts.is_empty()
            && e.source_ips.is_empty()
            && e.resource_tags.is_empty())
    }

    pub fn event_sources(&self) -> &[String] {
        &self.matcher.event_source
    }

    /// The CloudTrail eventName patterns this rule is limited to (empty: any). A trailing `*`
    /// is a prefix (Lambda's eventNames carry an API version suffix).
    pub fn event_names(&self) -> Vec<String> {
        self.matcher
            .event_name
            .iter()
            .map(|g| g.as_str().to_string())
            .collect()
    }
}

impl Matcher {
    fn matches(&self, s: &Subject<'_>) -> bool {
        let e = s.event;
        let ct = e.cloudtrail();
        let finding = match &e.kind {
            EventKind::GuardDutyFinding(f) => Some(f),
            _ => None,
        };
        if !in_list(&self.source, Some(&e.source))
            || !in_list(&self.detail_type, Some(&e.detail_type))
            || !in_list(&self.account, Some(&e.account))
            || !in_list(&self.region, Some(&e.region))
            || !in_list(&self.event_source, ct.map(|c| c.event_source.as_str()))
        {
            return false;
        }
        if !self.event_name.is_empty()
            && !ct.is_some_and(|c| any_glob(&self.event_name, &c.event_name))
        {
            return false;
        }
        if !self.finding_type.is_empty()
            && !finding.is_some_and(|f| any_glob(&self.finding_type, &f.finding_type))
        {
            return false;
        }
        if self.severity_min.is_some() || self.severity_max.is_some() {
            let score = event_severity(e).score;
            if self.severity_min.is_some_and(|m| score < m)
                || self.severity_max.is_some_and(|m| score > m)
            {
                return false;
            }
        }
        let principal = s.principal.as_ref();
        if !in_list(
            &self.principal_type,
            principal.and_then(|p| p.kind.as_deref()),
        ) {
            return false;
        }
        if !self.principal_arn.is_empty()
            && !principal.is_some_and(|p| p.arns().any(|a| any_glob(&self.principal_arn, a)))
        {
            return false;
        }
        match self.call {
            None | Some(CallOutcome::Any) => {}
            Some(want) => {
                let Some(c) = ct else { return false };
                let ok = c.succeeded();
                if (want == CallOutcome::Succeeded) != ok {
                    return false;
                }
            }
        }
        if !self.signal.is_empty() && !self.signal.iter().any(|sig| s.signals.contains(sig)) {
            return false;
        }
        if !self.sigma.is_empty() && !self.sigma.iter().any(|id| s.sigma.contains(id)) {
            return false;
        }
        self.field.iter().all(|f| f.holds(s))
            && (self.any_field.is_empty() || self.any_field.iter().any(|f| f.holds(s)))
    }
}

impl Exceptions {
    fn applies(&self, s: &Subject<'_>) -> bool {
        let p = s.principal.as_ref();
        if !self.principals.is_empty()
            && p.is_some_and(|p| p.arns().any(|a| any_glob(&self.principals, a)))
        {
            return true;
        }
        if self.accounts.contains(&s.event.account) {
            return true;
        }
        if !self.source_ips.is_empty() {
            let ip = p
                .and_then(|p| p.source_ip.as_deref())
                .and_then(|ip| ip.parse::<IpAddr>().ok());
            if ip.is_some_and(|ip| self.source_ips.iter().any(|n| n.contains(&ip))) {
                return true;
            }
        }
        if !self.resource_tags.is_empty() {
            let tags = s.tags();
            if self
                .resource_tags
                .iter()
                .any(|(k, v)| tags.iter().any(|(tk, tv)| tk == k && (v == "*" || tv == v)))
            {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_compile() {
        let set = RuleSet::builtin().unwrap();
        assert!(set.rules().len() >= 10);
    }

    fn errors(text: &str) -> Vec<RuleError> {
        RuleSet::default()
            .add_source("t.toml", text, false)
            .unwrap_err()
    }

    #[test]
    fn unknown_field_is_reported_with_its_line() {
        let e =
            errors("[[rule]]\nid = \"a\"\ndescription = \"d\"\n[rule.match]\ncolour = \"red\"\n");
        assert_eq!(e[0].line, 5, "{e:?}");
        assert!(e[0].message.contains("colour"), "{e:?}");
    }

    #[test]
    fn unknown_action_duplicate_id_bad_pattern_and_unsuppliable_parameter() {
        let rule = |id: &str, extra: &str| {
            format!("[[rule]]\nid = \"{id}\"\ndescription = \"d\"\n{extra}\n")
        };
        let e = errors(&rule(
            "a",
            "[rule.match]\ndetail_type = [\"GuardDuty Finding\"]\n[rule.response]\nactions = [{ action = \"nuke\" }]",
        ));
        assert!(e[0].message.contains("unknown action `nuke`"), "{e:?}");

        let e = errors(&(rule("a", "[rule.match]") + &rule("a", "[rule.match]")));
        assert!(e[0].message.contains("duplicate rule id `a`"), "{e:?}");
        assert_eq!(e[0].line, 5);

        let e = errors(&rule("a", "[rule.match]\nfinding_type = [\"**\"]"));
        assert!(e[0].message.contains("bad pattern"), "{e:?}");

        let e = errors(&rule(
            "a",
            "[rule.match]\ndetail_type = [\"GuardDuty Finding\"]\n[rule.response]\nactions = [{ action = \"start_logging\" }]",
        ));
        assert!(e[0].message.contains("cannot take its parameters"), "{e:?}");
    }
}
