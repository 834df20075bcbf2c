//! Remediation actions: a closed set, one file per action in `kinds/`.
//!
//! An action is one unit ([`ActionDef`], in `kinds/<name>.rs`): its name, the API it calls, the
//! IAM grants it needs with their resource scopes and conditions, the events that can bind it and
//! how, its parameters, the words notifications use for it, and the CloudTrail record of its own
//! calls (loop prevention). The registry below lists every action once; `mamoru permissions`,
//! the template's statements, `docs/rules.md` and the coverage page are derived from it and
//! checked by tests. How it runs against AWS (`Execute`) is in the `mamoru` crate, in
//! `aws/src/action/executors/<name>.rs`: this crate has no AWS SDK.
//!
//! Adding an action: a new file in `kinds/` and one line in `registry!` here; its executor, a
//! file of the same name in `aws/src/action/executors/` (the executors' dispatch is made from
//! this registry, so the build fails until it is there); a rule and its cases, a moto test, and
//! the template statements the registry test asks for.

mod grant;
pub mod iam_names;
mod outcome;
pub mod sequence_targets;

pub use grant::{Condition, DOMAINS_REGION, Grant};
pub use outcome::{Failure, Hold, Outcome, Status};

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::event::{AccessKeyDetails, CloudTrailCall, Event, Finding};

/// Words notifications use for an action kind.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    /// It ran: "key deactivated".
    pub done: &'static str,
    /// It was already so: "key already inactive".
    pub already: &'static str,
    /// Dry-run or shadow: "would deactivate key".
    pub would: &'static str,
    /// The action as a noun, for "… FAILED" and "… skipped".
    pub noun: &'static str,
    /// What it would do, for "withheld: …".
    pub withheld: &'static str,
}

/// One action, in one place. Pure: no AWS, no files. Its executor is `mamoru::action::exec::Execute`,
/// implemented in the file of the same name in `aws/src/action/executors/`.
pub trait ActionDef: Sync {
    /// The name rules use: `deactivate_access_key`.
    fn name(&self) -> &'static str;
    /// One line for people (docs/rules.md, the coverage page).
    fn summary(&self) -> &'static str;
    /// The mutating API call, as `service:Operation`.
    fn api(&self) -> &'static str;
    /// Every IAM grant its calls need (reads included), with resource scopes and conditions.
    fn grants(&self) -> &'static [Grant];
    /// Containment acts on a principal or workload rather than restoring a control: a deployment
    /// grants it only with the stack's `Containment=on`.
    fn containment(&self) -> bool {
        false
    }
    /// The detail-types whose events can supply its parameters.
    fn detail_types(&self) -> &'static [&'static str];
    /// The words notifications use for it.
    fn words(&self) -> Words;
    /// The region and the exact resource the event names. `Err` says which parameter the event
    /// does not supply.
    fn bind(&self, event: &Event) -> Result<(String, Target), String>;
    /// Every region and resource the event names for this action: the one of [`ActionDef::bind`]
    /// for most events. An action that also acts on the resources an attack sequence lists
    /// returns one entry per listed resource (`Err` for a listed resource it must not act on).
    fn bind_all(&self, event: &Event) -> Vec<Result<(String, Target), String>> {
        vec![self.bind(event)]
    }
    /// Narrows a bound target with what only the deployment knows: `outside(account)` says
    /// whether an account is outside (see `Settings::is_trusted_account`). `Err` when nothing is
    /// left to act on. Most actions keep the target as bound.
    fn scope(&self, target: Target, _outside: &dyn Fn(&str) -> bool) -> Result<Target, String> {
        Ok(target)
    }
    /// The request parameters, with AWS API parameter names. Values chosen when the action runs
    /// (a policy's time, a discovered trail) are described in words.
    fn params(&self, target: &Target) -> Value;
    /// What the action does, in a few words: `deactivate access key AKIA… of IAM user alice`.
    fn describe(&self, action: &Action) -> String;
    /// For a CloudTrail record of this action's own API: `Some(true)` when the call is one the
    /// action makes (restoring), `Some(false)` when it is the same API used otherwise. `None`
    /// for other APIs.
    fn restores(&self, call: &CloudTrailCall) -> Option<bool>;

    /// The error for an event this action cannot take its parameters from.
    fn unsupported(&self, event: &Event) -> String {
        format!(
            "{} cannot take its parameters from a `{}` event",
            self.name(),
            event.detail_type
        )
    }
}

/// The registry: every action, one line each (`Variant => module in kinds/`).
macro_rules! registry {
    ($($variant:ident => $module:ident),* $(,)?) => {
        /// One file per action: `kinds/<module>.rs`. The executor of each is in the `mamoru`
        /// crate, in a file of the same name (`aws/src/action/executors/<module>.rs`).
        pub mod kinds {
            $(pub mod $module;)*
        }

        /// The kinds of action a rule may name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ActionKind {
            $($variant),*
        }

        impl ActionKind {
            /// Every action, in registry order.
            pub const ALL: &'static [ActionKind] = &[$(ActionKind::$variant),*];

            /// The action's definition.
            pub fn def(self) -> &'static dyn ActionDef {
                match self {
                    $(ActionKind::$variant => &kinds::$module::Def),*
                }
            }
        }

        /// Calls the macro `$callback` with the registry's lines (`Variant => module`): the
        /// `mamoru` crate makes its executors' dispatch from them, so the list is written once.
        #[macro_export]
        macro_rules! for_each_action {
            ($callback:ident) => {
                $callback! { $($variant => $module),* }
            };
        }
    };
}

registry! {
    DeactivateAccessKey => deactivate_access_key,
    StartLogging => start_logging,
    EnableDetector => enable_detector,
    StartConfigurationRecorder => start_configuration_recorder,
    StartStoppedTrails => start_stopped_trails,
    EnableRegionDetectors => enable_region_detectors,
    RestoreManagementEvents => restore_management_events,
    EnableRule => enable_rule,
    CreateDetector => create_detector,
    DeactivateIpSet => deactivate_ip_set,
    RevokeRoleSessions => revoke_role_sessions,
    QuarantineUser => quarantine_user,
    RevokeWorldOpenAdminIngress => revoke_world_open_admin_ingress,
    RevokeWorldOpenHighRiskIngress => revoke_world_open_high_risk_ingress,
    IsolateInstance => isolate_instance,
    RestoreBucketPublicAccessBlock => restore_bucket_public_access_block,
    RestoreAccountPublicAccessBlock => restore_account_public_access_block,
    ContainLambdaFunction => contain_lambda_function,
    TagMaliciousObject => tag_malicious_object,
    UnsharePublicSnapshot => unshare_public_snapshot,
    UnshareSnapshotAccounts => unshare_snapshot_accounts,
    MakeImagePrivate => make_image_private,
    UnshareImageAccounts => unshare_image_accounts,
    DisableSerialConsoleAccess => disable_serial_console_access,
    EnableEbsEncryptionByDefault => enable_ebs_encryption_by_default,
    RevokeAddedIngress => revoke_added_ingress,
    DeactivateCreatedKey => deactivate_created_key,
    DeleteLoginProfile => delete_login_profile,
    StartStoppedRecorders => start_stopped_recorders,
    MakeDbSnapshotPrivate => make_db_snapshot_private,
    UnshareDbSnapshotAccounts => unshare_db_snapshot_accounts,
    MakeDbClusterSnapshotPrivate => make_db_cluster_snapshot_private,
    UnshareDbClusterSnapshotAccounts => unshare_db_cluster_snapshot_accounts,
    EnableBucketVersioning => enable_bucket_versioning,
    EnableDomainTransferLock => enable_domain_transfer_lock,
    CancelDomainTransfer => cancel_domain_transfer,
}

impl ActionKind {
    pub fn name(self) -> &'static str {
        self.def().name()
    }

    /// The mutating API call, as `service:Operation`.
    pub fn api(self) -> &'static str {
        self.def().api()
    }

    /// Every IAM action name its grants hold, in declaration order, without repeats.
    pub fn permissions(self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for g in self.def().grants() {
            for a in g.actions {
                if !out.contains(a) {
                    out.push(a);
                }
            }
        }
        out
    }

    /// See [`ActionDef::containment`].
    pub fn is_containment(self) -> bool {
        self.def().containment()
    }

    /// See [`ActionDef::detail_types`].
    pub fn detail_types(self) -> &'static [&'static str] {
        self.def().detail_types()
    }

    /// See [`ActionDef::words`].
    pub fn words(self) -> Words {
        self.def().words()
    }

    /// Builds the concrete action from the event: the exact resource, region and account it
    /// names. `Err` says which parameter the event does not supply.
    pub fn bind(self, event: &Event) -> Result<Action, String> {
        let (region, target) = self.def().bind(event)?;
        self.finish(event, region, target)
    }

    /// Every concrete action the event names for this kind ([`ActionDef::bind_all`]): one for
    /// most events, one per listed resource of an attack sequence.
    pub fn bind_all(self, event: &Event) -> Vec<Result<Action, String>> {
        self.def()
            .bind_all(event)
            .into_iter()
            .map(|bound| bound.and_then(|(region, target)| self.finish(event, region, target)))
            .collect()
    }

    /// The action narrowed with the deployment's settings ([`ActionDef::scope`]): an account
    /// is outside unless `Settings::is_trusted_account` says so for the resource's account.
    pub fn scope(
        self,
        action: Action,
        settings: &crate::settings::Settings,
    ) -> Result<Action, String> {
        let owner = action.account.clone();
        let outside = |a: &str| !settings.is_trusted_account(a, &owner);
        let target = self.def().scope(action.target, &outside)?;
        Ok(Action { target, ..action })
    }

    fn finish(self, event: &Event, region: String, target: Target) -> Result<Action, String> {
        if region.is_empty() {
            return Err("the event names no region".into());
        }
        // The account that owns the resource: the event's own account, or the account of an
        // ARN the event names (a trail in another account of the organization).
        let account = target
            .arn_account()
            .unwrap_or_else(|| event.owner_account())
            .to_string();
        Ok(Action {
            kind: self,
            account,
            region,
            target,
        })
    }
}

impl Serialize for ActionKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ActionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = ActionKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown action `{s}` (known: {})", known.join(", "))
            })
    }
}

/// The Markdown table of every action, for `docs/rules.md` (between its `actions` markers; a
/// test fails when the file is stale).
pub fn docs_table() -> String {
    let mut out = String::from(
        "| action | what it does | AWS call | IAM grants (resource) | bound from | containment (opt-in grants) |\n|---|---|---|---|---|---|\n",
    );
    for kind in ActionKind::ALL {
        let d = kind.def();
        let grants: Vec<String> = d
            .grants()
            .iter()
            .flat_map(|g| {
                g.actions.iter().map(move |a| {
                    let on = g
                        .resources
                        .iter()
                        .map(|r| format!("`{}`", short_arn(r)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let cond = match g.condition {
                        Condition::None => "",
                        Condition::StackRegion => " in the stack's region",
                        Condition::DomainsRegion => " in us-east-1",
                    };
                    format!("`{a}` on {on}{cond}")
                })
            })
            .collect();
        let from: Vec<&str> = d.detail_types().to_vec();
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} | {} | {} |\n",
            d.name(),
            d.summary(),
            d.api(),
            grants.join("; "),
            from.join(", "),
            if d.containment() { "yes" } else { "no" }
        ));
    }
    out
}

/// An ARN pattern without the partition and account placeholders, for people.
fn short_arn(pattern: &str) -> String {
    pattern
        .replace("arn:${AWS::Partition}:", "")
        .replace("${AWS::AccountId}", "ACCOUNT")
        .replace("${AWS::Region}", "REGION")
        .replace("${AWS::StackName}", "STACK")
}

/// The access key a finding names, with its user name (for an AssumedRole principal, the role
/// name).
pub(crate) fn finding_key(f: &Finding) -> Result<(&AccessKeyDetails, String), String> {
    let key = f
        .resource
        .access_key_details
        .as_ref()
        .ok_or("the finding has no resource.accessKeyDetails")?;
    let user = key
        .user_name
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| "the finding names no userName".to_string())?;
    Ok((key, user))
}

/// The one Security Hub finding an event carries, for actions bound from Security Hub.
pub(crate) fn securityhub_finding(event: &Event) -> Option<&crate::event::AsffFinding> {
    match &event.kind {
        crate::event::EventKind::SecurityHub(sh) => sh.finding(),
        _ => None,
    }
}

/// The region and account an ASFF resource ARN names (`arn:aws:ec2:REGION:ACCOUNT:…`), checked
/// against the finding: a resource of another account is refused, and the region is the
/// resource's own.
pub(crate) fn asff_resource_home(
    f: &crate::event::AsffFinding,
    arn: &str,
) -> Result<Option<String>, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", _, _, region, account, _] = parts.as_slice() else {
        return Err(format!("the finding's resource {arn} is not an ARN"));
    };
    if !account.is_empty() && *account != f.aws_account_id {
        return Err(format!(
            "the finding's resource {arn} is in account {account}, not the finding's {}",
            f.aws_account_id
        ));
    }
    Ok((!region.is_empty()).then(|| region.to_string()))
}

/// A request parameter a call must carry.
pub(crate) fn required(c: &CloudTrailCall, name: &str) -> Result<String, String> {
    c.request_str(name)
        .map(str::to_string)
        .ok_or_else(|| format!("requestParameters.{name} is missing"))
}

/// Whether a CloudTrail record is of this API.
pub(crate) fn call_is(call: &CloudTrailCall, source: &str, name: &str) -> bool {
    call.event_source == source && call.event_name == name
}

/// The resource an action acts on: exactly what the event named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    AccessKey {
        user_name: String,
        access_key_id: String,
    },
    Trail {
        name: String,
    },
    Detector {
        detector_id: String,
    },
    Recorder {
        name: String,
    },
    StoppedTrails,
    /// Every AWS Config recorder of the action's account and region that is not recording.
    StoppedRecorders,
    RegionDetectors,
    EventSelectors {
        trail: String,
    },
    Rule {
        name: String,
        event_bus: Option<String>,
    },
    NewDetector,
    IpSet {
        detector_id: String,
        ip_set_id: String,
    },
    Role {
        role_name: String,
    },
    User {
        user_name: String,
    },
    SecurityGroup {
        group_id: String,
    },
    Instance {
        instance_id: String,
    },
    Bucket {
        name: String,
    },
    Function {
        name: String,
    },
    Object {
        bucket: String,
        key: String,
        version_id: String,
    },
    /// The EC2 serial console access setting of the action's account and region.
    SerialConsole,
    /// The EBS encryption-by-default setting of the action's account and region.
    EbsEncryptionByDefault,
    /// The S3 Block Public Access setting of the action's account (S3 Control).
    AccountPublicAccessBlock,
    /// What to take back of an EBS snapshot's create-volume permissions: everyone, and accounts.
    Snapshot {
        snapshot_id: String,
        public: bool,
        accounts: Vec<String>,
    },
    /// What to take back of an AMI's launch permissions: everyone, and accounts.
    Image {
        image_id: String,
        public: bool,
        accounts: Vec<String>,
    },
    /// What to take back of an RDS DB snapshot's (or DB cluster snapshot's) `restore`
    /// attribute: everyone (`all`), and accounts.
    DbSnapshot {
        cluster: bool,
        identifier: String,
        public: bool,
        accounts: Vec<String>,
    },
    /// A domain registered with Route 53 Domains (its account's, served in us-east-1 only).
    Domain {
        name: String,
    },
    /// The world-open admin-port ranges an AuthorizeSecurityGroupIngress call added to a group.
    Ingress {
        group_id: String,
        ranges: Vec<crate::decide::facts::IngressRange>,
    },
}

impl Target {
    /// The account of the resource when the event named it by ARN.
    pub fn arn_account(&self) -> Option<&str> {
        let name = match self {
            Target::Trail { name } | Target::EventSelectors { trail: name } => name,
            _ => return None,
        };
        let parts: Vec<&str> = name.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, _, _, account, _] if account.len() == 12 => Some(account),
            _ => None,
        }
    }
}

/// A planned action: the kind, plus the exact resource, region and account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Action {
    pub kind: ActionKind,
    pub account: String,
    pub region: String,
    pub target: Target,
}

/// The name of the inline policy that revokes a role's older sessions (the name the IAM console
/// uses for the same operation).
pub const REVOKE_SESSIONS_POLICY: &str = "AWSRevokeOlderSessions";
/// The name of the inline quarantine policy put on an IAM user.
pub const QUARANTINE_POLICY: &str = "mamoru-quarantine";
/// The name of the quarantine security group created per VPC.
pub const QUARANTINE_GROUP: &str = "mamoru-quarantine";

impl Action {
    /// The request parameters, with AWS API parameter names.
    pub fn params(&self) -> Map<String, Value> {
        match self.kind.def().params(&self.target) {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The resource named, for people: `access key AKIA… of IAM user alice`, `trail org`, …
    pub fn resource(&self) -> String {
        match &self.target {
            Target::AccessKey {
                user_name,
                access_key_id,
            } => format!("access key {access_key_id} of IAM user {user_name}"),
            Target::Trail { name } => format!("trail {}", trail_name(name)),
            Target::Detector { detector_id } => format!("GuardDuty detector {detector_id}"),
            Target::Recorder { name } => format!("configuration recorder {name}"),
            Target::StoppedTrails => format!("stopped trails in {}", self.region),
            Target::StoppedRecorders => {
                format!("stopped configuration recorders in {}", self.region)
            }
            Target::RegionDetectors => format!("GuardDuty detectors in {}", self.region),
            Target::EventSelectors { trail } => {
                format!("event selectors of trail {}", trail_name(trail))
            }
            Target::Rule { name, .. } => format!("EventBridge rule {name}"),
            Target::NewDetector => format!("GuardDuty in {}", self.region),
            Target::IpSet { ip_set_id, .. } => format!("trusted IP list {ip_set_id}"),
            Target::Role { role_name } => format!("IAM role {role_name}"),
            Target::User { user_name } => format!("IAM user {user_name}"),
            Target::SecurityGroup { group_id } => format!("security group {group_id}"),
            Target::Instance { instance_id } => format!("EC2 instance {instance_id}"),
            Target::Bucket { name } => format!("S3 bucket {name}"),
            Target::Function { name } => format!("Lambda function {name}"),
            Target::Object {
                bucket,
                key,
                version_id,
            } => format!("S3 object {key} (version {version_id}) of bucket {bucket}"),
            Target::SerialConsole => format!("EC2 serial console access in {}", self.region),
            Target::EbsEncryptionByDefault => {
                format!("EBS encryption by default in {}", self.region)
            }
            Target::AccountPublicAccessBlock => {
                format!(
                    "the account-level S3 Block Public Access of account {}",
                    self.account
                )
            }
            Target::Snapshot { snapshot_id, .. } => format!("EBS snapshot {snapshot_id}"),
            Target::Image { image_id, .. } => format!("AMI {image_id}"),
            Target::DbSnapshot {
                cluster,
                identifier,
                ..
            } => kinds::make_db_snapshot_private::db_snapshot_resource(*cluster, identifier),
            Target::Ingress { group_id, .. } => format!("security group {group_id}"),
            Target::Domain { name } => format!("domain {name}"),
        }
    }

    /// A short name of the resource, for a Subject: `alice AKIA…`, `org-trail`, `sg-0123…`.
    pub fn short_resource(&self) -> Option<String> {
        Some(match &self.target {
            Target::AccessKey {
                user_name,
                access_key_id,
            } => format!("{user_name} {access_key_id}"),
            Target::Trail { name } | Target::EventSelectors { trail: name } => {
                trail_name(name).to_string()
            }
            Target::Detector { detector_id } => format!("detector {detector_id}"),
            Target::Recorder { name } => format!("recorder {name}"),
            Target::StoppedTrails
            | Target::StoppedRecorders
            | Target::RegionDetectors
            | Target::NewDetector
            | Target::SerialConsole
            | Target::EbsEncryptionByDefault
            | Target::AccountPublicAccessBlock => return None,
            Target::Rule { name, .. } => format!("rule {name}"),
            Target::IpSet { ip_set_id, .. } => format!("IP set {ip_set_id}"),
            Target::Role { role_name } => format!("role {role_name}"),
            Target::User { user_name } => format!("user {user_name}"),
            Target::SecurityGroup { group_id } => group_id.clone(),
            Target::Instance { instance_id } => instance_id.clone(),
            Target::Bucket { name } => format!("bucket {name}"),
            Target::Function { name } => format!("function {name}"),
            Target::Object { bucket, .. } => format!("object in {bucket}"),
            Target::Snapshot { snapshot_id, .. } => snapshot_id.clone(),
            Target::Image { image_id, .. } => image_id.clone(),
            Target::DbSnapshot { identifier, .. } => identifier.clone(),
            Target::Ingress { group_id, .. } => group_id.clone(),
            Target::Domain { name } => name.clone(),
        })
    }

    /// What the action does, in a few words.
    pub fn describe(&self) -> String {
        self.kind.def().describe(self)
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Action", 5)?;
        st.serialize_field("action", self.kind.name())?;
        st.serialize_field("api", self.kind.api())?;
        st.serialize_field("account", &self.account)?;
        st.serialize_field("region", &self.region)?;
        st.serialize_field("params", &self.params())?;
        st.end()
    }
}

/// Whether a CloudTrail call is one that mamoru's own actions make: an action's API called with
/// the parameters that action uses (a key set Inactive, a detector enabled, the deny-all
/// policies under mamoru's names, …), or a read. Only such calls made with mamoru's roles are
/// ignored as its own; a weakening call made with them (a detector disabled, selectors dropped,
/// a policy that allows) is decided like any other. Each action declares its own calls
/// ([`ActionDef::restores`]).
pub fn is_restoring_call(call: &CloudTrailCall) -> bool {
    let name = call.event_name.as_str();
    if ["Describe", "Get", "List"]
        .iter()
        .any(|read| name.starts_with(read))
    {
        return true;
    }
    ActionKind::ALL
        .iter()
        .any(|k| k.def().restores(call) == Some(true))
}

/// Whether an inline policy document (as CloudTrail records it: a JSON string, possibly
/// URL-encoded) only denies.
pub(crate) fn denies_only(doc: Option<&str>) -> bool {
    let Some(doc) = doc else { return false };
    let decoded = percent_decode_if_encoded(doc);
    let Ok(v) = serde_json::from_str::<Value>(&decoded) else {
        return false;
    };
    let statements: Vec<&Value> = match v.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return false,
    };
    !statements.is_empty()
        && statements
            .iter()
            .all(|st| st.get("Effect").and_then(Value::as_str) == Some("Deny"))
}

/// A policy document as JSON text: CloudTrail records some URL-encoded (`%7B%22Version…`).
pub(crate) fn percent_decode_if_encoded(doc: &str) -> std::borrow::Cow<'_, str> {
    if doc.trim_start().starts_with('%') || doc.contains("%22") {
        std::borrow::Cow::Owned(percent_decode(doc))
    } else {
        std::borrow::Cow::Borrowed(doc)
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| char::from(*c).to_digit(16)),
                b.get(i + 2).and_then(|c| char::from(*c).to_digit(16)),
            )
            && let Ok(byte) = u8::try_from(h * 16 + l)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The region of an ARN (`arn:partition:service:region:account:resource`), if it has one.
pub fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let region = parts.nth(2)?;
    (!region.is_empty()).then_some(region)
}

/// The trail name from a name or an ARN.
pub fn trail_name(name_or_arn: &str) -> &str {
    match name_or_arn.split_once(":trail/") {
        Some((_, name)) => name,
        None => name_or_arn,
    }
}

#[cfg(test)]
mod tests;
