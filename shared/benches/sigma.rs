//! Sigma rules at scale: parse plus decide of CloudTrail events with 150 Sigma rules loaded
//! (the playbook's rules as well), against the playbook alone; and the start-up cost of
//! loading the 150 rules on top of the built-in ones.
//!
//! `cargo bench -p mamoru-core --bench sigma` runs it
//! (without the AWS SDK, with the functions' allocator; criterion's defaults,
//! measured in the thread's CPU time: one core); the throughput lines are events per second.
//! See bench/README.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mamoru_core::{Event, Handler, RuleSet, Settings, decide};
use support::{ThreadCpu, cpu_time};

macro_rules! fixture {
    ($path:literal) => {
        ($path, include_str!(concat!("../../tests/fixtures/", $path)))
    };
}

/// CloudTrail-delivered events: some match Sigma rules, some only the playbook, some nothing.
const EVENTS: [(&str, &str); 5] = [
    fixture!("events/aws.cloudtrail/ct-stop-logging.json"),
    fixture!("events/aws.iam/ct-create-access-key.json"),
    fixture!("events/aws.signin/console-login-root.json"),
    fixture!("events/tamper/ec2-delete-flow-logs.json"),
    fixture!("events/aws.guardduty/ct-update-detector-disable.json"),
];

/// The Sigma rules of the tests, written by hand.
const WRITTEN: [(&str, &str); 6] = [
    fixture!("sigma/access-key-for-backdoor-user.yml"),
    fixture!("sigma/detector-disabled.yml"),
    fixture!("sigma/logging-weakened-from-cli.yml"),
    fixture!("sigma/root-activity.yml"),
    fixture!("sigma/root-console-login-without-mfa.yml"),
    fixture!("sigma/trail-stopped-by-user.yml"),
];

const SERVICES: [&str; 10] = [
    "iam",
    "s3",
    "ec2",
    "kms",
    "lambda",
    "rds",
    "sts",
    "guardduty",
    "cloudtrail",
    "logs",
];
const VERBS: [&str; 6] = ["Create", "Delete", "Put", "Update", "Attach", "Disable"];
const NOUNS: [&str; 8] = [
    "Policy", "User", "Key", "Bucket", "Snapshot", "Function", "Trail", "Group",
];

/// 144 more rules in five shapes SigmaHQ's CloudTrail rules use: a list of names, `and not` a
/// filter, `startswith` and `contains` with `all of`, `re` with `1 of`, and field-only rules.
fn generated() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..144 {
        let service = SERVICES[i % SERVICES.len()];
        let verb = VERBS[i % VERBS.len()];
        let noun = NOUNS[(i / VERBS.len()) % NOUNS.len()];
        let name = format!("{verb}{noun}{i}");
        let detection = match i % 5 {
            0 => format!(
                "    selection:\n        eventSource: {service}.amazonaws.com\n        eventName:\n            - {name}\n            - {name}V2\n            - Batch{name}\n    condition: selection\n"
            ),
            1 => format!(
                "    selection:\n        eventSource: {service}.amazonaws.com\n        eventName: {name}\n    filter:\n        userIdentity.type: AssumedRole\n    condition: selection and not filter\n"
            ),
            2 => format!(
                "    sel_name:\n        eventName|startswith: {verb}{noun}\n    sel_agent:\n        userAgent|contains: 'tool-{i}/'\n    condition: all of sel_*\n"
            ),
            3 => format!(
                "    sel:\n        eventSource: {service}.amazonaws.com\n        eventName: {name}\n    x_arn:\n        userIdentity.arn|re: '.*:user/svc-{i}-.*'\n    x_ip:\n        sourceIPAddress|startswith: '198.51.100.'\n    condition: sel and 1 of x_*\n"
            ),
            _ => format!(
                "    sel:\n        userIdentity.userName|endswith: '-breakglass-{i}'\n    filter:\n        errorCode|exists: true\n    condition: sel and not filter\n"
            ),
        };
        let text = format!(
            "title: Generated rule {i}\nid: 00000000-0000-4000-8000-{i:012}\nstatus: test\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n{detection}falsepositives:\n    - None\nlevel: medium\n"
        );
        out.push((format!("generated-{i}.yml"), text));
    }
    out
}

fn with_sigma() -> RuleSet {
    let mut rules = RuleSet::builtin().expect("built-in rules");
    for (name, text) in WRITTEN {
        rules.add_sigma(name, text);
    }
    for (name, text) in generated() {
        rules.add_sigma(&name, &text);
    }
    assert_eq!(
        rules.sigma_rules().len(),
        150,
        "{:?}",
        rules.sigma_unsupported()
    );
    rules
}

fn parse_decide(c: &mut Criterion<ThreadCpu>) {
    let settings = Settings::default();
    let sigma = with_sigma();
    let builtin = RuleSet::builtin().expect("built-in rules");
    let mut group = c.benchmark_group("sigma150");
    group.throughput(Throughput::Elements(1));
    for (path, text) in EVENTS {
        let name = path
            .rsplit('/')
            .next()
            .unwrap_or(path)
            .trim_end_matches(".json");
        for (label, rules) in [("with_150_sigma", &sigma), ("playbook_only", &builtin)] {
            group.bench_function(format!("parse_decide/{label}/{name}"), |b| {
                b.iter(|| {
                    decide(
                        &Event::from_json(black_box(text)).unwrap(),
                        Some(Handler::Cloudtrail),
                        rules,
                        &settings,
                    )
                })
            });
        }
    }
    group.finish();
}

fn startup(c: &mut Criterion<ThreadCpu>) {
    c.bench_function("init/builtin_rules", |b| b.iter(RuleSet::builtin));
    c.bench_function("init/builtin_rules_plus_150_sigma", |b| b.iter(with_sigma));
}

criterion_group! {
    name = benches;
    config = cpu_time();
    targets = parse_decide, startup
}
criterion_main!(benches);
