//! End to end: each function binary, as built, runs against the Runtime API emulator on
//! loopback with `AWS_ENDPOINT_URL` pointing at moto. We deliver handled, unhandled and
//! malformed events and check /response versus /error, the AWS state, the notifications and the
//! audit log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{
    FunctionProcess, Invocation, Moto, RuntimeApi, TestCert, TlsFront, binary, fixture,
};
use serde_json::Value;

const REGION: &str = "us-east-1";

struct Function {
    api: RuntimeApi,
    process: FunctionProcess,
}

fn start(name: &str, moto: &Moto, topic: &str, extra: &[(&str, &str)]) -> Function {
    let api = RuntimeApi::start();
    let mut env = moto.env(REGION);
    env.push(("MAMORU_MODE".into(), "enforce".into()));
    env.push(("MAMORU_TOPIC_ARN".into(), topic.into()));
    for (k, v) in extra {
        env.push((k.to_string(), v.to_string()));
    }
    let process = FunctionProcess::start_function(name, &api, &env);
    Function { api, process }
}

fn key_finding(user: &str, key: &str) -> String {
    event_with(
        "constructed/finding-iamuser-key-malicious-ip-high.json",
        |v| {
            v["detail"]["resource"]["accessKeyDetails"]["userName"] = user.into();
            v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
        },
    )
}

#[tokio::test]
async fn guardduty_function_remediates_ignores_and_rejects() {
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (named, other) = scenario::user_with_two_keys(&moto, "alice").await;
    let mut f = start("mamoru-guardduty", &moto, &topic, &[]);

    // A handled event: the key is deactivated and the function responds.
    let r = f.api.invoke(&key_finding("alice", &named));
    let resp = r.response();
    assert_eq!(resp["disposition"], "remediate", "{resp}");
    assert_eq!(resp["outcomes"][0]["status"], "done");
    assert_eq!(
        scenario::key_status(&moto, "alice", &named).await,
        "Inactive"
    );
    assert_eq!(scenario::key_status(&moto, "alice", &other).await, "Active");
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]["Message"]
            .as_str()
            .unwrap()
            .contains(mamoru::VERSION),
        "the version is in the notification"
    );

    // An event of another family: logged as unhandled, success, nothing notified.
    let r = f
        .api
        .invoke(&fixture("aws.cloudtrail/ct-stop-logging.json"));
    assert_eq!(r.response()["handler"], "unhandled");
    assert_eq!(r.response()["disposition"], "ignore");

    // Malformed JSON, and a finding with a missing field: errors, so the event goes to the DLQ.
    let r = f.api.invoke("{\"version\": \"0\", \"id\": ");
    assert!(matches!(r, Invocation::Error(_)), "{r:?}");
    let missing = event_with(
        "constructed/finding-iamuser-key-malicious-ip-high.json",
        |v| {
            v["detail"].as_object_mut().unwrap().remove("severity");
        },
    );
    let r = f.api.invoke(&missing);
    let err = r.error();
    assert_eq!(err["errorType"], "mamoru.BadEvent");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("detail.severity"),
        "{err}"
    );

    // The function is still up and serving: one process, warm.
    let r = f.api.invoke(&fixture(
        "aws.guardduty/finding-backdoor-ec2-ccactivity-b.json",
    ));
    assert_eq!(r.response()["disposition"], "notify");
    assert_eq!(
        scenario::notifications(&moto, REGION, &queue).await.len(),
        1,
        "the sample finding is notified"
    );

    // One audit line per event that got a plan (the two bad events are logged as errors):
    // every line the answered invocations wrote, read to the end of the pipe.
    f.process.finish();
    let audit = f.process.audit_lines();
    let ids: Vec<&str> = audit
        .iter()
        .map(|a| a["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(audit.len(), 3, "{ids:?}");
    assert!(
        audit
            .iter()
            .all(|a| a["level"] == "INFO" && a["duration_ms"].is_number())
    );
    // The remediation's line holds the rule ids, the plan and the outcomes, with the state after.
    let first = &audit[0];
    assert_eq!(first["event_id"], first["plan"]["event_id"]);
    assert!(
        first["rule_ids"]
            .as_array()
            .unwrap()
            .contains(&"guardduty-iam-user-key-compromise".into())
    );
    assert_eq!(first["plan"]["disposition"], "remediate");
    let key_outcome = first["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["api"] == "iam:UpdateAccessKey")
        .unwrap();
    assert_eq!(key_outcome["status"], "done");
    assert_eq!(key_outcome["after"]["Status"], "Inactive");
    let errors: Vec<Value> = f
        .process
        .json_logs()
        .into_iter()
        .filter(|l| l["level"] == "ERROR")
        .collect();
    assert!(
        errors.iter().any(|l| l["field"] == "detail.severity"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn cloudtrail_function_restarts_trail_skips_its_own_calls_and_withholds_for_protected() {
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let arn = scenario::stopped_trail(&moto, "eu-west-1", "org-trail", false).await;
    let f = start(
        "mamoru-cloudtrail",
        &moto,
        &topic,
        &[
            (
                "MAMORU_PROTECTED_PRINCIPALS",
                "arn:aws:iam::*:role/BreakGlass*",
            ),
            (
                "MAMORU_SELF_ROLE_ARNS",
                "arn:aws:iam::123456789012:role/mamoru-cloudtrail-role",
            ),
        ],
    );
    let stop = |fixture_name: &str| {
        let arn = arn.clone();
        event_with(fixture_name, move |v| {
            v["detail"]["requestParameters"]["name"] = arn.into();
        })
    };

    let start_by_self = {
        let arn = arn.clone();
        event_with(
            "constructed/ct-stop-logging-by-mamoru-itself.json",
            move |v| {
                v["detail"]["eventName"] = "StartLogging".into();
                v["detail"]["requestParameters"]["name"] = arn.into();
            },
        )
    };
    // Loop prevention: mamoru's own restoring call (StartLogging with its role) is ignored.
    let r = f.api.invoke(&start_by_self);
    assert_eq!(r.response()["disposition"], "ignore");
    // Its own role came from the setting, as the stack deploys it: start-up asked STS nothing
    // (moto would have answered with its default caller, `arn:aws:sts::123456789012:user/moto`).
    assert_eq!(
        started_line(&f)["self_roles"],
        "arn:aws:iam::123456789012:role/mamoru-cloudtrail-role"
    );
    assert!(!scenario::trail_logging(&moto, "eu-west-1", &arn).await);
    assert!(
        scenario::notifications(&moto, REGION, &queue)
            .await
            .is_empty()
    );

    // A protected principal stops the trail: protection spares the principal, not the control,
    // so the trail is restarted and the alert says so.
    let r = f.api.invoke(&stop(
        "constructed/ct-stop-logging-by-protected-principal.json",
    ));
    assert_eq!(r.response()["disposition"], "remediate");
    assert_eq!(r.response()["outcomes"][0]["status"], "done", "{r:?}");
    assert!(scenario::trail_logging(&moto, "eu-west-1", &arn).await);
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]["Subject"].as_str().unwrap().contains("restarted"),
        "{}",
        notes[0]["Subject"]
    );
    scenario::stop_trail(&moto, "eu-west-1", &arn).await;

    // A StopLogging made with mamoru's own role is a stolen session: Critical, and restarted.
    let r = f
        .api
        .invoke(&stop("constructed/ct-stop-logging-by-mamoru-itself.json"));
    assert_eq!(r.response()["severity"], "critical", "{r:?}");
    assert_eq!(r.response()["outcomes"][0]["status"], "done", "{r:?}");
    assert!(scenario::trail_logging(&moto, "eu-west-1", &arn).await);
    scenario::stop_trail(&moto, "eu-west-1", &arn).await;

    // Anyone else: restarted in its home region. Delivered three times: same state, no error.
    for _ in 0..3 {
        let r = f.api.invoke(&stop(
            "constructed/ct-stop-logging-trail-in-other-region.json",
        ));
        assert_eq!(r.response()["outcomes"][0]["status"], "done", "{r:?}");
        assert!(scenario::trail_logging(&moto, "eu-west-1", &arn).await);
    }

    // A trail that no longer exists: the notification says FAILED and the function errors.
    let r = f
        .api
        .invoke(&fixture("aws.cloudtrail/ct-stop-logging.json"));
    assert_eq!(r.error()["errorType"], "mamoru.RemediationFailed");
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert!(
        notes.last().unwrap()["Subject"]
            .as_str()
            .unwrap()
            .contains("FAILED")
    );
}

fn started_line(f: &Function) -> Value {
    f.process
        .wait_log(
            |l| l["message"] == "mamoru started",
            Duration::from_secs(10),
        )
        .expect("the start-up line")
}

/// Deployed by hand without `MAMORU_SELF_ROLE_ARNS`, the cloudtrail function asks STS for its own
/// role once at start-up, and still ignores that role's calls.
#[tokio::test]
async fn cloudtrail_function_finds_its_own_role_when_not_told() {
    let moto = Moto::start();
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
    let arn = scenario::stopped_trail(&moto, "eu-west-1", "org-trail", false).await;
    let sdk = moto.sdk(REGION).await;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = aws_sdk_iam::Client::new(&sdk)
        .create_role()
        .role_name("mamoru-cloudtrail-role")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let creds = aws_sdk_sts::Client::new(&sdk)
        .assume_role()
        .role_arn(role.role().unwrap().arn())
        .role_session_name("mamoru-cloudtrail")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let f = start(
        "mamoru-cloudtrail",
        &moto,
        &topic,
        &[
            ("AWS_ACCESS_KEY_ID", creds.access_key_id()),
            ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key()),
            ("AWS_SESSION_TOKEN", creds.session_token()),
        ],
    );
    let r = f.api.invoke(&event_with(
        "constructed/ct-stop-logging-by-mamoru-itself.json",
        |v| {
            v["detail"]["eventName"] = "StartLogging".into();
            v["detail"]["requestParameters"]["name"] = arn.clone().into();
        },
    ));
    assert_eq!(r.response()["disposition"], "ignore", "{r:?}");
    assert!(!scenario::trail_logging(&moto, "eu-west-1", &arn).await);
    assert_eq!(
        started_line(&f)["self_roles"],
        "arn:aws:iam::123456789012:role/mamoru-cloudtrail-role"
    );
}

#[tokio::test]
async fn config_function_restarts_stopped_trails_on_noncompliance() {
    let moto = Moto::start();
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
    let arn = scenario::stopped_trail(&moto, "us-east-2", "main-trail", false).await;
    let f = start("mamoru-config", &moto, &topic, &[]);
    let r = f.api.invoke(&fixture(
        "aws.config/compliance-cloudtrail-enabled-noncompliant.json",
    ));
    assert_eq!(r.response()["outcomes"][0]["status"], "done", "{r:?}");
    assert!(scenario::trail_logging(&moto, "us-east-2", &arn).await);

    // Back to COMPLIANT: an informational notice, no action.
    let r = f.api.invoke(&fixture(
        "aws.config/compliance-cloudtrail-enabled-back-to-compliant.json",
    ));
    assert_eq!(r.response()["disposition"], "notify");
    assert_eq!(r.response()["severity"], "info");
    assert!(r.response()["outcomes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn dry_run_function_notifies_would_have_and_changes_nothing() {
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (named, _) = scenario::user_with_two_keys(&moto, "carol").await;
    let f = start(
        "mamoru-guardduty",
        &moto,
        &topic,
        &[("MAMORU_MODE", "dry-run")],
    );
    let r = f.api.invoke(&key_finding("carol", &named));
    assert_eq!(r.response()["outcomes"][0]["status"], "would_do");
    assert_eq!(scenario::key_status(&moto, "carol", &named).await, "Active");
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert!(
        notes[0]["Subject"]
            .as_str()
            .unwrap()
            .contains(", would deactivate key (dry-run)"),
        "{}",
        notes[0]["Subject"]
    );
}

/// Lambda Managed Instances: with `AWS_LAMBDA_MAX_CONCURRENCY` set, the function asks for that
/// many events at once and handles them concurrently on one responder; each still acts on its
/// own key only. Without it, the function waits for one event at a time.
#[tokio::test]
async fn managed_instances_handle_invocations_concurrently_each_on_its_own_key() {
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let mut keys = Vec::new();
    for n in 0..6 {
        let user = format!("user{n}");
        let (named, other) = scenario::user_with_two_keys(&moto, &user).await;
        keys.push((user, named, other));
    }

    // Sequential (classic Lambda): one /next at a time, even when idle.
    let seq = start("mamoru-guardduty", &moto, &topic, &[]);
    let mut concurrent = start(
        "mamoru-guardduty",
        &moto,
        &topic,
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while (concurrent.api.next_calls() < 4 || seq.api.next_calls() < 1)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        concurrent.api.next_calls(),
        4,
        "four invocations are asked for at once"
    );
    assert_eq!(
        seq.api.next_calls(),
        1,
        "the sequential function asks for one"
    );

    let answers: Vec<Invocation> = std::thread::scope(|s| {
        let handles: Vec<_> = keys
            .iter()
            .map(|(user, named, _)| {
                let event = key_finding(user, named);
                let api = &concurrent.api;
                s.spawn(move || api.invoke(&event))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for a in &answers {
        let resp = a.response();
        assert_eq!(resp["disposition"], "remediate", "{resp}");
        assert_eq!(resp["outcomes"][0]["status"], "done", "{resp}");
    }
    for (user, named, other) in &keys {
        assert_eq!(scenario::key_status(&moto, user, named).await, "Inactive");
        assert_eq!(scenario::key_status(&moto, user, other).await, "Active");
    }
    assert_eq!(
        scenario::notifications(&moto, REGION, &queue).await.len(),
        keys.len(),
        "one notification per event"
    );
    // Every line the answered invocations wrote, read to the end of the pipe.
    concurrent.process.finish();
    assert_eq!(concurrent.process.audit_lines().len(), keys.len());
}

#[tokio::test]
async fn a_bad_setting_fails_start_up_naming_the_variable() {
    let moto = Moto::start();
    let api = RuntimeApi::start();
    let mut env = moto.env(REGION);
    env.push((
        "MAMORU_TOPIC_ARN".into(),
        "arn:aws:sns:us-east-1:123456789012:alerts".into(),
    ));
    env.push(("MAMORU_MODE".into(), "yolo".into()));
    let mut p = FunctionProcess::start_function("mamoru-config", &api, &env);
    let code = p.wait_exit(Duration::from_secs(20));
    assert!(code.is_some_and(|c| c != 0), "exit code {code:?}");
    let all = [p.stdout(), p.stderr()].concat().join("\n");
    assert!(all.contains("MAMORU_MODE"), "{all}");
    assert_eq!(
        api.next_calls(),
        0,
        "no event is taken by a function that failed to start"
    );
}

/// One binary serves the four functions: without `MAMORU_FUNCTION`, or with a name that is
/// not a function, it takes no event and says which variable to set. With it, it runs that
/// function (every other test here).
#[tokio::test]
async fn the_binary_without_its_function_fails_start_up_naming_the_variable() {
    let moto = Moto::start();
    let mut env = moto.env(REGION);
    env.push((
        "MAMORU_TOPIC_ARN".into(),
        "arn:aws:sns:us-east-1:123456789012:alerts".into(),
    ));
    env.push(("MAMORU_MODE".into(), "dry-run".into()));
    for function in [None, Some("iam")] {
        let api = RuntimeApi::start();
        let mut env = env.clone();
        if let Some(f) = function {
            env.push(("MAMORU_FUNCTION".into(), f.into()));
        }
        let mut p = FunctionProcess::start(&binary("mamoru-lambda"), &api, &env);
        let code = p.wait_exit(Duration::from_secs(20));
        assert!(
            code.is_some_and(|c| c != 0),
            "{function:?}: exit code {code:?}"
        );
        let all = [p.stdout(), p.stderr()].concat().join("\n");
        assert!(all.contains("MAMORU_FUNCTION"), "{function:?}: {all}");
        assert!(all.contains("`securityhub`"), "{function:?}: {all}");
        assert_eq!(api.next_calls(), 0, "{function:?}: no event is taken");
    }
}

/// The functions reach AWS over HTTPS only, through rustls with ring
/// (`mamoru::aws::http_client`). Here the shipped binary's calls go through a TLS front for
/// moto, with a certificate made for the test: trusted, the key is deactivated and the alert
/// sent, over TLS; not trusted (another certificate in `SSL_CERT_FILE`), no request gets past
/// the handshake, nothing changes, and the event fails, so it is not lost.
#[tokio::test]
async fn the_functions_call_aws_over_tls_and_check_the_certificate() {
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (named, other) = scenario::user_with_two_keys(&moto, "alice").await;
    let cert = TestCert::new();
    let front = TlsFront::start(moto.port(), &cert);
    let dir = std::env::temp_dir().join(format!("mamoru-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trusted = cert.write(&dir, "trusted.pem");
    let untrusted = TestCert::new().write(&dir, "untrusted.pem");

    let endpoint = front.endpoint();
    let run = |roots: &std::path::Path| {
        // Later entries override moto's own `AWS_ENDPOINT_URL`.
        let roots = roots.display().to_string();
        start(
            "mamoru-guardduty",
            &moto,
            &topic,
            &[("AWS_ENDPOINT_URL", &endpoint), ("SSL_CERT_FILE", &roots)],
        )
    };

    // Not trusted: the handshake fails, so no request reaches moto, and the event is an error.
    let f = run(&untrusted);
    let r = f
        .api
        .invoke_timeout(&key_finding("alice", &named), Duration::from_secs(60));
    assert!(matches!(r, Invocation::Error(_)), "{r:?}");
    assert_eq!(
        front.requests(),
        0,
        "a request got past a refused handshake"
    );
    assert_eq!(scenario::key_status(&moto, "alice", &named).await, "Active");
    drop(f);

    // Trusted: the same event is remediated and notified through the TLS front.
    let f = run(&trusted);
    let r = f.api.invoke(&key_finding("alice", &named));
    assert_eq!(r.response()["outcomes"][0]["status"], "done", "{r:?}");
    assert!(front.requests() >= 2, "{} requests", front.requests());
    assert_eq!(
        scenario::key_status(&moto, "alice", &named).await,
        "Inactive"
    );
    assert_eq!(scenario::key_status(&moto, "alice", &other).await, "Active");
    assert_eq!(
        scenario::notifications(&moto, REGION, &queue).await.len(),
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}
