//! `start_stopped_recorders`: for a failed Security Hub control Config.1 (the finding names no
//! recorder), start every AWS Config configuration recorder of the finding's account and region
//! that is not recording, as `start_stopped_trails` does for CloudTrail.1. A region with no
//! recorder at all is a failure: mamoru restarts recorders, it does not create one.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{
    CloudTrailCall, DT_SECURITYHUB_CUSTOM_ACTION, DT_SECURITYHUB_IMPORTED, DT_SECURITYHUB_V2, Event, EventKind,
};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "start_stopped_recorders"
    }
    fn summary(&self) -> &'static str {
        "Start every AWS Config recorder of the region that is not recording (Security Hub Config.1)"
    }
    fn api(&self) -> &'static str {
        "config:StartConfigurationRecorder"
    }
    fn grants(&self) -> &'static [Grant] {
        // Neither action has a resource type: every resource; the start held to the stack's
        // region.
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["config:DescribeConfigurationRecorderStatus"]),
            Grant::anywhere_in_region(&["config:StartConfigurationRecorder"]),
        ];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[
            DT_SECURITYHUB_IMPORTED,
            DT_SECURITYHUB_CUSTOM_ACTION,
            DT_SECURITYHUB_V2,
        ]
    }
    fn words(&self) -> Words {
        Words {
            done: "stopped recorders restarted",
            already: "recorders already recording",
            would: "would restart stopped recorders",
            noun: "recorder restart",
            withheld: "restart the stopped configuration recorders",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        match &event.kind {
            // The finding's region (Event::region reads it from the finding).
            EventKind::SecurityHub(_) | EventKind::SecurityHubOcsf(_) => {
                Ok((event.region.clone(), Target::StoppedRecorders))
            }
            _ => Err(self.unsupported(event)),
        }
    }
    fn params(&self, _target: &Target) -> Value {
        json!({
            "ConfigurationRecorderName": "each recorder of the region with recording = false"
        })
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "restart every stopped configuration recorder in {}",
            action.region
        )
    }
    fn restores(&self, _call: &CloudTrailCall) -> Option<bool> {
        // Its calls are start_configuration_recorder's (StartConfigurationRecorder) and reads.
        None
    }
}

#[cfg(feature = "aws")]
mod exec {
    use serde_json::{Value, json};

    use crate::action::exec::{Clients, Execute, Failure, failure};
    use crate::action::{Action, Outcome, Status};

    const DESCRIBE: &str = "config:DescribeConfigurationRecorderStatus";
    const START: &str = "config:StartConfigurationRecorder";

    impl Execute for super::Def {
        async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
            let client = clients.config.get(&action.region);
            let statuses = |out: aws_sdk_config::operation::describe_configuration_recorder_status::DescribeConfigurationRecorderStatusOutput| {
                out.configuration_recorders_status
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| (s.name.unwrap_or_default(), s.recording))
                    .collect::<Vec<(String, bool)>>()
            };
            let before = match client.describe_configuration_recorder_status().send().await {
                Ok(out) => statuses(out),
                Err(err) => return Outcome::failed(action, failure(DESCRIBE, err)),
            };
            let state = |list: &[(String, bool)]| {
                Value::Array(
                    list.iter()
                        .map(|(name, recording)| json!({"Name": name, "Recording": recording}))
                        .collect(),
                )
            };
            if before.is_empty() {
                return Outcome::failed(
                    action,
                    Failure {
                        code: Some("NoSuchConfigurationRecorderException".into()),
                        message: format!(
                            "no configuration recorder in {}: mamoru restarts recorders, it does not create one",
                            action.region
                        ),
                        retryable: false,
                    },
                )
                .with_state(Some(state(&before)), None);
            }
            let mut started = Vec::new();
            let mut errors = Vec::new();
            for (name, _) in before.iter().filter(|(_, recording)| !recording) {
                match client
                    .start_configuration_recorder()
                    .configuration_recorder_name(name)
                    .send()
                    .await
                {
                    Ok(_) => started.push(name.clone()),
                    Err(err) => errors.push(failure(START, err)),
                }
            }
            if started.is_empty() && errors.is_empty() {
                return Outcome::new(
                    action,
                    Status::AlreadyDone,
                    format!(
                        "all {} configuration recorders in {} are recording",
                        before.len(),
                        action.region
                    ),
                )
                .with_state(Some(state(&before)), None);
            }
            // The state left, read back.
            let after = match client.describe_configuration_recorder_status().send().await {
                Ok(out) => Some(state(&statuses(out))),
                Err(err) => {
                    errors.push(failure(DESCRIBE, err));
                    None
                }
            };
            if let Some(first) = errors.first() {
                let mut f = first.clone();
                f.retryable = errors.iter().any(|e| e.retryable);
                if errors.len() > 1 {
                    f.message = format!("{} (and {} more errors)", f.message, errors.len() - 1);
                }
                if !started.is_empty() {
                    f.message = format!("{}; restarted {}", f.message, started.join(", "));
                }
                return Outcome::failed(action, f).with_state(Some(state(&before)), after);
            }
            Outcome::new(
                action,
                Status::Done,
                format!("restarted configuration recorder {}", started.join(", ")),
            )
            .with_state(Some(state(&before)), after)
        }
    }
}
