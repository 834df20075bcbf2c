//! The executor of `start_stopped_trails`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/start_stopped_trails.rs`.

use mamoru_core::action::kinds::start_stopped_trails as this;

use serde_json::{Value, json};

use crate::action::exec::{Clients, Execute, Failure, failure};
use super::start_logging::start_trail;
use crate::action::{Action, Outcome, Status, Target, trail_name};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let client = clients.cloudtrail.get(&action.region);
        let trails = match client
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
        {
            Ok(out) => out.trail_list.unwrap_or_default(),
            Err(err) => {
                return Outcome::failed(action, failure("cloudtrail:DescribeTrails", err));
            }
        };
        let mut before = Vec::new();
        let mut started = Vec::new();
        let mut errors = Vec::new();
        for trail in &trails {
            let Some(arn) = trail.trail_arn().or(trail.name()) else {
                continue;
            };
            let home = trail.home_region().unwrap_or(&action.region);
            let home_client = clients.cloudtrail.get(home);
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
}
