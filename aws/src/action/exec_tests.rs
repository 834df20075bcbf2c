//! Executors in process, over the SDK's own HTTP client seam: a canned connector answers each
//! operation as AWS would (status and body), with the shipped retry and timeout policy, and no
//! moto. What is checked: how each failure is classified (throttling retried then retryable,
//! access denied not retryable, not found a failure never "already done"), the "already in the
//! target state" path, and the request the SDK really sends. Moto stays for the wire-level tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;

use super::exec::Clients;
use super::{Action, ActionKind, Status, Target};

/// Answers by operation (`X-Amz-Target`'s operation, the query protocol's `Action=`, or a REST
/// API's method and path, `PATCH /findings/batchupdate`), and records every request it was sent.
#[derive(Debug, Clone, Default)]
struct Canned {
    answers: Arc<HashMap<&'static str, (u16, &'static str)>>,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Canned {
    fn new(answers: &[(&'static str, u16, &'static str)]) -> Canned {
        Canned {
            answers: Arc::new(answers.iter().map(|(op, s, b)| (*op, (*s, *b))).collect()),
            seen: Arc::default(),
        }
    }

    fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn operation(req: &HttpRequest) -> (String, String) {
    let body = req
        .body()
        .bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let op = match req.headers().get("x-amz-target") {
        Some(t) => t.rsplit('.').next().unwrap_or("").to_string(),
        None => match body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
            Some(action) => action.to_string(),
            None => {
                let uri = req.uri();
                let path = uri
                    .split_once("://")
                    .map_or(uri, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
                format!("{} {}", req.method(), path.split('?').next().unwrap_or(""))
            }
        },
    };
    (op, body)
}

impl HttpConnector for Canned {
    fn call(&self, req: HttpRequest) -> HttpConnectorFuture {
        let (op, body) = operation(&req);
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((op.clone(), body));
        }
        let (status, text) = self
            .answers
            .get(op.as_str())
            .copied()
            .unwrap_or((500, "unexpected operation"));
        match StatusCode::try_from(status) {
            Ok(status) => {
                HttpConnectorFuture::ready(Ok(Response::new(status, SdkBody::from(text))))
            }
            Err(e) => HttpConnectorFuture::ready(Err(
                aws_smithy_runtime_api::client::result::ConnectorError::other(Box::new(e), None),
            )),
        }
    }
}

impl HttpClient for Canned {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

async fn sdk(canned: &Canned) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(canned.clone())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "not-a-secret",
            None,
            None,
            "test",
        )))
        .retry_config(crate::aws::retry_config())
        .timeout_config(crate::aws::timeout_config())
        .load()
        .await
}

fn key_action() -> Action {
    Action {
        kind: ActionKind::DeactivateAccessKey,
        account: "111122223333".into(),
        region: "us-east-1".into(),
        target: Target::AccessKey {
            user_name: "alice".into(),
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        },
    }
}

fn iam_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>4a3f3b3c-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
}

async fn run(canned: &Canned, action: &Action) -> super::Outcome {
    let clients = Clients::new(&sdk(canned).await);
    super::execute(&clients, action).await
}

#[tokio::test]
async fn a_key_deactivation_sends_exactly_that_key_and_status() {
    let canned = Canned::new(&[(
        "UpdateAccessKey",
        200,
        "<UpdateAccessKeyResponse><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></UpdateAccessKeyResponse>",
    )]);
    let out = run(&canned, &key_action()).await;
    assert_eq!(out.status, Status::Done, "{}", out.message);
    let seen = canned.seen();
    assert_eq!(seen.len(), 1);
    let (op, body) = &seen[0];
    assert_eq!(op, "UpdateAccessKey");
    for part in [
        "UserName=alice",
        "AccessKeyId=AKIAIOSFODNN7EXAMPLE",
        "Status=Inactive",
    ] {
        assert!(body.split('&').any(|kv| kv == part), "{part} in {body}");
    }
}

#[tokio::test]
async fn throttling_is_retried_then_reported_retryable() {
    let body: &'static str = Box::leak(iam_error("Throttling", "Rate exceeded").into_boxed_str());
    let canned = Canned::new(&[("UpdateAccessKey", 400, body)]);
    let out = run(&canned, &key_action()).await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error_code.as_deref(), Some("Throttling"));
    assert_eq!(out.retryable, Some(true));
    // The shipped policy: 3 attempts in all.
    assert_eq!(canned.seen().len(), 3);
}

#[tokio::test]
async fn access_denied_is_a_failure_that_a_retry_cannot_fix() {
    let body: &'static str = Box::leak(
        iam_error(
            "AccessDenied",
            "User is not authorized to perform iam:UpdateAccessKey",
        )
        .into_boxed_str(),
    );
    let canned = Canned::new(&[("UpdateAccessKey", 403, body)]);
    let out = run(&canned, &key_action()).await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error_code.as_deref(), Some("AccessDenied"));
    assert_eq!(out.retryable, Some(false));
    assert_eq!(canned.seen().len(), 1, "not retried");
    assert!(out.message.contains("AccessDenied"), "{}", out.message);
}

#[tokio::test]
async fn a_key_that_does_not_exist_is_a_failure_never_already_done() {
    let body: &'static str = Box::leak(
        iam_error(
            "NoSuchEntity",
            "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.",
        )
        .into_boxed_str(),
    );
    let canned = Canned::new(&[("UpdateAccessKey", 404, body)]);
    let out = run(&canned, &key_action()).await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error_code.as_deref(), Some("NotFound"));
    assert_eq!(out.retryable, Some(false));
    assert!(
        out.message
            .contains("was not found in account 111122223333"),
        "{}",
        out.message
    );
}

#[tokio::test]
async fn trails_that_all_log_are_already_done_and_nothing_is_started() {
    let canned = Canned::new(&[
        (
            "DescribeTrails",
            200,
            r#"{"trailList":[{"Name":"org","TrailARN":"arn:aws:cloudtrail:us-east-1:111122223333:trail/org","HomeRegion":"us-east-1"}]}"#,
        ),
        ("GetTrailStatus", 200, r#"{"IsLogging":true}"#),
    ]);
    let action = Action {
        kind: ActionKind::StartStoppedTrails,
        account: "111122223333".into(),
        region: "us-east-1".into(),
        target: Target::StoppedTrails,
    };
    let out = run(&canned, &action).await;
    assert_eq!(out.status, Status::AlreadyDone, "{}", out.message);
    let ops: Vec<String> = canned.seen().into_iter().map(|(op, _)| op).collect();
    assert_eq!(ops, ["DescribeTrails", "GetTrailStatus"]);
}

#[tokio::test]
async fn a_stopped_trail_is_started_in_its_home_region_only() {
    let canned = Canned::new(&[
        (
            "DescribeTrails",
            200,
            r#"{"trailList":[{"Name":"org","TrailARN":"arn:aws:cloudtrail:us-east-1:111122223333:trail/org","HomeRegion":"us-east-1"},{"Name":"on","TrailARN":"arn:aws:cloudtrail:us-east-1:111122223333:trail/on","HomeRegion":"us-east-1"}]}"#,
        ),
        ("GetTrailStatus", 200, r#"{"IsLogging":false}"#),
        ("StartLogging", 200, "{}"),
    ]);
    let action = Action {
        kind: ActionKind::StartStoppedTrails,
        account: "111122223333".into(),
        region: "us-east-1".into(),
        target: Target::StoppedTrails,
    };
    let out = run(&canned, &action).await;
    assert_eq!(out.status, Status::Done, "{}", out.message);
    let started: Vec<String> = canned
        .seen()
        .into_iter()
        .filter(|(op, _)| op == "StartLogging")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(started.len(), 2);
    assert!(started[0].contains("trail/org"), "{}", started[0]);
}

#[tokio::test]
async fn a_user_to_quarantine_that_does_not_exist_is_not_found_in_that_account() {
    let body: &'static str = Box::leak(
        iam_error(
            "NoSuchEntity",
            "The user with name mallory cannot be found.",
        )
        .into_boxed_str(),
    );
    let canned = Canned::new(&[("PutUserPolicy", 404, body)]);
    let action = Action {
        kind: ActionKind::QuarantineUser,
        account: "444455556666".into(),
        region: "us-east-1".into(),
        target: Target::User {
            user_name: "mallory".into(),
        },
    };
    let out = run(&canned, &action).await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error_code.as_deref(), Some("NotFound"));
    assert!(
        out.message
            .contains("IAM user mallory was not found in account 444455556666"),
        "{}",
        out.message
    );
}

fn serial_console_action() -> Action {
    Action {
        kind: ActionKind::DisableSerialConsoleAccess,
        account: "111122223333".into(),
        region: "us-east-1".into(),
        target: Target::SerialConsole,
    }
}

fn serial_console_status(on: bool) -> &'static str {
    if on {
        "<GetSerialConsoleAccessStatusResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><serialConsoleAccessEnabled>true</serialConsoleAccessEnabled></GetSerialConsoleAccessStatusResponse>"
    } else {
        "<GetSerialConsoleAccessStatusResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><serialConsoleAccessEnabled>false</serialConsoleAccessEnabled></GetSerialConsoleAccessStatusResponse>"
    }
}

// moto does not serve the serial console operations: the requests the SDK really sends are
// checked here, with EC2's answers as the API reference gives them.
#[tokio::test]
async fn serial_console_access_that_is_on_is_read_then_disabled() {
    let canned = Canned::new(&[
        (
            "GetSerialConsoleAccessStatus",
            200,
            serial_console_status(true),
        ),
        (
            "DisableSerialConsoleAccess",
            200,
            "<DisableSerialConsoleAccessResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><serialConsoleAccessEnabled>false</serialConsoleAccessEnabled></DisableSerialConsoleAccessResponse>",
        ),
    ]);
    let out = run(&canned, &serial_console_action()).await;
    assert_eq!(out.status, Status::Done, "{}", out.message);
    assert_eq!(
        out.before,
        Some(serde_json::json!({"SerialConsoleAccessEnabled": true}))
    );
    assert_eq!(
        out.after,
        Some(serde_json::json!({"SerialConsoleAccessEnabled": false}))
    );
    let seen = canned.seen();
    let ops: Vec<&str> = seen.iter().map(|(op, _)| op.as_str()).collect();
    assert_eq!(
        ops,
        ["GetSerialConsoleAccessStatus", "DisableSerialConsoleAccess"]
    );
    // An account setting: the request names nothing else.
    let body = &seen[1].1;
    let mut parts: Vec<&str> = body.split('&').collect();
    parts.sort_unstable();
    assert_eq!(
        parts,
        ["Action=DisableSerialConsoleAccess", "Version=2016-11-15"],
        "{body}"
    );
}

#[tokio::test]
async fn serial_console_access_already_off_is_already_done_and_not_written() {
    let canned = Canned::new(&[(
        "GetSerialConsoleAccessStatus",
        200,
        serial_console_status(false),
    )]);
    let out = run(&canned, &serial_console_action()).await;
    assert_eq!(out.status, Status::AlreadyDone, "{}", out.message);
    let ops: Vec<String> = canned.seen().into_iter().map(|(op, _)| op).collect();
    assert_eq!(ops, ["GetSerialConsoleAccessStatus"]);
}

#[tokio::test]
async fn serial_console_access_denied_is_a_failure_a_retry_cannot_fix() {
    let canned = Canned::new(&[
        (
            "GetSerialConsoleAccessStatus",
            200,
            serial_console_status(true),
        ),
        (
            "DisableSerialConsoleAccess",
            403,
            "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r</RequestID></Response>",
        ),
    ]);
    let out = run(&canned, &serial_console_action()).await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error_code.as_deref(), Some("UnauthorizedOperation"));
    assert_eq!(out.retryable, Some(false));
    assert_eq!(canned.seen().len(), 2, "not retried");
}

// moto does not model MFA Delete (it keeps only the versioning status): a bucket whose MFA Delete
// is enabled is answered here as GetBucketVersioning answers it (S3 API reference).
#[tokio::test]
async fn versioning_of_a_bucket_with_mfa_delete_needs_a_person_and_nothing_is_written() {
    let canned = Canned::new(&[(
        "GET /",
        200,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Suspended</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>",
    )]);
    let action = Action {
        kind: ActionKind::EnableBucketVersioning,
        account: "111122223333".into(),
        region: "us-east-1".into(),
        target: Target::Bucket {
            name: "important-files-bucket".into(),
        },
    };
    let out = run(&canned, &action).await;
    assert_eq!(out.status, Status::Failed, "{}", out.message);
    assert_eq!(out.error_code.as_deref(), Some("NeedsPerson"));
    assert_eq!(out.retryable, Some(false));
    assert!(out.message.contains("MFA Delete"), "{}", out.message);
    assert_eq!(
        out.before,
        Some(serde_json::json!({"Status": "Suspended", "MFADelete": "Enabled"}))
    );
    // Only the read: no PutBucketVersioning was sent.
    let ops: Vec<String> = canned.seen().into_iter().map(|(op, _)| op).collect();
    assert_eq!(ops, ["GET /"]);
}

// The Security Hub write-back (crate::writeback::hub): Security Hub's API is REST, so the canned
// connector answers it by method and path.

const BATCH_UPDATE: &str = "PATCH /findings/batchupdate";
const FINDING_ID: &str = "arn:aws:securityhub:us-east-1:111122223333:subscription/cis-aws-foundations-benchmark/v/1.2.0/4.1/finding/f3b4e0b7-0f0a-4d1c-9a53-0b5d1f3f1d95";
const PRODUCT_ARN: &str = "arn:aws:securityhub:us-east-1::product/aws/securityhub";

fn finding_update() -> crate::writeback::FindingUpdate {
    crate::writeback::FindingUpdate {
        schema: crate::writeback::Schema::Asff,
        finding_id: FINDING_ID.into(),
        product_arn: PRODUCT_ARN.into(),
        account: "111122223333".into(),
        workflow: crate::writeback::Workflow::Resolved,
        note: "mamoru: remediated (HIGH); revoke ...: done.".into(),
        updated_by: crate::writeback::updated_by(),
        decided: crate::writeback::FindingState::default(),
    }
}

async fn write_back(canned: &Canned) -> crate::writeback::WriteBackOutcome {
    use crate::writeback::WriteBack;
    let hub = crate::writeback::hub::Hub::new(&sdk(canned).await);
    hub.write_back(&finding_update()).await
}

#[tokio::test]
async fn the_write_back_sends_the_finding_its_status_and_the_note() {
    let processed: &'static str = Box::leak(
        serde_json::json!({
            "ProcessedFindings": [{"Id": FINDING_ID, "ProductArn": PRODUCT_ARN}],
            "UnprocessedFindings": []
        })
        .to_string()
        .into_boxed_str(),
    );
    let canned = Canned::new(&[(BATCH_UPDATE, 200, processed)]);
    let out = write_back(&canned).await;
    assert_eq!(
        out.status,
        crate::writeback::WriteStatus::Written,
        "{}",
        out.message
    );
    let seen = canned.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (op, body) = &seen[0];
    assert_eq!(op, BATCH_UPDATE);
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "FindingIdentifiers": [{"Id": FINDING_ID, "ProductArn": PRODUCT_ARN}],
            "Workflow": {"Status": "RESOLVED"},
            "Note": {
                "Text": "mamoru: remediated (HIGH); revoke ...: done.",
                "UpdatedBy": format!("mamoru/{}", crate::VERSION)
            }
        })
    );
}

const BATCH_UPDATE_V2: &str = "PATCH /findingsv2/batchupdatev2";
const OCSF_FINDING_UID: &str = "arn:aws:securityhub:us-east-1:123456789012:security-control/Config.1/finding/a1b2c3d4-5678-90ab-cdef-EXAMPLE33333";
const OCSF_PRODUCT_UID: &str = "arn:aws:securityhub:us-east-1::productv2/aws/securityhub";

fn ocsf_update(workflow: crate::writeback::Workflow) -> crate::writeback::FindingUpdate {
    crate::writeback::FindingUpdate {
        schema: crate::writeback::Schema::Ocsf,
        finding_id: OCSF_FINDING_UID.into(),
        product_arn: OCSF_PRODUCT_UID.into(),
        account: "123456789012".into(),
        workflow,
        ..finding_update()
    }
}

#[tokio::test]
async fn an_ocsf_finding_is_written_back_with_batch_update_findings_v2() {
    // BatchUpdateFindingsV2 takes the OCSF identifier (account, finding, product), a status id
    // and a comment: In Progress (2) for notified, Resolved (4) after a verified remediation.
    use crate::writeback::{Workflow, WriteBack};
    let processed: &'static str = Box::leak(
        serde_json::json!({
            "ProcessedFindings": [{"FindingIdentifier": {
                "CloudAccountUid": "123456789012",
                "FindingInfoUid": OCSF_FINDING_UID,
                "MetadataProductUid": OCSF_PRODUCT_UID
            }}],
            "UnprocessedFindings": []
        })
        .to_string()
        .into_boxed_str(),
    );
    for (workflow, status) in [(Workflow::Notified, 2), (Workflow::Resolved, 4)] {
        let canned = Canned::new(&[(BATCH_UPDATE_V2, 200, processed)]);
        let hub = crate::writeback::hub::Hub::new(&sdk(&canned).await);
        let out = hub.write_back(&ocsf_update(workflow)).await;
        assert_eq!(
            out.status,
            crate::writeback::WriteStatus::Written,
            "{}",
            out.message
        );
        let seen = canned.seen();
        assert_eq!(seen.len(), 1, "{seen:?}");
        let (op, body) = &seen[0];
        assert_eq!(op, BATCH_UPDATE_V2);
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "FindingIdentifiers": [{
                    "CloudAccountUid": "123456789012",
                    "FindingInfoUid": OCSF_FINDING_UID,
                    "MetadataProductUid": OCSF_PRODUCT_UID
                }],
                "StatusId": status,
                "Comment": "mamoru: remediated (HIGH); revoke ...: done."
            })
        );
    }
}

#[tokio::test]
async fn an_ocsf_finding_security_hub_did_not_process_is_a_failed_write_back() {
    use crate::writeback::{Workflow, WriteBack};
    let unprocessed: &'static str = Box::leak(
        serde_json::json!({
            "ProcessedFindings": [],
            "UnprocessedFindings": [{
                "FindingIdentifier": {
                    "CloudAccountUid": "123456789012",
                    "FindingInfoUid": OCSF_FINDING_UID,
                    "MetadataProductUid": OCSF_PRODUCT_UID
                },
                "ErrorCode": "ResourceNotFoundException",
                "ErrorMessage": "Finding not found"
            }]
        })
        .to_string()
        .into_boxed_str(),
    );
    let canned = Canned::new(&[(BATCH_UPDATE_V2, 200, unprocessed)]);
    let hub = crate::writeback::hub::Hub::new(&sdk(&canned).await);
    let out = hub.write_back(&ocsf_update(Workflow::Notified)).await;
    assert_eq!(out.status, crate::writeback::WriteStatus::Failed);
    assert_eq!(out.error_code.as_deref(), Some("ResourceNotFoundException"));
    assert_eq!(out.retryable, Some(false));
    assert!(
        out.message
            .starts_with("securityhub:BatchUpdateFindingsV2 did not update the finding"),
        "{}",
        out.message
    );
}

#[tokio::test]
async fn a_finding_security_hub_did_not_process_is_a_failed_write_back() {
    let unprocessed: &'static str = Box::leak(
        serde_json::json!({
            "ProcessedFindings": [],
            "UnprocessedFindings": [{
                "FindingIdentifier": {"Id": FINDING_ID, "ProductArn": PRODUCT_ARN},
                "ErrorCode": "FindingNotFound",
                "ErrorMessage": "Finding not found"
            }]
        })
        .to_string()
        .into_boxed_str(),
    );
    let canned = Canned::new(&[(BATCH_UPDATE, 200, unprocessed)]);
    let out = write_back(&canned).await;
    assert_eq!(out.status, crate::writeback::WriteStatus::Failed);
    assert_eq!(out.error_code.as_deref(), Some("FindingNotFound"));
    assert_eq!(out.retryable, Some(false));
    assert!(out.message.contains("Finding not found"), "{}", out.message);
}

#[tokio::test]
async fn a_throttled_write_back_is_retried_then_reported_retryable() {
    let canned = Canned::new(&[(
        BATCH_UPDATE,
        429,
        r#"{"__type": "ThrottlingException", "message": "Rate exceeded"}"#,
    )]);
    let out = write_back(&canned).await;
    assert_eq!(out.status, crate::writeback::WriteStatus::Failed);
    assert_eq!(out.error_code.as_deref(), Some("ThrottlingException"));
    assert_eq!(out.retryable, Some(true));
    // The shipped policy: 3 attempts in all.
    assert_eq!(canned.seen().len(), 3);
}

#[tokio::test]
async fn a_write_back_denied_is_a_failure_a_retry_cannot_fix() {
    let canned = Canned::new(&[(
        BATCH_UPDATE,
        403,
        r#"{"__type": "AccessDeniedException", "Message": "User is not authorized to perform: securityhub:BatchUpdateFindings"}"#,
    )]);
    let out = write_back(&canned).await;
    assert_eq!(out.status, crate::writeback::WriteStatus::Failed);
    assert_eq!(out.error_code.as_deref(), Some("AccessDeniedException"));
    assert_eq!(out.retryable, Some(false));
    assert_eq!(canned.seen().len(), 1, "not retried");
    assert!(
        out.message.contains("securityhub:BatchUpdateFindings"),
        "{}",
        out.message
    );
}
