//! The metrics lines (CloudWatch Embedded Metric Format) the functions write beside their audit
//! line: the guardduty function binary against moto, for a remediated, a withheld, a failed and
//! an ignored event, a rejected event and, in dry-run with a topic that does not exist, a failed
//! publish. Each line is checked against the EMF specification (CloudWatch User Guide,
//! "Specification: Embedded metric format") by the checker below, written from the
//! specification, and its values against what the scenario did.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{FunctionProcess, Moto, RuntimeApi};
use serde_json::Value;

const REGION: &str = "us-east-1";

/// The units the specification admits for a MetricDefinition (CloudWatch's MetricDatum units).
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Checks one log line against the EMF specification; returns its (metric, dimension sets) pairs.
fn check_emf(line: &Value, now: DateTime<Utc>) -> Vec<(String, Vec<Vec<String>>)> {
    let root = line.as_object().expect("the root node is a JSON object");
    let aws = root["_aws"].as_object().expect("_aws is an object");
    // Timestamp: a number, milliseconds since the epoch.
    let ts = aws["Timestamp"]
        .as_i64()
        .expect("_aws.Timestamp is an integer");
    let age = now.timestamp_millis() - ts;
    assert!(
        (0..120_000).contains(&age),
        "Timestamp {ts} is not the time of writing"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics is an array");
    assert!(!directives.is_empty(), "no MetricDirective: {line}");
    let mut out = Vec::new();
    for d in directives {
        let d = d.as_object().expect("a MetricDirective is an object");
        for k in d.keys() {
            assert!(
                ["Namespace", "Dimensions", "Metrics"].contains(&k.as_str()),
                "MetricDirective member {k} is not in the specification"
            );
        }
        let ns = d["Namespace"].as_str().expect("Namespace is a string");
        assert!((1..=255).contains(&ns.len()), "Namespace {ns:?}");
        let sets = d["Dimensions"].as_array().expect("Dimensions is an array");
        let mut dim_sets = Vec::new();
        for set in sets {
            let set = set.as_array().expect("a DimensionSet is an array");
            assert!(set.len() <= 30, "a DimensionSet has at most 30 keys");
            let mut keys = Vec::new();
            for key in set {
                let key = key.as_str().expect("a dimension key is a string");
                let value = root.get(key).unwrap_or_else(|| {
                    panic!("dimension {key} is not a member of the root: {line}")
                });
                let value = value
                    .as_str()
                    .unwrap_or_else(|| panic!("dimension {key} is not a string: {line}"));
                assert!(
                    (1..=1024).contains(&value.len()),
                    "dimension {key} = {value:?}"
                );
                keys.push(key.to_string());
            }
            dim_sets.push(keys);
        }
        let metrics = d["Metrics"].as_array().expect("Metrics is an array");
        assert!(
            (1..=100).contains(&metrics.len()),
            "1 to 100 MetricDefinitions"
        );
        for m in metrics {
            let m = m.as_object().expect("a MetricDefinition is an object");
            let name = m["Name"].as_str().expect("Name is a string");
            if let Some(unit) = m.get("Unit") {
                let unit = unit.as_str().expect("Unit is a string");
                assert!(
                    UNITS.contains(&unit),
                    "unit {unit} is not a CloudWatch unit"
                );
            }
            let value = root
                .get(name)
                .unwrap_or_else(|| panic!("metric {name} is not a member of the root: {line}"));
            assert!(
                value.is_number()
                    || value
                        .as_array()
                        .is_some_and(|a| a.len() <= 100 && a.iter().all(Value::is_number)),
                "metric {name} = {value}"
            );
            out.push((name.to_string(), dim_sets.clone()));
        }
    }
    out
}

fn metric_lines(f: &FunctionProcess) -> Vec<Value> {
    f.json_logs()
        .into_iter()
        .filter(|v| v["target"] == "mamoru::metrics")
        .collect()
}

/// The lines of one event, by kind.
fn of_event<'a>(lines: &'a [Value], event_id: &str, kind: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["event_id"] == event_id && l["kind"] == kind)
        .collect()
}

/// (Action, Status, Mode) of the action lines of one event, sorted.
fn actions(lines: &[Value], event_id: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = of_event(lines, event_id, "action")
        .iter()
        .map(|l| {
            assert_eq!(l["Actions"], 1.0);
            (
                l["Action"].as_str().unwrap().to_string(),
                l["Status"].as_str().unwrap().to_string(),
                l["Mode"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn rule_ids(lines: &[Value], event_id: &str) -> BTreeSet<String> {
    of_event(lines, event_id, "rule")
        .iter()
        .map(|l| {
            assert_eq!(l["RuleMatches"], 1.0);
            l["RuleId"].as_str().unwrap().to_string()
        })
        .collect()
}

fn t(s: &str) -> (String, String, String) {
    let p: Vec<&str> = s.split(' ').collect();
    (p[0].into(), p[1].into(), p[2].into())
}

fn with_id_and_time(fixture: &str, id: &str, time: &str, user: Option<(&str, &str)>) -> String {
    event_with(fixture, |v| {
        v["id"] = id.into();
        v["time"] = time.into();
        if let Some((user, key)) = user {
            v["detail"]["resource"]["accessKeyDetails"]["userName"] = user.into();
            v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
        }
    })
}

#[tokio::test]
async fn emf_lines_for_remediated_withheld_failed_ignored_and_rejected_events() {
    let moto = Moto::start();
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (key, _) = scenario::user_with_two_keys(&moto, "alice").await;
    let api = RuntimeApi::start();
    let mut env = moto.env(REGION);
    env.push(("MAMORU_MODE".into(), "enforce".into()));
    env.push(("MAMORU_TOPIC_ARN".into(), topic.clone()));
    env.push((
        "MAMORU_PROTECTED_PRINCIPALS".into(),
        "arn:aws:iam::123456789012:user/break-glass-admin".into(),
    ));
    let mut f = FunctionProcess::start_function("mamoru-guardduty", &api, &env);
    let started = Utc::now();
    // The event happened 90 s before it is delivered.
    let happened = (started - chrono::Duration::seconds(90))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let high = "constructed/finding-iamuser-key-malicious-ip-high.json";

    // Remediated: alice's key is deactivated (enforce), her quarantine reported (shadow rule).
    let r = api.invoke(&with_id_and_time(
        high,
        "remediated-1",
        &happened,
        Some(("alice", &key)),
    ));
    let remediated = r.response();
    assert_eq!(remediated["disposition"], "remediate");
    // Withheld: a protected user's key is neither deactivated nor quarantined.
    let r = api.invoke(&with_id_and_time(
        "constructed/finding-iamuser-key-protected-breakglass.json",
        "withheld-1",
        &happened,
        None,
    ));
    assert_eq!(r.response()["disposition"], "notify");
    // Failed: the key's user does not exist.
    let r = api.invoke(&with_id_and_time(
        high,
        "failed-1",
        &happened,
        Some(("nobody", "AKIAIOSFODNN7EXAMPLE")),
    ));
    assert_eq!(r.error()["errorType"], "mamoru.RemediationFailed");
    // Ignored: an archived finding.
    let r = api.invoke(&with_id_and_time(
        "constructed/finding-iamuser-key-archived.json",
        "ignored-1",
        &happened,
        None,
    ));
    assert_eq!(r.response()["disposition"], "ignore");
    // Rejected: a finding without its severity.
    let r = api.invoke(&event_with(high, |v| {
        v["detail"].as_object_mut().unwrap().remove("severity");
    }));
    assert_eq!(r.error()["errorType"], "mamoru.BadEvent");
    let finished = Utc::now();

    // Every line the answered invocations wrote, read to the end of the pipe.
    f.finish();
    let lines = metric_lines(&f);
    let mut seen = BTreeSet::new();
    for l in &lines {
        for (name, sets) in check_emf(l, finished) {
            // Every metric and dimension set written is one of the catalogue's, whose namespace
            // the directive names.
            let def = mamoru::metrics::METRICS
                .iter()
                .find(|m| m.name == name)
                .unwrap_or_else(|| panic!("{name} is not in the catalogue"));
            let want: Vec<Vec<String>> = def
                .dimensions
                .iter()
                .map(|s| s.iter().map(|d| d.to_string()).collect())
                .collect();
            assert_eq!(sets, want, "{name}");
            assert!(
                l["_aws"]["CloudWatchMetrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|d| d["Namespace"] == "mamoru")
            );
            seen.insert(name);
        }
    }

    // Remediated.
    let ev = of_event(&lines, "remediated-1", "event");
    assert_eq!(ev.len(), 1);
    let ev = ev[0];
    assert_eq!(ev["Function"], "guardduty");
    assert_eq!(ev["Disposition"], "remediate");
    assert_eq!(ev["Account"], "123456789012");
    assert_eq!(ev["Events"], 1.0);
    assert_eq!(ev["NotificationFailures"], 0.0);
    let ttr = ev["TimeToRemediate"].as_f64().unwrap();
    let upper = (finished - started).num_milliseconds() as f64 / 1000.0 + 90.0;
    assert!(
        (90.0..=upper + 1.0).contains(&ttr),
        "{ttr} not in 90..{upper}"
    );
    assert_eq!(
        actions(&lines, "remediated-1"),
        [
            t("deactivate_access_key done enforce"),
            t("quarantine_user would_do shadow"),
        ]
    );
    let want: BTreeSet<String> = remediated["rule_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(want.contains("guardduty-iam-user-key-compromise"));
    assert_eq!(rule_ids(&lines, "remediated-1"), want);

    // Withheld: both actions, each in its rule's mode; nothing carried out, no time.
    let ev = of_event(&lines, "withheld-1", "event")[0];
    assert_eq!(ev["Disposition"], "notify");
    assert_eq!(ev["NotificationFailures"], 0.0);
    assert!(ev.get("TimeToRemediate").is_none(), "{ev}");
    assert_eq!(
        actions(&lines, "withheld-1"),
        [
            t("deactivate_access_key withheld enforce"),
            t("quarantine_user withheld shadow"),
        ]
    );

    // Failed: not found, counted by class.
    assert!(
        of_event(&lines, "failed-1", "event")[0]
            .get("TimeToRemediate")
            .is_none()
    );
    assert_eq!(
        actions(&lines, "failed-1"),
        [
            t("deactivate_access_key failed enforce"),
            t("quarantine_user would_do shadow"),
        ]
    );
    let failed: Vec<&Value> = of_event(&lines, "failed-1", "action")
        .into_iter()
        .filter(|l| l["Status"] == "failed")
        .collect();
    assert_eq!(failed[0]["ErrorClass"], "not_found");
    assert_eq!(failed[0]["Failures"], 1.0);

    // Ignored: counted, nothing else (no rule, no action, no publish).
    let ev = of_event(&lines, "ignored-1", "event");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["Disposition"], "ignore");
    assert!(ev[0].get("NotificationFailures").is_none());
    assert!(rule_ids(&lines, "ignored-1").is_empty());
    assert!(actions(&lines, "ignored-1").is_empty());

    // Rejected: an event with disposition error and a bad_event failure.
    let bad: Vec<&Value> = lines
        .iter()
        .filter(|l| l["Disposition"] == "error")
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["ErrorClass"], "bad_event");
    assert_eq!(bad[0]["Function"], "guardduty");

    // Dry-run, publishing to a topic that does not exist: would_do in dry-run, the failed
    // publish counted.
    let api2 = RuntimeApi::start();
    let mut env = moto.env(REGION);
    env.push(("MAMORU_MODE".into(), "dry-run".into()));
    env.push((
        "MAMORU_TOPIC_ARN".into(),
        format!("arn:aws:sns:{REGION}:123456789012:no-such-topic"),
    ));
    let mut f2 = FunctionProcess::start_function("mamoru-guardduty", &api2, &env);
    let r = api2.invoke(&with_id_and_time(
        high,
        "dry-run-1",
        &happened,
        Some(("alice", &key)),
    ));
    assert_eq!(r.error()["errorType"], "mamoru.NotificationFailed");
    f2.finish();
    let lines2 = metric_lines(&f2);
    for l in &lines2 {
        for (name, _) in check_emf(l, Utc::now()) {
            seen.insert(name);
        }
    }
    let ev = of_event(&lines2, "dry-run-1", "event")[0];
    assert_eq!(ev["NotificationFailures"], 1.0);
    assert_eq!(ev["ErrorClass"], "notification");
    assert_eq!(ev["Failures"], 1.0);
    assert!(ev.get("TimeToRemediate").is_none());
    assert_eq!(
        actions(&lines2, "dry-run-1"),
        [
            t("deactivate_access_key would_do dry-run"),
            t("quarantine_user would_do shadow"),
        ]
    );

    // Every metric of the catalogue was written by one of these events.
    let catalogue: BTreeSet<String> = mamoru::metrics::METRICS
        .iter()
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(seen, catalogue);
}
