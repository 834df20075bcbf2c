//! Hostile strings in every field that reaches a notification: the input is split on NUL bytes
//! and written into a finding and a CloudTrail call (user, key, trail, agent, title, …), which
//! are then decided and rendered. The subject must stay one ASCII line of at most 100 chars.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mamoru::decide::{RuleSet, decide};
use mamoru::notify::render;
use mamoru::{Event, Mode, Report, Settings};
use serde_json::{Value, json};

// A rule set that fails to compile fails the run: an empty one would fuzz nothing.
static RULES: LazyLock<RuleSet> =
    LazyLock::new(|| RuleSet::builtin().expect("the built-in rules compile"));

const FINDING: &str = include_str!(
    "../../tests/fixtures/events/constructed/finding-iamuser-key-malicious-ip-high.json"
);
const STOP: &str = include_str!("../../tests/fixtures/events/aws.cloudtrail/ct-stop-logging.json");

fn check(v: &Value) {
    let Ok(event) = Event::from_json(&v.to_string()) else {
        return;
    };
    let plan = decide(&event, None, &RULES, &Settings::default());
    let message = render(&Report::new(plan, Vec::new(), Mode::DryRun));
    assert!(message.subject.len() <= 100, "{}", message.subject);
    assert!(message.subject.is_ascii());
    assert!(!message.subject.contains(['\n', '\r']));
    assert!(!message.body.is_empty());
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0').map(str::to_string);
    let mut next = || parts.next().unwrap_or_default();

    let Ok(mut finding) = serde_json::from_str::<Value>(FINDING) else {
        return;
    };
    let d = &mut finding["detail"];
    d["type"] = json!(next());
    d["title"] = json!(next());
    d["description"] = json!(next());
    d["resource"]["accessKeyDetails"]["userName"] = json!(next());
    d["resource"]["accessKeyDetails"]["accessKeyId"] = json!(format!("AKIA{}", next()));
    d["region"] = json!(next());
    finding["account"] = json!(next());
    check(&finding);

    let Ok(mut stop) = serde_json::from_str::<Value>(STOP) else {
        return;
    };
    let d = &mut stop["detail"];
    d["requestParameters"]["name"] = json!(next());
    d["userAgent"] = json!(next());
    d["userIdentity"]["arn"] = json!(next());
    d["sourceIPAddress"] = json!(next());
    d["awsRegion"] = json!(next());
    check(&stop);
});
