//! Micro-benchmarks of the pure pipeline: parse plus decide for each event family, notification
//! rendering, and the start-up cost of compiling the built-in rules.
//!
//! `cargo bench -p mamoru-core` runs them (criterion's defaults, measured in the thread's CPU
//! time: one core); the throughput lines are events per second. These are benchmarks, not tests:
//! the test command runs each once in the test profile and judges no time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mamoru_core::action::{Outcome, Status};
use mamoru_core::notify::render;
use mamoru_core::{Event, Handler, Mode, Report, RuleSet, Settings, decide};
use support::{ThreadCpu, cpu_time};

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!("../../tests/fixtures/events/", $path))
    };
}

/// One event per family: the GuardDuty key compromise and StopLogging events the side-by-side
/// benchmark uses, and a Config item change and compliance change.
const EVENTS: [(&str, Handler, &str); 4] = [
    (
        "guardduty_finding",
        Handler::Guardduty,
        fixture!("constructed/finding-iamuser-key-malicious-ip-high.json"),
    ),
    (
        "cloudtrail_call",
        Handler::Cloudtrail,
        fixture!("aws.cloudtrail/ct-stop-logging.json"),
    ),
    (
        "config_item_change",
        Handler::Config,
        fixture!("aws.config/ci-change-securitygroup-ssh-open-world.json"),
    ),
    (
        "config_compliance_change",
        Handler::Config,
        fixture!("aws.config/compliance-cloudtrail-enabled-noncompliant.json"),
    ),
];

fn settings() -> Settings {
    Settings {
        mode: Mode::Enforce,
        topic_arn: Some("arn:aws:sns:us-east-1:123456789012:mamoru-alerts".to_string()),
        self_role_arns: vec!["arn:aws:iam::123456789012:role/mamoru-cloudtrail".to_string()],
        ..Settings::default()
    }
}

fn parse_decide(c: &mut Criterion<ThreadCpu>) {
    let rules = RuleSet::builtin().expect("built-in rules");
    let settings = settings();
    let mut group = c.benchmark_group("parse_decide");
    group.throughput(Throughput::Elements(1));
    for (name, handler, text) in EVENTS {
        // The fixture must exercise the real path: a decision with rules matched.
        let plan = decide(
            &Event::from_json(text).unwrap(),
            Some(handler),
            &rules,
            &settings,
        );
        assert!(!plan.rule_ids.is_empty(), "{name}: no rule matched");
        group.bench_function(name, |b| {
            b.iter(|| {
                let event = Event::from_json(black_box(text)).unwrap();
                decide(&event, Some(handler), &rules, &settings)
            })
        });
    }
    group.finish();
}

/// Where parse plus decide spends its time: the parse alone, the decision alone (on a fresh
/// clone of a parsed event, so that nothing cached from an earlier iteration is reused), and the
/// generic `serde_json::Value` of the detail that field-path conditions read.
fn breakdown(c: &mut Criterion<ThreadCpu>) {
    let rules = RuleSet::builtin().expect("built-in rules");
    let settings = settings();
    let mut group = c.benchmark_group("breakdown");
    group.throughput(Throughput::Elements(1));
    for (name, handler, text) in EVENTS {
        group.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| Event::from_json(black_box(text)).unwrap())
        });
        let event = Event::from_json(text).unwrap();
        group.bench_function(format!("clone/{name}"), |b| {
            b.iter(|| black_box(&event).clone())
        });
        group.bench_function(format!("clone_decide/{name}"), |b| {
            b.iter(|| decide(&black_box(&event).clone(), Some(handler), &rules, &settings))
        });
        group.bench_function(format!("detail_value/{name}"), |b| {
            b.iter(|| {
                serde_json::from_str::<serde_json::Value>(black_box(event.raw_detail())).unwrap()
            })
        });
    }
    group.finish();
}

fn report_for(text: &str, handler: Handler) -> Report {
    let rules = RuleSet::builtin().expect("built-in rules");
    let plan = decide(
        &Event::from_json(text).unwrap(),
        Some(handler),
        &rules,
        &settings(),
    );
    let outcomes = plan
        .actions
        .iter()
        .map(|p| Outcome::new(&p.action, Status::Done, "done"))
        .collect();
    Report::new(plan, outcomes, Mode::Enforce)
}

fn notification(c: &mut Criterion<ThreadCpu>) {
    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(1));
    for (name, handler, text) in [EVENTS[0], EVENTS[1]] {
        let report = report_for(text, handler);
        // What the pipeline does per event: render, check the size, publish the SNS message.
        group.bench_function(name, |b| {
            b.iter(|| render(black_box(&report)).sns_message().len())
        });
    }
    group.finish();
}

/// Adversarial 240 KB values in a CloudTrail call (its user agent): shapes that made masking
/// quadratic before, decided and rendered. Target: render at most 50 ms in release.
fn adversarial(c: &mut Criterion<ThreadCpu>) {
    let mut group = c.benchmark_group("adversarial_240k");
    group.sample_size(10);
    let base: serde_json::Value =
        serde_json::from_str(fixture!("aws.cloudtrail/ct-stop-logging.json")).unwrap();
    let shapes = [
        ("pem_headers", "-----BEGIN ".repeat(240 * 1024 / 11)),
        (
            "pem_private_open",
            "-----BEGIN PRIVATE KEY-----".repeat(240 * 1024 / 27),
        ),
        ("base64_run", "aB3/".repeat(240 * 1024 / 4)),
        ("assignments", "password=x ".repeat(240 * 1024 / 11)),
        ("url_userinfo", "https://a:b@".repeat(240 * 1024 / 12)),
        ("percent_escapes", "%2F".repeat(240 * 1024 / 3)),
    ];
    for (name, ua) in shapes {
        let mut v = base.clone();
        v["detail"]["userAgent"] = serde_json::Value::String(ua);
        let text = v.to_string();
        group.bench_function(format!("decide/{name}"), |b| {
            let rules = RuleSet::builtin().expect("built-in rules");
            b.iter(|| {
                decide(
                    &Event::from_json(black_box(&text)).unwrap(),
                    Some(Handler::Cloudtrail),
                    &rules,
                    &settings(),
                )
            })
        });
        let report = report_for(&text, Handler::Cloudtrail);
        group.bench_function(format!("render/{name}"), |b| {
            b.iter(|| render(black_box(&report)).sns_message().len())
        });
    }
    group.finish();
}

fn startup(c: &mut Criterion<ThreadCpu>) {
    c.bench_function("init/builtin_rules", |b| b.iter(RuleSet::builtin));
}

criterion_group! {
    name = benches;
    config = cpu_time();
    targets = parse_decide, breakdown, notification, adversarial, startup
}
criterion_main!(benches);
