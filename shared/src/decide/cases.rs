//! Rule test cases: an event file and the expected plan, written next to the rules
//! (`[[case]]` tables in any rule file). `mamoru rules test` runs them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::rules::{RuleError, RuleSet};
use super::{Band, Disposition, decide_crossed};
use crate::event::Event;
use crate::settings::Settings;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaseDef {
    name: String,
    /// The event file, relative to the file holding the case.
    event: String,
    #[serde(default)]
    settings: CaseSettings,
    expect: ExpectDef,
}

/// Settings a case decides under (defaults: the built-in defaults).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSettings {
    #[serde(default)]
    pub min_remediation_severity: Option<f64>,
    #[serde(default)]
    pub protected_principals: Vec<String>,
    #[serde(default)]
    pub self_role_arns: Vec<String>,
    #[serde(default)]
    pub self_resources: Vec<String>,
    /// `MAMORU_TRUSTED_ACCOUNTS`.
    #[serde(default)]
    pub trusted_accounts: Vec<String>,
    /// Threshold rules (`match.threshold`) this event is taken to bring to their count: they
    /// match like any rule. Every other threshold rule is below its count and does not match.
    /// (The counting itself is the state store's, tested there.)
    #[serde(default)]
    pub thresholds_reached: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectDef {
    disposition: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    rules: Option<Vec<String>>,
    #[serde(default)]
    not_rules: Vec<String>,
    #[serde(default)]
    actions: Option<Vec<ExpectedAction>>,
}

/// An expected action: its API, region and exact parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedAction {
    pub api: String,
    pub region: String,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// Expected to be reported only ("would have"), from a rule in shadow mode.
    #[serde(default)]
    pub shadow: bool,
}

/// A compiled test case.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub event: PathBuf,
    pub settings: CaseSettings,
    pub disposition: Disposition,
    pub severity: Option<Band>,
    pub rules: Option<Vec<String>>,
    pub not_rules: Vec<String>,
    pub actions: Option<Vec<ExpectedAction>>,
}

fn parse_disposition(s: &str) -> Result<Disposition, String> {
    match s {
        "remediate" => Ok(Disposition::Remediate),
        "notify" => Ok(Disposition::Notify),
        "ignore" => Ok(Disposition::Ignore),
        "error" => Ok(Disposition::Error),
        other => Err(format!(
            "unknown disposition `{other}` (expected remediate, notify, ignore or error)"
        )),
    }
}

pub(crate) fn compile(def: CaseDef, file: &str, line: usize) -> Result<Case, Vec<RuleError>> {
    let err = |message: String| RuleError {
        file: file.to_string(),
        line,
        message: format!("case `{}`: {message}", def.name),
    };
    let mut errors = Vec::new();
    let disposition = parse_disposition(&def.expect.disposition).unwrap_or_else(|e| {
        errors.push(err(e));
        Disposition::Ignore
    });
    let severity = match def.expect.severity.as_deref().map(str::parse::<Band>) {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            errors.push(err(e));
            None
        }
    };
    // Relative to the file holding the case. Whether it exists is checked where the files are
    // read (`mamoru::files`): the core reads no file.
    let base = Path::new(file).parent().unwrap_or(Path::new("."));
    let event = base.join(&def.event);
    if disposition == Disposition::Remediate && def.expect.actions.is_none() {
        errors.push(err(
            "expects remediate but does not pin its actions: add `actions = [...]`".to_string(),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Case {
        name: def.name,
        file: file.to_string(),
        line,
        event,
        settings: def.settings,
        disposition,
        severity,
        rules: def.expect.rules,
        not_rules: def.expect.not_rules,
        actions: def.expect.actions,
    })
}

/// A JSON value written as a TOML inline value (strings as basic strings, objects as inline
/// tables), for a case the user can paste.
fn toml_text(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let fields: Vec<String> = m
                .iter()
                .map(|(k, v)| {
                    let bare = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    let key = if bare {
                        k.clone()
                    } else {
                        Value::from(k.as_str()).to_string()
                    };
                    format!("{key} = {}", toml_text(v))
                })
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(toml_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Null => "\"\"".to_string(),
        other => other.to_string(),
    }
}

fn toml_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

impl Case {
    fn settings(&self) -> Result<Settings, String> {
        let mut s = Settings::default();
        if let Some(m) = self.settings.min_remediation_severity {
            s.min_remediation_severity = m;
        }
        let joined = self.settings.protected_principals.join(",");
        let protected = Settings::from_lookup(
            |k| (k == crate::settings::ENV_PROTECTED).then(|| joined.clone()),
            false,
        )
        .map_err(|e| e.to_string())?;
        s.protected_principals = protected.protected_principals;
        s.self_role_arns = self.settings.self_role_arns.clone();
        s.self_resources = self.settings.self_resources.clone();
        s.trusted_accounts = self.settings.trusted_accounts.clone();
        Ok(s)
    }

    /// Runs the case on its event's text (`Err`: why the event file could not be read);
    /// returns the differences (empty when it passes).
    pub fn run(&self, text: Result<&str, &str>, rules: &RuleSet) -> Vec<String> {
        let text = match text {
            Ok(t) => t,
            Err(e) => return vec![format!("cannot read {}: {e}", self.event.display())],
        };
        let settings = match self.settings() {
            Ok(s) => s,
            Err(e) => return vec![format!("bad settings: {e}")],
        };
        let plan = match Event::from_json(text) {
            Ok(event) => decide_crossed(
                &event,
                None,
                rules,
                &settings,
                &self.settings.thresholds_reached,
            ),
            Err(e) => {
                return if self.disposition == Disposition::Error {
                    Vec::new()
                } else {
                    vec![format!("the event does not parse: {e}")]
                };
            }
        };
        let mut diffs = Vec::new();
        let name = |d: Disposition| {
            serde_json::to_value(d)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        if plan.disposition != self.disposition {
            diffs.push(format!(
                "disposition: expected {}, got {}  ({})",
                name(self.disposition),
                name(plan.disposition),
                plan.reason
            ));
        }
        if let Some(band) = self.severity
            && plan.severity.band != band
        {
            diffs.push(format!(
                "severity: expected {band}, got {} ({:.1})",
                plan.severity.band, plan.severity.score
            ));
        }
        if let Some(want) = &self.rules
            && *want != plan.rule_ids
        {
            diffs.push(format!(
                "rules: expected [{}], got [{}]",
                want.join(", "),
                plan.rule_ids.join(", ")
            ));
        }
        for r in &self.not_rules {
            if plan.rule_ids.contains(r) {
                diffs.push(format!("rules: `{r}` matched but must not"));
            }
        }
        if self.actions.is_none() {
            let with_actions: Vec<&str> = rules
                .rules()
                .iter()
                .filter(|r| !r.actions.is_empty() && plan.rule_ids.contains(&r.id))
                .map(|r| r.id.as_str())
                .collect();
            if !with_actions.is_empty() {
                let planned: Vec<String> = plan
                    .actions
                    .iter()
                    .map(|a| {
                        format!(
                            "  {{ api = {}, region = {}, params = {}{} }},",
                            toml_text(&Value::from(a.action.kind.api())),
                            toml_text(&Value::from(a.action.region.as_str())),
                            toml_text(&Value::Object(a.action.params())),
                            if a.shadow { ", shadow = true" } else { "" }
                        )
                    })
                    .collect();
                diffs.push(format!(
                    "rules with actions matched ({}): the case must pin `actions` (an empty list when none is planned); planned:\n      actions = [{}{}]",
                    with_actions.join(", "),
                    planned.iter().map(|l| format!("\n      {l}")).collect::<String>(),
                    if planned.is_empty() { "" } else { "\n      " }
                ));
            }
        }
        if let Some(want) = &self.actions {
            let got: Vec<(String, String, Value, bool)> = plan
                .actions
                .iter()
                .map(|a| {
                    (
                        a.action.kind.api().to_string(),
                        a.action.region.clone(),
                        Value::Object(a.action.params()),
                        a.shadow,
                    )
                })
                .collect();
            let want: Vec<(String, String, Value, bool)> = want
                .iter()
                .map(|a| {
                    let params = a
                        .params
                        .iter()
                        .map(|(k, v)| (k.clone(), toml_json(v)))
                        .collect();
                    (
                        a.api.clone(),
                        a.region.clone(),
                        Value::Object(params),
                        a.shadow,
                    )
                })
                .collect();
            if got != want {
                let mut d = String::from("actions differ:");
                let show = |(api, region, params, shadow): &(String, String, Value, bool)| {
                    format!(
                        "{api} in {region} {params}{}",
                        if *shadow { " (shadow)" } else { "" }
                    )
                };
                for w in &want {
                    let mark = if got.contains(w) { " " } else { "-" };
                    let _ = write!(d, "\n      {mark} {}", show(w));
                }
                for g in &got {
                    if !want.contains(g) {
                        let _ = write!(d, "\n      + {}", show(g));
                    }
                }
                d.push_str("\n      (- expected but missing, + planned but not expected)");
                diffs.push(d);
            }
        }
        diffs
    }

    /// Rules this case shows matching.
    pub fn positive_for(&self) -> &[String] {
        self.rules.as_deref().unwrap_or(&[])
    }
}

/// The result of running every case.
#[derive(Debug, Default)]
pub struct CaseReport {
    pub passed: usize,
    /// (case location and name, differences)
    pub failed: Vec<(String, Vec<String>)>,
    /// Rules missing a positive or a negative case.
    pub uncovered: Vec<Uncovered>,
}

/// A rule without both a positive and a negative case.
#[derive(Debug, Clone)]
pub struct Uncovered {
    pub rule_id: String,
    /// Where the rule is defined (`file:line`).
    pub origin: String,
    /// "rule `x` (file:line) has no positive case (…) and no negative case (…)".
    pub message: String,
}

/// Runs every case against the rules and checks that every rule has a positive and a negative
/// case. `read` gives the text of a case's event file (the core reads no file: `mamoru`'s
/// `files::run_cases` reads them from disk).
pub fn run_all(
    rules: &RuleSet,
    cases: &[Case],
    read: impl Fn(&Path) -> Result<String, String>,
) -> CaseReport {
    let mut report = CaseReport::default();
    let texts: Vec<Result<String, String>> = cases.iter().map(|c| read(&c.event)).collect();
    for (case, text) in cases.iter().zip(&texts) {
        let diffs = case.run(text.as_deref().map_err(String::as_str), rules);
        if diffs.is_empty() {
            report.passed += 1;
        } else {
            report
                .failed
                .push((format!("{}:{} {}", case.file, case.line, case.name), diffs));
        }
    }
    // A negative case proves something only on an event the rule could have matched by its
    // detail-type and event source: a Config event says nothing about a finding rule.
    let kinds: Vec<EventKindOf> = texts
        .iter()
        .map(|t| EventKindOf::of(t.as_deref().ok()))
        .collect();
    for rule in rules.rules() {
        let positive = cases.iter().any(|c| c.positive_for().contains(&rule.id));
        let negative = cases.iter().zip(&kinds).any(|(c, k)| {
            c.not_rules.contains(&rule.id) && (k.could_match(rule) || !rule.narrows_its_kind())
        });
        let mut missing = Vec::new();
        if !positive {
            missing.push("positive case (expect.rules listing it)");
        }
        if !negative {
            missing.push(
                "negative case of the same detail-type and event source (expect.not_rules listing it)",
            );
        }
        if !missing.is_empty() {
            report.uncovered.push(Uncovered {
                rule_id: rule.id.clone(),
                origin: rule.origin.clone(),
                message: format!(
                    "rule `{}` ({}) has no {}",
                    rule.id,
                    rule.origin,
                    missing.join(" and no ")
                ),
            });
        }
    }
    report
}

/// The detail-type and CloudTrail event source of a case's event, as its file says.
struct EventKindOf {
    detail_type: Option<String>,
    event_source: Option<String>,
}

impl EventKindOf {
    fn of(text: Option<&str>) -> EventKindOf {
        let v: Value = text
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null);
        let text = |v: &Value| v.as_str().map(str::to_string);
        EventKindOf {
            detail_type: text(&v["detail-type"]),
            event_source: text(&v["detail"]["eventSource"]),
        }
    }

    /// Whether the rule's detail-types and event sources admit this event (an empty list
    /// admits any).
    fn could_match(&self, rule: &super::rules::Rule) -> bool {
        let admits = |list: &[String], value: &Option<String>| {
            list.is_empty() || value.as_ref().is_some_and(|v| list.contains(v))
        };
        admits(rule.detail_types(), &self.detail_type)
            && admits(rule.event_sources(), &self.event_source)
    }
}
