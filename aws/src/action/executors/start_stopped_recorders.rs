//! The executor of `start_stopped_recorders`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/start_stopped_recorders.rs`.

use mamoru_core::action::kinds::start_stopped_recorders as this;

use serde_json::{Value, json};

use crate::action::exec::{Clients, Execute, Failure, failure};
use crate::action::{Action, Outcome, Status};

const DESCRIBE: &str = "config:DescribeConfigurationRecorderStatus";
const START: &str = "config:StartConfigurationRecorder";

impl Execute for this::Def {
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
