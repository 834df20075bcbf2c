//! `mamoru`: replay events through the pipeline locally.

mod catalog;
mod coverage;

/// `println!` that ends the process quietly when stdout is closed (`mamoru routes | head`)
/// instead of panicking on the broken pipe.
macro_rules! println {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($t)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mamoru::action::Actor;
use mamoru::files::RuleFiles;
use mamoru::notify::Notifier;
use mamoru::{HandleError, Mode, Report, Responder, RuleSet, Settings};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "mamoru", version = mamoru::VERSION, about = "mamoru: event-driven AWS security responder")]
struct Cli {
    /// Log what happens (to stderr).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs events through parse and decide (no AWS access), or with --execute through the
    /// whole pipeline.
    Replay {
        /// Print one JSON object per event.
        #[arg(long)]
        json: bool,
        /// Carry out the plan against AWS (or AWS_ENDPOINT_URL) and notify MAMORU_TOPIC_ARN
        /// when set. Without it nothing is called.
        #[arg(long)]
        execute: bool,
        /// Extra rule files or directories, added to the built-in playbook.
        #[arg(long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
        /// Sigma rule files or directories (`*.yml`, `*.yaml`), added to MAMORU_SIGMA_PATH's.
        #[arg(long = "sigma", value_name = "PATH")]
        sigma: Vec<PathBuf>,
        /// Where the memory between events lives: `memory` (the default: kept for this run, so
        /// a sequence of files shows redeliveries, repeat digests and budgets), `none`, or
        /// `dynamodb://TABLE` (the stack's table, through AWS or AWS_ENDPOINT_URL).
        #[arg(
            long,
            value_name = "memory|none|dynamodb://TABLE",
            default_value = "memory"
        )]
        state: StateSpec,
        /// EventBridge event files (JSON).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Validates and tests response rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Prints the notification an event would produce (dry-run, no AWS access): the subject and
    /// text for email, the JSON document for SQS, Lambda and HTTP, the AWS Chatbot payload for
    /// Slack/Teams.
    Render(render::RenderArgs),
    /// Prints, per function, the IAM permissions its rules' actions need (JSON). infra/ must
    /// grant exactly these, plus logging and publishing.
    Permissions {
        /// Extra rule files or directories.
        #[arg(long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
        /// Print only the permissions needed by containment actions alone (granted by infra/
        /// only with Containment=on).
        #[arg(long)]
        containment: bool,
        /// Print the grants themselves, per function: each IAM action with the resources it is
        /// granted on and its condition (the statements infra/ must hold, exactly).
        #[arg(long, conflicts_with = "containment")]
        grants: bool,
    },
    /// Prints, per function, the events its rules react to (JSON): detail-types, and for
    /// CloudTrail the eventSource/eventName pairs. infra/ routes exactly these.
    Routes {
        /// Extra rule files or directories.
        #[arg(long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
        /// Sigma rule files or directories (`*.yml`, `*.yaml`), added to MAMORU_SIGMA_PATH's.
        #[arg(long = "sigma", value_name = "PATH")]
        sigma: Vec<PathBuf>,
    },
    /// Prints the metrics the functions write (JSON): CloudWatch namespace, metric names, units
    /// and dimension sets, and the values each dimension takes. infra/'s dashboard and alarms
    /// read only these.
    Metrics,
    /// Prints what mamoru covers, from the rules, the action registry, the stack's routes and
    /// the tests: one Markdown page (docs/coverage.md) or one self-contained HTML page.
    Coverage(coverage::CoverageArgs),
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Validates rule files (the built-in playbook plus PATHS): unknown fields or actions, bad
    /// patterns, duplicate ids, actions whose parameters the matched events cannot supply.
    Check {
        /// Rule files or directories of `*.toml`.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Sigma rule files or directories: every rule mamoru cannot evaluate is reported with
        /// its file and the reason, and fails the check.
        #[arg(long = "sigma", value_name = "PATH")]
        sigma: Vec<PathBuf>,
    },
    /// Runs the test cases (`[[case]]`) found in PATHS against the built-in playbook plus the
    /// rules in PATHS, and checks every rule has a positive and a negative case.
    Test {
        /// Rule and case files, or directories of `*.toml`.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<PathBuf>,
        /// Do not require a positive and a negative case for every rule.
        #[arg(long)]
        no_coverage: bool,
        /// Sigma rule files or directories; the rules they hold need cases like any other.
        #[arg(long = "sigma", value_name = "PATH")]
        sigma: Vec<PathBuf>,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    mamoru::logging::init_cli(cli.verbose);
    mamoru::audit::set_sink(if cli.verbose {
        mamoru::audit::Sink::Stderr
    } else {
        mamoru::audit::Sink::Off
    });
    let result = match cli.command {
        Command::Replay {
            json,
            execute,
            rules,
            sigma,
            state,
            files,
        } => replay(json, execute, &rules, &sigma, &state, &files).await,
        Command::Rules(RulesCommand::Check { paths, sigma }) => rules_check(&paths, &sigma),
        Command::Rules(RulesCommand::Test {
            paths,
            no_coverage,
            sigma,
        }) => rules_test(&paths, &sigma, !no_coverage),
        Command::Render(args) => render::run(args).await,
        Command::Permissions {
            rules,
            containment,
            grants,
        } => permissions(&rules, containment, grants),
        Command::Routes { rules, sigma } => routes(&rules, &sigma),
        Command::Coverage(args) => coverage::run(&args),
        Command::Metrics => {
            println!(
                "{}",
                serde_json::to_string_pretty(&mamoru::metrics::catalogue()).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mamoru: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn load_rules(
    extra: &[PathBuf],
    sigma: &[PathBuf],
    settings: &Settings,
) -> anyhow::Result<RuleSet> {
    let mut paths = settings.rules_paths.clone();
    paths.extend(extra.iter().cloned());
    let invalid = |errors: Vec<mamoru::decide::RuleError>| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("invalid rules:\n  {}", text.join("\n  "))
    };
    let mut rules = RuleSet::builtin_with(&paths).map_err(invalid)?;
    let mut sigma_paths = settings.sigma_paths.clone();
    sigma_paths.extend(sigma.iter().cloned());
    rules.add_sigma_paths(&sigma_paths);
    // Named, never dropped silently; `rules check` fails on them.
    for u in rules.sigma_unsupported() {
        eprintln!("warning: {u}");
    }
    let dangling = rules.sigma_reference_errors();
    if !dangling.is_empty() {
        return Err(invalid(dangling));
    }
    Ok(rules)
}

/// `--state`: where replay keeps the memory between events.
#[derive(Debug, Clone, PartialEq, Eq)]
enum StateSpec {
    Memory,
    None,
    DynamoDb(String),
}

impl std::str::FromStr for StateSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<StateSpec, String> {
        match s {
            "memory" => Ok(StateSpec::Memory),
            "none" => Ok(StateSpec::None),
            _ => match s.strip_prefix("dynamodb://") {
                Some(table) if !table.is_empty() && !table.contains('/') => {
                    Ok(StateSpec::DynamoDb(table.to_string()))
                }
                _ => Err(format!(
                    "expected memory, none or dynamodb://TABLE, got `{s}`"
                )),
            },
        }
    }
}

async fn replay(
    as_json: bool,
    execute: bool,
    extra_rules: &[PathBuf],
    sigma: &[PathBuf],
    state: &StateSpec,
    files: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let mut settings = Settings::from_lookup(|k| std::env::var(k).ok(), false)
        .context("reading MAMORU_* settings")?;
    let rules = load_rules(extra_rules, sigma, &settings)?;
    let responder = if execute {
        settings.mode = Mode::Enforce;
        let sdk = mamoru::aws::load().await;
        let notifier = settings.topic_arn.clone().map(|t| Notifier::new(&sdk, t));
        let actor = Actor::new(&sdk, &settings);
        // As the cloudtrail function: a deleted KMS key or log group is looked up.
        let lookup = std::sync::Arc::clone(&actor) as std::sync::Arc<dyn mamoru::lookup::Lookup>;
        Responder::new(
            None,
            settings,
            rules,
            Some(actor as std::sync::Arc<dyn mamoru::action::port::Remediate>),
            notifier.map(|n| {
                std::sync::Arc::new(n) as std::sync::Arc<dyn mamoru::action::port::Publish>
            }),
        )
        .with_lookup(lookup)
    } else {
        settings.mode = Mode::DryRun;
        Responder::new(None, settings, rules, None, None)
    };
    let responder = match state {
        StateSpec::None => responder,
        StateSpec::Memory => {
            responder.with_state(std::sync::Arc::new(mamoru::state::Memory::new()))
        }
        StateSpec::DynamoDb(_) if !execute => anyhow::bail!(
            "--state dynamodb://TABLE needs --execute: a dry-run must not record events in the \
             functions' table (the real delivery would then be taken for a redelivery)"
        ),
        StateSpec::DynamoDb(table) => {
            let sdk = mamoru::aws::load().await;
            responder.with_state(std::sync::Arc::new(mamoru::state::dynamodb::Table::new(
                &sdk,
                table.clone(),
            )))
        }
    };

    let mut ok = true;
    for file in files {
        let name = file.display().to_string();
        let text = match std::fs::read(file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                ok = false;
                emit_error(as_json, &name, None, &format!("cannot read: {e}"));
                continue;
            }
        };
        match responder.handle_json(&text).await {
            Ok(report) => emit(as_json, &name, &report, execute),
            Err(HandleError::Parse(e)) => {
                ok = false;
                emit_error(as_json, &name, e.field(), &e.to_string());
            }
            Err(e) => {
                ok = false;
                if let Some(report) = e.report() {
                    emit(as_json, &name, report, execute);
                }
                eprintln!("{name}: {e}");
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn lenient_settings() -> anyhow::Result<Settings> {
    Settings::from_lookup(|k| std::env::var(k).ok(), false).context("reading MAMORU_* settings")
}

fn rules_check(paths: &[PathBuf], sigma: &[PathBuf]) -> anyhow::Result<ExitCode> {
    match RuleSet::builtin_with_cases(paths) {
        Ok((mut rules, cases)) => {
            let mut sigma_paths = lenient_settings()?.sigma_paths;
            sigma_paths.extend(sigma.iter().cloned());
            rules.add_sigma_paths(&sigma_paths);
            let mut warnings = 0;
            for rule in rules.rules() {
                for w in &rule.warnings {
                    println!("{}: warning: rule `{}`: {w}", rule.origin, rule.id);
                    warnings += 1;
                }
            }
            let mut errors = rules.sigma_reference_errors().len();
            for e in rules.sigma_reference_errors() {
                println!("{e}");
            }
            for u in rules.sigma_unsupported() {
                println!("{u}");
                errors += 1;
            }
            if errors > 0 {
                println!(
                    "{errors} error(s) ({} Sigma rule(s) not supported)",
                    rules.sigma_unsupported().len()
                );
                return Ok(ExitCode::FAILURE);
            }
            println!(
                "ok: {} rules ({} built in, {} Sigma), {} test cases, {warnings} warning(s)",
                rules.rules().len(),
                mamoru::decide::rules::BUILTIN_RULES
                    .matches("[[rule]]")
                    .count(),
                rules.sigma_rules().len(),
                cases.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors {
                println!("{e}");
            }
            println!("{} error(s)", errors.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn rules_test(paths: &[PathBuf], sigma: &[PathBuf], coverage: bool) -> anyhow::Result<ExitCode> {
    let (mut rules, cases) = match RuleSet::builtin_with_cases(paths) {
        Ok(found) => found,
        Err(errors) => {
            for e in &errors {
                println!("{e}");
            }
            println!(
                "{} error(s) in the rule files: no case was run",
                errors.len()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut sigma_paths = lenient_settings()?.sigma_paths;
    sigma_paths.extend(sigma.iter().cloned());
    rules.add_sigma_paths(&sigma_paths);
    let mut problems: Vec<String> = rules
        .sigma_reference_errors()
        .iter()
        .map(ToString::to_string)
        .collect();
    problems.extend(rules.sigma_unsupported().iter().map(ToString::to_string));
    if !problems.is_empty() {
        for p in &problems {
            println!("{p}");
        }
        println!(
            "{} error(s) in the rule files: no case was run",
            problems.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    // Rules defined outside the files of this run (the built-in playbook, when only rules/ is
    // tested) are reported apart: their cases were not part of the run.
    let tested: Vec<String> = paths
        .iter()
        .chain(sigma_paths.iter())
        .map(|p| p.display().to_string())
        .collect();
    let in_run = |origin: &str| tested.iter().any(|p| origin.starts_with(p.as_str()));
    let report = mamoru::files::run_cases(&rules, &cases);
    for (case, diffs) in &report.failed {
        println!("FAIL {case}");
        for d in diffs {
            println!("    {d}");
        }
    }
    let mut ok = report.failed.is_empty();
    let (uncovered, outside): (Vec<_>, Vec<_>) =
        report.uncovered.iter().partition(|u| in_run(&u.origin));
    if coverage {
        for u in &uncovered {
            println!("MISSING {}", u.message);
        }
        ok &= uncovered.is_empty();
    }
    println!(
        "{} passed, {} failed, {} rules without both a positive and a negative case{}",
        report.passed,
        report.failed.len(),
        uncovered.len(),
        if coverage { "" } else { " (not required)" }
    );
    if !outside.is_empty() {
        println!(
            "{} rules defined outside these paths (the built-in playbook: shared/rules) were not part of this run; add their directory to test them too",
            outside.len()
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn permissions(extra: &[PathBuf], containment: bool, grants: bool) -> anyhow::Result<ExitCode> {
    let rules = load_rules(extra, &[], &lenient_settings()?)?;
    if grants {
        let out = mamoru::decide::routing::grants(&rules);
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let out = if containment {
        mamoru::decide::routing::containment_permissions(&rules)
    } else {
        mamoru::decide::routing::permissions(&rules)
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

fn routes(extra: &[PathBuf], sigma: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let rules = load_rules(extra, sigma, &lenient_settings()?)?;
    let out = mamoru::decide::routing::routes(&rules);
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

fn summary(file: &str, report: &Report, execute: bool) -> Value {
    let plan = &report.plan;
    let mut v = json!({
        "file": file,
        "event_id": plan.event_id,
        "handler": plan.handler,
        "event_kind": plan.event_kind,
        "disposition": plan.disposition,
        "severity": plan.severity.band,
        "severity_score": plan.severity.score,
        "title": plan.title,
        "resource": plan.resource,
        "rule_ids": plan.rule_ids,
        "actions": plan.actions,
        "withheld": plan.withheld,
        "notify": plan.notify,
        "reason": plan.reason,
    });
    if execute {
        v["outcomes"] = serde_json::to_value(&report.outcomes).unwrap_or(Value::Null);
    }
    mamoru::redact::value(&mut v);
    v
}

fn emit(as_json: bool, file: &str, report: &Report, execute: bool) {
    let v = summary(file, report, execute);
    if as_json {
        println!("{v}");
        return;
    }
    let plan = &report.plan;
    println!("{file}");
    println!(
        "  {} -> {} [{} {:.1}] {}",
        plan.handler.name(),
        serde_json::to_value(plan.disposition)
            .ok()
            .and_then(|d| d.as_str().map(str::to_string))
            .unwrap_or_default(),
        plan.severity.band,
        plan.severity.score,
        mamoru::redact::text(&plan.title)
    );
    if !plan.rule_ids.is_empty() {
        println!("  rules: {}", plan.rule_ids.join(", "));
    }
    for a in &plan.actions {
        let params = serde_json::to_string(&a.action.params()).unwrap_or_default();
        println!(
            "  {} {} in {}{}: {}",
            if a.shadow { "shadow" } else { "action" },
            a.action.kind.api(),
            a.action.region,
            if execute { "" } else { " (dry-run)" },
            mamoru::redact::text(&params)
        );
    }
    for w in &plan.withheld {
        println!("  withheld {}: {}", w.action, w.reason);
    }
    for o in &report.outcomes {
        if execute {
            println!(
                "  outcome {:?}: {}",
                o.status,
                mamoru::redact::text(&o.message)
            );
        }
    }
    println!("  reason: {}", mamoru::redact::text(&plan.reason));
}

fn emit_error(as_json: bool, file: &str, field: Option<&str>, message: &str) {
    if as_json {
        println!(
            "{}",
            json!({"file": file, "handler": "unhandled", "disposition": "error", "field": field, "error": message})
        );
    } else {
        println!("{file}\n  error: {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn state_specs_parse_and_bad_ones_name_the_forms() {
        assert_eq!("memory".parse(), Ok(StateSpec::Memory));
        assert_eq!("none".parse(), Ok(StateSpec::None));
        assert_eq!(
            "dynamodb://mamoru-prod-state".parse(),
            Ok(StateSpec::DynamoDb("mamoru-prod-state".into()))
        );
        for bad in ["dynamodb://", "dynamodb://a/b", "redis://x", ""] {
            let err = bad.parse::<StateSpec>().unwrap_err();
            assert!(err.contains("dynamodb://TABLE"), "{bad}: {err}");
        }
    }
}
