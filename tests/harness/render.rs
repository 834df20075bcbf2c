//! Rendering helpers for the notification tests: a report decided like `mamoru render` does
//! (dry-run, built-in rules, default settings, no AWS access), with the version normalised so
//! that golden files do not change with every commit.

use std::path::PathBuf;

use mamoru::action::{Outcome, Status};
use mamoru::decide::{RuleSet, decide};
use mamoru::{Event, Mode, Report, Responder, Settings};

/// The version golden files show in place of mamoru's own.
pub const GOLDEN_VERSION: &str = "0.0.0+golden";

/// Where the golden renderings live.
pub fn golden_dir() -> PathBuf {
    crate::root().join("tests/golden")
}

/// The stack resources the fixtures name as mamoru's own (`MAMORU_SELF_RESOURCES` of the test
/// deployment): the rules, functions and topic of tests/fixtures/events/tamper/*-mamoru.json.
pub const SELF_RESOURCES: [&str; 9] = [
    "mamoru-guardduty-findings",
    "mamoru-cloudtrail-tampering",
    "mamoru-config-compliance",
    "mamoru-guardduty",
    "mamoru-cloudtrail",
    "mamoru-config",
    "arn:aws:lambda:us-east-1:123456789012:function:mamoru-guardduty",
    "arn:aws:sns:us-east-1:123456789012:mamoru-alerts",
    "arn:aws:sns:us-east-1:123456789012:mamoru-alarms",
];

/// The settings goldens are rendered with: the defaults, and the test deployment's own
/// resources ([`SELF_RESOURCES`]).
pub fn golden_settings() -> Settings {
    Settings {
        self_resources: SELF_RESOURCES.iter().map(|s| s.to_string()).collect(),
        ..Settings::default()
    }
}

/// The report `mamoru render` makes for an event: decided by the pipeline in dry-run, with
/// `MAMORU_SELF_RESOURCES` set to [`SELF_RESOURCES`].
pub fn dry_run_report(event: &str) -> Report {
    mamoru::audit::set_sink(mamoru::audit::Sink::Off);
    let rules = RuleSet::builtin().unwrap();
    let responder = Responder::new(None, golden_settings(), rules, None, None);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut report = match runtime.block_on(responder.handle_json(event)) {
        Ok(r) => r,
        Err(e) => e.report().cloned().unwrap_or_else(|| panic!("{e}")),
    };
    report.version = GOLDEN_VERSION;
    report
}

/// A report as if mamoru had executed the plan in enforce mode, each action ending with
/// `status` and `message`.
pub fn executed_report(event: &str, status: Status, message: &str) -> Report {
    let event = Event::from_json(event).unwrap();
    let plan = decide(
        &event,
        None,
        &RuleSet::builtin().unwrap(),
        &golden_settings(),
    );
    let outcomes = plan
        .actions
        .iter()
        // Shadow actions never run: they are reported as "would have", whatever the others did.
        .map(|p| {
            if p.shadow {
                Outcome::held(&p.action, mamoru::action::Hold::Shadow, message)
            } else {
                Outcome::new(&p.action, status, message)
            }
        })
        .collect();
    let mut report = Report::new(plan, outcomes, Mode::Enforce);
    report.version = GOLDEN_VERSION;
    report
}
