//! Executing planned actions through the AWS SDK: idempotently, in the action's region, and never
//! in dry-run or shadow mode.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_sdk_cloudtrail::operation::start_logging::StartLoggingError;
use aws_sdk_config::operation::start_configuration_recorder::StartConfigurationRecorderError;
use aws_sdk_guardduty::types::DetectorStatus;
use aws_sdk_iam::operation::update_access_key::UpdateAccessKeyError;
use aws_sdk_iam::types::StatusType;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Value, json};

use super::{Action, Outcome, Status, Target, trail_name};

impl Outcome {
    pub(super) fn failed(action: &Action, failure: Failure) -> Outcome {
        Outcome {
            retryable: Some(failure.retryable),
            error_code: failure.code,
            // AWS error messages are free text: mask anything secret-shaped they echo back.
            ..Outcome::new(
                action,
                Status::Failed,
                crate::redact::text(&failure.message),
            )
        }
    }
}

impl Outcome {
    /// The resource the event named does not exist in the account it was looked for in: a
    /// failure to act, never "already done" (in an organization it usually means mamoru looked
    /// in the wrong account).
    pub(super) fn not_found(action: &Action, what: &str) -> Outcome {
        Outcome {
            retryable: Some(false),
            error_code: Some("NotFound".into()),
            ..Outcome::new(
                action,
                Status::Failed,
                format!(
                    "{what} was not found in account {} ({}): nothing was changed",
                    action.account, action.region
                ),
            )
        }
    }

    /// Records the state an action read before acting and the state after.
    pub(super) fn with_state(self, before: Option<Value>, after: Option<Value>) -> Outcome {
        Outcome {
            before,
            after,
            ..self
        }
    }
}

/// A failed AWS call, classified.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) code: Option<String>,
    pub(crate) message: String,
    pub(crate) retryable: bool,
}

const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServerErrorException",
    "ServiceFailure",
    "ServiceFailureException",
    "LimitExceededException",
];

pub(crate) fn service_failure<E: ProvideErrorMetadata>(api: &str, e: &E) -> Failure {
    let code = e.code().map(str::to_string);
    let retryable = code
        .as_deref()
        .is_some_and(|c| RETRYABLE_CODES.contains(&c));
    let message = format!(
        "{api} failed: {}: {}",
        code.as_deref().unwrap_or("error"),
        e.message().unwrap_or("no message")
    );
    Failure {
        code,
        message,
        retryable,
    }
}

pub(crate) fn failure<E, R>(api: &str, err: SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(ctx) => service_failure(api, ctx.err()),
        SdkError::TimeoutError(_) => Failure {
            code: Some("Timeout".into()),
            message: format!("{api} failed: timed out"),
            retryable: true,
        },
        SdkError::DispatchFailure(d) => Failure {
            code: Some("DispatchFailure".into()),
            message: format!(
                "{api} failed: could not send the request ({})",
                if d.is_timeout() {
                    "timeout"
                } else if d.is_io() {
                    "connection error"
                } else {
                    "dispatch error"
                }
            ),
            retryable: true,
        },
        SdkError::ResponseError(_) => Failure {
            code: Some("ResponseError".into()),
            message: format!("{api} failed: the response could not be read"),
            retryable: true,
        },
        SdkError::ConstructionFailure(_) => Failure {
            code: Some("ConstructionFailure".into()),
            message: format!("{api} failed: the request could not be built"),
            retryable: false,
        },
        _ => Failure {
            code: None,
            message: format!("{api} failed"),
            retryable: true,
        },
    }
}

/// Regional SDK clients, built once per container and per region on first use.
pub(super) struct Regional<C> {
    base: SdkConfig,
    make: fn(&SdkConfig, &str) -> C,
    clients: Mutex<HashMap<String, C>>,
}

impl<C: Clone> Regional<C> {
    fn new(base: &SdkConfig, make: fn(&SdkConfig, &str) -> C) -> Self {
        Regional {
            base: base.clone(),
            make,
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn get(&self, region: &str) -> C {
        let mut map = match self.clients.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(region.to_string())
            .or_insert_with(|| (self.make)(&self.base, region))
            .clone()
    }
}

fn region_config(base: &SdkConfig, region: &str) -> SdkConfig {
    base.to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build()
}

/// The SDK clients of one account (its credentials), per region on first use.
pub(super) struct Clients {
    pub(super) iam: aws_sdk_iam::Client,
    pub(super) cloudtrail: Regional<aws_sdk_cloudtrail::Client>,
    pub(super) guardduty: Regional<aws_sdk_guardduty::Client>,
    pub(super) config: Regional<aws_sdk_config::Client>,
    pub(super) events: Regional<aws_sdk_eventbridge::Client>,
    pub(super) ec2: Regional<aws_sdk_ec2::Client>,
    pub(super) s3: Regional<aws_sdk_s3::Client>,
}

impl Clients {
    pub(super) fn new(sdk: &SdkConfig) -> Clients {
        Clients {
            iam: aws_sdk_iam::Client::new(sdk),
            cloudtrail: Regional::new(sdk, |b, r| {
                aws_sdk_cloudtrail::Client::new(&region_config(b, r))
            }),
            guardduty: Regional::new(sdk, |b, r| {
                aws_sdk_guardduty::Client::new(&region_config(b, r))
            }),
            config: Regional::new(sdk, |b, r| {
                aws_sdk_config::Client::new(&region_config(b, r))
            }),
            events: Regional::new(sdk, |b, r| {
                aws_sdk_eventbridge::Client::new(&region_config(b, r))
            }),
            ec2: Regional::new(sdk, |b, r| aws_sdk_ec2::Client::new(&region_config(b, r))),
            s3: Regional::new(sdk, |b, r| {
                // A custom endpoint (an emulator) has no per-bucket host names.
                let path_style = b.endpoint_url().is_some();
                let conf = aws_sdk_s3::config::Builder::from(&region_config(b, r))
                    .force_path_style(path_style)
                    .build();
                aws_sdk_s3::Client::from_conf(conf)
            }),
        }
    }

    /// Carries out one action. Never panics; every error becomes a `Failed` outcome.
    pub(super) async fn execute(&self, action: &Action) -> Outcome {
        match &action.target {
            Target::AccessKey {
                user_name,
                access_key_id,
            } => self.deactivate_key(action, user_name, access_key_id).await,
            Target::Trail { name } => {
                let client = self.cloudtrail.get(&action.region);
                start_trail(&client, action, name).await
            }
            Target::Detector { detector_id } => self.enable_detector(action, detector_id).await,
            Target::Recorder { name } => self.start_recorder(action, name).await,
            Target::StoppedTrails => self.start_stopped_trails(action).await,
            Target::RegionDetectors => self.enable_region_detectors(action).await,
            Target::EventSelectors { trail } => self.restore_management_events(action, trail).await,
            Target::Rule { name, event_bus } => {
                self.enable_rule(action, name, event_bus.as_deref()).await
            }
            Target::NewDetector => self.create_detector(action).await,
            Target::IpSet {
                detector_id,
                ip_set_id,
            } => self.deactivate_ip_set(action, detector_id, ip_set_id).await,
            Target::Role { role_name } => self.revoke_role_sessions(action, role_name).await,
            Target::User { user_name } => self.quarantine_user(action, user_name).await,
            Target::SecurityGroup { group_id } => {
                self.revoke_world_open_admin_ingress(action, group_id).await
            }
            Target::Instance { instance_id } => self.isolate_instance(action, instance_id).await,
            Target::Bucket { name } => self.block_bucket_public_access(action, name).await,
        }
    }

    async fn deactivate_key(&self, action: &Action, user: &str, key: &str) -> Outcome {
        // UpdateAccessKey is idempotent: an already Inactive key stays Inactive. No read first,
        // so the remediation is a single call.
        let res = self
            .iam
            .update_access_key()
            .user_name(user)
            .access_key_id(key)
            .status(StatusType::Inactive)
            .send()
            .await;
        match res {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("access key {key} of {user} is Inactive"),
            )
            .with_state(None, Some(json!({"Status": "Inactive"}))),
            // Only a service error carries a code to match; timeouts and connection errors are
            // classified as they are (into_service_error would hide them as "unhandled").
            Err(SdkError::ServiceError(ctx)) => match ctx.into_err() {
                UpdateAccessKeyError::NoSuchEntityException(_) => {
                    Outcome::not_found(action, &format!("access key {key} of IAM user {user}"))
                }
                other => Outcome::failed(action, service_failure("iam:UpdateAccessKey", &other)),
            },
            Err(other) => Outcome::failed(action, failure("iam:UpdateAccessKey", other)),
        }
    }

    async fn enable_detector(&self, action: &Action, detector_id: &str) -> Outcome {
        let client = self.guardduty.get(&action.region);
        match client
            .update_detector()
            .detector_id(detector_id)
            .enable(true)
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("GuardDuty detector {detector_id} is enabled"),
            )
            .with_state(None, Some(json!({"Status": "ENABLED"}))),
            Err(err) => Outcome::failed(action, failure("guardduty:UpdateDetector", err)),
        }
    }

    async fn start_recorder(&self, action: &Action, name: &str) -> Outcome {
        let client = self.config.get(&action.region);
        let res = client
            .start_configuration_recorder()
            .configuration_recorder_name(name)
            .send()
            .await;
        match res {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!("configuration recorder {name} is recording"),
            )
            .with_state(None, Some(json!({"Recording": true}))),
            Err(SdkError::ServiceError(ctx)) => {
                let err = ctx.into_err();
                let hint = match &err {
                    StartConfigurationRecorderError::NoSuchConfigurationRecorderException(_) => {
                        " (the recorder was deleted)"
                    }
                    StartConfigurationRecorderError::NoAvailableDeliveryChannelException(_) => {
                        " (no delivery channel: it was deleted)"
                    }
                    _ => "",
                };
                let mut f = service_failure("config:StartConfigurationRecorder", &err);
                f.message.push_str(hint);
                Outcome::failed(action, f)
            }
            Err(other) => {
                Outcome::failed(action, failure("config:StartConfigurationRecorder", other))
            }
        }
    }

    async fn start_stopped_trails(&self, action: &Action) -> Outcome {
        let client = self.cloudtrail.get(&action.region);
        let trails = match client
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
        {
            Ok(out) => out.trail_list.unwrap_or_default(),
            Err(err) => return Outcome::failed(action, failure("cloudtrail:DescribeTrails", err)),
        };
        let mut before = Vec::new();
        let mut started = Vec::new();
        let mut errors = Vec::new();
        for trail in &trails {
            let Some(arn) = trail.trail_arn().or(trail.name()) else {
                continue;
            };
            let home = trail.home_region().unwrap_or(&action.region);
            let home_client = self.cloudtrail.get(home);
            let logging = match home_client.get_trail_status().name(arn).send().await {
                Ok(s) => s.is_logging().unwrap_or(false),
                Err(err) => {
                    errors.push(failure("cloudtrail:GetTrailStatus", err));
                    continue;
                }
            };
            before.push(json!({"Trail": arn, "HomeRegion": home, "IsLogging": logging}));
            if logging {
                continue;
            }
            let sub = Action {
                region: home.to_string(),
                target: Target::Trail {
                    name: arn.to_string(),
                },
                ..action.clone()
            };
            let out = start_trail(&home_client, &sub, arn).await;
            match out.status {
                Status::Failed => errors.push(Failure {
                    code: out.error_code,
                    message: out.message,
                    retryable: out.retryable.unwrap_or(true),
                }),
                _ => started.push(trail_name(arn).to_string()),
            }
        }
        let before = Some(Value::Array(before));
        if let Some(first) = errors.first() {
            let mut f = first.clone();
            f.retryable = errors.iter().any(|e| e.retryable);
            if errors.len() > 1 {
                f.message = format!("{} (and {} more errors)", f.message, errors.len() - 1);
            }
            if !started.is_empty() {
                f.message = format!("{}; restarted {}", f.message, started.join(", "));
            }
            return Outcome::failed(action, f).with_state(before, None);
        }
        if started.is_empty() {
            Outcome::new(
                action,
                Status::AlreadyDone,
                format!(
                    "all {} trails seen from {} are logging",
                    trails.len(),
                    action.region
                ),
            )
            .with_state(before, None)
        } else {
            Outcome::new(
                action,
                Status::Done,
                format!("restarted logging on {}", started.join(", ")),
            )
            .with_state(before, Some(json!({ "Started": started })))
        }
    }

    async fn enable_region_detectors(&self, action: &Action) -> Outcome {
        let client = self.guardduty.get(&action.region);
        let ids = match client.list_detectors().send().await {
            Ok(out) => out.detector_ids.unwrap_or_default(),
            Err(err) => return Outcome::failed(action, failure("guardduty:ListDetectors", err)),
        };
        if ids.is_empty() {
            return Outcome::new(
                action,
                Status::Skipped,
                format!(
                    "no GuardDuty detector exists in {}: re-creating one is not automatic",
                    action.region
                ),
            );
        }
        let mut before = Vec::new();
        let mut enabled = Vec::new();
        for id in &ids {
            let status = match client.get_detector().detector_id(id).send().await {
                Ok(d) => d.status().map(|s| s.as_str().to_string()),
                Err(err) => return Outcome::failed(action, failure("guardduty:GetDetector", err)),
            };
            before.push(json!({"DetectorId": id, "Status": status}));
            if status.as_deref() == Some(DetectorStatus::Enabled.as_str()) {
                continue;
            }
            if let Err(err) = client
                .update_detector()
                .detector_id(id)
                .enable(true)
                .send()
                .await
            {
                return Outcome::failed(action, failure("guardduty:UpdateDetector", err))
                    .with_state(Some(Value::Array(before)), None);
            }
            enabled.push(id.clone());
        }
        let before = Some(Value::Array(before));
        if enabled.is_empty() {
            Outcome::new(
                action,
                Status::AlreadyDone,
                format!("every GuardDuty detector in {} is enabled", action.region),
            )
            .with_state(before, None)
        } else {
            Outcome::new(
                action,
                Status::Done,
                format!("enabled GuardDuty detector {}", enabled.join(", ")),
            )
            .with_state(before, Some(json!({ "Enabled": enabled })))
        }
    }
}

async fn start_trail(client: &aws_sdk_cloudtrail::Client, action: &Action, name: &str) -> Outcome {
    // StartLogging is idempotent: a trail that is already logging stays logging.
    match client.start_logging().name(name).send().await {
        Ok(_) => Outcome::new(
            action,
            Status::Done,
            format!("trail {} is logging", trail_name(name)),
        )
        .with_state(None, Some(json!({"IsLogging": true}))),
        Err(SdkError::ServiceError(ctx)) => {
            let err = ctx.into_err();
            let hint = match &err {
                StartLoggingError::TrailNotFoundException(_) => " (the trail was deleted)",
                _ => "",
            };
            let mut f = service_failure("cloudtrail:StartLogging", &err);
            f.message.push_str(hint);
            Outcome::failed(action, f)
        }
        Err(other) => Outcome::failed(action, failure("cloudtrail:StartLogging", other)),
    }
}
