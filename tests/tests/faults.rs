//! Under faults: a proxy in front of moto throttles, fails (500/503), resets and slows AWS
//! calls. Remediations must end done or reported failed, with retries and bounded timeouts,
//! and no event may be silently dropped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use mamoru_tests::faults::{Fault, FaultMix, FaultProxy};
use mamoru_tests::runtime_api::FunctionProcess;
use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{Invocation, Moto, RuntimeApi, binary};

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
    let p = FunctionProcess::start(&binary("mamoru-guardduty"), &api, &env);
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

    // WHEN each event is delivered once
    let mut results = Vec::new();
    for (user, named, _) in &users {
        results.push(api.invoke(&key_finding(user, named)));
    }
    proxy.set_mix(FaultMix::none());

    // THEN every event got an answer: a response, or an error that makes Lambda retry it
    assert_eq!(results.len(), users.len());
    let mut done = 0;
    let mut remediation_failed = 0;
    let mut notify_failed = 0;
    for ((user, named, other), r) in users.iter().zip(&results) {
        assert_eq!(
            scenario::key_status(&moto, user, other).await,
            "Active",
            "never another key"
        );
        match r {
            Invocation::Response(v) => {
                // A success means the key is Inactive and the alert went out.
                assert_eq!(v["outcomes"][0]["status"], "done", "{v}");
                assert_eq!(scenario::key_status(&moto, user, named).await, "Inactive");
                done += 1;
            }
            Invocation::Error(e) => match e["errorType"].as_str().unwrap() {
                "mamoru.RemediationFailed" => remediation_failed += 1,
                "mamoru.NotificationFailed" => notify_failed += 1,
                other => panic!("unexpected error type {other}: {e}"),
            },
        }
    }
    let seen = proxy.seen();
    let faults = seen.iter().filter(|s| s.fault != Fault::Forwarded).count();
    println!(
        "events: {} done, {remediation_failed} remediation failed, {notify_failed} notification failed; requests: {} ({} faults: {} throttled, {} 500, {} 503, {} reset, {} slow)",
        done,
        seen.len(),
        faults,
        proxy.count(Fault::Throttled),
        proxy.count(Fault::Status500),
        proxy.count(Fault::Status503),
        proxy.count(Fault::Reset),
        proxy.count(Fault::Slow)
    );
    assert_eq!(
        done + remediation_failed + notify_failed,
        users.len(),
        "nothing dropped"
    );
    // The proxy really failed about half the calls, and the SDK retried them.
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
    // Most remediations succeed thanks to the retries (3 attempts at 50%: 87.5% each).
    assert!(done >= users.len() / 2, "done {done}");
    // Every remediation that failed sent (or tried to send) an alert saying so; every alert
    // that arrived for a failed remediation says FAILED.
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    let failed_alerts = notes
        .iter()
        .filter(|n| n["Subject"].as_str().unwrap().contains("FAILED"))
        .count();
    assert!(failed_alerts <= remediation_failed);
    assert!(notes.len() >= done, "every success was notified");

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
    assert_eq!(attempts.len(), mamoru::aws::MAX_ATTEMPTS as usize);
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
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
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
    assert!(took >= mamoru::aws::ATTEMPT_TIMEOUT, "took {took:?}");
    let Invocation::Error(e) = &r else {
        unreachable!()
    };
    let msg: &str = e["errorMessage"].as_str().unwrap();
    assert!(msg.contains("timed out"), "{msg}");
}
