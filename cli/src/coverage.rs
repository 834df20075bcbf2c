//! `mamoru coverage`: what mamoru covers, as one page (Markdown or self-contained HTML).
//!
//! Generated, never written by hand: one row per rule of the playbook (the built-in rules plus
//! any `--rules`), with the route that delivers its events (the EventBridge rules of the stack's
//! template whose pattern names the rule's detail-types and event sources), its mode (enforce,
//! shadow, notify-only), its response, its test cases (`[[case]]` in the rule files) and the
//! integration tests that carry out its actions against moto (a `// proves: RULE-ID` line above
//! the test in `tests/tests/`); then one row per action of the registry. `docs/coverage.md` is
//! the Markdown form; `tests/tests/coverage_doc.rs` fails when it is stale.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use mamoru::action::ActionKind;
use mamoru::decide::{Rule, RuleMode, RuleSet, SeveritySpec};
use mamoru::files::expand_paths;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Md,
    Html,
}

#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// Markdown (docs/coverage.md) or one self-contained HTML page (inline CSS, no scripts, no
    /// network).
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
    /// Extra rule files or directories (with their cases), added to the built-in playbook.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// The repository: its shared/rules (the built-in cases), infra/template.yaml (routes) and
    /// tests/tests (the tests that carry out actions).
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
}

pub fn run(args: &CoverageArgs) -> anyhow::Result<ExitCode> {
    let coverage = build(&args.root, &args.rules)?;
    let page = match args.format {
        Format::Md => markdown(&coverage),
        Format::Html => html(&coverage),
    };
    print!("{page}");
    Ok(ExitCode::SUCCESS)
}

/// How a rule acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Its actions run (in a deployment in enforce mode).
    Enforce,
    /// Its actions are reported as "would have" only.
    Shadow,
    /// No action: it notifies.
    NotifyOnly,
    /// No action and no notification: recorded in the audit log only.
    RecordOnly,
}

impl Mode {
    pub fn of(rule: &Rule) -> Mode {
        match (rule.actions.is_empty(), rule.mode, rule.notify) {
            (false, RuleMode::Enforce, _) => Mode::Enforce,
            (false, RuleMode::Shadow, _) => Mode::Shadow,
            (true, _, true) => Mode::NotifyOnly,
            (true, _, false) => Mode::RecordOnly,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Shadow => "shadow",
            Mode::NotifyOnly => "notify-only",
            Mode::RecordOnly => "record-only",
        }
    }
}

/// One rule: what it covers and what proves it.
#[derive(Debug)]
struct Row {
    path: String,
    rule: String,
    mode: Mode,
    response: String,
    actions: Vec<&'static str>,
    routes: Vec<String>,
    /// The first case where the rule matches, the first where it must not, and how many cases
    /// name it in all.
    positive: Option<String>,
    negative: Option<String>,
    cases: usize,
    /// `file::test` of the integration tests that carry out its actions.
    proofs: Vec<String>,
}

struct Section {
    title: &'static str,
    intro: &'static str,
    rows: Vec<Row>,
}

struct ActionRow {
    name: &'static str,
    api: &'static str,
    summary: &'static str,
    containment: bool,
    rules: Vec<String>,
    proofs: Vec<String>,
}

/// One technique of the attack catalogs (`catalog::TECHNIQUES`) and the rules that answer its
/// calls.
struct CatalogRow {
    technique: &'static str,
    signal: &'static str,
    calls: Vec<String>,
    /// `(rule id, mode, response)` of every rule that names one of the calls.
    rules: Vec<(String, Mode, String)>,
}

struct Coverage {
    sections: Vec<Section>,
    actions: Vec<ActionRow>,
    catalog: Vec<CatalogRow>,
}

/// The rules that name a CloudTrail call by its eventSource and eventName.
fn rules_for_call<'r>(rules: &'r RuleSet, source: &str, name: &str) -> Vec<&'r Rule> {
    rules
        .rules()
        .iter()
        .filter(|r| {
            r.detail_types()
                .iter()
                .any(|d| d == mamoru::event::DT_CLOUDTRAIL_CALL)
                && r.event_sources().iter().any(|s| s == source)
                && (r.event_names().is_empty()
                    || r.event_names()
                        .iter()
                        .any(|p| crate::catalog::name_matches(p, name)))
        })
        .collect()
}

fn catalog_rows(rules: &RuleSet) -> Vec<CatalogRow> {
    crate::catalog::TECHNIQUES
        .iter()
        .map(|t| {
            let mut answering: Vec<(String, Mode, String)> = Vec::new();
            for (source, name) in t.calls {
                for r in rules_for_call(rules, source, name) {
                    if !answering.iter().any(|(id, _, _)| *id == r.id) {
                        answering.push((r.id.clone(), Mode::of(r), response(r)));
                    }
                }
            }
            CatalogRow {
                technique: t.id,
                signal: t.signal,
                calls: t
                    .calls
                    .iter()
                    .map(|(source, name)| {
                        format!("{}:{name}", source.trim_end_matches(".amazonaws.com"))
                    })
                    .collect(),
                rules: answering,
            }
        })
        .collect()
}

/// An EventBridge rule of the stack on the default bus, as far as routing by detail-type and
/// event source goes (the finer filters are checked by infra/tests/test_routing.py).
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub detail_types: Vec<String>,
    pub event_sources: Vec<String>,
}

/// The EventBridge rules of the default bus in a template (`AWS::Events::Rule` without an
/// `EventBusName`), read from their `detail-type` and `eventSource` lists.
pub fn template_routes(text: &str) -> Result<Vec<Route>, String> {
    fn flow_list(value: &str) -> Option<Vec<String>> {
        let inner = value.trim().strip_prefix('[')?.strip_suffix(']')?;
        Some(
            inner
                .split(',')
                .map(|s| s.trim().trim_matches('"').trim_matches('\'').to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }
    struct Current {
        name: String,
        is_rule: bool,
        on_other_bus: bool,
        detail_types: Option<Vec<String>>,
        event_sources: Vec<String>,
    }
    let mut out = Vec::new();
    let mut in_resources = false;
    let mut current: Option<Current> = None;
    let finish = |c: Option<Current>, out: &mut Vec<Route>| -> Result<(), String> {
        if let Some(c) = c
            && c.is_rule
            && !c.on_other_bus
        {
            let detail_types = c.detail_types.ok_or_else(|| {
                format!(
                    "cannot read the detail-type list of the EventBridge rule {}",
                    c.name
                )
            })?;
            out.push(Route {
                name: c.name,
                detail_types,
                event_sources: c.event_sources,
            });
        }
        Ok(())
    };
    for line in text.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') && !line.trim().is_empty() {
            in_resources = line.trim_end() == "Resources:";
            finish(current.take(), &mut out)?;
            continue;
        }
        if !in_resources {
            continue;
        }
        if let Some(name) = line
            .strip_prefix("  ")
            .filter(|l| !l.starts_with(' '))
            .and_then(|l| l.trim_end().strip_suffix(':'))
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric())
        {
            finish(current.take(), &mut out)?;
            current = Some(Current {
                name: name.to_string(),
                is_rule: false,
                on_other_bus: false,
                detail_types: None,
                event_sources: Vec::new(),
            });
            continue;
        }
        let Some(c) = current.as_mut() else { continue };
        let t = line.trim_start();
        // An item of a `$or` list: `- eventSource: [...]`.
        let t = t.strip_prefix("- ").unwrap_or(t);
        if line.starts_with("    Type:") && !line.starts_with("     ") {
            c.is_rule = t == "Type: AWS::Events::Rule";
        } else if t.starts_with("EventBusName:") {
            c.on_other_bus = true;
        } else if let Some(v) = t.strip_prefix("detail-type:") {
            c.detail_types =
                Some(flow_list(v).ok_or_else(|| {
                    format!("{}: detail-type is not a one-line list: {v}", c.name)
                })?);
        } else if let Some(v) = t.strip_prefix("eventSource:") {
            c.event_sources.extend(
                flow_list(v).ok_or_else(|| {
                    format!("{}: eventSource is not a one-line list: {v}", c.name)
                })?,
            );
        }
    }
    finish(current.take(), &mut out)?;
    Ok(out)
}

/// The routes that deliver a rule's events: the EventBridge rules naming one of its
/// detail-types and, when both name event sources, one of its event sources.
pub fn routes_of(rule: &Rule, routes: &[Route]) -> Vec<String> {
    routes
        .iter()
        .filter(|r| {
            r.detail_types
                .iter()
                .any(|d| rule.detail_types().is_empty() || rule.detail_types().contains(d))
        })
        .filter(|r| {
            r.event_sources.is_empty()
                || rule.event_sources().is_empty()
                || r.event_sources
                    .iter()
                    .any(|s| rule.event_sources().contains(s))
        })
        .map(|r| r.name.clone())
        .collect()
}

/// `(rule id, file::test)` for every `// proves: RULE-ID, …` line above a test in `dir`.
pub fn proofs(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    for file in files {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading tests/tests/{stem}.rs"))?;
        let mut pending: Vec<String> = Vec::new();
        for line in text.lines() {
            let t = line.trim();
            if let Some(ids) = t.strip_prefix("// proves:") {
                pending.extend(ids.split(',').map(|s| s.trim().to_string()));
            } else if !pending.is_empty()
                && let Some(rest) = t
                    .strip_prefix("async fn ")
                    .or_else(|| t.strip_prefix("fn "))
            {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                for id in pending.drain(..) {
                    out.push((id, format!("{stem}::{name}")));
                }
            }
        }
        anyhow::ensure!(
            pending.is_empty(),
            "tests/tests/{stem}.rs: a `// proves:` line with no test after it"
        );
    }
    Ok(out)
}

fn response(rule: &Rule) -> String {
    let from_guardduty = rule
        .detail_types()
        .iter()
        .all(|d| d.starts_with("GuardDuty"));
    let mut s = if !rule.notify {
        "no notification".to_string()
    } else {
        match rule.severity {
            SeveritySpec::Fixed(sev) => format!("notify {}", sev.band),
            SeveritySpec::FromEvent if from_guardduty => "notify, GuardDuty severity".to_string(),
            SeveritySpec::FromEvent => "notify, event severity".to_string(),
        }
    };
    if let Some(floor) = rule.severity_floor {
        let _ = write!(s, " (at least {floor})");
    }
    for a in &rule.actions {
        let _ = write!(s, "; `{}`", a.name());
    }
    s
}

fn build(root: &Path, extra: &[PathBuf]) -> anyhow::Result<Coverage> {
    // The rules as the repository holds them (shared/rules, the built-in playbook and its
    // cases), then the extra files, which replace rules by id.
    let mut paths = vec![root.join("shared/rules")];
    paths.extend(extra.iter().cloned());
    let mut errors = Vec::new();
    let mut rules = RuleSet::default();
    let mut cases = Vec::new();
    for file in expand_paths(&paths, &mut errors) {
        let name = file.display().to_string();
        match std::fs::read_to_string(&file) {
            Ok(text) => match rules.add_source(&name, &text, true) {
                Ok(found) => cases.extend(found),
                Err(e) => errors.extend(e),
            },
            Err(e) => anyhow::bail!("cannot read {name}: {e}"),
        }
    }
    if !errors.is_empty() {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::bail!("invalid rules:\n  {}", text.join("\n  "));
    }
    anyhow::ensure!(
        !rules.rules().is_empty(),
        "no rules in {}: run from the repository, or give --root",
        root.join("shared/rules").display()
    );
    let template = std::fs::read_to_string(root.join("infra/template.yaml"))
        .context("reading infra/template.yaml (run from the repository, or give --root)")?;
    let routes =
        template_routes(&template).map_err(|e| anyhow::anyhow!("infra/template.yaml: {e}"))?;
    let proofs = proofs(&root.join("tests/tests"))?;
    for (id, test) in &proofs {
        anyhow::ensure!(
            rules.get(id).is_some(),
            "{test}: `// proves: {id}` names no rule"
        );
    }

    let mut sections = vec![
        Section {
            title: "Tamper paths",
            intro: "Calls and changes that blind or weaken the account's detection, and changes to mamoru's own resources.",
            rows: Vec::new(),
        },
        Section {
            title: "Containment",
            intro: "Rules whose actions contain a principal or a workload (opt-in: they ship in shadow mode, and their rights are granted only with the stack's Containment=on).",
            rows: Vec::new(),
        },
        Section {
            title: "GuardDuty findings and finding families",
            intro: "Every GuardDuty finding is notified; these rules add severity floors, runbooks and actions by family.",
            rows: Vec::new(),
        },
    ];
    for rule in rules.rules() {
        let named = |list: Option<&Vec<String>>| list.is_some_and(|l| l.contains(&rule.id));
        let positive: Vec<&str> = cases
            .iter()
            .filter(|c| named(c.rules.as_ref()))
            .map(|c| c.name.as_str())
            .collect();
        let negative: Vec<&str> = cases
            .iter()
            .filter(|c| c.not_rules.contains(&rule.id))
            .map(|c| c.name.as_str())
            .collect();
        let row = Row {
            path: rule.description.clone(),
            rule: rule.id.clone(),
            mode: Mode::of(rule),
            response: response(rule),
            actions: rule.actions.iter().map(|a| a.name()).collect(),
            routes: routes_of(rule, &routes),
            positive: positive.first().map(|s| s.to_string()),
            negative: negative.first().map(|s| s.to_string()),
            cases: positive.len() + negative.len(),
            proofs: proofs
                .iter()
                .filter(|(id, _)| *id == rule.id)
                .map(|(_, t)| t.clone())
                .collect(),
        };
        let section = if rule.actions.iter().any(|a| a.is_containment()) {
            1
        } else if !rule.detail_types().is_empty()
            && rule
                .detail_types()
                .iter()
                .all(|d| d.starts_with("GuardDuty"))
        {
            2
        } else {
            0
        };
        sections[section].rows.push(row);
    }

    let actions = ActionKind::ALL
        .iter()
        .map(|&k| {
            let using: Vec<&Rule> = rules
                .rules()
                .iter()
                .filter(|r| r.actions.contains(&k))
                .collect();
            ActionRow {
                name: k.name(),
                api: k.api(),
                summary: k.def().summary(),
                containment: k.is_containment(),
                rules: using.iter().map(|r| r.id.clone()).collect(),
                proofs: proofs
                    .iter()
                    .filter(|(id, _)| using.iter().any(|r| &r.id == id))
                    .map(|(_, t)| t.clone())
                    .collect(),
            }
        })
        .collect();
    let catalog = catalog_rows(&rules);
    Ok(Coverage {
        sections,
        actions,
        catalog,
    })
}

/// "1 more case", "3 more cases".
fn more(n: usize) -> String {
    if n == 1 {
        "1 more case".into()
    } else {
        format!("{n} more cases")
    }
}

// --- Markdown ----------------------------------------------------------------------------------

/// Text for a Markdown table cell: one line, no column break.
fn md(s: &str) -> String {
    s.replace(['\n', '\r'], " ").replace('|', "\\|")
}

fn md_tests(row: &Row) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &row.positive {
        parts.push(format!("case \"{}\"", md(p)));
    }
    if let Some(n) = &row.negative {
        parts.push(format!("negative \"{}\"", md(n)));
    }
    let shown = usize::from(row.positive.is_some()) + usize::from(row.negative.is_some());
    if row.cases > shown {
        parts.push(more(row.cases - shown));
    }
    parts.extend(row.proofs.iter().map(|p| format!("`{p}`")));
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("; ")
    }
}

const MD_INTRO: &str = "\
<!-- Generated by `mamoru coverage --format md` from the rules, the action registry, \
infra/template.yaml and tests/tests: do not edit. -->

# Coverage: tamper paths, containment and GuardDuty finding families

What mamoru knows and how it answers: one row per response rule of the built-in playbook
(`shared/rules/builtin.toml`), then one per technique of the public attack catalogs, then one
per action of the registry. This page is generated:
`mamoru coverage --format md > docs/coverage.md` (or `--format html` for one self-contained
page to open or attach to an audit); `tests/tests/coverage_doc.rs` fails when it is stale.

- **Mode**: `enforce` (its actions run; in a dry-run deployment or account they are reported as
  \"would have\"), `shadow` (its actions are only reported as \"would have\": a deployment
  promotes the rule with `mode = \"enforce\"` in an overriding rule file), `notify-only` (no
  action).
- **Route**: the EventBridge rules of `infra/template.yaml` whose pattern names the rule's
  detail-types and event sources (`infra/tests/test_routing.py` checks each pattern against the
  rule's filters, call by call).
- **Tests**: the first rule test case in which the rule matches and the first in which it must
  not (`shared/rules/*.cases.toml`, run by `mamoru rules test` and `tests/tests/decide_fixtures.rs`),
  how many other cases name it, and the integration tests that carry out its actions against
  moto and read the state back (`tests/tests/`, marked `// proves: RULE-ID`).
";

fn markdown(c: &Coverage) -> String {
    let mut s = String::from(MD_INTRO);
    for section in &c.sections {
        let _ = write!(
            s,
            "\n## {}\n\n{}\n\n| Path | Rule | Mode | Response | Route (infra/template.yaml) | Tests |\n|---|---|---|---|---|---|\n",
            section.title, section.intro
        );
        for r in &section.rows {
            let routes = if r.routes.is_empty() {
                "none".to_string()
            } else {
                r.routes.join(" + ")
            };
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {} | {} |",
                md(&r.path),
                md(&r.rule),
                r.mode.as_str(),
                md(&r.response),
                md(&routes),
                md_tests(r)
            );
        }
    }
    s.push_str(&markdown_catalog(&c.catalog));
    s.push_str(
        "\n## Actions\n\nThe action registry (`shared/src/action/kinds/`): what each action does, \
the rules that take it and the tests that carry it out against moto.\n\n\
| Action | API | What it does | Containment | Rules | Tests |\n|---|---|---|---|---|---|\n",
    );
    for a in &c.actions {
        let rules = if a.rules.is_empty() {
            "none".to_string()
        } else {
            a.rules
                .iter()
                .map(|r| format!("`{}`", md(r)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let proofs = if a.proofs.is_empty() {
            "plan only (no moto test)".to_string()
        } else {
            a.proofs
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = writeln!(
            s,
            "| `{}` | `{}` | {} | {} | {} | {} |",
            a.name,
            a.api,
            md(a.summary),
            if a.containment { "yes" } else { "no" },
            rules,
            proofs
        );
    }
    let untested: Vec<&str> = c
        .actions
        .iter()
        .filter(|a| a.proofs.is_empty() && !a.rules.is_empty())
        .map(|a| a.name)
        .collect();
    if !untested.is_empty() {
        let _ = write!(
            s,
            "\nNo integration test carries out {}: moto does not serve the API, so the action is \
covered by the plans its cases check.\n",
            untested
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s.push_str(&sigma_markdown());
    s
}

/// The Sigma support matrix: each feature tried on the engine (`decide::sigma::support_matrix`).
fn sigma_markdown() -> String {
    let mut s = String::from(
        "\n## Sigma support\n\nSigma rules (`rules/sigma/`, `MAMORU_SIGMA_PATH`, `--sigma`; see docs/rules.md, \
\"Sigma rules\"): each feature below is tried on the engine as mamoru loads it, with a CloudTrail \
record it must match and one it must not. A rule using an unsupported feature is reported by \
`mamoru rules check` with its file and the reason.\n\n| Feature | Example | Supported |\n|---|---|---|\n",
    );
    for f in mamoru::decide::sigma::support_matrix() {
        let supported = match &f.result {
            Ok(()) => "yes".to_string(),
            Err(why) => format!("no: {}", md(why)),
        };
        let _ = writeln!(
            s,
            "| {} | `{}` | {} |",
            md(f.feature),
            md(f.example),
            supported
        );
    }
    s
}

const CATALOG_INTRO: &str = "One row per technique of the public attack catalogs whose primary \
signal is a CloudTrail call (Stratus Red Team techniques, SigmaHQ AWS CloudTrail rules; issue 18's \
table), with the rules of the playbook that name the call. A rule may take only some of those \
calls (its description, in the sections above, says which); a technique without a rule is not \
answered yet.";

fn markdown_catalog(rows: &[CatalogRow]) -> String {
    let answered = rows.iter().filter(|r| !r.rules.is_empty()).count();
    let mut s = format!(
        "\n## Catalog signals\n\n{CATALOG_INTRO} {answered} of {} have a rule.\n\n\
| Technique | Signal | Calls | Rules (mode) | Response |\n|---|---|---|---|---|\n",
        rows.len()
    );
    for r in rows {
        let calls: Vec<String> = r.calls.iter().map(|c| format!("`{}`", md(c))).collect();
        let (rules, responses) = if r.rules.is_empty() {
            ("none yet".to_string(), "none".to_string())
        } else {
            (
                r.rules
                    .iter()
                    .map(|(id, mode, _)| format!("`{}` ({})", md(id), mode.as_str()))
                    .collect::<Vec<_>>()
                    .join(", "),
                r.rules
                    .iter()
                    .map(|(_, _, response)| md(response))
                    .collect::<Vec<_>>()
                    .join(" / "),
            )
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            md(r.technique),
            md(r.signal),
            calls.join(", "),
            rules,
            responses
        );
    }
    s
}

fn html_catalog(rows: &[CatalogRow]) -> String {
    let answered = rows.iter().filter(|r| !r.rules.is_empty()).count();
    let mut s = format!(
        "<h2>Catalog signals</h2>\n<p>{} {answered} of {} have a rule.</p>\n<table class=\"catalog\">\n<thead><tr><th>Technique</th><th>Signal</th><th>Calls</th><th>Rules (mode)</th><th>Response</th></tr></thead>\n<tbody>\n",
        esc(CATALOG_INTRO),
        rows.len()
    );
    for r in rows {
        let calls: Vec<String> = r
            .calls
            .iter()
            .map(|c| format!("<code>{}</code>", esc(c)))
            .collect();
        let rules: Vec<String> = r
            .rules
            .iter()
            .map(|(id, mode, _)| format!("<code>{}</code> ({})", esc(id), mode.as_str()))
            .collect();
        let responses: Vec<String> = r.rules.iter().map(|(_, _, resp)| esc(resp)).collect();
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(r.technique),
            esc(r.signal),
            html_list(&calls),
            if rules.is_empty() {
                "none yet".to_string()
            } else {
                html_list(&rules)
            },
            html_list(&responses)
        );
    }
    s.push_str("</tbody>\n</table>\n");
    s
}

// --- HTML --------------------------------------------------------------------------------------

/// Text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1f24;margin:2em auto;max-width:1400px;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:2px solid #d0d7de;padding-bottom:.2em}
p.meta{color:#57606a;margin-top:0}
table{border-collapse:collapse;width:100%;margin:.6em 0 1.2em}
th,td{border:1px solid #d0d7de;padding:.35em .5em;vertical-align:top;text-align:left;overflow-wrap:break-word}
th{background:#f6f8fa}tbody tr:nth-child(even){background:#fafbfc}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eff1f3;padding:0 .25em;border-radius:3px}
ul{margin:0;padding-left:1.1em}
table.rules,table.actions{table-layout:fixed}
table.rules th:nth-child(1){width:21%}table.rules th:nth-child(2){width:14%}table.rules th:nth-child(3){width:7%}
table.rules th:nth-child(4){width:13%}table.rules th:nth-child(5){width:17%}table.rules th:nth-child(6){width:28%}
table.actions th:nth-child(1){width:16%}table.actions th:nth-child(2){width:16%}table.actions th:nth-child(3){width:26%}
table.actions th:nth-child(4){width:7%}table.actions th:nth-child(5){width:15%}table.actions th:nth-child(6){width:20%}
.mode{font-weight:600;white-space:nowrap}.enforce{color:#1a7f37}.shadow{color:#9a6700}.notify-only,.record-only{color:#57606a}
.summary td{text-align:right}.none{color:#8c959f}
@media print{body{margin:0;max-width:none;font-size:11px}tr{break-inside:avoid}}
";

fn html_list(items: &[String]) -> String {
    if items.is_empty() {
        return "<span class=\"none\">none</span>".into();
    }
    let mut s = String::from("<ul>");
    for i in items {
        let _ = write!(s, "<li>{i}</li>");
    }
    s.push_str("</ul>");
    s
}

fn html(c: &Coverage) -> String {
    let rows: Vec<&Row> = c.sections.iter().flat_map(|s| &s.rows).collect();
    let count = |m: Mode| rows.iter().filter(|r| r.mode == m).count();
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>mamoru coverage</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
<h1>mamoru coverage</h1>\n\
<p class=\"meta\">mamoru {} · generated by <code>mamoru coverage --format html</code> from the rules, the action registry, infra/template.yaml and the tests</p>\n\
<table class=\"summary\"><thead><tr><th>Rules</th><th>enforce</th><th>shadow</th><th>notify-only</th><th>record-only</th><th>Actions</th></tr></thead>\
<tbody><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></tbody></table>\n",
        esc(mamoru::VERSION),
        rows.len(),
        count(Mode::Enforce),
        count(Mode::Shadow),
        count(Mode::NotifyOnly),
        count(Mode::RecordOnly),
        c.actions.len()
    );
    s.push_str(
        "<p><b>Mode</b>: enforce (its actions run; reported as &quot;would have&quot; in a dry-run deployment or account), \
shadow (its actions are only reported as &quot;would have&quot;), notify-only (no action). \
<b>Route</b>: the stack's EventBridge rules delivering its events. \
<b>Tests</b>: rule test cases in which it matches (case) and must not (negative), and the integration tests that carry out its actions against moto.</p>\n",
    );
    for section in &c.sections {
        let _ = write!(
            s,
            "<h2>{}</h2>\n<p>{}</p>\n<table class=\"rules\">\n<thead><tr><th>Path or technique</th><th>Rule</th><th>Mode</th><th>Response</th><th>Route</th><th>Tests</th></tr></thead>\n<tbody>\n",
            esc(section.title),
            esc(section.intro)
        );
        for r in &section.rows {
            let mut tests = Vec::new();
            if let Some(p) = &r.positive {
                tests.push(format!("case “{}”", esc(p)));
            }
            if let Some(n) = &r.negative {
                tests.push(format!("negative “{}”", esc(n)));
            }
            let shown = usize::from(r.positive.is_some()) + usize::from(r.negative.is_some());
            if r.cases > shown {
                tests.push(more(r.cases - shown));
            }
            tests.extend(r.proofs.iter().map(|p| format!("<code>{}</code>", esc(p))));
            let response = {
                let mut parts = r.response.split("; ");
                let head = esc(parts.next().unwrap_or(""));
                let actions: Vec<String> = r
                    .actions
                    .iter()
                    .map(|a| format!("<code>{}</code>", esc(a)))
                    .collect();
                if actions.is_empty() {
                    head
                } else {
                    format!("{head}; {}", actions.join(", "))
                }
            };
            let routes: Vec<String> = r.routes.iter().map(|x| esc(x)).collect();
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"mode {}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.path),
                esc(&r.rule),
                r.mode.as_str(),
                r.mode.as_str(),
                response,
                html_list(&routes),
                html_list(&tests)
            );
        }
        s.push_str("</tbody>\n</table>\n");
    }
    s.push_str(&html_catalog(&c.catalog));
    s.push_str(
        "<h2>Actions</h2>\n<table class=\"actions\">\n<thead><tr><th>Action</th><th>API</th><th>What it does</th><th>Containment</th><th>Rules</th><th>Tests</th></tr></thead>\n<tbody>\n",
    );
    for a in &c.actions {
        let rules: Vec<String> = a
            .rules
            .iter()
            .map(|r| format!("<code>{}</code>", esc(r)))
            .collect();
        let proofs: Vec<String> = if a.proofs.is_empty() {
            vec!["plan only (no moto test)".into()]
        } else {
            a.proofs
                .iter()
                .map(|p| format!("<code>{}</code>", esc(p)))
                .collect()
        };
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(a.name),
            esc(a.api),
            esc(a.summary),
            if a.containment { "yes" } else { "no" },
            html_list(&rules),
            html_list(&proofs)
        );
    }
    s.push_str("</tbody>\n</table>\n");
    s.push_str(
        "<h2>Sigma support</h2>\n<table class=\"sigma\">\n<thead><tr><th>Feature</th><th>Example</th><th>Supported</th></tr></thead>\n<tbody>\n",
    );
    for f in mamoru::decide::sigma::support_matrix() {
        let supported = match &f.result {
            Ok(()) => "yes".to_string(),
            Err(why) => format!("no: {why}"),
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(f.feature),
            esc(f.example),
            esc(&supported)
        );
    }
    s.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_read_from_the_default_bus_rules_only() {
        let t = "Parameters:\n  X:\n    Type: String\nResources:\n  A:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        source: [aws.cloudtrail]\n        detail-type: [AWS API Call via CloudTrail]\n        detail:\n          eventSource: [cloudtrail.amazonaws.com]\n  B:\n    Type: AWS::Events::Rule\n    Properties:\n      EventBusName: !Ref Bus\n      EventPattern:\n        detail-type: [AWS API Call via CloudTrail]\n  Q:\n    Type: AWS::SQS::Queue\nOutputs:\n  O:\n    Value: x\n";
        let r = template_routes(t).unwrap_or_default();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].name, "A");
        assert_eq!(r[0].detail_types, ["AWS API Call via CloudTrail"]);
        assert_eq!(r[0].event_sources, ["cloudtrail.amazonaws.com"]);
        let broken = "Resources:\n  A:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        detail-type:\n          - x\n";
        assert!(template_routes(broken).is_err());
    }

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\"\u{7}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;\u{fffd}"
        );
    }
}
