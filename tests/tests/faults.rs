//! Under faults: a proxy in front of moto throttles, fails (500/503), resets and slows AWS
//! calls. Remediations must end done or reported failed, with retries and bounded timeouts,
//! and no event may be silently dropped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use mamoru_tests::faults::{Fault, FaultMix, FaultProxy};
use mamoru_tests::runtime_api::FunctionProcess;
use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{Invocation, Moto, RuntimeApi};

const REGION: &str = "us-east-1";

fn key_finding(user: &str, key: &str) -> String {
    event_with(
        "constructed/finding-iamuser-key-malicious-ip-high.json",
        |v| {
            v["detail"]["id"] = format!("finding-{user}").into();
            v["id"] = format!("event-{user}").into();
            v["detail"]["resource"]["accessKeyDetails"]["userName"] = user.into();
            v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
        },
    )
}

/// The guardduty function with its AWS calls going through the proxy.
fn function_behind(proxy: &FaultProxy, moto: &Moto, topic: &str) -> (RuntimeApi, FunctionProcess) {
    let api = RuntimeApi::start();
    let mut env = moto.env(REGION);
    for (k, v) in env.iter_mut() {
        if k == "AWS_ENDPOINT_URL" {
            *v = proxy.endpoint();
        }
    }
    env.push(("MAMORU_MODE".into(), "enforce".into()));
    env.push(("MAMORU_TOPIC_ARN".into(), topic.into()));
    let p = FunctionProcess::start_function("mamoru-guardduty", &api, &env);
    (api, p)
}

fn error_type(inv: &Invocation) -> Option<String> {
    match inv {
        Invocation::Error(e) => Some(e["errorType"].as_str().unwrap_or("").to_string()),
        Invocation::Response(_) => None,
    }
}

#[tokio::test]
async fn with_half_the_calls_failing_every_remediation_ends_done_or_reported_failed() {
    // GIVEN 20 users with two keys each, and a proxy failing 50% of the calls (throttling,
    // 500, 503, connection resets, slow answers), in a fixed pseudo-random sequence
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let mut users = Vec::new();
    for i in 0..20 {
        let user = format!("user{i:02}");
        let (named, other) = scenario::user_with_two_keys(&moto, &user).await;
        users.push((user, named, other));
    }
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let (api, function) = function_behind(&proxy, &moto, &topic);
    // Start-up (STS) goes through untouched; the faults start with the first event.
    proxy.set_mix(FaultMix::even(0.5, Duration::from_millis(300), 7));

    // WHEN each event is delivered once, noting which requests the proxy saw for it (the
    // function handles one event at a time)
    let mut results = Vec::new();
    let mut requests = Vec::new();
    for (user, named, _) in &users {
        let before = proxy.seen().len();
        results.push(api.invoke(&key_finding(user, named)));
        requests.push(proxy.seen()[before..].to_vec());
    }
    proxy.set_mix(FaultMix::none());

    // THEN each event's outcome is exactly what the proxy let through for it: the key is
    // Inactive iff an UpdateAccessKey reached moto; an alert exists iff a Publish reached moto,
    // and it says what happened to the key; the answer is a response only when both did
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    let reached = |reqs: &[mamoru_tests::faults::Seen], op: &str| {
        reqs.iter()
            .any(|s| s.operation.contains(op) && matches!(s.fault, Fault::Forwarded | Fault::Slow))
    };
    let (mut done, mut remediation_failed, mut notify_failed) = (0, 0, 0);
    for (((user, named, other), r), reqs) in users.iter().zip(&results).zip(&requests) {
        assert_eq!(
            scenario::key_status(&moto, user, other).await,
            "Active",
            "never another key"
        );
        let key_changed = reached(reqs, "UpdateAccessKey");
        let published = reached(reqs, "Publish");
        assert_eq!(
            scenario::key_status(&moto, user, named).await,
            if key_changed { "Inactive" } else { "Active" },
            "{user}"
        );
        let event_id = format!("event-{user}");
        let alerts: Vec<&serde_json::Value> = notes
            .iter()
            .filter(|n| {
                let doc: serde_json::Value =
                    serde_json::from_str(n["Message"].as_str().unwrap()).unwrap();
                doc["event"]["id"] == event_id.as_str()
            })
            .collect();
        assert_eq!(alerts.len(), usize::from(published), "{user}: {alerts:?}");
        if let Some(alert) = alerts.first() {
            let subject = alert["Subject"].as_str().unwrap();
            let said = if key_changed {
                "key deactivated"
            } else {
                "key deactivation FAILED"
            };
            assert!(subject.ends_with(said), "{user}: {subject}");
        }
        match (key_changed, published) {
            (false, _) => {
                assert_eq!(
                    error_type(r).as_deref(),
                    Some("mamoru.RemediationFailed"),
                    "{user}"
                );
                remediation_failed += 1;
            }
            (true, false) => {
                assert_eq!(
                    error_type(r).as_deref(),
                    Some("mamoru.NotificationFailed"),
                    "{user}"
                );
                notify_failed += 1;
            }
            (true, true) => {
                let Invocation::Response(v) = r else {
                    panic!("{user}: {r:?}")
                };
                assert_eq!(v["outcomes"][0]["status"], "done", "{v}");
                done += 1;
            }
        }
    }
    let seen = proxy.seen();
    let faults = seen.iter().filter(|s| s.fault != Fault::Forwarded).count();
    println!(
        "events: {done} done, {remediation_failed} remediation failed, {notify_failed} notification failed; requests: {} ({} faults: {} throttled, {} 500, {} 503, {} reset, {} slow)",
        seen.len(),
        faults,
        proxy.count(Fault::Throttled),
        proxy.count(Fault::Status500),
        proxy.count(Fault::Status503),
        proxy.count(Fault::Reset),
        proxy.count(Fault::Slow)
    );
    // The proxy really failed about half the calls, the SDK retried them, and the run saw each
    // kind of ending (the fault sequence is fixed by its seed).
    let fault_share = faults as f64 / seen.len() as f64;
    assert!(fault_share > 0.35, "fault share {fault_share}");
    let calls = seen
        .iter()
        .filter(|s| s.operation.contains("UpdateAccessKey"))
        .count();
    assert!(
        calls > users.len(),
        "retries: {calls} UpdateAccessKey requests for {} events",
        users.len()
    );
    assert!(
        done > 0 && remediation_failed > 0,
        "done {done}, failed {remediation_failed}"
    );

    // AND re-delivering the failed events once the faults are gone completes them (Lambda's
    // retry): the same final state as a clean run, with no error.
    for ((user, named, _), r) in users.iter().zip(&results) {
        if error_type(r).is_some() {
            let again = api.invoke(&key_finding(user, named));
            assert!(matches!(again, Invocation::Response(_)), "{again:?}");
        }
        assert_eq!(scenario::key_status(&moto, user, named).await, "Inactive");
    }
    drop(function);
}

#[tokio::test]
async fn a_throttled_remediation_is_retried_with_backoff_then_reported_and_the_event_retried() {
    // GIVEN every UpdateAccessKey call throttled (and nothing else)
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (named, _) = scenario::user_with_two_keys(&moto, "eve").await;
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let (api, _function) = function_behind(&proxy, &moto, &topic);
    proxy.set_mix(FaultMix {
        throttle: 1.0,
        only_operation: Some("UpdateAccessKey"),
        ..FaultMix::none()
    });

    // WHEN the finding arrives
    let r = api.invoke(&key_finding("eve", &named));

    // THEN the SDK made exactly 3 attempts (our retry policy), spaced by a backoff
    let attempts: Vec<Instant> = proxy
        .seen()
        .iter()
        .filter(|s| s.operation.contains("UpdateAccessKey"))
        .map(|s| s.at)
        .collect();
    // Three attempts: the retry policy the README documents (written out, not read from it).
    assert_eq!(attempts.len(), 3);
    let spread = attempts[attempts.len() - 1] - attempts[0];
    assert!(
        spread >= Duration::from_millis(5),
        "attempts spread over {spread:?}"
    );
    // AND the function returns an error so Lambda retries the event
    assert_eq!(error_type(&r).as_deref(), Some("mamoru.RemediationFailed"));
    // AND the alert went out, saying it failed and why
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]["Subject"].as_str().unwrap().contains("FAILED"),
        "{}",
        notes[0]["Subject"]
    );
    assert!(notes[0]["Message"].as_str().unwrap().contains("Throttling"));
    assert_eq!(scenario::key_status(&moto, "eve", &named).await, "Active");
}

#[tokio::test]
async fn a_hanging_api_times_out_well_inside_the_lambda_timeout() {
    // GIVEN an API that answers only after 20 s
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (named, _) = scenario::user_with_two_keys(&moto, "mallory").await;
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let (api, _function) = function_behind(&proxy, &moto, &topic);
    proxy.set_mix(FaultMix {
        slow: 1.0,
        slow_delay: Duration::from_secs(20),
        only_operation: Some("UpdateAccessKey"),
        ..FaultMix::none()
    });

    // WHEN the finding arrives
    let started = Instant::now();
    let r = api.invoke(&key_finding("mallory", &named));
    let took = started.elapsed();

    // THEN the call is abandoned at the operation timeout, reported, and the function answers
    // long before the 30 s Lambda timeout
    assert_eq!(error_type(&r).as_deref(), Some("mamoru.RemediationFailed"));
    assert!(took < Duration::from_secs(20), "took {took:?}");
    // At least one 4 s attempt timeout passed (written out, not read from the code).
    assert!(took >= Duration::from_secs(4), "took {took:?}");
    let Invocation::Error(e) = &r else {
        unreachable!()
    };
    let msg: &str = e["errorMessage"].as_str().unwrap();
    assert!(msg.contains("timed out"), "{msg}");
    // AND when mamoru reports the failure, the key is as it was, and the alert says FAILED
    assert_eq!(
        scenario::key_status(&moto, "mallory", &named).await,
        "Active"
    );
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1);
    let subject = notes[0]["Subject"].as_str().unwrap();
    assert!(subject.ends_with("key deactivation FAILED"), "{subject}");
}
