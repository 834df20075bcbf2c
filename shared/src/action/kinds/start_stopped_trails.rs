//! `start_stopped_trails`: for a NON_COMPLIANT `cloudtrail-enabled` result, start every trail of
//! the account seen from the event's region that is not logging, each in its home region. Also
//! for a failed Security Hub control CloudTrail.1 or CloudTrail.3, in the finding's account and
//! region.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{
    CloudTrailCall, DT_CONFIG_COMPLIANCE_CHANGE, DT_SECURITYHUB_CUSTOM_ACTION, DT_SECURITYHUB_IMPORTED, DT_SECURITYHUB_V2,
    Event, EventKind,
};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "start_stopped_trails"
    }
    fn summary(&self) -> &'static str {
        "Start every trail that is not logging, each in its home region (Config compliance, Security Hub CloudTrail.1/3)"
    }
    fn api(&self) -> &'static str {
        "cloudtrail:StartLogging"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["cloudtrail:DescribeTrails"]),
            Grant::on(
                &["cloudtrail:GetTrailStatus", "cloudtrail:StartLogging"],
                &[Grant::TRAILS],
            ),
        ];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[
            DT_CONFIG_COMPLIANCE_CHANGE,
            DT_SECURITYHUB_IMPORTED,
            DT_SECURITYHUB_CUSTOM_ACTION,
            DT_SECURITYHUB_V2,
        ]
    }
    fn words(&self) -> Words {
        Words {
            done: "stopped trails restarted",
            already: "trails already logging",
            would: "would restart stopped trails",
            noun: "trail restart",
            withheld: "restart the stopped trails",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        match &event.kind {
            EventKind::ConfigComplianceChange(_) => {
                Ok((event.region.clone(), Target::StoppedTrails))
            }
            // The finding's region (Event::region reads it from the finding).
            EventKind::SecurityHub(_) | EventKind::SecurityHubOcsf(_) => {
                Ok((event.region.clone(), Target::StoppedTrails))
            }
            _ => Err(self.unsupported(event)),
        }
    }
    fn params(&self, _target: &Target) -> Value {
        json!({
            "Name": "each trail seen from the region with IsLogging = false, started in its home region"
        })
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "restart logging on every stopped trail in {}",
            action.region
        )
    }
    fn restores(&self, _call: &CloudTrailCall) -> Option<bool> {
        // Its calls are start_logging's (StartLogging) and reads.
        None
    }
}

#[cfg(feature = "aws")]
mod exec {
    use serde_json::{Value, json};

    use crate::action::exec::{Clients, Execute, Failure, failure};
    use crate::action::kinds::start_logging::start_trail;
    use crate::action::{Action, Outcome, Status, Target, trail_name};

    impl Execute for super::Def {
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
}
