//! Facts derived from an event, once, for rules and notifications: who acted, from where, and
//! the security-relevant signals in Config item changes.

use serde::Serialize;
use serde_json::{Value, json};

use crate::event::guardduty::Action;
use crate::event::{ConfigItemChange, Event, EventKind};

/// The principal behind an event, as far as the event tells.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Principal {
    /// `IAMUser`, `AssumedRole`, `Root`, `FederatedUser`, `AWSService`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The identity ARN (for a role session: the session ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// For a role session: the role ARN (CloudTrail `sessionContext.sessionIssuer.arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_arn: Option<String>,
    /// User or role name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl Principal {
    pub fn of(event: &Event) -> Option<Principal> {
        match &event.kind {
            EventKind::GuardDutyFinding(f) => {
                let key = f.resource.access_key_details.as_ref()?;
                let partition = f.partition.as_deref().unwrap_or("aws");
                let account = &f.account_id;
                let name = key.user_name.clone().filter(|n| !n.is_empty());
                let arn = match (key.user_type.as_deref(), name.as_deref()) {
                    (Some("Root"), _) => Some(format!("arn:{partition}:iam::{account}:root")),
                    (Some("IAMUser"), Some(n)) => {
                        Some(format!("arn:{partition}:iam::{account}:user/{n}"))
                    }
                    (Some("AssumedRole"), Some(n)) => {
                        Some(format!("arn:{partition}:iam::{account}:role/{n}"))
                    }
                    _ => None,
                };
                let (source_ip, user_agent) = finding_caller(f.service.action.as_ref());
                Some(Principal {
                    kind: key.user_type.clone(),
                    arn,
                    issuer_arn: None,
                    name,
                    access_key_id: key.access_key_id.clone(),
                    source_ip,
                    user_agent,
                })
            }
            EventKind::CloudTrailCall(c) | EventKind::ConsoleSignIn(c) => {
                let id = &c.user_identity;
                let issuer = &id.session_context.session_issuer;
                Some(Principal {
                    kind: id.identity_type.clone(),
                    arn: id.arn.clone(),
                    issuer_arn: issuer.arn.clone().filter(|a| !a.is_empty()),
                    name: id.user_name.clone().or_else(|| issuer.user_name.clone()),
                    access_key_id: id.access_key_id.clone(),
                    source_ip: c.source_ip_address.clone(),
                    user_agent: c.user_agent.clone(),
                })
            }
            _ => None,
        }
    }

    /// Every ARN that names this principal (identity and, for sessions, the role).
    pub fn arns(&self) -> impl Iterator<Item = &str> {
        self.arn
            .as_deref()
            .into_iter()
            .chain(self.issuer_arn.as_deref())
    }
}

fn finding_caller(action: Option<&Action>) -> (Option<String>, Option<String>) {
    match action {
        Some(a) => (
            a.remote_ip().map(str::to_string),
            a.user_agent().map(str::to_string),
        ),
        None => (None, None),
    }
}

/// Security-relevant changes seen in a Config configuration item change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// A multi-region trail became single-region.
    TrailMadeSingleRegion,
    /// Log file validation turned off, encryption removed, or global service events dropped.
    TrailLoggingWeakened,
    /// A managed admin policy (AdministratorAccess, IAMFullAccess) attached to an IAM user.
    AdminPolicyAttachedToUser,
    /// An ingress rule open to 0.0.0.0/0 or ::/0 on an admin port (22, 3389): added in a Config
    /// item change, or by an AuthorizeSecurityGroupIngress call.
    SecurityGroupWorldOpenAdminPort,
    /// A PutEventSelectors call leaving the trail without management events (it still says
    /// "logging").
    EventSelectorsDropManagement,
    /// A PutConfigurationRecorder call recording less than every supported resource type, or
    /// leaving out the global ones (IAM).
    ConfigRecordingNarrowed,
    /// A PutEventSelectors call excluding management event sources (AWS KMS, RDS Data API).
    EventSelectorsExcludeManagementSources,
    /// An UpdateDetector call turning a GuardDuty protection feature or data source off.
    DetectorFeaturesDisabled,
    /// The call names one of this stack's own resources (its rules, functions, topics), known
    /// exactly from `MAMORU_SELF_RESOURCES`, never from a name pattern anyone could choose.
    OwnResource,
    /// An UpdateTrail call that redirects or weakens the trail: another bucket, multi-region
    /// off, log file validation off, global service events off, or encryption or the
    /// CloudWatch Logs group removed.
    TrailRedirectedOrWeakened,
    /// An inline policy (user, role or group) that allows every action on every resource.
    InlineAdminPolicy,
    /// A call sharing an EBS snapshot, an AMI or an RDS snapshot with everyone (group or value
    /// `all`).
    SharedPublicly,
    /// A call sharing an EBS snapshot, an AMI or an RDS snapshot with an account outside: not
    /// the resource's own, not mamoru's hub, not one of the organization's accounts mamoru acts
    /// in, not in `MAMORU_TRUSTED_ACCOUNTS` (decided with the settings, in `decide`).
    SharedOutside,
    /// `iam:CreateAccessKey`, `CreateLoginProfile` or `UpdateLoginProfile` on an IAM user other
    /// than the caller (a role session, the root user or another user giving someone else's
    /// user a key or a password).
    ForAnotherUser,
    /// `iam:CreateRole` or `UpdateAssumeRolePolicy` whose trust policy lets an account outside
    /// assume the role (an account ID or ARN that is not the role's own, mamoru's hub, one of
    /// the organization's accounts mamoru acts in or in `MAMORU_TRUSTED_ACCOUNTS`; or `*` under
    /// a condition). Decided with the settings, in `decide`.
    TrustsOutside,
    /// The same, trusting every AWS principal (`"AWS": "*"` or `"Principal": "*"`) without a
    /// condition.
    TrustsEveryone,
    /// `s3:PutBucketPolicy` allowing every principal (`*`) without a condition, or
    /// `s3:PutBucketAcl` granting the AllUsers or AuthenticatedUsers group (a canned ACL
    /// `public-read`, `public-read-write` or `authenticated-read`, a grant header or a grant in
    /// the ACL document).
    BucketMadePublic,
    /// `s3:PutBucketPolicy` allowing an account outside (an account ID or ARN that is not the
    /// bucket's own, mamoru's hub, one of the organization's accounts mamoru acts in or in
    /// `MAMORU_TRUSTED_ACCOUNTS`), or `*` under a condition mamoru does not judge. Decided with
    /// the settings, in `decide`.
    BucketSharedOutside,
}

impl Signal {
    pub const ALL: [Signal; 18] = [
        Signal::TrailMadeSingleRegion,
        Signal::TrailLoggingWeakened,
        Signal::AdminPolicyAttachedToUser,
        Signal::SecurityGroupWorldOpenAdminPort,
        Signal::EventSelectorsDropManagement,
        Signal::ConfigRecordingNarrowed,
        Signal::EventSelectorsExcludeManagementSources,
        Signal::DetectorFeaturesDisabled,
        Signal::OwnResource,
        Signal::TrailRedirectedOrWeakened,
        Signal::InlineAdminPolicy,
        Signal::SharedPublicly,
        Signal::SharedOutside,
        Signal::ForAnotherUser,
        Signal::TrustsOutside,
        Signal::TrustsEveryone,
        Signal::BucketMadePublic,
        Signal::BucketSharedOutside,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Signal::TrailMadeSingleRegion => "trail_made_single_region",
            Signal::TrailLoggingWeakened => "trail_logging_weakened",
            Signal::AdminPolicyAttachedToUser => "admin_policy_attached_to_user",
            Signal::SecurityGroupWorldOpenAdminPort => "security_group_world_open_admin_port",
            Signal::EventSelectorsDropManagement => "event_selectors_drop_management",
            Signal::ConfigRecordingNarrowed => "config_recording_narrowed",
            Signal::EventSelectorsExcludeManagementSources => {
                "event_selectors_exclude_management_sources"
            }
            Signal::DetectorFeaturesDisabled => "detector_features_disabled",
            Signal::OwnResource => "own_resource",
            Signal::TrailRedirectedOrWeakened => "trail_redirected_or_weakened",
            Signal::InlineAdminPolicy => "inline_admin_policy",
            Signal::SharedPublicly => "shared_publicly",
            Signal::SharedOutside => "shared_outside",
            Signal::ForAnotherUser => "for_another_user",
            Signal::TrustsOutside => "trusts_outside",
            Signal::TrustsEveryone => "trusts_everyone",
            Signal::BucketMadePublic => "bucket_made_public",
            Signal::BucketSharedOutside => "bucket_shared_outside",
        }
    }

    pub fn parse(name: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Admin ports: a world-open ingress rule covering one of these is flagged.
pub const ADMIN_PORTS: [i64; 2] = [22, 3389];

/// The high-risk ports of Security Hub control EC2.19 ("Security groups should not allow
/// unrestricted access to ports with high risk"), as the control reference lists them.
pub const HIGH_RISK_PORTS: [i64; 24] = [
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500,
    5601, 8080, 8088, 8888, 9200, 9300,
];

const ADMIN_POLICIES: [&str; 2] = [":policy/AdministratorAccess", ":policy/IAMFullAccess"];

/// The signals an event carries.
pub fn signals(event: &Event) -> Vec<Signal> {
    if let Some(call) = event.cloudtrail() {
        return call_signals(call);
    }
    let EventKind::ConfigItemChange(change) = &event.kind else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match change.configuration_item.resource_type.as_str() {
        "AWS::CloudTrail::Trail" => {
            if changed_from_to(change, "Configuration.IsMultiRegionTrail", true, false) {
                out.push(Signal::TrailMadeSingleRegion);
            }
            let weakened = changed_from_to(
                change,
                "Configuration.LogFileValidationEnabled",
                true,
                false,
            ) || changed_from_to(
                change,
                "Configuration.IncludeGlobalServiceEvents",
                true,
                false,
            ) || removed(change, "Configuration.KmsKeyId")
                || removed(change, "Configuration.CloudWatchLogsLogGroupArn");
            if weakened {
                out.push(Signal::TrailLoggingWeakened);
            }
        }
        "AWS::IAM::User" => {
            let attached = added_values(change, "Configuration.AttachedManagedPolicies")
                .filter_map(|v| v.get("policyArn").and_then(Value::as_str))
                .any(|arn| ADMIN_POLICIES.iter().any(|p| arn.ends_with(p)));
            if attached {
                out.push(Signal::AdminPolicyAttachedToUser);
            }
        }
        "AWS::EC2::SecurityGroup"
            if added_values(change, "Configuration.IpPermissions").any(world_open_admin_port) =>
        {
            out.push(Signal::SecurityGroupWorldOpenAdminPort);
        }
        _ => {}
    }
    out
}

/// Signals of CloudTrail calls that weaken logging without stopping it.
fn call_signals(call: &crate::event::CloudTrailCall) -> Vec<Signal> {
    let mut out = Vec::new();
    let p = &call.request_parameters;
    match (call.event_source.as_str(), call.event_name.as_str()) {
        ("cloudtrail.amazonaws.com", "PutEventSelectors") => {
            if call_drops_management_events(call) {
                out.push(Signal::EventSelectorsDropManagement);
            } else if excludes_management_sources(call) {
                out.push(Signal::EventSelectorsExcludeManagementSources);
            }
        }
        ("cloudtrail.amazonaws.com", "UpdateTrail") => {
            let off = |k: &str| p.get(k).and_then(Value::as_bool) == Some(false);
            let emptied = |k: &str| p.get(k).and_then(Value::as_str) == Some("");
            // The bucket is not judged: the console sends it with every update, and the
            // event does not say whose bucket it is (the trail's Config item change does).
            let redirected = off("isMultiRegionTrail")
                || off("enableLogFileValidation")
                || off("includeGlobalServiceEvents")
                || emptied("kmsKeyId")
                || emptied("cloudWatchLogsLogGroupArn");
            if redirected {
                out.push(Signal::TrailRedirectedOrWeakened);
            }
        }
        ("iam.amazonaws.com", "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy")
            if allows_everything(p.get("policyDocument").and_then(Value::as_str)) =>
        {
            out.push(Signal::InlineAdminPolicy);
        }
        _ if added_shares(call).is_some_and(|s| s.public) => {
            out.push(Signal::SharedPublicly);
        }
        ("iam.amazonaws.com", "CreateAccessKey" | "CreateLoginProfile" | "UpdateLoginProfile")
            if other_user(call).is_some() =>
        {
            out.push(Signal::ForAnotherUser);
        }
        ("iam.amazonaws.com", "CreateRole" | "UpdateAssumeRolePolicy")
            if trusted_principals(call).is_some_and(|t| t.everyone) =>
        {
            out.push(Signal::TrustsEveryone);
        }
        ("s3.amazonaws.com", "PutBucketPolicy" | "PutBucketAcl")
            if bucket_grants(call).is_some_and(|g| g.public) =>
        {
            out.push(Signal::BucketMadePublic);
        }
        ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress")
            if added_world_open_ingress(call).is_some() =>
        {
            out.push(Signal::SecurityGroupWorldOpenAdminPort);
        }
        ("guardduty.amazonaws.com", "UpdateDetector") if disables_features(call) => {
            out.push(Signal::DetectorFeaturesDisabled);
        }
        ("config.amazonaws.com", "PutConfigurationRecorder") => {
            let group = p.pointer("/configurationRecorder/recordingGroup");
            let narrowed = group.is_some_and(|g| {
                let all = g.get("allSupported").and_then(Value::as_bool);
                // Naming resource types without allSupported=true records only those types,
                // whatever allSupported says (it defaults to false when types are given).
                let listed = g
                    .get("resourceTypes")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty());
                all == Some(false)
                    || (listed && all != Some(true))
                    || g.pointer("/recordingStrategy/useOnly")
                        .and_then(Value::as_str)
                        == Some("INCLUSION_BY_RESOURCE_TYPES")
                    || g.get("includeGlobalResourceTypes").and_then(Value::as_bool) == Some(false)
                    || g.pointer("/exclusionByResourceTypes/resourceTypes")
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty())
            });
            if narrowed {
                out.push(Signal::ConfigRecordingNarrowed);
            }
        }
        _ => {}
    }
    out
}

/// What a sharing call adds to a snapshot's or an image's permissions, as CloudTrail records
/// it: everyone (`all`), and account IDs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shares {
    pub public: bool,
    pub accounts: Vec<String>,
}

/// The shares a call adds: `ec2:ModifySnapshotAttribute` (`createVolumePermission.add.items`),
/// `ec2:ModifyImageAttribute` (`launchPermission.add.items`), and
/// `rds:ModifyDBSnapshotAttribute` / `ModifyDBClusterSnapshotAttribute` with `attributeName`
/// `restore` (`valuesToAdd`). `None` for any other call, or one that adds nothing.
pub fn added_shares(call: &crate::event::CloudTrailCall) -> Option<Shares> {
    let p = &call.request_parameters;
    let mut shares = Shares::default();
    let mut add_account = |a: &str| {
        if !shares.accounts.iter().any(|x| x == a) {
            shares.accounts.push(a.to_string());
        }
    };
    let mut public = false;
    match (call.event_source.as_str(), call.event_name.as_str()) {
        ("ec2.amazonaws.com", "ModifySnapshotAttribute" | "ModifyImageAttribute") => {
            let attribute = if call.event_name == "ModifySnapshotAttribute" {
                "/createVolumePermission/add/items"
            } else {
                "/launchPermission/add/items"
            };
            for item in p.pointer(attribute).and_then(Value::as_array)? {
                if item.get("group").and_then(Value::as_str) == Some("all") {
                    public = true;
                }
                if let Some(a) = item.get("userId").and_then(Value::as_str) {
                    add_account(a);
                }
            }
        }
        ("rds.amazonaws.com", "ModifyDBSnapshotAttribute" | "ModifyDBClusterSnapshotAttribute") => {
            if p.get("attributeName").and_then(Value::as_str) != Some("restore") {
                return None;
            }
            for v in p.get("valuesToAdd").and_then(Value::as_array)? {
                match v.as_str() {
                    Some("all") => public = true,
                    Some(a) => add_account(a),
                    None => {}
                }
            }
        }
        _ => return None,
    }
    shares.public = public;
    (shares.public || !shares.accounts.is_empty()).then_some(shares)
}

/// One ingress permission an AuthorizeSecurityGroupIngress call added, open to the world on an
/// admin port: the protocol and ports as the call gave them and one world-open range (IPv4 or
/// IPv6). The other ranges of the same call are not in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IngressRange {
    /// `tcp`, `udp`, `icmp`, or `-1` (every protocol); numbers as EC2 names them.
    pub protocol: String,
    /// Absent for `-1`.
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    /// `0.0.0.0/0`, `::/0`, or another range [`world_cidr`] counts as the world.
    pub cidr: String,
}

impl IngressRange {
    pub fn is_ipv6(&self) -> bool {
        self.cidr.contains(':')
    }
}

/// The protocol as EC2 describes a group's rules: `6` is `tcp`, `17` `udp`, `1` `icmp`, `all`
/// `-1`; anything else as given.
pub fn ec2_protocol(p: &str) -> String {
    match p.trim().to_ascii_lowercase().as_str() {
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        "all" => "-1".into(),
        other => other.to_string(),
    }
}

/// The world-open admin-port ranges an `ec2:AuthorizeSecurityGroupIngress` call added, in both
/// forms CloudTrail records: the flat one (`cidrIp`, `ipProtocol`, `fromPort`, `toPort`, as the
/// CLI's `--cidr --port` sends it) and `ipPermissions.items[]` with `ipRanges.items[].cidrIp` and
/// `ipv6Ranges.items[].cidrIpv6`. Ranges that are not the world, and permissions on other ports,
/// are left out. `None` for another call, or one that opens no admin port to the world.
pub fn added_world_open_ingress(call: &crate::event::CloudTrailCall) -> Option<Vec<IngressRange>> {
    if call.event_source != "ec2.amazonaws.com"
        || call.event_name != "AuthorizeSecurityGroupIngress"
    {
        return None;
    }
    let p = &call.request_parameters;
    let port = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
    };
    let mut out: Vec<IngressRange> = Vec::new();
    let mut take = |perm: &Value, v4: Vec<&str>, v6: Vec<&str>| {
        let Some(protocol) = perm.get("ipProtocol").and_then(Value::as_str) else {
            return;
        };
        let protocol = ec2_protocol(protocol);
        let every = protocol == "-1";
        let (from, to) = if every {
            (None, None)
        } else {
            (port(perm, "fromPort"), port(perm, "toPort"))
        };
        for cidr in v4.into_iter().chain(v6) {
            if !world_cidr(cidr) {
                continue;
            }
            let shape = json!({
                "ipProtocol": protocol, "fromPort": from, "toPort": to, "ipRanges": [cidr]
            });
            let range = IngressRange {
                protocol: protocol.clone(),
                from_port: from,
                to_port: to,
                cidr: cidr.trim().to_string(),
            };
            if world_open_admin_port(&shape) && !out.contains(&range) {
                out.push(range);
            }
        }
    };
    if let Some(cidr) = p.get("cidrIp").and_then(Value::as_str) {
        take(p, vec![cidr], Vec::new());
    }
    let items = p
        .pointer("/ipPermissions/items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for perm in items {
        let list = |path: &str, member: &str| -> Vec<&str> {
            perm.pointer(path)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.get(member).and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default()
        };
        take(
            perm,
            list("/ipRanges/items", "cidrIp"),
            list("/ipv6Ranges/items", "cidrIpv6"),
        );
    }
    (!out.is_empty()).then_some(out)
}

/// The IAM user a CreateAccessKey, CreateLoginProfile or UpdateLoginProfile call acts on, when
/// it is not the caller: `requestParameters.userName` given (without it the call acts on the
/// caller itself) and either the caller is no IAM user (a role session, root) or another one
/// (its `userIdentity.userName`, as AWS authenticated it). Names compare without regard to case,
/// as IAM's do.
pub fn other_user(call: &crate::event::CloudTrailCall) -> Option<&str> {
    if call.event_source != "iam.amazonaws.com"
        || !matches!(
            call.event_name.as_str(),
            "CreateAccessKey" | "CreateLoginProfile" | "UpdateLoginProfile"
        )
    {
        return None;
    }
    let target = call.request_str("userName").filter(|u| !u.is_empty())?;
    let id = &call.user_identity;
    let caller = (id.identity_type.as_deref() == Some("IAMUser"))
        .then_some(id.user_name.as_deref())
        .flatten();
    match caller {
        Some(me) if me.eq_ignore_ascii_case(target) => None,
        _ => Some(target),
    }
}

/// Whom a role's trust policy lets assume it, from the `Allow` statements' `AWS` principals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// `*` without a condition: every AWS principal.
    pub everyone: bool,
    /// `*` under a condition (the condition may or may not hold it to the organization: mamoru
    /// does not judge it).
    pub conditional_everyone: bool,
    /// The accounts of the account IDs and ARNs named (`arn:aws:iam::ACCOUNT:…`).
    pub accounts: Vec<String>,
}

/// The trust policy of `iam:CreateRole` (`assumeRolePolicyDocument`) or
/// `UpdateAssumeRolePolicy` (`policyDocument`), as CloudTrail records it (JSON text, possibly
/// URL-encoded). `None` for another call or a document that does not parse.
pub fn trusted_principals(call: &crate::event::CloudTrailCall) -> Option<Trust> {
    let member = match (call.event_source.as_str(), call.event_name.as_str()) {
        ("iam.amazonaws.com", "CreateRole") => "assumeRolePolicyDocument",
        ("iam.amazonaws.com", "UpdateAssumeRolePolicy") => "policyDocument",
        _ => return None,
    };
    let doc = call.request_str(member)?;
    let decoded = crate::action::percent_decode_if_encoded(doc);
    let v: Value = serde_json::from_str(&decoded).ok()?;
    policy_principals(&v)
}

/// Whom a policy document's `Allow` statements name as principals: `*` (with or without a
/// condition) and the accounts of the `AWS` account IDs and ARNs. An `Allow` with `NotPrincipal`
/// grants everyone but those named: it counts as `*`. Service and canonical-user principals are
/// no account. `None` when the document has no statements.
fn policy_principals(v: &Value) -> Option<Trust> {
    let statements: Vec<&Value> = match v.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return None,
    };
    let mut trust = Trust::default();
    for st in statements {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let conditional = st.get("Condition").is_some_and(|c| !c.is_null());
        let aws = |p: Option<&'_ Value>| -> Vec<String> {
            match p {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Object(o)) => match o.get("AWS") {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            }
        };
        let mut principals = aws(st.get("Principal"));
        if st.get("NotPrincipal").is_some_and(|n| !n.is_null()) {
            principals.push("*".to_string());
        }
        for p in &principals {
            let p = p.trim();
            if p == "*" {
                if conditional {
                    trust.conditional_everyone = true;
                } else {
                    trust.everyone = true;
                }
                continue;
            }
            let account = if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
                Some(p)
            } else {
                p.strip_prefix("arn:")
                    .and_then(|rest| rest.split(':').nth(3))
                    .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            };
            if let Some(a) = account
                && !trust.accounts.iter().any(|x| x == a)
            {
                trust.accounts.push(a.to_string());
            }
        }
    }
    Some(trust)
}

/// What an `s3:PutBucketPolicy` or `PutBucketAcl` call grants beyond the bucket's owner, as
/// CloudTrail records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketGrants {
    /// Everyone: a policy allowing `*` without a condition, or an ACL granting the AllUsers or
    /// AuthenticatedUsers group (any AWS account is anyone).
    pub public: bool,
    /// A policy allowing `*` under a condition (the condition may or may not hold it to the
    /// organization or a VPC endpoint: mamoru does not judge it).
    pub conditional_public: bool,
    /// The accounts a policy names (account IDs and ARNs). ACL grants name canonical user IDs,
    /// which no event maps to an account: they are not judged.
    pub accounts: Vec<String>,
}

/// The S3 groups whose grant makes a bucket public.
const PUBLIC_GROUPS: [&str; 2] = [
    "acs.amazonaws.com/groups/global/AllUsers",
    "acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

/// The canned ACLs that grant one of [`PUBLIC_GROUPS`].
const PUBLIC_CANNED_ACLS: [&str; 3] = ["public-read", "public-read-write", "authenticated-read"];

/// The grant headers of `PutBucketAcl` (`uri="…"`, `id="…"`, `emailAddress="…"` lists).
const GRANT_HEADERS: [&str; 5] = [
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
];

/// The grants of `s3:PutBucketPolicy` (`requestParameters.bucketPolicy`, the policy as an
/// object, or as JSON text) and `s3:PutBucketAcl` (the canned ACL `x-amz-acl`, the grant headers,
/// or `AccessControlPolicy.AccessControlList.Grant`, one grant or a list). `None` for another
/// call, or a policy that does not parse.
pub fn bucket_grants(call: &crate::event::CloudTrailCall) -> Option<BucketGrants> {
    if call.event_source != "s3.amazonaws.com" {
        return None;
    }
    let p = &call.request_parameters;
    match call.event_name.as_str() {
        "PutBucketPolicy" => {
            let parsed;
            let policy = match p.get("bucketPolicy") {
                Some(v @ Value::Object(_)) => v,
                Some(Value::String(text)) => {
                    let decoded = crate::action::percent_decode_if_encoded(text);
                    parsed = serde_json::from_str::<Value>(&decoded).ok()?;
                    &parsed
                }
                _ => return None,
            };
            let t = policy_principals(policy)?;
            Some(BucketGrants {
                public: t.everyone,
                conditional_public: t.conditional_everyone,
                accounts: t.accounts,
            })
        }
        "PutBucketAcl" => {
            // CloudTrail records headers as a list of strings, some as a string.
            let texts = |v: Option<&Value>| -> Vec<String> {
                match v {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    _ => Vec::new(),
                }
            };
            let names_public_group = |s: &str| PUBLIC_GROUPS.iter().any(|g| s.contains(g));
            let canned = texts(p.get("x-amz-acl"))
                .iter()
                .any(|a| PUBLIC_CANNED_ACLS.contains(&a.trim().to_ascii_lowercase().as_str()));
            let header = GRANT_HEADERS
                .iter()
                .flat_map(|h| texts(p.get(*h)))
                .any(|v| names_public_group(&v));
            let grants: Vec<&Value> =
                match p.pointer("/AccessControlPolicy/AccessControlList/Grant") {
                    Some(Value::Array(a)) => a.iter().collect(),
                    Some(one @ Value::Object(_)) => vec![one],
                    _ => Vec::new(),
                };
            let document = grants.iter().any(|g| {
                g.pointer("/Grantee/URI")
                    .and_then(Value::as_str)
                    .is_some_and(names_public_group)
            });
            Some(BucketGrants {
                public: canned || header || document,
                ..BucketGrants::default()
            })
        }
        _ => None,
    }
}

/// Whether a policy document (as CloudTrail records it: JSON text, possibly URL-encoded) has an
/// Allow statement for every action (`*`, or `*:*`) on every resource.
fn allows_everything(doc: Option<&str>) -> bool {
    let Some(doc) = doc else { return false };
    let decoded = crate::action::percent_decode_if_encoded(doc);
    let Ok(v) = serde_json::from_str::<Value>(&decoded) else {
        return false;
    };
    let statements: Vec<&Value> = match v.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return false,
    };
    let has_star = |v: Option<&Value>, stars: &[&str]| match v {
        Some(Value::String(s)) => stars.contains(&s.as_str()),
        Some(Value::Array(a)) => a
            .iter()
            .any(|x| x.as_str().is_some_and(|s| stars.contains(&s))),
        _ => false,
    };
    statements.iter().any(|st| {
        st.get("Effect").and_then(Value::as_str) == Some("Allow")
            && has_star(st.get("Action"), &["*", "*:*"])
            && has_star(st.get("Resource"), &["*"])
    })
}

/// Whether a PutEventSelectors call leaves the trail without the write management events, while
/// it still says "logging": no selector with management events, or only read-only ones
/// (`readWriteType: ReadOnly`; an advanced selector with `readOnly = true`).
pub fn call_drops_management_events(call: &crate::event::CloudTrailCall) -> bool {
    let p = &call.request_parameters;
    let basic = p.get("eventSelectors").and_then(Value::as_array);
    let advanced = p.get("advancedEventSelectors").and_then(Value::as_array);
    let basic_logs_writes = |s: &Value| {
        s.get("includeManagementEvents").and_then(Value::as_bool) != Some(false)
            && s.get("readWriteType").and_then(Value::as_str) != Some("ReadOnly")
    };
    let field_equals = |s: &Value, field: &str, value: &str| {
        s.get("fieldSelectors")
            .and_then(Value::as_array)
            .is_some_and(|fs| {
                fs.iter().any(|f| {
                    f.get("field").and_then(Value::as_str) == Some(field)
                        && f.get("equals")
                            .and_then(Value::as_array)
                            .is_some_and(|e| e.iter().any(|v| v == value))
                })
            })
    };
    let advanced_logs_writes = |s: &Value| {
        field_equals(s, "eventCategory", "Management") && !field_equals(s, "readOnly", "true")
    };
    match (basic, advanced) {
        (Some(b), _) => !b.iter().any(basic_logs_writes),
        (None, Some(a)) => !a.iter().any(advanced_logs_writes),
        (None, None) => false,
    }
}

/// Whether a PutEventSelectors call excludes management event sources (AWS KMS, RDS Data API)
/// from a selector that logs management events.
fn excludes_management_sources(call: &crate::event::CloudTrailCall) -> bool {
    let p = &call.request_parameters;
    let basic = p
        .get("eventSelectors")
        .and_then(Value::as_array)
        .is_some_and(|b| {
            b.iter().any(|s| {
                s.get("excludeManagementEventSources")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
            })
        });
    let advanced = p
        .get("advancedEventSelectors")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter().any(|s| {
                s.get("fieldSelectors")
                    .and_then(Value::as_array)
                    .is_some_and(|fs| {
                        fs.iter().any(|f| {
                            f.get("field").and_then(Value::as_str) == Some("eventSource")
                                && f.get("notEquals")
                                    .and_then(Value::as_array)
                                    .is_some_and(|a| !a.is_empty())
                        })
                    })
            })
        });
    basic || advanced
}

/// Whether an UpdateDetector call turns a protection feature or data source off (S3 logs,
/// EKS audit logs, runtime monitoring, malware protection, …).
pub fn disables_features(call: &crate::event::CloudTrailCall) -> bool {
    let p = &call.request_parameters;
    let features_off = p
        .get("features")
        .and_then(Value::as_array)
        .is_some_and(|fs| {
            fs.iter().any(|f| {
                f.get("status").and_then(Value::as_str) == Some("DISABLED")
                    || f.get("additionalConfiguration")
                        .and_then(Value::as_array)
                        .is_some_and(|a| {
                            a.iter().any(|c| {
                                c.get("status").and_then(Value::as_str) == Some("DISABLED")
                            })
                        })
            })
        });
    features_off || data_sources_off(p.get("dataSources"))
}

/// Whether a `dataSources` block (the older form) sets anything off: `enable: false`, or a
/// `status` of DISABLED, at any depth.
fn data_sources_off(v: Option<&Value>) -> bool {
    fn walk(v: &Value, depth: usize) -> bool {
        if depth > 6 {
            return false;
        }
        match v {
            Value::Object(m) => m.iter().any(|(k, v)| {
                (k == "enable" && v.as_bool() == Some(false))
                    || (k == "status" && v.as_str() == Some("DISABLED"))
                    || walk(v, depth + 1)
            }),
            Value::Array(a) => a.iter().any(|v| walk(v, depth + 1)),
            _ => false,
        }
    }
    v.is_some_and(|v| walk(v, 0))
}

/// Whether a CloudTrail call names one of this stack's own resources: an EventBridge rule, a
/// function or a topic (or a subscription of it) listed in `own` (names or ARNs). A name is
/// compared exactly; a Lambda function also in the forms the Lambda API accepts (`NAME:alias`,
/// `ACCOUNT:function:NAME`, the full ARN with or without a qualifier). An ARN or partial ARN
/// counts only in the account the call was made in: a same-named function elsewhere is not ours.
pub fn names_own_resource(call: &crate::event::CloudTrailCall, own: &[String]) -> bool {
    if own.is_empty() {
        return false;
    }
    let account = call.account_id().map(String::as_str);
    let p = &call.request_parameters;
    let own_names: Vec<String> = own
        .iter()
        .flat_map(|o| own_resource_names(o, None))
        .collect();
    [
        "name",
        "rule",
        "functionName",
        "topicArn",
        "subscriptionArn",
        "resourceArn",
    ]
    .iter()
    .filter_map(|k| p.get(*k).and_then(Value::as_str))
    .any(|v| {
        own_resource_names(v, account)
            .iter()
            .any(|n| own_names.contains(n))
    })
}

/// The names a resource value can be known by: itself, and for an ARN its resource name (a
/// Lambda function without its qualifier; an SNS topic for one of its subscriptions). With
/// `account`, an ARN (or a partial Lambda ARN) of another account is known by nothing.
fn own_resource_names(v: &str, account: Option<&str>) -> Vec<String> {
    let parts: Vec<&str> = v.split(':').collect();
    let other_account = |a: &str| account.is_some_and(|acc| acc != a);
    if parts.len() >= 6 && parts[0] == "arn" {
        if other_account(parts[4]) {
            return Vec::new();
        }
        let mut out = vec![v.to_string()];
        match parts[2] {
            "lambda" if parts[5] == "function" && parts.len() >= 7 => {
                out.push(parts[6].to_string());
            }
            "sns" if parts.len() >= 7 => out.push(parts[..6].join(":")),
            "events" => {
                if let Some(name) = parts[5].rsplit('/').next() {
                    out.push(name.to_string());
                }
            }
            _ => {}
        }
        return out;
    }
    // Lambda's partial ARN `ACCOUNT:function:NAME[:QUALIFIER]`.
    if parts.len() >= 3 && parts[1] == "function" {
        if other_account(parts[0]) {
            return Vec::new();
        }
        return vec![parts[2].to_string()];
    }
    // `NAME:QUALIFIER` (a version or an alias).
    if parts.len() == 2 {
        return vec![v.to_string(), parts[0].to_string()];
    }
    vec![v.to_string()]
}

fn diff_property<'a>(
    change: &'a ConfigItemChange,
    name: &str,
) -> Option<&'a crate::event::config::ChangedProperty> {
    change
        .configuration_item_diff
        .as_ref()?
        .changed_properties
        .get(name)
}

fn changed_from_to(change: &ConfigItemChange, name: &str, from: bool, to: bool) -> bool {
    diff_property(change, name).is_some_and(|p| {
        p.previous_value.as_bool() == Some(from) && p.updated_value.as_bool() == Some(to)
    })
}

fn removed(change: &ConfigItemChange, name: &str) -> bool {
    diff_property(change, name).is_some_and(|p| {
        !p.previous_value.is_null() && (p.updated_value.is_null() || p.updated_value == "")
    })
}

/// Values added or updated under a list property (`Prefix.0`, `Prefix.1`, …). When the item was
/// just created (no changed properties), every current value counts as added.
fn added_values<'a>(
    change: &'a ConfigItemChange,
    prefix: &'a str,
) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
    let diff = change.configuration_item_diff.as_ref();
    let has_changes = diff.is_some_and(|d| !d.changed_properties.is_empty());
    if has_changes {
        let props = diff.map(|d| &d.changed_properties);
        return Box::new(
            props
                .into_iter()
                .flat_map(|m| m.iter())
                .filter(move |(k, _)| {
                    k.strip_prefix(prefix)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
                })
                .flat_map(|(_, p)| match &p.updated_value {
                    Value::Array(items) => items.iter().collect::<Vec<_>>(),
                    Value::Null => Vec::new(),
                    v => vec![v],
                }),
        );
    }
    let created = diff
        .and_then(|d| d.change_type.as_deref())
        .is_none_or(|t| t == "CREATE");
    if !created {
        return Box::new(std::iter::empty());
    }
    let key = prefix.trim_start_matches("Configuration.");
    let mut chars = key.chars();
    let camel: String = match chars.next() {
        Some(c) => c.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    };
    Box::new(
        change
            .configuration_item
            .configuration
            .get(camel)
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    )
}

/// True for a range that opens to the whole internet or most of it: `0.0.0.0/0` and `::/0`, and
/// the halves and quarters that add up to them (`0.0.0.0/1` + `128.0.0.0/1`, `2000::/3`, the
/// whole global unicast space).
pub fn world_cidr(s: &str) -> bool {
    match s.trim().parse::<ipnet::IpNet>() {
        Ok(ipnet::IpNet::V4(n)) => n.prefix_len() <= 4,
        Ok(ipnet::IpNet::V6(n)) => n.prefix_len() <= 4,
        Err(_) => false,
    }
}

/// True for an IP permission open to the world on an admin port.
pub fn world_open_admin_port(perm: &Value) -> bool {
    let protocol = perm.get("ipProtocol").and_then(Value::as_str).unwrap_or("");
    let all = protocol == "-1" || protocol.eq_ignore_ascii_case("all");
    if !(all || protocol == "tcp" || protocol == "6") {
        return false;
    }
    let from = perm.get("fromPort").and_then(Value::as_i64);
    let to = perm.get("toPort").and_then(Value::as_i64);
    let covers = |port: i64| match (from, to) {
        _ if all => true,
        (Some(f), Some(t)) => (f..=t).contains(&port) || (f == -1 && t == -1),
        _ => false,
    };
    if !ADMIN_PORTS.iter().any(|p| covers(*p)) {
        return false;
    }
    let world = |s: &str| world_cidr(s);
    let str_list = |key: &str| -> bool {
        perm.get(key)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().filter_map(Value::as_str).any(world))
    };
    let obj_list = |key: &str, field: &str| -> bool {
        perm.get(key).and_then(Value::as_array).is_some_and(|a| {
            a.iter()
                .filter_map(|r| r.get(field).and_then(Value::as_str))
                .any(world)
        })
    };
    str_list("ipRanges")
        || str_list("ipv6Ranges")
        || obj_list("ipv4Ranges", "cidrIp")
        || obj_list("ipv6Ranges", "cidrIpv6")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(source: &str, name: &str, params: Value) -> crate::event::CloudTrailCall {
        serde_json::from_value(json!({
            "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
            "userIdentity": {"type": "IAMUser"}, "requestParameters": params
        }))
        .unwrap()
    }

    #[test]
    fn shares_are_read_from_each_sharing_call() {
        let snap = call(
            "ec2.amazonaws.com",
            "ModifySnapshotAttribute",
            json!({"snapshotId": "snap-1", "createVolumePermission": {"add": {"items": [
                {"group": "all"}, {"userId": "444455556666"}, {"userId": "444455556666"}
            ]}}}),
        );
        assert_eq!(
            added_shares(&snap),
            Some(Shares {
                public: true,
                accounts: vec!["444455556666".into()]
            })
        );
        assert!(call_signals(&snap).contains(&Signal::SharedPublicly));
        let image = call(
            "ec2.amazonaws.com",
            "ModifyImageAttribute",
            json!({"imageId": "ami-1", "launchPermission": {"add": {"items": [{"userId": "111122223333"}]}}}),
        );
        assert_eq!(
            added_shares(&image),
            Some(Shares {
                public: false,
                accounts: vec!["111122223333".into()]
            })
        );
        assert!(!call_signals(&image).contains(&Signal::SharedPublicly));
        let rds = call(
            "rds.amazonaws.com",
            "ModifyDBClusterSnapshotAttribute",
            json!({"attributeName": "restore", "valuesToAdd": ["all"]}),
        );
        assert_eq!(added_shares(&rds).map(|s| s.public), Some(true));
        // Removing, another attribute, or the other attribute of the same call: nothing shared.
        for quiet in [
            call(
                "ec2.amazonaws.com",
                "ModifySnapshotAttribute",
                json!({"createVolumePermission": {"remove": {"items": [{"group": "all"}]}}}),
            ),
            call(
                "ec2.amazonaws.com",
                "ModifyImageAttribute",
                json!({"description": {"value": "all"}}),
            ),
            call(
                "rds.amazonaws.com",
                "ModifyDBSnapshotAttribute",
                json!({"attributeName": "restore", "valuesToRemove": ["all"]}),
            ),
            call(
                "rds.amazonaws.com",
                "ModifyDBSnapshotAttribute",
                json!({"attributeName": "other", "valuesToAdd": ["all"]}),
            ),
            call(
                "ec2.amazonaws.com",
                "ModifyInstanceAttribute",
                json!({"launchPermission": {"add": {"items": [{"group": "all"}]}}}),
            ),
        ] {
            assert_eq!(added_shares(&quiet), None, "{:?}", quiet.request_parameters);
            assert!(!call_signals(&quiet).contains(&Signal::SharedPublicly));
        }
    }

    fn iam_call(name: &str, identity: Value, params: Value) -> crate::event::CloudTrailCall {
        serde_json::from_value(json!({
            "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
            "userIdentity": identity, "requestParameters": params
        }))
        .unwrap()
    }

    #[test]
    fn keys_and_passwords_for_another_user_are_flagged_and_ones_own_are_not() {
        let alice = json!({"type": "IAMUser", "userName": "alice"});
        let role =
            json!({"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/ops/s"});
        for name in [
            "CreateAccessKey",
            "CreateLoginProfile",
            "UpdateLoginProfile",
        ] {
            let other = iam_call(name, alice.clone(), json!({"userName": "bob"}));
            assert_eq!(other_user(&other), Some("bob"));
            assert!(call_signals(&other).contains(&Signal::ForAnotherUser));
            let by_role = iam_call(name, role.clone(), json!({"userName": "alice"}));
            assert_eq!(other_user(&by_role), Some("alice"));
            for own in [
                iam_call(name, alice.clone(), json!({"userName": "Alice"})),
                iam_call(name, alice.clone(), json!({})),
                iam_call(name, alice.clone(), Value::Null),
            ] {
                assert_eq!(other_user(&own), None, "{name}");
                assert!(!call_signals(&own).contains(&Signal::ForAnotherUser));
            }
        }
        let delete = iam_call("DeleteLoginProfile", alice, json!({"userName": "bob"}));
        assert_eq!(other_user(&delete), None);
    }

    #[test]
    fn trust_policies_name_their_accounts_and_everyone() {
        let doc = |principal: Value, condition: Option<Value>| {
            let mut st =
                json!({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"});
            if let Some(c) = condition {
                st["Condition"] = c;
            }
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
                st
            ]})
            .to_string()
        };
        let create = |d: String| {
            iam_call(
                "CreateRole",
                json!({"type": "IAMUser"}),
                json!({"roleName": "r", "assumeRolePolicyDocument": d}),
            )
        };
        let update = |d: String| {
            iam_call(
                "UpdateAssumeRolePolicy",
                json!({"type": "IAMUser"}),
                json!({"roleName": "r", "policyDocument": d}),
            )
        };
        let t = trusted_principals(&create(doc(
            json!({"AWS": ["arn:aws:iam::444455556666:root", "111122223333"]}),
            None,
        )))
        .unwrap();
        assert_eq!(t.accounts, ["444455556666", "111122223333"]);
        assert!(!t.everyone && !t.conditional_everyone);
        let star = update(doc(json!({"AWS": "*"}), None));
        assert!(trusted_principals(&star).unwrap().everyone);
        assert!(call_signals(&star).contains(&Signal::TrustsEveryone));
        let bare = update(doc(json!("*"), None));
        assert!(trusted_principals(&bare).unwrap().everyone);
        let org = update(doc(
            json!({"AWS": "*"}),
            Some(json!({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}})),
        ));
        let t = trusted_principals(&org).unwrap();
        assert!(!t.everyone && t.conditional_everyone);
        assert!(!call_signals(&org).contains(&Signal::TrustsEveryone));
        // URL-encoded, as CloudTrail records some documents.
        let encoded = update("%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22arn%3Aaws%3Aiam%3A%3A444455556666%3Aroot%22%7D%7D%5D%7D".into());
        assert_eq!(
            trusted_principals(&encoded).unwrap().accounts,
            ["444455556666"]
        );
        // A Deny names no one trusted; a service principal is no account.
        let deny = update(
            json!({"Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}}]}).to_string(),
        );
        assert_eq!(trusted_principals(&deny), Some(Trust::default()));
    }

    #[test]
    fn bucket_policies_and_acls_name_public_and_outside_grants() {
        let s3 = |name: &str, params: Value| call("s3.amazonaws.com", name, params);
        let policy = |statement: Value| {
            s3(
                "PutBucketPolicy",
                json!({"bucketName": "b", "bucketPolicy": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject"},
                    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                    statement
                ]}}),
            )
        };
        // Stratus Red Team's backdoor: one outside account, as an ARN.
        let outside = policy(
            json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "s3:GetObject"}),
        );
        let g = bucket_grants(&outside).unwrap();
        assert_eq!(g.accounts, ["444455556666"]);
        assert!(!g.public && !g.conditional_public);
        assert!(!call_signals(&outside).contains(&Signal::BucketMadePublic));
        for public in [
            json!("*"),
            json!({"AWS": "*"}),
            json!({"AWS": ["111122223333", "*"]}),
        ] {
            let c =
                policy(json!({"Effect": "Allow", "Principal": public, "Action": "s3:GetObject"}));
            assert!(bucket_grants(&c).unwrap().public);
            assert!(call_signals(&c).contains(&Signal::BucketMadePublic));
        }
        // Allow with NotPrincipal: everyone but those named.
        let not = policy(
            json!({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject"}),
        );
        assert!(bucket_grants(&not).unwrap().public);
        let vpce = policy(
            json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}),
        );
        let g = bucket_grants(&vpce).unwrap();
        assert!(!g.public && g.conditional_public);
        assert!(!call_signals(&vpce).contains(&Signal::BucketMadePublic));
        // The policy as JSON text; a service principal and the Deny name no one.
        let text = s3(
            "PutBucketPolicy",
            json!({"bucketPolicy": json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "444455556666"}}}).to_string()}),
        );
        assert_eq!(bucket_grants(&text).unwrap().accounts, ["444455556666"]);
        let own = policy(
            json!({"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}}),
        );
        assert_eq!(bucket_grants(&own), Some(BucketGrants::default()));
        assert_eq!(
            bucket_grants(&s3("PutBucketPolicy", json!({"bucketPolicy": "{"}))),
            None
        );

        // ACLs: the canned ACL header, a grant header, a grant in the document.
        let acl = |params: Value| s3("PutBucketAcl", params);
        for public in [
            acl(json!({"bucketName": "b", "x-amz-acl": ["public-read"]})),
            acl(json!({"bucketName": "b", "x-amz-acl": "authenticated-read"})),
            acl(
                json!({"x-amz-grant-read": ["uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""]}),
            ),
            acl(
                json!({"AccessControlPolicy": {"AccessControlList": {"Grant": [
                    {"Grantee": {"xsi:type": "CanonicalUser", "ID": "abc"}, "Permission": "FULL_CONTROL"},
                    {"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}, "Permission": "READ"}
                ]}}}),
            ),
            acl(
                json!({"AccessControlPolicy": {"AccessControlList": {"Grant":
                    {"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "WRITE"}
                }}}),
            ),
        ] {
            assert!(
                bucket_grants(&public).unwrap().public,
                "{:?}",
                public.request_parameters
            );
            assert!(call_signals(&public).contains(&Signal::BucketMadePublic));
        }
        for private in [
            acl(json!({"bucketName": "b", "acl": [""], "x-amz-acl": ["private"]})),
            acl(
                json!({"x-amz-grant-read": ["id=\"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be\""]}),
            ),
            acl(
                json!({"AccessControlPolicy": {"AccessControlList": {"Grant":
                    {"Grantee": {"xsi:type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"}, "Permission": "WRITE"}
                }}}),
            ),
        ] {
            assert!(
                !bucket_grants(&private).unwrap().public,
                "{:?}",
                private.request_parameters
            );
            assert!(!call_signals(&private).contains(&Signal::BucketMadePublic));
        }
        // Another call, or another service's call of the same name, grants nothing.
        assert_eq!(
            bucket_grants(&s3(
                "PutBucketLogging",
                json!({"x-amz-acl": ["public-read"]})
            )),
            None
        );
        assert_eq!(
            bucket_grants(&call(
                "s3control.amazonaws.com",
                "PutBucketPolicy",
                json!({"bucketPolicy": {"Statement": {"Effect": "Allow", "Principal": "*"}}})
            )),
            None
        );
    }

    #[test]
    fn ingress_calls_yield_exactly_their_world_open_admin_ranges() {
        // The flat form (the CLI's --cidr/--port, as Stratus Red Team's detonation records it).
        let flat = call(
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"groupId": "sg-1", "cidrIp": "0.0.0.0/0", "ipProtocol": "tcp",
                   "fromPort": 22, "toPort": 22, "ipPermissions": {}}),
        );
        let r = |p: &str, f: Option<i32>, t: Option<i32>, c: &str| IngressRange {
            protocol: p.into(),
            from_port: f,
            to_port: t,
            cidr: c.into(),
        };
        assert_eq!(
            added_world_open_ingress(&flat),
            Some(vec![r("tcp", Some(22), Some(22), "0.0.0.0/0")])
        );
        assert!(call_signals(&flat).contains(&Signal::SecurityGroupWorldOpenAdminPort));
        // The items form: IPv6 on RDP, every protocol, and ranges that are not the world or
        // ports that are not admin ports, which are left out.
        let items = call(
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"groupId": "sg-1", "ipPermissions": {"items": [
                {"ipProtocol": "6", "fromPort": 3389, "toPort": 3389,
                 "ipRanges": {"items": [{"cidrIp": "198.51.100.0/24"}]},
                 "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]}},
                {"ipProtocol": "-1", "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}},
                {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                 "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}
            ]}}),
        );
        let got = added_world_open_ingress(&items).unwrap();
        assert_eq!(
            got,
            vec![
                r("tcp", Some(3389), Some(3389), "::/0"),
                r("-1", None, None, "0.0.0.0/0"),
            ]
        );
        assert!(got[0].is_ipv6() && !got[1].is_ipv6());
        // Nothing world-open on an admin port, another call, or egress: no ranges, no signal.
        for quiet in [
            call(
                "ec2.amazonaws.com",
                "AuthorizeSecurityGroupIngress",
                json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp",
                    "fromPort": 22, "toPort": 22,
                    "ipRanges": {"items": [{"cidrIp": "127.0.0.1/32"}]}}]}}),
            ),
            call(
                "ec2.amazonaws.com",
                "AuthorizeSecurityGroupIngress",
                json!({"groupId": "sg-1", "cidrIp": "0.0.0.0/0", "ipProtocol": "udp",
                       "fromPort": 53, "toPort": 53}),
            ),
            call(
                "ec2.amazonaws.com",
                "AuthorizeSecurityGroupEgress",
                json!({"groupId": "sg-1", "cidrIp": "0.0.0.0/0", "ipProtocol": "tcp",
                       "fromPort": 22, "toPort": 22}),
            ),
        ] {
            assert_eq!(added_world_open_ingress(&quiet), None);
            assert!(!call_signals(&quiet).contains(&Signal::SecurityGroupWorldOpenAdminPort));
        }
    }

    #[test]
    fn world_open_admin_ports_are_flagged() {
        let open22 = json!({"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipv4Ranges":[{"cidrIp":"0.0.0.0/0"}]});
        let open_v6 = json!({"ipProtocol":"tcp","fromPort":3389,"toPort":3389,"ipv6Ranges":[{"cidrIpv6":"::/0"}]});
        let range = json!({"ipProtocol":"tcp","fromPort":0,"toPort":1024,"ipRanges":["0.0.0.0/0"]});
        let all = json!({"ipProtocol":"-1","ipRanges":["0.0.0.0/0"]});
        let https =
            json!({"ipProtocol":"tcp","fromPort":443,"toPort":443,"ipRanges":["0.0.0.0/0"]});
        let office =
            json!({"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":["198.51.100.0/24"]});
        let udp = json!({"ipProtocol":"udp","fromPort":22,"toPort":22,"ipRanges":["0.0.0.0/0"]});
        assert!(world_open_admin_port(&open22));
        assert!(world_open_admin_port(&open_v6));
        assert!(world_open_admin_port(&range));
        assert!(world_open_admin_port(&all));
        assert!(!world_open_admin_port(&https));
        assert!(!world_open_admin_port(&office));
        assert!(!world_open_admin_port(&udp));
        // The world in halves, and IPv6's global unicast space.
        let halves = json!({"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipv4Ranges":[{"cidrIp":"0.0.0.0/1"},{"cidrIp":"128.0.0.0/1"}]});
        let unicast = json!({"ipProtocol":"tcp","fromPort":3389,"toPort":3389,"ipv6Ranges":[{"cidrIpv6":"2000::/3"}]});
        assert!(world_open_admin_port(&halves));
        assert!(world_open_admin_port(&unicast));
        assert!(!world_cidr("10.0.0.0/8"));
        assert!(!world_cidr("2001:db8::/32"));
    }

    #[test]
    fn own_functions_are_known_in_every_form_lambda_accepts_and_only_in_this_account() {
        let call = |name: &str| {
            let v = json!({"eventVersion": "1.08", "userIdentity": {"type": "IAMUser"},
                "eventTime": "2024-01-01T00:00:00Z", "eventSource": "lambda.amazonaws.com",
                "eventName": "DeleteFunction20150331", "awsRegion": "us-east-1",
                "recipientAccountId": "123456789012",
                "requestParameters": {"functionName": name}});
            serde_json::from_value::<crate::event::CloudTrailCall>(v).unwrap()
        };
        let own = vec!["mamoru-prod-guardduty".to_string()];
        for form in [
            "mamoru-prod-guardduty",
            "mamoru-prod-guardduty:live",
            "123456789012:function:mamoru-prod-guardduty",
            "123456789012:function:mamoru-prod-guardduty:3",
            "arn:aws:lambda:us-east-1:123456789012:function:mamoru-prod-guardduty",
            "arn:aws:lambda:us-east-1:123456789012:function:mamoru-prod-guardduty:live",
        ] {
            assert!(names_own_resource(&call(form), &own), "{form}");
        }
        for form in [
            "attacker-mamoru-prod-guardduty",
            "mamoru-prod-guardduty-2",
            "444455556666:function:mamoru-prod-guardduty",
            "arn:aws:lambda:us-east-1:444455556666:function:mamoru-prod-guardduty",
        ] {
            assert!(!names_own_resource(&call(form), &own), "{form}");
        }
    }
}
