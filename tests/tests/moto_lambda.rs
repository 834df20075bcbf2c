//! Lambda containment over the real AWS wire protocol: `mamoru replay --execute` (the shadow
//! rule promoted) on a Lambda Protection finding against moto server, which serves
//! PutFunctionConcurrency and GetFunctionConcurrency; the functions' concurrency is read back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{Moto, binary};
use serde_json::Value;

const REGION: &str = "us-east-1";
const FIXTURE: &str = "constructed/finding-lambda-backdoor-ccactivity.json";

fn promoted_rules() -> PathBuf {
    let text = mamoru::decide::rules::BUILTIN_RULES.replace("mode = \"shadow\"\n", "");
    let dir = std::env::temp_dir().join(format!("mamoru-lambda-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("promoted.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The report, and whether the command succeeded (a failed action makes it fail).
fn run(moto: &Moto, event: &str, promote: bool) -> (bool, Value) {
    let dir = std::env::temp_dir().join(format!(
        "mamoru-lambda-ev-{}-{}",
        std::process::id(),
        moto.port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("event.json");
    std::fs::write(&file, event).unwrap();
    let mut cmd = Command::new(binary("mamoru"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(moto.env(REGION))
        .args(["replay", "--json", "--execute"]);
    if promote {
        cmd.arg("--rules").arg(promoted_rules());
    }
    let out = cmd.arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no report: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), serde_json::from_str(line).unwrap())
}

fn execute(moto: &Moto, event: &str, promote: bool) -> Value {
    let (ok, report) = run(moto, event, promote);
    assert!(ok, "{report}");
    report
}

async fn reserved(moto: &Moto, name: &str) -> Option<i32> {
    aws_sdk_lambda::Client::new(&moto.sdk(REGION).await)
        .get_function_concurrency()
        .function_name(name)
        .send()
        .await
        .unwrap()
        .reserved_concurrent_executions
}

// proves: contain-lambda-function
#[tokio::test]
async fn the_named_function_gets_a_reserved_concurrency_of_0_and_no_other() {
    // GIVEN two functions, and a Lambda Protection finding naming the first
    let moto = Moto::start();
    scenario::lambda_function(&moto, REGION, "invoice-renderer").await;
    scenario::lambda_function(&moto, REGION, "payments").await;
    let event = mamoru_tests::fixture(FIXTURE);

    // WHEN the shipped (shadow) rule runs, THEN nothing changes
    let report = execute(&moto, &event, false);
    assert_eq!(report["outcomes"][0]["status"], "would_do", "{report}");
    assert_eq!(reserved(&moto, "invoice-renderer").await, None);

    // WHEN the rule is promoted, THEN only the named function has a reserved concurrency of 0,
    // and running again is already done
    let report = execute(&moto, &event, true);
    let outcome = report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["api"] == "lambda:PutFunctionConcurrency")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(outcome["status"], "done", "{report}");
    assert_eq!(reserved(&moto, "invoice-renderer").await, Some(0));
    assert_eq!(reserved(&moto, "payments").await, None);
    let again = execute(&moto, &event, true);
    assert_eq!(again["outcomes"][0]["status"], "already_done", "{again}");

    // AND a finding naming a function that does not exist is a failure, never already done
    let missing = event_with(FIXTURE, |v| {
        let l = &mut v["detail"]["resource"]["lambdaDetails"];
        l["functionName"] = "gone".into();
        l["functionArn"] = "arn:aws:lambda:us-east-1:123456789012:function:gone".into();
    });
    let (ok, report) = run(&moto, &missing, true);
    assert!(!ok, "a failed action fails the run: {report}");
    assert_eq!(report["outcomes"][0]["status"], "failed", "{report}");
    assert_eq!(report["outcomes"][0]["error_code"], "NotFound", "{report}");
}
