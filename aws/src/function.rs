//! What every Lambda function does: build the responder once at start-up, then handle events.
//! The Lambda binary's `main.rs` only calls [`run_from_env`].

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::action::Actor;
use crate::decide::{Handler, RuleSet};
use crate::files::RuleFiles;
use crate::notify::Notifier;
use crate::responder::{HandleError, Responder};
use crate::settings::{Settings, role_arn_from_caller};

/// Start-up failed: the function cannot run. Names the setting or rule file at fault.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("invalid setting {0}")]
    Settings(#[from] crate::settings::SettingsError),
    #[error("invalid rules: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rules(Vec<crate::decide::RuleError>),
}

/// The function this process is, from `MAMORU_FUNCTION` ([`crate::settings::ENV_FUNCTION`]):
/// one binary serves the four functions, and the stack says on each which one it is.
pub fn handler_from_env() -> Result<Handler, crate::settings::SettingsError> {
    crate::settings::function_from(std::env::var(crate::settings::ENV_FUNCTION).ok().as_deref())
}

/// [`run`] for the function `MAMORU_FUNCTION` names ([`handler_from_env`]): what the Lambda
/// binary's `main.rs` calls. Without a valid name, start-up fails, logged like any start-up
/// failure, naming the variable.
pub async fn run_from_env() -> Result<(), lambda_runtime::Error> {
    match handler_from_env() {
        Ok(handler) => run(handler).await,
        Err(e) => {
            crate::logging::init_json();
            tracing::error!(error = %e, "start-up failed");
            Err(InitError::Settings(e).into())
        }
    }
}

/// Runs a function: start-up once, then events until the container ends. On Lambda Managed
/// Instances (`AWS_LAMBDA_MAX_CONCURRENCY` above 1, set by Lambda) that many invocations run at
/// once on the one responder, sharing its rules and SDK clients (and their connection pools);
/// without it, one at a time, as on classic Lambda.
pub async fn run(handler: Handler) -> Result<(), lambda_runtime::Error> {
    let responder = Arc::new(init(handler).await?);
    // Security Hub events carry several findings: each is handled on its own.
    let each_finding = handler == Handler::Securityhub;
    lambda_runtime::run_concurrent(lambda_runtime::service_fn(
        move |event: LambdaEvent<Box<RawValue>>| {
            let responder = Arc::clone(&responder);
            async move {
                if each_finding {
                    handle_each_finding(&responder, event).await
                } else {
                    handle(&responder, event).await
                }
            }
        },
    ))
    .await
}

/// Builds settings, rules and SDK clients, once per container.
pub async fn init(handler: Handler) -> Result<Responder, InitError> {
    crate::logging::init_json();
    let result = build(handler).await;
    if let Err(e) = &result {
        tracing::error!(error = %e, function = handler.name(), "start-up failed");
    }
    result
}

async fn build(handler: Handler) -> Result<Responder, InitError> {
    let mut settings = Settings::from_env()?;
    let mut rules = RuleSet::builtin_with(&settings.rules_paths).map_err(InitError::Rules)?;
    rules.add_sigma_paths(&settings.sigma_paths);
    // A Sigma rule mamoru cannot evaluate does not stop the function (a shared collection
    // holds rules for other log sources), but each one is named with its reason.
    for u in rules.sigma_unsupported() {
        tracing::warn!(file = %u.file, id = u.id.as_deref().unwrap_or(""), reason = %u.reason, "Sigma rule not loaded");
    }
    // A response rule attached to a Sigma rule that is not loaded could never match.
    let dangling = rules.sigma_reference_errors();
    if !dangling.is_empty() {
        return Err(InitError::Rules(dangling));
    }
    let sdk = crate::aws::load().await;
    // Loop prevention: the function's own execution role. The stack names mamoru's roles in
    // MAMORU_SELF_ROLE_ARNS (from the roles it creates), so start-up makes no AWS call. Without
    // that setting (a hand-made deployment), the function whose decisions use it asks STS once
    // at start-up; the others save the call.
    if settings.self_role_arns.is_empty() && crate::decide::uses_self_roles(handler) {
        match aws_sdk_sts::Client::new(&sdk)
            .get_caller_identity()
            .send()
            .await
        {
            Ok(id) => {
                if let Some(arn) = id.arn() {
                    settings.add_self_role(role_arn_from_caller(arn));
                }
            }
            Err(e) => tracing::warn!(
                error = %aws_smithy_types::error::display::DisplayErrorContext(&e),
                "could not read the function's own role; only MAMORU_SELF_ROLE_ARNS prevents loops"
            ),
        }
    }
    let settings_publish = publish_home(&sdk, &settings);
    let actor = Actor::new(&sdk, &settings);
    let notifier = settings
        .topic_arn
        .clone()
        .map(|topic| Notifier::new(&sdk, topic));
    let state = settings
        .state_table
        .clone()
        .map(|table| crate::state::dynamodb::Table::new(&sdk, table));
    tracing::info!(
        function = handler.name(),
        state_table = state.as_ref().map(|t| t.name()).unwrap_or(""),
        version = crate::VERSION,
        mode = %settings.mode,
        rules = rules.rules().len(),
        sigma_rules = rules.sigma_rules().len(),
        sigma_unsupported = rules.sigma_unsupported().len(),
        min_remediation_severity = settings.min_remediation_severity,
        protected_principals = settings.protected_principals.len(),
        self_roles = %settings.self_role_arns.join(","),
        "mamoru started"
    );
    let responder = Responder::new(
        Some(handler),
        settings,
        rules,
        Some(Arc::clone(&actor) as Arc<dyn crate::action::port::Remediate>),
        notifier.map(|n| Arc::new(n) as Arc<dyn crate::action::port::Publish>),
    );
    let responder = match state {
        Some(table) => responder.with_state(Arc::new(table)),
        None => responder,
    };
    // The cloudtrail function imports its detections into Security Hub, in its own account
    // and region, when the stack turned that on.
    let responder = match (handler, settings_publish) {
        (Handler::Cloudtrail, Some(home)) => {
            responder.with_publisher(Arc::new(crate::publish::hub::Importer::new(&sdk, home)))
        }
        _ => responder,
    };
    // The cloudtrail function looks up whether a deleted KMS key or log group was a trail's
    // (or a flow log's), with the actor's clients: in the account and region that own it.
    let responder = if handler == crate::lookup::LOOKER {
        responder.with_lookup(Arc::clone(&actor) as Arc<dyn crate::lookup::Lookup>)
    } else {
        responder
    };
    // The securityhub function writes back to the findings it decides.
    Ok(if handler == Handler::Securityhub {
        responder.with_write_back(Arc::new(crate::writeback::hub::Hub::new(&sdk)))
    } else {
        responder
    })
}

/// Where the cloudtrail function imports its detections, when `MAMORU_PUBLISH_FINDINGS` is on:
/// its own account (the stack's, from its roles) and region. `None` when it is off, or when
/// the account or region is unknown (said once at start-up).
fn publish_home(sdk: &aws_config::SdkConfig, settings: &Settings) -> Option<crate::publish::Home> {
    if !settings.publish_findings {
        return None;
    }
    let region = sdk.region().map(ToString::to_string);
    let account = settings.hub_account.clone();
    let (Some(region), Some(account)) = (region, account) else {
        tracing::warn!(
            "MAMORU_PUBLISH_FINDINGS is on, but the function's account or region is unknown: detections are not imported"
        );
        return None;
    };
    let partition = settings
        .self_role_arns
        .first()
        .and_then(|arn| arn.split(':').nth(1))
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
        .to_string();
    Some(crate::publish::Home {
        partition,
        account,
        region,
    })
}

/// The error a function returns: Lambda retries the event, then sends it to the DLQ.
#[derive(Debug)]
pub struct FunctionError(pub HandleError);

impl From<FunctionError> for Diagnostic {
    fn from(e: FunctionError) -> Diagnostic {
        let error_type = match &e.0 {
            HandleError::Parse(_) => "mamoru.BadEvent",
            HandleError::ActionsFailed { .. } => "mamoru.RemediationFailed",
            HandleError::Notify(..) => "mamoru.NotificationFailed",
        };
        Diagnostic {
            error_type: error_type.to_string(),
            error_message: crate::redact::text(&e.0.to_string()),
        }
    }
}

/// Handles one invocation. The payload is taken raw so that parsing, and its errors naming the
/// field, are mamoru's own.
pub async fn handle(
    responder: &Responder,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Value, FunctionError> {
    match responder.handle_json(event.payload.get()).await {
        Ok(report) => Ok(answer(&report)),
        Err(e) => Err(FunctionError(e)),
    }
}

/// Handles one invocation of an event that carries several findings (Security Hub): each
/// finding is parsed, decided, acted on, notified and audited on its own, in order, so that one
/// bad or failing finding never drops the others. The answer lists each finding's result; when
/// any failed, the invocation fails after all were handled (the first error), so that Lambda
/// retries the event (every action is idempotent) and in the end keeps it in the dead-letter
/// queue.
pub async fn handle_each_finding(
    responder: &Responder,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Value, FunctionError> {
    let (answers, first_error) = handle_findings(responder, event.payload.get()).await;
    match first_error {
        Some(e) => Err(FunctionError(e)),
        None => Ok(Value::Array(answers)),
    }
}

/// What [`handle_each_finding`] does, without Lambda: each finding's answer (or error, as
/// `{"error": …, "field": …}`) and the first error.
pub async fn handle_findings(
    responder: &Responder,
    text: &str,
) -> (Vec<Value>, Option<HandleError>) {
    let mut answers = Vec::new();
    let mut first_error = None;
    for one in crate::event::securityhub::split(text) {
        match responder.handle_json(&one).await {
            Ok(report) => answers.push(answer(&report)),
            Err(e) => {
                let mut v = serde_json::json!({
                    "error": crate::redact::text(&e.to_string()),
                    "field": match &e {
                        HandleError::Parse(p) => p.field(),
                        _ => None,
                    },
                    "event_id": e.report().map(|r| r.plan.event_id.clone()),
                });
                crate::redact::value(&mut v);
                answers.push(v);
                first_error.get_or_insert(e);
            }
        }
    }
    (answers, first_error)
}

/// The function's answer for one handled event.
fn answer(report: &crate::report::Report) -> Value {
    let mut v = serde_json::json!({
        "event_id": report.plan.event_id,
        "handler": report.plan.handler,
        "disposition": report.plan.disposition,
        "severity": report.plan.severity.band,
        "rule_ids": report.plan.rule_ids,
        "outcomes": report.outcomes.iter().map(|o| serde_json::json!({
            "api": o.action.kind.api(),
            "status": o.status,
            "message": o.message,
        })).collect::<Vec<_>>(),
        "reason": report.plan.reason,
        "version": report.version,
    });
    if let Some(w) = &report.write_back {
        v["write_back"] = serde_json::json!({
            "status": w.status,
            "workflow": w.update.workflow,
            "message": w.message,
        });
    }
    if let Some(p) = &report.published {
        v["published"] = serde_json::json!({
            "status": p.status,
            "finding_id": p.finding_id,
            "message": p.message,
        });
    }
    crate::redact::value(&mut v);
    v
}
