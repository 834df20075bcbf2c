//! Route 53 Domains against a local endpoint: moto (5.2.5) serves none of the transfer-lock
//! operations, so the requests the SDK really sends are checked here, on the wire. This is a
//! request-shape test, not a state test: the endpoint answers as Route 53 Domains' API reference
//! gives (GetDomainDetail, EnableDomainTransferLock, CancelDomainTransferToAnotherAwsAccount, their
//! errors), and records each request.
//!
//! The function runs in eu-west-1 (`AWS_REGION`); Route 53 Domains is served in us-east-1 only,
//! so every request must be signed for us-east-1 (the Authorization header's credential scope).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use mamoru_tests::binary;
use mamoru_tests::scenario::event_with;
use serde_json::{Value, json};
use tiny_http::{Header, Response, Server};

const TARGET_PREFIX: &str = "Route53Domains_v20140515.";

const CALLER: &str = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/mamoru</Arn><UserId>AIDACKCEVSQ6C2EXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata></GetCallerIdentityResponse>";

/// One request as the endpoint saw it: the operation (`X-Amz-Target`), the Authorization header
/// and the JSON body.
#[derive(Debug, Clone)]
struct Request {
    target: String,
    authorization: String,
    body: Value,
}

fn header(headers: &[Header], name: &'static str) -> String {
    headers
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str().to_string())
        .unwrap_or_default()
}

/// A local endpoint on 127.0.0.1 (a free port) answering by operation; stops when dropped.
struct Domains {
    server: Arc<Server>,
    port: u16,
    seen: Arc<Mutex<Vec<Request>>>,
    thread: Option<JoinHandle<()>>,
}

impl Domains {
    fn start(answers: &[(&str, u16, Value)]) -> Domains {
        let answers: HashMap<String, (u16, String)> = answers
            .iter()
            .map(|(op, status, body)| (format!("{TARGET_PREFIX}{op}"), (*status, body.to_string())))
            .collect();
        let server = Arc::new(Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (srv, rec) = (Arc::clone(&server), Arc::clone(&seen));
        let thread = std::thread::spawn(move || {
            for mut request in srv.incoming_requests() {
                let (target, authorization) = (
                    header(request.headers(), "X-Amz-Target"),
                    header(request.headers(), "Authorization"),
                );
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                if target.is_empty() && body.contains("Action=GetCallerIdentity") {
                    // mamoru learns its own account first (STS API reference's answer).
                    let xml = Header::from_bytes("Content-Type", "text/xml").unwrap();
                    let _ = request.respond(Response::from_string(CALLER).with_header(xml));
                    continue;
                }
                rec.lock().unwrap().push(Request {
                    target: target.clone(),
                    authorization,
                    body: serde_json::from_str(&body).unwrap_or(Value::Null),
                });
                let (status, text) = answers.get(&target).cloned().unwrap_or((
                    400,
                    json!({"__type": "UnknownOperationException"}).to_string(),
                ));
                let json =
                    Header::from_bytes("Content-Type", "application/x-amz-json-1.1").unwrap();
                let _ = request.respond(
                    Response::from_string(text)
                        .with_status_code(status)
                        .with_header(json),
                );
            }
        });
        Domains {
            server,
            port,
            seen,
            thread: Some(thread),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Domains {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The unlocking call, run with the function in eu-west-1; the outcome of the lock.
fn run(domains: &Domains) -> Value {
    run_event(
        domains,
        "aws.route53domains/ct-disable-domain-transfer-lock.json",
        "route53domains:EnableDomainTransferLock",
        false,
    )
}

/// The built-in playbook with every shadow rule promoted to enforce.
fn promoted_rules() -> std::path::PathBuf {
    let text = mamoru::decide::rules::BUILTIN_RULES.replace("mode = \"shadow\"\n", "");
    let dir = std::env::temp_dir().join(format!("mamoru-domains-promoted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("promoted.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `fixture` run with the function in eu-west-1 (its shadow rules promoted when `promote`); the
/// outcome of `api`.
fn run_event(domains: &Domains, fixture: &str, api: &str, promote: bool) -> Value {
    let dir = std::env::temp_dir().join(format!(
        "mamoru-domains-{}-{}",
        std::process::id(),
        domains.port
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("event.json");
    std::fs::write(&file, event_with(fixture, |_| {})).unwrap();
    let mut cmd = Command::new(binary("mamoru"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", domains.endpoint())
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["replay", "--json", "--execute", "--state", "none"]);
    if promote {
        cmd.arg("--rules").arg(promoted_rules());
    }
    let out = cmd.arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.lines().next().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["api"] == api)
        .cloned()
        .unwrap_or_else(|| panic!("no {api} outcome in {report}"))
}

fn detail(statuses: &[&str]) -> Value {
    json!({"DomainName": "example.com", "AutoRenew": true, "StatusList": statuses})
}

/// Every request was signed for Route 53 Domains in us-east-1, and named the domain.
fn assert_us_east_1_for_the_domain(seen: &[Request]) {
    for r in seen {
        assert!(
            r.authorization
                .contains("/us-east-1/route53domains/aws4_request"),
            "{}: {}",
            r.target,
            r.authorization
        );
        assert_eq!(r.body, json!({"DomainName": "example.com"}), "{}", r.target);
    }
}

// proves: route53domains-transfer-lock-disabled
#[tokio::test]
async fn an_unlocked_domain_is_read_then_locked_in_us_east_1() {
    let domains = Domains::start(&[
        ("GetDomainDetail", 200, detail(&["ok"])),
        (
            "EnableDomainTransferLock",
            200,
            json!({"OperationId": "3f28e0ac-126a-4113-9048-cc930example"}),
        ),
    ]);
    let o = run(&domains);
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(o["region"], "us-east-1", "{o}");
    assert_eq!(o["before"]["StatusList"], json!(["ok"]), "{o}");
    assert_eq!(
        o["after"]["OperationId"], "3f28e0ac-126a-4113-9048-cc930example",
        "{o}"
    );
    let seen = domains.seen();
    let targets: Vec<&str> = seen.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "Route53Domains_v20140515.GetDomainDetail",
            "Route53Domains_v20140515.EnableDomainTransferLock"
        ]
    );
    assert_us_east_1_for_the_domain(&seen);
}

#[test]
fn a_domain_locked_again_is_already_done_and_not_written() {
    let domains = Domains::start(&[(
        "GetDomainDetail",
        200,
        detail(&["clientTransferProhibited", "clientDeleteProhibited"]),
    )]);
    let o = run(&domains);
    assert_eq!(o["status"], "already_done", "{o}");
    let seen = domains.seen();
    let targets: Vec<&str> = seen.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["Route53Domains_v20140515.GetDomainDetail"]);
    assert_us_east_1_for_the_domain(&seen);
}

#[test]
fn a_lock_the_service_refuses_is_a_failure_a_retry_cannot_fix() {
    let domains = Domains::start(&[
        ("GetDomainDetail", 200, detail(&["ok"])),
        (
            "EnableDomainTransferLock",
            400,
            json!({"__type": "UnsupportedTLD", "message": "Amazon Route 53 does not support this top-level domain (TLD)."}),
        ),
    ]);
    let o = run(&domains);
    assert_eq!(o["status"], "failed", "{o}");
    assert_eq!(o["error_code"], "UnsupportedTLD", "{o}");
    assert_eq!(o["retryable"], false, "{o}");
    assert_eq!(domains.seen().len(), 2, "not retried");
}

#[test]
fn a_domain_the_account_does_not_hold_is_not_found_never_already_done() {
    let domains = Domains::start(&[(
        "GetDomainDetail",
        400,
        json!({"__type": "InvalidInput", "message": "The requested item is not acceptable."}),
    )]);
    let o = run(&domains);
    assert_eq!(o["status"], "failed", "{o}");
    assert_eq!(o["error_code"], "NotFound", "{o}");
    let targets: Vec<String> = domains.seen().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, ["Route53Domains_v20140515.GetDomainDetail"]);
}

const TRANSFER: &str = "aws.route53domains/ct-transfer-domain-to-another-aws-account.json";
const CANCEL: &str = "route53domains:CancelDomainTransferToAnotherAwsAccount";

// proves: route53domains-transferred-to-another-account
#[tokio::test]
async fn a_domain_transfer_is_cancelled_in_us_east_1_once_promoted() {
    let domains = Domains::start(&[(
        "CancelDomainTransferToAnotherAwsAccount",
        200,
        json!({"OperationId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"}),
    )]);
    // Shadow as shipped: reported, nothing sent.
    let shadow = run_event(&domains, TRANSFER, CANCEL, false);
    assert_eq!(shadow["status"], "would_do", "{shadow}");
    assert!(domains.seen().is_empty(), "{:?}", domains.seen());

    // Promoted: the cancel, for that domain, signed for us-east-1.
    let o = run_event(&domains, TRANSFER, CANCEL, true);
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(o["region"], "us-east-1", "{o}");
    assert_eq!(
        o["after"]["OperationId"], "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
        "{o}"
    );
    let seen = domains.seen();
    let targets: Vec<&str> = seen.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets,
        ["Route53Domains_v20140515.CancelDomainTransferToAnotherAwsAccount"]
    );
    assert_us_east_1_for_the_domain(&seen);
}

#[test]
fn a_transfer_with_nothing_to_cancel_is_a_failure_never_already_done() {
    let domains = Domains::start(&[(
        "CancelDomainTransferToAnotherAwsAccount",
        400,
        json!({"__type": "InvalidInput", "message": "The requested item is not acceptable."}),
    )]);
    let o = run_event(&domains, TRANSFER, CANCEL, true);
    assert_eq!(o["status"], "failed", "{o}");
    assert_eq!(o["error_code"], "InvalidInput", "{o}");
    assert_eq!(o["retryable"], false, "{o}");
}
