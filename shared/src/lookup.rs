//! Whether a deleted or disabled log destination was a trail's or a flow log's: the KMS key of
//! a successful `kms:ScheduleKeyDeletion` / `kms:DisableKey`, the log group of a successful
//! `logs:DeleteLogGroup`. The event does not say what used them; a read-only lookup does
//! (`cloudtrail:DescribeTrails` with the shadow trails, so an organization or multi-region
//! trail homed elsewhere counts, and `ec2:DescribeFlowLogs` for a log group), in the account and
//! region of the call. A destination that a trail or flow log uses makes the alert High; one that
//! none uses keeps it Medium and says so; a lookup that fails keeps it Medium and says why.
//!
//! What the call removed ([`Destination::of`]), whether what the lookup found uses it
//! ([`users`]) and what the alert then says ([`apply`]) are decided here, purely. The calls are
//! made by a [`Lookup`] port (the AWS one is `mamoru::lookup::aws`, in the `mamoru` crate). No decision
//! rests on a value the caller chooses other than the identifiers compared: the key id, key ARN
//! or log group name the call names, against the ARNs and names AWS reports.

use serde::Serialize;

use crate::decide::details::Detail;
use crate::decide::resource::Arn;
use crate::decide::{Band, Plan};
use crate::event::{Event, EventKind};

/// The IAM action that lists the trails (no resource type in the Service Authorization
/// Reference: on `*`).
pub const API_TRAILS: &str = "cloudtrail:DescribeTrails";
/// The IAM action that lists the flow logs (no resource type either).
pub const API_FLOW_LOGS: &str = "ec2:DescribeFlowLogs";

/// The lookup's grant: two reads on every resource. Not an action's grant: the cloudtrail
/// function always looks up; `mamoru permissions --grants` lists it (`by:` [`BY`]), the member
/// role grants it too (the lookup is made in the account that owns the resource), and the infra
/// tests compare the templates with it both ways.
pub const GRANT: crate::action::Grant =
    crate::action::Grant::anywhere(&[API_TRAILS, API_FLOW_LOGS]);

/// How `mamoru permissions --grants` names the lookup's statements.
pub const BY: &str = "log_destination_lookup";

/// The function that looks up: the one CloudTrail calls go to.
pub const LOOKER: crate::decide::Handler = crate::decide::Handler::Cloudtrail;

/// The words the built-in rules' titles end with while nothing was looked up.
pub const MAYBE: &str = ", maybe a trail's";

/// How the call names the key (`requestParameters.keyId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum KeyName {
    /// The key's id (`1234abcd-…`).
    Id(String),
    /// The key's ARN (`arn:aws:kms:REGION:ACCOUNT:key/ID`).
    Arn(String),
    /// An alias name (`alias/x`) or alias ARN: which key it stands for takes another call.
    Alias(String),
}

impl KeyName {
    /// Reads `requestParameters.keyId`. `None` when it is none of the four forms.
    pub fn parse(text: &str) -> Option<KeyName> {
        if text.is_empty() {
            return None;
        }
        if text.starts_with("alias/") {
            return Some(KeyName::Alias(text.to_string()));
        }
        if text.starts_with("arn:") {
            let arn = arn_of(text, "kms")?;
            return if arn.resource.starts_with("alias/") {
                Some(KeyName::Alias(text.to_string()))
            } else if key_id_of(&arn).is_some() {
                Some(KeyName::Arn(text.to_string()))
            } else {
                None
            };
        }
        if text.contains(':') || text.contains('/') {
            return None;
        }
        Some(KeyName::Id(text.to_string()))
    }
}

/// What the call removed from the logs, in the account and region that own it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// A KMS key a trail may encrypt its logs with.
    Key {
        key: KeyName,
        account: String,
        region: String,
    },
    /// A log group a trail or flow log may deliver to.
    LogGroup {
        name: String,
        account: String,
        region: String,
    },
    /// An S3 bucket a trail may deliver its log files to.
    Bucket {
        name: String,
        account: String,
        region: String,
    },
}

impl Destination {
    /// The destination a successful `ScheduleKeyDeletion`, `DisableKey`, `DeleteLogGroup` or
    /// `DeleteBucket` names; `None` for any other event, a failed call or a missing identifier.
    pub fn of(event: &Event) -> Option<Destination> {
        let EventKind::CloudTrailCall(call) = &event.kind else {
            return None;
        };
        if !call.succeeded() {
            return None;
        }
        let account = call
            .account_id()
            .cloned()
            .unwrap_or_else(|| event.account.clone());
        let region = call.aws_region.clone();
        if account.is_empty() || region.is_empty() {
            return None;
        }
        match (call.event_source.as_str(), call.event_name.as_str()) {
            ("kms.amazonaws.com", "ScheduleKeyDeletion" | "DisableKey") => Some(Destination::Key {
                key: KeyName::parse(call.request_str("keyId")?)?,
                account,
                region,
            }),
            ("logs.amazonaws.com", "DeleteLogGroup") => Some(Destination::LogGroup {
                name: call.request_str("logGroupName")?.to_string(),
                account,
                region,
            }),
            ("s3.amazonaws.com", "DeleteBucket") => Some(Destination::Bucket {
                name: call
                    .request_str("bucketName")
                    .filter(|b| !b.is_empty())?
                    .to_string(),
                account,
                region,
            }),
            _ => None,
        }
    }

    pub fn account(&self) -> &str {
        match self {
            Destination::Key { account, .. }
            | Destination::LogGroup { account, .. }
            | Destination::Bucket { account, .. } => account,
        }
    }

    pub fn region(&self) -> &str {
        match self {
            Destination::Key { region, .. }
            | Destination::LogGroup { region, .. }
            | Destination::Bucket { region, .. } => region,
        }
    }

    /// Whether flow logs may deliver to it (a log group), so the lookup lists them too.
    pub fn has_flow_logs(&self) -> bool {
        matches!(self, Destination::LogGroup { .. })
    }

    /// The alias the call named the key by: nothing is looked up then.
    pub fn alias(&self) -> Option<&str> {
        match self {
            Destination::Key {
                key: KeyName::Alias(a),
                ..
            } => Some(a),
            _ => None,
        }
    }

    fn noun(&self) -> &'static str {
        match self {
            Destination::Key { .. } => "key",
            Destination::LogGroup { .. } => "log group",
            Destination::Bucket { .. } => "bucket",
        }
    }
}

/// A trail as `DescribeTrails` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Trail {
    /// `TrailARN` (else `Name`).
    pub arn: String,
    /// `KmsKeyId`: the ARN of the key it encrypts its logs with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// `CloudWatchLogsLogGroupArn`: `arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_arn: Option<String>,
    /// `S3BucketName`: the bucket it delivers its log files to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
}

/// A flow log as `DescribeFlowLogs` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlowLog {
    /// `FlowLogId`.
    pub id: String,
    /// `ResourceId`: the VPC, subnet or interface it records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// `LogDestinationType`: `cloud-watch-logs`, `s3` or `kinesis-data-firehose`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_type: Option<String>,
    /// `LogGroupName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<String>,
    /// `LogDestination`: the log group's ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_destination: Option<String>,
}

/// What the lookup found in the destination's account and region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Found {
    pub trails: Vec<Trail>,
    /// Listed for a log group only.
    pub flow_logs: Vec<FlowLog>,
}

/// Why the lookup failed: the error's class (`AccessDeniedException`, `ThrottlingException`,
/// `DispatchFailure`, …) and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// Something that uses the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum User {
    /// A trail, by its ARN.
    Trail(String),
    /// A flow log, by its id and what it records.
    FlowLog(String),
}

impl User {
    fn label(&self) -> String {
        match self {
            User::Trail(arn) => format!("trail {arn}"),
            User::FlowLog(id) => format!("flow log {id}"),
        }
    }
}

/// An ARN of `service`, with a partition and a resource.
fn arn_of<'a>(text: &'a str, service: &str) -> Option<Arn<'a>> {
    Arn::parse(text)
        .filter(|a| a.service == service && !a.partition.is_empty() && !a.resource.is_empty())
}

fn key_id_of<'a>(arn: &Arn<'a>) -> Option<&'a str> {
    arn.resource
        .strip_prefix("key/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// The region, account and name of a log group's ARN (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME`
/// with or without the trailing `:*`). Log group names hold no `:`.
pub fn log_group_of_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let a = arn_of(arn, "logs")?;
    let rest = a.resource.strip_prefix("log-group:")?;
    let name = rest.strip_suffix(":*").unwrap_or(rest);
    if name.is_empty() || name.contains(':') {
        return None;
    }
    Some((a.region, a.account, name))
}

/// Whether a trail's `KmsKeyId` (a key ARN) is the key the call named.
fn same_key(trail_key: &str, named: &KeyName, account: &str, region: &str) -> bool {
    let Some(arn) = arn_of(trail_key, "kms") else {
        return false;
    };
    let Some(id) = key_id_of(&arn) else {
        return false;
    };
    match named {
        KeyName::Id(named) => arn.region == region && arn.account == account && id == named,
        KeyName::Arn(named) => arn_of(named, "kms").is_some_and(|n| {
            n.region == arn.region && n.account == arn.account && key_id_of(&n) == Some(id)
        }),
        KeyName::Alias(_) => false,
    }
}

/// The trails and flow logs of `found` that use the destination.
pub fn users(dest: &Destination, found: &Found) -> Vec<User> {
    let mut out = Vec::new();
    match dest {
        Destination::Key {
            key,
            account,
            region,
        } => {
            for t in &found.trails {
                if t.kms_key_id
                    .as_deref()
                    .is_some_and(|k| same_key(k, key, account, region))
                {
                    out.push(User::Trail(t.arn.clone()));
                }
            }
        }
        Destination::LogGroup {
            name,
            account,
            region,
        } => {
            let ours = |(r, a, n): (&str, &str, &str)| r == region && a == account && n == name;
            for t in &found.trails {
                if t.log_group_arn
                    .as_deref()
                    .and_then(log_group_of_arn)
                    .is_some_and(ours)
                {
                    out.push(User::Trail(t.arn.clone()));
                }
            }
            for f in &found.flow_logs {
                if f.destination_type
                    .as_deref()
                    .is_some_and(|t| t != "cloud-watch-logs")
                {
                    continue;
                }
                // The group's ARN when the flow log gives one (it names the account and
                // region); its name otherwise (a flow log delivers in its own region).
                let uses = match f.log_destination.as_deref() {
                    Some(arn) => log_group_of_arn(arn).is_some_and(ours),
                    None => f.log_group_name.as_deref() == Some(name.as_str()),
                };
                if uses {
                    out.push(User::FlowLog(match &f.resource_id {
                        Some(r) => format!("{} ({r})", f.id),
                        None => f.id.clone(),
                    }));
                }
            }
        }
        // Bucket names are global: the name alone says which bucket a trail delivers to.
        Destination::Bucket { name, .. } => {
            for t in &found.trails {
                if t.s3_bucket.as_deref() == Some(name.as_str()) {
                    out.push(User::Trail(t.arn.clone()));
                }
            }
        }
    }
    out
}

/// What the lookup says of an event's destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Check {
    /// These trails and flow logs use it.
    Used { users: Vec<User> },
    /// None does.
    Unused,
    /// The call named the key by an alias: not looked up.
    Alias { alias: String },
    /// The lookup failed.
    Failed { failure: Failure },
}

impl Check {
    /// The check of `dest` from the lookup's result.
    pub fn of(dest: &Destination, found: Result<&Found, &Failure>) -> Check {
        if let Some(alias) = dest.alias() {
            return Check::Alias {
                alias: alias.to_string(),
            };
        }
        match found {
            Ok(found) => {
                let users = users(dest, found);
                if users.is_empty() {
                    Check::Unused
                } else {
                    Check::Used { users }
                }
            }
            Err(f) => Check::Failed { failure: f.clone() },
        }
    }
}

/// What the alert says after the check: High, the users named in the title and the details,
/// when a trail or flow log uses the destination; otherwise Medium as decided, with the reason
/// saying that none does, that an alias was not resolved, or that the check failed and why.
pub fn apply(plan: &mut Plan, dest: &Destination, check: &Check) {
    let region = dest.region();
    let account = dest.account();
    let noun = dest.noun();
    let looked = match dest {
        Destination::Key { .. } | Destination::Bucket { .. } => "the trails",
        Destination::LogGroup { .. } => "the trails and flow logs",
    };
    let base = plan
        .title
        .strip_suffix(MAYBE)
        .unwrap_or(&plan.title)
        .to_string();
    let said = match check {
        Check::Used { users } => {
            plan.severity = plan.severity.at_least(Band::High);
            let first = users.first().map(User::label).unwrap_or_default();
            plan.title = match users.len() {
                0 | 1 => format!("{base}, used by {first}"),
                n => format!("{base}, used by {first} and {} more", n - 1),
            };
            for u in users {
                plan.details.push(Detail {
                    label: match u {
                        User::Trail(_) => "Uses it",
                        User::FlowLog(_) => "Delivers to it",
                    },
                    value: u.label(),
                    link: None,
                });
            }
            let names: Vec<String> = users.iter().map(User::label).collect();
            format!(
                "mamoru looked up {looked} of {account} in {region}: the {noun} is used by {}, so the alert is High",
                names.join(", ")
            )
        }
        Check::Unused => {
            plan.title = match dest {
                Destination::Key { .. } | Destination::Bucket { .. } => {
                    format!("{base}, used by no trail")
                }
                Destination::LogGroup { .. } => format!("{base}, used by no trail or flow log"),
            };
            match dest {
                Destination::Key { .. } => format!(
                    "mamoru looked up the trails of {account}: no trail in {region} uses the key (encrypted data may still depend on it)"
                ),
                Destination::LogGroup { .. } => format!(
                    "mamoru looked up the trails and flow logs of {account}: no trail or flow log in {region} delivers to the log group"
                ),
                Destination::Bucket { .. } => format!(
                    "mamoru looked up the trails of {account} in {region} (multi-region trails included): none delivers to the bucket (a trail of another account, such as an organization trail, is not seen from here)"
                ),
            }
        }
        Check::Alias { alias } => format!(
            "the call names the key by its alias {alias}: which key that is takes another call (kms:DescribeKey), which mamoru does not make, so it did not check whether a trail uses it"
        ),
        Check::Failed { failure } => format!(
            "mamoru could not check whether a trail uses the {noun}: the lookup in {account} {region} failed ({}), so the alert stays {}",
            failure.code,
            plan.severity.band.as_str()
        ),
    };
    plan.reason = if plan.reason.is_empty() {
        format!("{said}.")
    } else {
        format!("{said}. {}", plan.reason)
    };
}

/// The port that looks up. Never panics: every error is a [`Failure`].
pub trait Lookup: Send + Sync {
    /// The trails (and, for a log group, the flow logs) of the destination's account and region.
    fn look_up<'a>(
        &'a self,
        event_id: &'a str,
        dest: &'a Destination,
    ) -> crate::state::BoxFuture<'a, Result<Found, Failure>>;
}

#[cfg(test)]
mod tests;
