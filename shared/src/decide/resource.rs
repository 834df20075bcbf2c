//! The resource an event is about, typed: what kind it is, how the event names it (identifier,
//! name, ARN), what it belongs to, and the account and region that own it. The event parsers'
//! fields become a [`Resource`] here, once; notifications, the audit line and the CLI only
//! format it, and [`Resource::label`] is the one place for the phrase of each kind.

use serde::Serialize;

use crate::event::{CloudTrailCall, Event, EventKind, ServiceEvent};

/// What kind of resource, as mamoru knows it. A type mamoru has no kind for keeps the event's
/// own name for it in [`Resource::type_name`] (`AWS::IAM::User`, `AwsS3Bucket`, `Lambda`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An access key, of the principal in [`Resource::owner`].
    AccessKey,
    Trail,
    GuarddutyDetector,
    GuarddutyIpSet,
    GuarddutyThreatList,
    GuarddutyFilter,
    ConfigRecorder,
    DeliveryChannel,
    ConfigRule,
    EventbridgeRule,
    IamUser,
    IamRole,
    IamGroup,
    SecurityGroup,
    S3Bucket,
    /// An S3 object: its key in [`Resource::id`], its bucket in [`Resource::owner`].
    S3Object,
    SnsTopic,
    LambdaFunction,
    LogGroup,
    SecurityhubStandard,
    Ec2Instance,
    EksCluster,
    /// The AWS Management Console (a console sign-in).
    Console,
    /// A whole account (Config's `AWS::::Account`, Security Hub's `AwsAccount`).
    Account,
    /// A type the event names and mamoru has no kind for: see [`Resource::type_name`].
    Other,
}

impl Kind {
    /// The phrase for people, before the identifier: `trail`, `GuardDuty trusted IP list`.
    /// Kinds named in the event's own words ([`Kind::Other`], [`Kind::Account`], an access
    /// key's principal type) have none of their own.
    pub fn phrase(self) -> Option<&'static str> {
        Some(match self {
            Kind::Trail => "trail",
            Kind::GuarddutyDetector => "GuardDuty detector",
            Kind::GuarddutyIpSet => "GuardDuty trusted IP list",
            Kind::GuarddutyThreatList => "GuardDuty threat list",
            Kind::GuarddutyFilter => "GuardDuty filter",
            Kind::ConfigRecorder => "configuration recorder",
            Kind::DeliveryChannel => "delivery channel",
            Kind::ConfigRule => "Config rule",
            Kind::EventbridgeRule => "EventBridge rule",
            Kind::IamUser => "IAM user",
            Kind::IamRole => "IAM role",
            Kind::IamGroup => "IAM group",
            Kind::SecurityGroup => "security group",
            Kind::S3Bucket => "S3 bucket",
            Kind::S3Object => "S3 object",
            Kind::SnsTopic => "SNS topic",
            Kind::LambdaFunction => "Lambda function",
            Kind::LogGroup => "log group",
            Kind::SecurityhubStandard => "standard",
            Kind::Ec2Instance => "EC2 instance",
            Kind::EksCluster => "EKS cluster",
            Kind::Console => "AWS Management Console",
            Kind::AccessKey | Kind::Account | Kind::Other => return None,
        })
    }

    /// Whether the kind lives in no region (IAM).
    fn is_global(self) -> bool {
        matches!(self, Kind::IamUser | Kind::IamRole | Kind::IamGroup)
    }
}

/// The resource an event is about. Each member is present only when the event says it (or, for
/// the account and region of a resource named without an ARN, the call that named it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    pub kind: Kind,
    /// The type in the event's own words, when it gives one: a Config `resourceType`, a
    /// Security Hub `Type`, a GuardDuty `resourceType`, an access key's `userType`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// The identifier as the event gives it (a name, an id or an ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The resource's name, when the event gives one (the last part of an ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// What the resource belongs to: an access key's user, an object's bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The account that owns the resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region the resource lives in (none for a global resource).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl Resource {
    /// A resource of a kind and nothing more.
    pub fn of_kind(kind: Kind) -> Resource {
        Resource {
            kind,
            type_name: None,
            id: None,
            name: None,
            arn: None,
            owner: None,
            account: None,
            region: None,
        }
    }

    /// A resource of a type the event names in its own words.
    pub fn typed(kind: Kind, type_name: Option<&str>) -> Resource {
        Resource {
            type_name: non_empty(type_name),
            ..Resource::of_kind(kind)
        }
    }

    /// A resource named by `id` (a name or an ARN) in a call made in `account` and `region`: an
    /// ARN gives the name, account and region; a bare name is in the call's account and
    /// region (the region left out for a global kind).
    pub fn named(kind: Kind, id: &str, account: Option<&str>, region: Option<&str>) -> Resource {
        let mut r = Resource::of_kind(kind);
        r.id = non_empty(Some(id));
        match Arn::parse(id) {
            Some(arn) => {
                r.arn = Some(id.to_string());
                r.name = non_empty(Some(arn.name()));
                r.account = non_empty(Some(arn.account));
                r.region = non_empty(Some(arn.region));
            }
            None => {
                r.account = non_empty(account);
                r.region = non_empty(region).filter(|_| !kind.is_global());
            }
        }
        r
    }

    /// The resource for people, one phrase per kind: `trail my-trail`, `GuardDuty trusted IP
    /// list 0cb0…`, `IAMUser alice, access key AKIA…`, `AWS::IAM::User deploy-bot`. Every
    /// renderer, the rule templates' `{resource}` and the audit's digest use this.
    pub fn label(&self) -> String {
        // The event's own types (Config) are named by their name first, as Config shows them.
        let shown = match self.kind {
            Kind::Other | Kind::Account => self.name.as_deref().or(self.id.as_deref()),
            _ => self.id.as_deref().or(self.name.as_deref()),
        }
        .or(self.arn.as_deref());
        match self.kind {
            Kind::AccessKey => {
                let who = format!(
                    "{} {}",
                    self.type_name.as_deref().unwrap_or("principal"),
                    self.owner.as_deref().unwrap_or("?")
                );
                match &self.id {
                    Some(key) => format!("{who}, access key {key}"),
                    None => who,
                }
            }
            Kind::S3Object => format!(
                "S3 object {}/{}",
                self.owner.as_deref().unwrap_or("?"),
                self.id.as_deref().unwrap_or("?")
            ),
            kind => {
                let phrase = kind
                    .phrase()
                    .or(self.type_name.as_deref())
                    .unwrap_or("resource");
                match shown {
                    Some(id) => format!("{phrase} {id}"),
                    None => phrase.to_string(),
                }
            }
        }
    }

    /// Every text in it, to mask secrets in place ([`crate::decide::Plan`]).
    pub fn texts_mut(&mut self) -> impl Iterator<Item = &mut String> {
        [
            &mut self.type_name,
            &mut self.id,
            &mut self.name,
            &mut self.arn,
            &mut self.owner,
            &mut self.account,
            &mut self.region,
        ]
        .into_iter()
        .flatten()
    }

    /// The resource an event is about.
    pub fn of(event: &Event) -> Option<Resource> {
        let owner = non_empty(Some(event.owner_account()));
        let at = |mut r: Resource, region: Option<&str>| {
            r.account = r.account.or_else(|| owner.clone());
            r.region = r
                .region
                .or_else(|| non_empty(region))
                .filter(|_| !r.kind.is_global());
            r
        };
        match &event.kind {
            EventKind::GuardDutyFinding(f) => {
                let r = &f.resource;
                let region = Some(f.region.as_str());
                if let Some(k) = &r.access_key_details {
                    let mut key = Resource::typed(Kind::AccessKey, k.user_type.as_deref());
                    key.id = non_empty(k.access_key_id.as_deref());
                    key.owner = non_empty(k.user_name.as_deref());
                    // An access key is global; its account is the finding's.
                    return Some(Resource {
                        account: owner.clone(),
                        ..key
                    });
                }
                if let Some(i) = r
                    .instance_details
                    .as_ref()
                    .and_then(|i| i.instance_id.as_deref())
                {
                    let mut r = Resource::of_kind(Kind::Ec2Instance);
                    r.id = non_empty(Some(i));
                    return Some(at(r, region));
                }
                if let Some(b) = r.s3_bucket_details.first()
                    && let Some(name) = b.name.as_deref()
                {
                    let mut r = Resource::of_kind(Kind::S3Bucket);
                    r.id = non_empty(Some(name));
                    r.name = r.id.clone();
                    r.arn = non_empty(b.arn.as_deref());
                    return Some(at(r, region));
                }
                Some(at(
                    Resource::typed(Kind::Other, Some(&r.resource_type)),
                    region,
                ))
            }
            EventKind::CloudTrailCall(c) => call_resource(c, owner.as_deref()),
            EventKind::ConsoleSignIn(_) => Some(Resource {
                account: owner,
                ..Resource::of_kind(Kind::Console)
            }),
            EventKind::GuardDutyService(s) => match s.as_ref() {
                ServiceEvent::ObjectScanResult(r) => {
                    let o = &r.s3_object_details;
                    Some(at(
                        object(&o.bucket_name, Some(&o.object_key)),
                        Some(&event.region),
                    ))
                }
                ServiceEvent::RuntimeProtectionHealth(h) => {
                    let d = h.resource_details.as_ref();
                    let type_name = d.and_then(|d| d.resource_type.as_deref());
                    let cluster = d
                        .and_then(|d| d.eks_cluster_details.as_ref())
                        .and_then(|e| e.cluster_name.as_deref());
                    let r = match cluster {
                        Some(n) => Resource {
                            id: non_empty(Some(n)),
                            name: non_empty(Some(n)),
                            ..Resource::typed(Kind::EksCluster, type_name)
                        },
                        None => Resource::typed(Kind::Other, type_name),
                    };
                    Some(at(r, Some(&event.region)))
                }
                ServiceEvent::PostScanActionFailed(p) => {
                    let b = p.bucket()?;
                    Some(at(object(b, p.key()), Some(&event.region)))
                }
            },
            EventKind::ConfigItemChange(c) => {
                let ci = &c.configuration_item;
                let kind = account_kind(&ci.resource_type);
                Some(Resource {
                    id: non_empty(ci.resource_id.as_deref()),
                    name: non_empty(ci.resource_name.as_deref()),
                    arn: non_empty(ci.arn.as_deref()),
                    account: non_empty(ci.aws_account_id.as_deref()).or(owner),
                    // Config's region of a global resource (IAM) is `global`: none.
                    region: match ci.aws_region.as_deref() {
                        Some("global") => None,
                        r => non_empty(r).or_else(|| non_empty(Some(&event.region))),
                    },
                    ..Resource::typed(kind, Some(&ci.resource_type))
                })
            }
            EventKind::ConfigComplianceChange(c) => {
                let type_name = c.evaluated_resource_type();
                let mut r = Resource::typed(account_kind(type_name.unwrap_or_default()), type_name);
                r.id = non_empty(c.evaluated_resource_id());
                r.account = non_empty(c.aws_account_id.as_deref()).or(owner);
                r.region =
                    non_empty(c.aws_region.as_deref()).or_else(|| non_empty(Some(&event.region)));
                Some(r)
            }
            EventKind::SecurityHub(sh) => {
                let f = sh.finding()?;
                let first = f.resources.first()?;
                Some(finding_resource(
                    first.resource_type.as_deref(),
                    first.id.as_deref(),
                    first.region.as_deref(),
                    &f.aws_account_id,
                ))
            }
            EventKind::SecurityHubOcsf(sh) => {
                let f = sh.finding()?;
                let first = f.resources.first()?;
                Some(finding_resource(
                    first.resource_type.as_deref(),
                    first.uid.as_deref(),
                    first.region.as_deref(),
                    &f.cloud.account.uid,
                ))
            }
            EventKind::Unhandled => None,
        }
    }
}

/// Config's and Security Hub's names for a whole account.
fn account_kind(type_name: &str) -> Kind {
    match type_name {
        "AWS::::Account" | "AwsAccount" => Kind::Account,
        _ => Kind::Other,
    }
}

fn object(bucket: &str, key: Option<&str>) -> Resource {
    match key {
        Some(key) => Resource {
            id: non_empty(Some(key)),
            owner: non_empty(Some(bucket)),
            ..Resource::of_kind(Kind::S3Object)
        },
        None => Resource {
            id: non_empty(Some(bucket)),
            name: non_empty(Some(bucket)),
            ..Resource::of_kind(Kind::S3Bucket)
        },
    }
}

/// The resource a CloudTrail call acts on, typed by the service and parameter that name it. A
/// parameter name means different things in different services (`name` is a trail in
/// CloudTrail, a rule in EventBridge, an IP list in GuardDuty's CreateIPSet), so the service
/// decides first. A resource named without an ARN is in the call's account and region.
pub fn call_resource(c: &CloudTrailCall, account: Option<&str>) -> Option<Resource> {
    let param = |k: &str| {
        c.request_parameters
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let response = |k: &str| {
        c.response_elements
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let first = |table: &[(&'static str, Kind)]| {
        table
            .iter()
            .find_map(|(key, kind)| param(key).map(|v| (*kind, v)))
    };
    let name = c.event_name.as_str();
    let (kind, id) = match c.event_source.as_str() {
        "cloudtrail.amazonaws.com" => first(&[("name", Kind::Trail), ("trailName", Kind::Trail)]),
        "guardduty.amazonaws.com" => {
            if name.contains("IPSet") {
                param("ipSetId")
                    .or_else(|| response("ipSetId"))
                    .or_else(|| param("name"))
                    .map(|v| (Kind::GuarddutyIpSet, v))
            } else if name.contains("ThreatIntelSet") {
                param("threatIntelSetId")
                    .or_else(|| response("threatIntelSetId"))
                    .or_else(|| param("name"))
                    .map(|v| (Kind::GuarddutyThreatList, v))
            } else if name.contains("Filter") {
                param("filterName")
                    .or_else(|| param("name"))
                    .map(|v| (Kind::GuarddutyFilter, v))
            } else {
                first(&[("detectorId", Kind::GuarddutyDetector)])
            }
        }
        "config.amazonaws.com" => first(&[
            ("configurationRecorderName", Kind::ConfigRecorder),
            ("deliveryChannelName", Kind::DeliveryChannel),
            ("configRuleName", Kind::ConfigRule),
        ]),
        "events.amazonaws.com" => first(&[("name", Kind::EventbridgeRule)]),
        "iam.amazonaws.com" => first(&[
            ("userName", Kind::IamUser),
            ("roleName", Kind::IamRole),
            ("groupName", Kind::IamGroup),
        ]),
        "ec2.amazonaws.com" => first(&[("groupId", Kind::SecurityGroup)]),
        "s3.amazonaws.com" => first(&[("bucketName", Kind::S3Bucket)]),
        "sns.amazonaws.com" => first(&[("topicArn", Kind::SnsTopic)]),
        "lambda.amazonaws.com" => first(&[("functionName", Kind::LambdaFunction)]),
        "logs.amazonaws.com" => first(&[("logGroupName", Kind::LogGroup)]),
        "securityhub.amazonaws.com" => {
            first(&[("standardsSubscriptionArns", Kind::SecurityhubStandard)])
        }
        _ => None,
    }?;
    let mut r = Resource::named(kind, &id, account, Some(&c.aws_region));
    if kind == Kind::Trail {
        r.name = Some(crate::action::trail_name(&id).to_string());
    }
    // A GuardDuty list's name, beside the id that identifies it.
    if matches!(kind, Kind::GuarddutyIpSet | Kind::GuarddutyThreatList)
        && let Some(n) = param("name")
    {
        r.name = Some(n);
    }
    Some(r)
}

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
pub(crate) struct Arn<'a> {
    pub(crate) partition: &'a str,
    pub(crate) service: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    pub(crate) resource: &'a str,
}

impl<'a> Arn<'a> {
    pub(crate) fn parse(s: &'a str) -> Option<Arn<'a>> {
        let mut parts = s.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let (partition, service) = (parts.next()?, parts.next()?);
        let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
        Some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// The resource's name: the ARN's last `/` or `:` part (`trail/org` → `org`).
    fn name(&self) -> &'a str {
        self.resource
            .rsplit(['/', ':'])
            .next()
            .unwrap_or(self.resource)
    }
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).map(str::to_string)
}

/// A Security Hub finding's first resource (ASFF `Resources[0]` or OCSF `resources[0]`): its
/// type and id; account and region from the id when it is an ARN, else the resource's region
/// and the finding's account.
fn finding_resource(
    type_name: Option<&str>,
    id: Option<&str>,
    region: Option<&str>,
    finding_account: &str,
) -> Resource {
    let mut r = Resource::typed(account_kind(type_name.unwrap_or_default()), type_name);
    r.id = non_empty(id);
    if let Some(arn) = r.id.as_deref().and_then(Arn::parse) {
        r.arn = r.id.clone();
        r.region = non_empty(Some(arn.region));
        r.account = non_empty(Some(arn.account));
    }
    r.region = r.region.or_else(|| non_empty(region));
    r.account = r.account.or_else(|| non_empty(Some(finding_account)));
    r
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn call(source: &str, name: &str, params: serde_json::Value, region: &str) -> Event {
        let v = serde_json::json!({
            "version": "0", "id": "e", "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.cloudtrail", "account": "111122223333", "time": "2024-01-01T00:00:00Z",
            "region": region, "resources": [],
            "detail": {
                "eventVersion": "1.08", "userIdentity": {"type": "IAMUser"},
                "eventTime": "2024-01-01T00:00:00Z", "eventSource": source,
                "eventName": name, "awsRegion": region, "requestParameters": params,
                "responseElements": null, "recipientAccountId": "444455556666"
            }
        });
        Event::from_json(&v.to_string()).unwrap()
    }

    #[test]
    fn a_trail_named_by_arn_is_in_the_arn_account_and_home_region() {
        let e = call(
            "cloudtrail.amazonaws.com",
            "StopLogging",
            serde_json::json!({"name": "arn:aws:cloudtrail:eu-west-1:444455556666:trail/org"}),
            "us-east-1",
        );
        let r = Resource::of(&e).unwrap();
        assert_eq!(r.kind, Kind::Trail);
        assert_eq!(r.name.as_deref(), Some("org"));
        assert_eq!(
            r.arn.as_deref(),
            Some("arn:aws:cloudtrail:eu-west-1:444455556666:trail/org")
        );
        assert_eq!(r.account.as_deref(), Some("444455556666"));
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            r.label(),
            "trail arn:aws:cloudtrail:eu-west-1:444455556666:trail/org"
        );
    }

    #[test]
    fn a_name_is_in_the_calls_account_and_region_and_iam_in_none() {
        let e = call(
            "events.amazonaws.com",
            "DisableRule",
            serde_json::json!({"name": "trail watch"}),
            "us-west-2",
        );
        let r = Resource::of(&e).unwrap();
        assert_eq!(r.kind, Kind::EventbridgeRule);
        assert_eq!(r.label(), "EventBridge rule trail watch");
        assert_eq!(r.account.as_deref(), Some("444455556666"));
        assert_eq!(r.region.as_deref(), Some("us-west-2"));
        assert_eq!(r.arn, None);

        let e = call(
            "iam.amazonaws.com",
            "CreateAccessKey",
            serde_json::json!({"userName": "alice"}),
            "us-east-1",
        );
        let r = Resource::of(&e).unwrap();
        assert_eq!((r.kind, r.region.as_deref()), (Kind::IamUser, None));
        assert_eq!(r.label(), "IAM user alice");
    }

    #[test]
    fn every_text_of_the_resource_is_masked_in_the_plan() {
        // A finding's producer writes its resource's type and id: a secret in them is masked
        // before any notification, audit line or CLI output sees the plan.
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let event =
            crate::event::securityhub::fixture_event("imported-ec2-13-ssh-world.json", |v| {
                let r = &mut v["detail"]["findings"][0]["Resources"][0];
                r["Type"] = format!("AwsThing{secret}").into();
                r["Id"] = format!("arn:aws:ec2:us-east-1:111122223333:thing/{secret}").into();
            });
        let rules = crate::decide::RuleSet::builtin().unwrap();
        let plan = crate::decide::decide(
            &event,
            Some(crate::decide::Handler::Securityhub),
            &rules,
            &crate::settings::Settings::default(),
        );
        let mut r = plan.resource.unwrap();
        assert_eq!(r.kind, Kind::Other);
        let texts: Vec<String> = r.texts_mut().map(|s| s.clone()).collect();
        assert!(texts.len() >= 4, "{texts:?}");
        for t in texts {
            assert!(!t.contains(secret), "{t}");
        }
        assert!(!r.label().contains(secret), "{}", r.label());
    }

    #[test]
    fn each_kind_has_its_phrase_or_the_events_words() {
        let key = Resource {
            id: Some("AKIAIOSFODNN7EXAMPLE".into()),
            owner: Some("alice".into()),
            ..Resource::typed(Kind::AccessKey, Some("IAMUser"))
        };
        assert_eq!(
            key.label(),
            "IAMUser alice, access key AKIAIOSFODNN7EXAMPLE"
        );
        assert_eq!(
            Resource::typed(Kind::Other, Some("RDSDBInstance")).label(),
            "RDSDBInstance"
        );
        assert_eq!(object("b", Some("k/x y")).label(), "S3 object b/k/x y");
        assert_eq!(object("b", None).label(), "S3 bucket b");
        // A type the event names that reads like one of mamoru's kinds stays the event's.
        let other = Resource {
            id: Some("x".into()),
            ..Resource::typed(Kind::Other, Some("trail"))
        };
        assert_eq!(
            (other.kind, other.label().as_str()),
            (Kind::Other, "trail x")
        );
        let v = serde_json::to_value(&other).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"kind": "other", "type": "trail", "id": "x"})
        );
    }
}
