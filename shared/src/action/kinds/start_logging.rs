//! `start_logging`: `cloudtrail:StartLogging` on the trail a StopLogging call named, in the
//! trail's home region (from its ARN) and the account that owns it.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, arn_region, call_is, required};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "start_logging"
    }
    fn summary(&self) -> &'static str {
        "Start logging again on the trail a StopLogging call named, in its home region"
    }
    fn api(&self) -> &'static str {
        "cloudtrail:StartLogging"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(&["cloudtrail:StartLogging"], &[Grant::TRAILS])];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "restarted",
            already: "already logging",
            would: "would restart",
            noun: "restart",
            withheld: "restart the trail's logging",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let name = required(c, "name")?;
        let region = arn_region(&name).unwrap_or(&c.aws_region).to_string();
        Ok((region, Target::Trail { name }))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Trail { name } => json!({ "Name": name }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("restart logging on {}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "cloudtrail.amazonaws.com", "StartLogging").then_some(true)
    }
}

#[cfg(feature = "aws")]
mod exec {
    use aws_sdk_cloudtrail::operation::start_logging::StartLoggingError;
    use aws_smithy_runtime_api::client::result::SdkError;
    use serde_json::json;

    use crate::action::exec::{Clients, Execute, failure, service_failure};
    use crate::action::{Action, Outcome, Status, Target, trail_name};

    impl Execute for super::Def {
        async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
            let Target::Trail { name } = &action.target else {
                return Outcome::wrong_target(action);
            };
            let client = clients.cloudtrail.get(&action.region);
            start_trail(&client, action, name).await
        }
    }

    /// StartLogging on one trail. Idempotent: a trail that is already logging stays logging.
    pub(crate) async fn start_trail(
        client: &aws_sdk_cloudtrail::Client,
        action: &Action,
        name: &str,
    ) -> Outcome {
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
}
#[cfg(feature = "aws")]
pub(crate) use exec::start_trail;
