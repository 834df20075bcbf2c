//! Memory between events (`mamoru::state`) against moto's DynamoDB over real HTTP, through the
//! guardduty function binary: a redelivered event is handled once; a failed one is handled again
//! when Lambda retries it; with the table unreachable the alert still goes out.
//! moto enforces DynamoDB's conditional writes, which is what makes a claim hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_dynamodb::types::AttributeValue;
use mamoru_tests::faults::{Fault, FaultMix, FaultProxy};
use mamoru_tests::runtime_api::FunctionProcess;
use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{Invocation, Moto, RuntimeApi, binary};

const REGION: &str = "us-east-1";
/// The stack names its functions `mamoru-<stack>-<function>` and its table `mamoru-<stack>-state`;
/// the harness runs the function as `mamoru-guardduty`.
const TABLE: &str = "mamoru-state";

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

async fn state_table(moto: &Moto) -> aws_sdk_dynamodb::Client {
    scenario::state_table(moto, REGION, TABLE).await
}

async fn item(
    ddb: &aws_sdk_dynamodb::Client,
    key: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    ddb.get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(key.to_string()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// The guardduty function with the state table named by `MAMORU_STATE_TABLE`, its AWS calls
/// going through the proxy.
fn function_behind(proxy: &FaultProxy, moto: &Moto, topic: &str) -> (RuntimeApi, FunctionProcess) {
    start(proxy, moto, topic, ("MAMORU_STATE_TABLE", TABLE))
}

/// The same, deployed as the stack deploys it: its own name among `MAMORU_SELF_RESOURCES`, no
/// `MAMORU_STATE_TABLE`.
fn stack_function_behind(
    proxy: &FaultProxy,
    moto: &Moto,
    topic: &str,
) -> (RuntimeApi, FunctionProcess) {
    start(
        proxy,
        moto,
        topic,
        (
            "MAMORU_SELF_RESOURCES",
            "mamoru-findings,mamoru-guardduty,mamoru-cloudtrail",
        ),
    )
}

fn start(
    proxy: &FaultProxy,
    moto: &Moto,
    topic: &str,
    setting: (&str, &str),
) -> (RuntimeApi, FunctionProcess) {
    start_binary("mamoru-guardduty", proxy, moto, topic, setting)
}

/// The function `name` in enforce mode with one more setting, its AWS calls going through the
/// proxy.
fn start_binary(
    name: &str,
    proxy: &FaultProxy,
    moto: &Moto,
    topic: &str,
    (var, value): (&str, &str),
) -> (RuntimeApi, FunctionProcess) {
    let api = RuntimeApi::start();
    let mut env = moto.env(REGION);
    for (k, v) in env.iter_mut() {
        if k == "AWS_ENDPOINT_URL" {
            *v = proxy.endpoint();
        }
    }
    env.push(("MAMORU_MODE".into(), "enforce".into()));
    env.push(("MAMORU_TOPIC_ARN".into(), topic.into()));
    env.push((var.into(), value.into()));
    let p = FunctionProcess::start_function(name, &api, &env);
    (api, p)
}

fn requests(proxy: &FaultProxy, operation: &str) -> usize {
    proxy
        .seen()
        .iter()
        .filter(|s| s.operation.contains(operation) && s.fault == Fault::Forwarded)
        .count()
}

#[tokio::test]
async fn the_same_event_delivered_three_times_alerts_once_and_acts_once() {
    // GIVEN the guardduty function as the stack deploys it (it finds the state table from its
    // own name), and a key-compromise finding
    let moto = Moto::start();
    let ddb = state_table(&moto).await;
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (named, other) = scenario::user_with_two_keys(&moto, "alice").await;
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let (api, _function) = stack_function_behind(&proxy, &moto, &topic);
    let event = key_finding("alice", &named);

    // WHEN EventBridge delivers the same event three times
    let answers: Vec<Invocation> = (0..3).map(|_| api.invoke(&event)).collect();

    // THEN one alert went out and one UpdateAccessKey was made
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0]["Subject"]
            .as_str()
            .unwrap()
            .ends_with("key deactivated")
    );
    assert_eq!(requests(&proxy, "UpdateAccessKey"), 1);
    assert_eq!(requests(&proxy, "Publish"), 1);
    assert_eq!(
        scenario::key_status(&moto, "alice", &named).await,
        "Inactive"
    );
    assert_eq!(scenario::key_status(&moto, "alice", &other).await, "Active");
    // AND every delivery succeeded (no retry); the later two say why nothing was done
    for (i, a) in answers.iter().enumerate() {
        let Invocation::Response(v) = a else {
            panic!("delivery {i}: {a:?}")
        };
        if i == 0 {
            assert_eq!(v["outcomes"][0]["status"], "done", "{v}");
        } else {
            assert_eq!(v["outcomes"], serde_json::json!([]), "{v}");
            assert!(
                v["reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("redelivery of event event-alice"),
                "{v}"
            );
        }
    }
    // AND the DynamoDB calls were conditional UpdateItems only: the first delivery claimed the
    // event, recorded the finding's digest and took from the account's and the principal's
    // budgets; each redelivery only tried to claim the event
    assert_eq!(requests(&proxy, "DynamoDB_20120810.UpdateItem"), 6);
    assert_eq!(
        proxy
            .seen()
            .iter()
            .filter(|s| s.service == "dynamodb")
            .count(),
        6
    );
    // AND the table holds the event under the function's own prefix, expiring in 24 h
    let it = item(&ddb, "guardduty#event#event-alice").await.unwrap();
    let AttributeValue::N(expires) = &it["expires"] else {
        panic!("{it:?}")
    };
    let left = expires.parse::<i64>().unwrap() - chrono::Utc::now().timestamp();
    assert!((24 * 3600 - 60..=24 * 3600).contains(&left), "{left}");
}

#[tokio::test]
async fn a_failed_event_is_handled_again_when_lambda_retries_it() {
    // GIVEN every UpdateAccessKey call throttled
    let moto = Moto::start();
    let ddb = state_table(&moto).await;
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (named, _) = scenario::user_with_two_keys(&moto, "bob").await;
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let (api, _function) = function_behind(&proxy, &moto, &topic);
    proxy.set_mix(FaultMix {
        throttle: 1.0,
        only_operation: Some("UpdateAccessKey"),
        ..FaultMix::none()
    });
    let event = key_finding("bob", &named);

    // WHEN the finding arrives, fails, and Lambda retries it once the throttling is over
    let first = api.invoke(&event);
    let Invocation::Error(e) = &first else {
        panic!("{first:?}")
    };
    assert_eq!(e["errorType"], "mamoru.RemediationFailed");
    // (the claim is released: the record says so)
    let it = item(&ddb, "guardduty#event#event-bob").await.unwrap();
    assert_eq!(it["released"], AttributeValue::Bool(true));
    proxy.set_mix(FaultMix::none());
    let retry = api.invoke(&event);

    // THEN the retry is handled, not taken for a redelivery: the key is deactivated and the
    // second alert says so
    let Invocation::Response(v) = &retry else {
        panic!("{retry:?}")
    };
    assert_eq!(v["outcomes"][0]["status"], "done", "{v}");
    assert_eq!(scenario::key_status(&moto, "bob", &named).await, "Inactive");
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 2);
    assert!(
        notes[0]["Subject"]
            .as_str()
            .unwrap()
            .ends_with("key deactivation FAILED")
    );
    assert!(
        notes[1]["Subject"]
            .as_str()
            .unwrap()
            .ends_with("key deactivated")
    );
    // AND a third delivery after that success is a redelivery
    let third = api.invoke(&event);
    let Invocation::Response(v) = &third else {
        panic!("{third:?}")
    };
    assert_eq!(v["outcomes"], serde_json::json!([]), "{v}");
    assert_eq!(
        scenario::notifications(&moto, REGION, &queue).await.len(),
        0
    );
}

#[tokio::test]
async fn with_the_table_unreachable_the_alert_still_goes_out_and_the_remediation_is_withheld() {
    // GIVEN a proxy that resets every DynamoDB connection
    let moto = Moto::start();
    let _ddb = state_table(&moto).await;
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (named, _) = scenario::user_with_two_keys(&moto, "carol").await;
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let (api, _function) = function_behind(&proxy, &moto, &topic);
    proxy.set_mix(FaultMix {
        reset: 1.0,
        only_operation: Some("DynamoDB"),
        ..FaultMix::none()
    });

    // WHEN the finding arrives
    let r = api.invoke(&key_finding("carol", &named));

    // THEN the state calls failed (retried by the SDK) and no DynamoDB call got through
    assert!(proxy.count(Fault::Reset) >= 1);
    assert_eq!(requests(&proxy, "DynamoDB"), 0);
    // AND the remediation, whose budget could not be checked, was withheld (fail closed) and
    // reported; the key is untouched
    let Invocation::Response(v) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(v["outcomes"][0]["status"], "skipped", "{v}");
    let said = v["outcomes"][0]["message"].as_str().unwrap();
    assert!(
        said.starts_with("withheld: the remediation budget could not be checked"),
        "{said}"
    );
    assert_eq!(requests(&proxy, "UpdateAccessKey"), 0);
    assert_eq!(scenario::key_status(&moto, "carol", &named).await, "Active");
    // AND the alert still went out (fail open for notification), saying so
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]["Message"]
            .as_str()
            .unwrap()
            .contains("budget could not be checked"),
        "{}",
        notes[0]["Message"]
    );
}

#[tokio::test]
async fn twenty_five_key_findings_in_an_hour_deactivate_twenty_keys_and_alert_the_budget_once() {
    // GIVEN 25 users with two keys each in one account, and the default budget (20 per account
    // per hour)
    let moto = Moto::start();
    let _ddb = state_table(&moto).await;
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let mut users = Vec::new();
    for i in 0..25 {
        let user = format!("user{i:02}");
        let (named, _) = scenario::user_with_two_keys(&moto, &user).await;
        users.push((user, named));
    }
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let (api, _function) = function_behind(&proxy, &moto, &topic);

    // WHEN a key-compromise finding arrives for each
    let answers: Vec<Invocation> = users
        .iter()
        .map(|(user, key)| api.invoke(&key_finding(user, key)))
        .collect();

    // THEN 20 keys are deactivated and 5 withheld, each event answered without error
    let mut statuses = Vec::new();
    for ((user, key), a) in users.iter().zip(&answers) {
        let Invocation::Response(v) = a else {
            panic!("{user}: {a:?}")
        };
        statuses.push(v["outcomes"][0]["status"].as_str().unwrap().to_string());
        let want = if statuses.len() <= 20 {
            "Inactive"
        } else {
            "Active"
        };
        assert_eq!(scenario::key_status(&moto, user, key).await, want, "{user}");
        if statuses.len() > 20 {
            let said = v["outcomes"][0]["message"].as_str().unwrap();
            assert!(
                said.starts_with("remediation budget exhausted in 123456789012: 20 actions in the last hour; further actions withheld until 20"),
                "{said}"
            );
        }
    }
    assert_eq!(statuses.iter().filter(|s| *s == "done").count(), 20);
    assert_eq!(statuses.iter().filter(|s| *s == "skipped").count(), 5);
    assert_eq!(requests(&proxy, "UpdateAccessKey"), 20);
    // AND one CRITICAL budget alert went out beside the 25 events' own alerts
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 26);
    let budget: Vec<serde_json::Value> = notes
        .iter()
        .map(|n| serde_json::from_str::<serde_json::Value>(n["Message"].as_str().unwrap()).unwrap())
        .filter(|d| {
            d["title"]
                .as_str()
                .unwrap()
                .starts_with("remediation budget exhausted in 123456789012")
        })
        .collect();
    assert_eq!(budget.len(), 1, "{budget:?}");
    assert_eq!(budget[0]["severity"]["band"], "CRITICAL", "{}", budget[0]);
}

#[tokio::test]
async fn a_principal_gets_three_actions_an_hour() {
    // GIVEN one user with two keys (the most IAM allows) and the default budget of 3 actions
    // per principal per hour
    let moto = Moto::start();
    let _ddb = state_table(&moto).await;
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (named, other) = scenario::user_with_two_keys(&moto, "erin").await;
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let (api, _function) = function_behind(&proxy, &moto, &topic);

    // WHEN four findings (distinct finding and event IDs) name erin's keys
    let mut statuses = Vec::new();
    for (n, key) in [&named, &other, &named, &other].into_iter().enumerate() {
        let event = event_with(
            "constructed/finding-iamuser-key-malicious-ip-high.json",
            |v| {
                v["detail"]["id"] = format!("finding-erin-{n}").into();
                v["id"] = format!("event-erin-{n}").into();
                v["detail"]["resource"]["accessKeyDetails"]["userName"] = "erin".into();
                v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = key.as_str().into();
            },
        );
        let Invocation::Response(v) = api.invoke(&event) else {
            panic!("{n}")
        };
        statuses.push((
            v["outcomes"][0]["status"].as_str().unwrap().to_string(),
            v["outcomes"][0]["message"].as_str().unwrap().to_string(),
        ));
    }

    // THEN three ran (UpdateAccessKey to Inactive, whatever the key's status) and the fourth
    // was withheld
    let ran: Vec<&str> = statuses.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(ran, ["done", "done", "done", "skipped"], "{statuses:?}");
    assert!(
        statuses[3].1.starts_with(
            "remediation budget exhausted for arn:aws:iam::123456789012:user/erin: 3 actions"
        ),
        "{}",
        statuses[3].1
    );
    assert_eq!(requests(&proxy, "UpdateAccessKey"), 3);
}

/// An update of the finding `finding-dave`: its own event ID, GuardDuty's `service.count` and
/// `updatedAt` moving on, at `severity`.
fn update(n: u32, severity: f64, key: &str) -> String {
    event_with(
        "constructed/finding-iamuser-key-malicious-ip-high.json",
        |v| {
            v["id"] = format!("event-dave-{n}").into();
            v["detail"]["id"] = "finding-dave".into();
            v["detail"]["severity"] = severity.into();
            v["detail"]["service"]["count"] = (4 + n).into();
            v["detail"]["updatedAt"] = format!("2022-01-29T{:02}:12:25.480Z", n % 24).into();
            v["detail"]["resource"]["accessKeyDetails"]["userName"] = "dave".into();
            v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
        },
    )
}

#[tokio::test]
async fn a_finding_updated_ten_times_alerts_once_then_again_when_its_band_rises() {
    // GIVEN the guardduty function with a state table
    let moto = Moto::start();
    let ddb = state_table(&moto).await;
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (named, _) = scenario::user_with_two_keys(&moto, "dave").await;
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let (api, _function) = function_behind(&proxy, &moto, &topic);

    // WHEN GuardDuty publishes the same finding 10 times at Medium (5.0)
    for n in 0..10 {
        let r = api.invoke(&update(n, 5.0, &named));
        assert!(matches!(r, Invocation::Response(_)), "{n}: {r:?}");
    }
    // THEN one alert went out, and nothing was done (Medium notifies only)
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(scenario::key_status(&moto, "dave", &named).await, "Active");
    let digest = item(&ddb, "guardduty#finding#finding-dave").await.unwrap();
    assert_eq!(digest["suppressed"], AttributeValue::N("9".into()));

    // WHEN the finding is updated to High (8.0)
    let r = api.invoke(&update(10, 8.0, &named));

    // THEN a second alert says how many updates were counted since the first, and the key is
    // deactivated
    let Invocation::Response(v) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(v["outcomes"][0]["status"], "done", "{v}");
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    let doc: serde_json::Value =
        serde_json::from_str(notes[0]["Message"].as_str().unwrap()).unwrap();
    let reason = doc["reason"].as_str().unwrap();
    assert!(reason.starts_with("Seen 9 more times since 20"), "{reason}");
    assert!(
        notes[0]["Subject"]
            .as_str()
            .unwrap()
            .ends_with("key deactivated")
    );
    assert_eq!(
        scenario::key_status(&moto, "dave", &named).await,
        "Inactive"
    );

    // AND further updates at High neither alert nor deactivate the key again
    let before = requests(&proxy, "UpdateAccessKey");
    for n in 11..14 {
        let r = api.invoke(&update(n, 8.0, &named));
        let Invocation::Response(v) = &r else {
            panic!("{r:?}")
        };
        assert_eq!(v["outcomes"], serde_json::json!([]), "{v}");
    }
    assert_eq!(requests(&proxy, "UpdateAccessKey"), before);
    assert_eq!(
        scenario::notifications(&moto, REGION, &queue).await.len(),
        0
    );
}

/// `mamoru replay --execute --state dynamodb://TABLE` keeps its memory in the table: a second
/// run, in another process, sees the first run's event as a redelivery and does not act again.
/// Without `--execute` the table is refused: a dry-run must not record events.
#[tokio::test]
async fn replay_with_the_table_remembers_across_runs() {
    let moto = Moto::start();
    let ddb = state_table(&moto).await;
    let (named, other) = scenario::user_with_two_keys(&moto, "erin").await;
    let dir = std::env::temp_dir().join(format!("mamoru-replay-ddb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("finding.json");
    std::fs::write(&file, key_finding("erin", &named)).unwrap();
    let state = format!("dynamodb://{TABLE}");
    let run = |execute: bool| {
        let mut cmd = std::process::Command::new(binary("mamoru"));
        cmd.envs(moto.env(REGION))
            .env_remove("MAMORU_TOPIC_ARN")
            .args(["replay", "--json", "--state", &state]);
        if execute {
            cmd.arg("--execute");
        }
        cmd.arg(&file).output().unwrap()
    };

    let dry = run(false);
    assert!(!dry.status.success());
    let err = String::from_utf8_lossy(&dry.stderr);
    assert!(err.contains("needs --execute"), "{err}");
    assert!(item(&ddb, "guardduty#event#event-erin").await.is_none());

    let first = run(true);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(first["outcomes"][0]["status"], "done", "{first}");
    assert_eq!(
        scenario::key_status(&moto, "erin", &named).await,
        "Inactive"
    );
    assert_eq!(scenario::key_status(&moto, "erin", &other).await, "Active");

    let second = run(true);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let second: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert!(
        second["reason"]
            .as_str()
            .unwrap()
            .starts_with("redelivery of event event-erin"),
        "{second}"
    );
    assert_eq!(second["actions"], serde_json::json!([]), "{second}");
    assert_eq!(second["outcomes"], serde_json::json!([]), "{second}");
    assert!(item(&ddb, "guardduty#event#event-erin").await.is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The published GetSecretValue record, as the `n`th call of one principal in one window: only
/// the secret read and the IDs change.
fn secret_read(n: u32) -> String {
    event_with("aws.volume/ct-get-secret-value.json", |v| {
        v["id"] = format!("read-{n}").into();
        v["detail"]["eventID"] = format!("read-{n}").into();
        v["detail"]["requestParameters"]["secretId"] = format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:stratus-red-team-retrieve-secret-{n}"
        )
        .into();
    })
}

/// The cloudtrail function with the state table, its AWS calls going through the proxy.
fn cloudtrail_behind(
    proxy: &FaultProxy,
    moto: &Moto,
    topic: &str,
) -> (RuntimeApi, FunctionProcess) {
    start_binary(
        "mamoru-cloudtrail",
        proxy,
        moto,
        topic,
        ("MAMORU_STATE_TABLE", TABLE),
    )
}

#[tokio::test]
async fn the_twentieth_distinct_secret_read_alerts_once_and_the_twenty_first_does_not() {
    // GIVEN the cloudtrail function with the state table, and the volume rule of secret reads
    // (20 distinct secrets by one principal within 10 minutes)
    let moto = Moto::start();
    let ddb = state_table(&moto).await;
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let (api, _function) = cloudtrail_behind(&proxy, &moto, &topic);

    // WHEN one principal reads 19 distinct secrets, one of them twice
    for n in 1..=19 {
        let r = api.invoke(&secret_read(n));
        let Invocation::Response(v) = &r else {
            panic!("{n}: {r:?}")
        };
        assert_eq!(v["disposition"], "ignore", "{n}: {v}");
    }
    api.invoke(&event_with("aws.volume/ct-get-secret-value.json", |v| {
        v["id"] = "read-again".into();
        v["detail"]["requestParameters"]["secretId"] =
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:stratus-red-team-retrieve-secret-7"
                .into();
    }));
    // THEN nothing is alerted
    assert!(
        scenario::notifications(&moto, REGION, &queue)
            .await
            .is_empty()
    );

    // WHEN it reads a 20th distinct secret
    let r = api.invoke(&secret_read(20));
    // THEN that call alerts, High, naming the principal and the threshold
    let Invocation::Response(v) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(v["disposition"], "notify", "{v}");
    assert_eq!(
        v["rule_ids"],
        serde_json::json!(["volume-secrets-read"]),
        "{v}"
    );
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("threshold reached by this event: 20 distinct detail.requestParameters.secretId by arn:aws:iam::123456789012:user/christophe within 10m (rule volume-secrets-read)"),
        "{v}"
    );
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0]["Subject"]
            .as_str()
            .unwrap()
            .contains("read 20 distinct secrets"),
        "{}",
        notes[0]["Subject"]
    );

    // WHEN it reads a 21st and a 22nd
    for n in 21..=22 {
        api.invoke(&secret_read(n));
    }
    // THEN no second alert in the window
    assert!(
        scenario::notifications(&moto, REGION, &queue)
            .await
            .is_empty()
    );

    // AND each of the 23 events made one conditional UpdateItem for the count (the alerting one
    // a second, to claim the event's ID), and no other DynamoDB call: no read, no scan
    assert_eq!(requests(&proxy, "DynamoDB_20120810.UpdateItem"), 23 + 1);
    assert_eq!(
        proxy
            .seen()
            .iter()
            .filter(|s| s.service == "dynamodb")
            .count(),
        24
    );
    // AND the window's item holds the 20 distinct secrets, under the function's own prefix
    let time = chrono::DateTime::parse_from_rfc3339(
        serde_json::from_str::<serde_json::Value>(&secret_read(1)).unwrap()["time"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
    .timestamp();
    let key = format!(
        "cloudtrail#threshold#volume-secrets-read#{}#arn:aws:iam::123456789012:user/christophe",
        time.div_euclid(600)
    );
    let it = item(&ddb, &key).await.expect(&key);
    let AttributeValue::Ss(members) = &it["members"] else {
        panic!("{it:?}")
    };
    assert_eq!(members.len(), 20);
    // AND it expires a window after now, although the published record is from 2024 (a late or
    // replayed event keeps its count until the TTL sweep)
    let AttributeValue::N(expires) = &it["expires"] else {
        panic!("{it:?}")
    };
    let left = expires.parse::<i64>().unwrap() - chrono::Utc::now().timestamp();
    assert!((300..=600).contains(&left), "{left}");
}

#[tokio::test]
async fn with_the_table_unreachable_a_threshold_rule_alerts_rather_than_stays_silent() {
    // GIVEN a proxy that resets every DynamoDB connection
    let moto = Moto::start();
    let _ddb = state_table(&moto).await;
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let (api, _function) = cloudtrail_behind(&proxy, &moto, &topic);
    proxy.set_mix(FaultMix {
        reset: 1.0,
        only_operation: Some("DynamoDB"),
        ..FaultMix::none()
    });

    // WHEN a single secret read arrives
    let r = api.invoke(&secret_read(1));

    // THEN it could not be counted, and it is alerted, saying why
    assert_eq!(requests(&proxy, "DynamoDB"), 0);
    let Invocation::Response(v) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(v["disposition"], "notify", "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains(
            "the state table could not be reached, so the threshold of volume-secrets-read was not counted"
        ),
        "{v}"
    );
    assert_eq!(
        scenario::notifications(&moto, REGION, &queue).await.len(),
        1
    );
}
