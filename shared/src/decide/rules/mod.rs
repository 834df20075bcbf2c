//! Response rules as data: a TOML format, its validation, and matching.
//!
//! The built-in playbook (`shared/rules/builtin.toml`) is written in this format and compiled
//! into every binary; deployments add or override rules by id with files of their own.
//!
//! In three steps, one module each: [`format`] (what a file holds, as serde reads it),
//! [`compile`] (checked and turned into a [`Rule`]) and [`eval`] (a rule held against an event).
//! This module keeps the compiled types and the [`RuleSet`], whose [`index`] gives the rules an
//! event can match without holding every rule against it.

mod compile;
mod eval;
mod format;
mod index;

use compile::compile;
pub use eval::{Subject, event_severity};
pub use format::CallOutcome;
use format::*;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wildmatch::WildMatch;

use super::facts::{Principal, Signal};
use super::severity::{Band, Severity};
use crate::action::ActionKind;
use crate::event::{Event, EventKind};

/// The built-in playbook, compiled into the binaries.
pub const BUILTIN_RULES: &str = include_str!("../../../rules/builtin.toml");
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
    /// The Sigma rules (indexes into `sigma`) whose routes are exact calls, by lower-case
    /// eventSource and eventName; `sigma_scan` holds the others (patterns, broad routes),
    /// held against each call.
    sigma_by_call: HashMap<String, HashMap<String, Vec<usize>>>,
    sigma_scan: Vec<usize>,
    sigma_unsupported: Vec<super::sigma::Unsupported>,
    /// The rules by the values they require: built on the first event, dropped before
    /// `rules` changes (a set is built once per container, rule file by rule file).
    index: std::sync::OnceLock<index::RuleIndex>,
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
                self.index = std::sync::OnceLock::new();
                self.rules.insert(self.sigma.len(), Rule::from_sigma(&rule));
                let index = self.sigma.len();
                match rule.exact_calls() {
                    Some(calls) => {
                        for (source, name) in calls {
                            let by_name = self.sigma_by_call.entry(source.clone()).or_default();
                            let rules = by_name.entry(name.clone()).or_default();
                            if !rules.contains(&index) {
                                rules.push(index);
                            }
                        }
                    }
                    None => self.sigma_scan.push(index),
                }
                self.sigma.push(rule);
            }
            Err(why) => self.sigma_unsupported.push(why),
        }
    }

    /// Records a Sigma rule file that could not be loaded (unreadable, say), so that it is
    /// reported with the rules that could not be evaluated.
    pub fn add_sigma_problem(&mut self, problem: super::sigma::Unsupported) {
        self.sigma_unsupported.push(problem);
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
        if self.sigma.is_empty() {
            return Vec::new();
        }
        let Some(call) = event.cloudtrail() else {
            return Vec::new();
        };
        let call = super::sigma::Call::lowered(&call.event_source, &call.event_name);
        let (source, name) = call.parts();
        let mut reached: Vec<usize> = self
            .sigma_by_call
            .get(source)
            .and_then(|by_name| by_name.get(name))
            .cloned()
            .unwrap_or_default();
        reached.extend(
            self.sigma_scan
                .iter()
                .copied()
                .filter(|&i| self.sigma[i].may_match(&call)),
        );
        // In load order, as every rule's own evaluation would list them.
        reached.sort_unstable();
        let mut probe = super::sigma::FieldProbe::new(event);
        let candidates: Vec<&super::sigma::SigmaRule> = reached
            .into_iter()
            .map(|i| &self.sigma[i])
            .filter(|r| r.may_match_fields(&mut probe))
            .collect();
        if candidates.is_empty() {
            return Vec::new();
        }
        // The record holds what the remaining rules read, or every member when one of them
        // searches keywords.
        let fields: Option<Vec<&str>> = candidates.iter().try_fold(Vec::new(), |mut all, r| {
            all.extend(r.fields()?.iter().map(String::as_str));
            Some(all)
        });
        let fields = fields.map(|mut f| {
            f.sort_unstable();
            f.dedup();
            f
        });
        let Some(record) = probe.record(fields.as_deref()) else {
            return Vec::new();
        };
        candidates
            .into_iter()
            .filter(|r| r.matches(&record))
            .map(|r| r.id.clone())
            .collect()
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
        let lines = Lines::of(text);
        let mut errors = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut compiled = Vec::new();
        for spanned in parsed.rule {
            let line = lines.line_of(spanned.span().start);
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
            let line = lines.line_of(spanned.span().start);
            match super::cases::compile(spanned.into_inner(), file, line) {
                Ok(c) => cases.push(c),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.index = std::sync::OnceLock::new();
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

    /// The rules `event` can match, in order, given the ids of the Sigma rules it matched
    /// ([`RuleSet::sigma_matches`]): every rule that [`Rule::matches`] on the event is among
    /// them, most of the others are not.
    pub fn candidates<'a>(
        &'a self,
        event: &Event,
        sigma: &[String],
    ) -> impl Iterator<Item = &'a Rule> + use<'a> {
        self.index
            .get_or_init(|| index::RuleIndex::of(&self.rules))
            .candidates(event, sigma)
            .into_iter()
            .filter_map(|i| self.rules.get(i))
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

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    Lines::of(text).line_of(offset)
}

/// Where a text's line breaks are, found once: a rule file is asked for the line of every
/// rule and case in it, and counting from the start each time made loading the built-in rules
/// quadratic in their size (most of a function's start-up).
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Lines {
        Lines(text.match_indices('\n').map(|(at, _)| at).collect())
    }

    /// The 1-based line of byte `offset`: one more than the line breaks before it.
    fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|&at| at < offset) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_counts_the_line_breaks_before_the_offset() {
        let text = "a\nbc\n\nd";
        // Each byte's line, as counting from the start gives it; an offset past the end is on
        // the last line.
        let expected = [1, 1, 2, 2, 2, 3, 4, 4, 4];
        for (offset, line) in expected.into_iter().enumerate() {
            assert_eq!(line_of(text, offset), line, "offset {offset}");
        }
        assert_eq!(line_of("", 0), 1);
        assert_eq!(line_of("\n", 1), 2);
    }

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
