//! GuardDuty Extended Threat Detection: the attack sequence of an `AttackSequence:*` finding,
//! `service.detection.sequence` (the GuardDuty API reference's `Detection`, `Sequence`, `Actor`,
//! `User`, `Session`, `ResourceV2`, `Signal`, `NetworkEndpoint` and `Indicator`, in the
//! camelCase names findings use).
//!
//! Unknown members are tolerated. A member of the wrong type, or a resource without its `uid`
//! or `resourceType`, or a signal without its `name`, is a parse error naming the field
//! (`detail.service.detection.sequence.resources[0].uid`).

use serde::{Deserialize, Serialize};

use super::null_as_default;

/// `service.detection`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    #[serde(default)]
    pub sequence: Option<Sequence>,
}

/// The correlated attack: who, on what, which signals, from where.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sequence {
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub actors: Vec<Actor>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: Vec<SequenceResource>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub endpoints: Vec<Endpoint>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub signals: Vec<Signal>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sequence_indicators: Vec<Indicator>,
}

/// A threat actor: the principal (`user`), its session, or a process.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub session: Option<Session>,
    #[serde(default)]
    pub process: Option<ActorProcess>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub uid: Option<String>,
    /// `IAMUser`, `AssumedRole`, `Root`, …
    #[serde(default, rename = "type")]
    pub user_type: Option<String>,
    /// The access key the actor used.
    #[serde(default)]
    pub credential_uid: Option<String>,
    #[serde(default)]
    pub account: Option<Account>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    #[serde(default)]
    pub uid: Option<String>,
    /// The account's name (the API member `Name`, written `account`).
    #[serde(default, rename = "account")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub mfa_status: Option<String>,
    #[serde(default)]
    pub created_time: Option<Timestamp>,
    #[serde(default)]
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActorProcess {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
}

/// A resource the sequence involves (`ResourceV2`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SequenceResource {
    /// The resource's identifier: an access key id, a bucket or instance ARN, …
    pub uid: String,
    /// `ACCESS_KEY`, `S3_BUCKET`, `EC2_INSTANCE`, `EKS_CLUSTER`, `ECS_CLUSTER`, …
    pub resource_type: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub cloud_partition: Option<String>,
    #[serde(default)]
    pub data: Option<ResourceData>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceData {
    #[serde(default)]
    pub access_key: Option<ResourceAccessKey>,
}

/// `data.accessKey` of an `ACCESS_KEY` resource: whose key it is.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAccessKey {
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub user_type: Option<String>,
}

/// A network endpoint the sequence saw.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub port: Option<u32>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub autonomous_system: Option<AutonomousSystem>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AutonomousSystem {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub number: Option<u64>,
}

/// One signal of the sequence: a finding, or activity GuardDuty observed.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Signal {
    /// The signal's name: for a `FINDING` signal, the finding type.
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default, rename = "type")]
    pub signal_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub first_seen_at: Option<Timestamp>,
    #[serde(default)]
    pub last_seen_at: Option<Timestamp>,
    #[serde(default)]
    pub severity: Option<f64>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub resource_uids: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub actor_ids: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub endpoint_ids: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub signal_indicators: Vec<Indicator>,
}

/// An indicator: a tactic, a technique, a high-risk API, a Tor address, …
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Indicator {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Vec<String>,
    #[serde(default)]
    pub title: Option<String>,
}

/// An API `Timestamp`: epoch seconds (how findings write them) or an ISO 8601 text.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Timestamp {
    Epoch(f64),
    Text(String),
}

impl Timestamp {
    /// Seconds since the epoch, when the value is a time.
    pub fn epoch_seconds(&self) -> Option<f64> {
        match self {
            Timestamp::Epoch(s) => s.is_finite().then_some(*s),
            Timestamp::Text(t) => chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|d| d.timestamp_millis() as f64 / 1000.0),
        }
    }

    /// The time as `2025-02-25T20:12:00Z`, or the text as given when it is not a time.
    pub fn display(&self) -> String {
        match self.epoch_seconds() {
            Some(s) => chrono::DateTime::from_timestamp(s.floor() as i64, 0)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_else(|| s.to_string()),
            None => match self {
                Timestamp::Text(t) => t.clone(),
                Timestamp::Epoch(s) => s.to_string(),
            },
        }
    }
}

/// Resource types of `ResourceV2` that mamoru reads.
pub const ACCESS_KEY: &str = "ACCESS_KEY";
pub const S3_BUCKET: &str = "S3_BUCKET";
pub const EC2_INSTANCE: &str = "EC2_INSTANCE";
pub const EKS_CLUSTER: &str = "EKS_CLUSTER";
pub const ECS_CLUSTER: &str = "ECS_CLUSTER";

impl Signal {
    fn first_seen(&self) -> Option<f64> {
        self.first_seen_at
            .as_ref()
            .or(self.created_at.as_ref())
            .and_then(Timestamp::epoch_seconds)
    }
}

impl Sequence {
    /// The `n` most important signals (highest severity, then most often seen), in the order
    /// they were first seen (signals without a time last).
    pub fn top_signals(&self, n: usize) -> Vec<&Signal> {
        let mut by_weight: Vec<&Signal> = self.signals.iter().collect();
        by_weight.sort_by(|a, b| {
            let sev = |s: &Signal| s.severity.filter(|v| v.is_finite()).unwrap_or(0.0);
            sev(b)
                .total_cmp(&sev(a))
                .then(b.count.unwrap_or(0).cmp(&a.count.unwrap_or(0)))
        });
        by_weight.truncate(n);
        // Stable: equal times keep their order of importance.
        by_weight.sort_by(|a, b| match (a.first_seen(), b.first_seen()) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        by_weight
    }

    /// The resources of one type, in the sequence's order.
    pub fn resources_of<'s>(
        &'s self,
        resource_type: &'s str,
    ) -> impl Iterator<Item = &'s SequenceResource> + 's {
        self.resources
            .iter()
            .filter(move |r| r.resource_type == resource_type)
    }

    /// Every IAM user the sequence names, by name: users acting, and owners of its keys.
    pub fn iam_users(&self) -> Vec<&str> {
        self.principals("IAMUser")
    }

    /// Every IAM role the sequence names, by name: assumed roles acting, and the roles whose
    /// session keys it lists (GuardDuty's userName of an AssumedRole is the role name).
    pub fn iam_roles(&self) -> Vec<&str> {
        self.principals("AssumedRole")
    }

    fn principals(&self, user_type: &str) -> Vec<&str> {
        let actors = self
            .actors
            .iter()
            .filter_map(|a| a.user.as_ref())
            .filter(|u| u.user_type.as_deref() == Some(user_type))
            .filter_map(|u| u.name.as_deref());
        let owners = self
            .resources_of(ACCESS_KEY)
            .filter_map(|r| r.data.as_ref()?.access_key.as_ref())
            .filter(|k| k.user_type.as_deref() == Some(user_type))
            .filter_map(|k| k.user_name.as_deref());
        let mut out: Vec<&str> = Vec::new();
        for name in actors.chain(owners) {
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }
}

impl SequenceResource {
    /// An S3 bucket's name: from its ARN (`arn:aws:s3:::name`), else the resource's name.
    pub fn bucket_name(&self) -> Option<&str> {
        self.uid
            .split_once(":s3:::")
            .map(|(_, name)| name)
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .or(self.name.as_deref())
    }

    /// An EC2 instance's id: the uid itself (`i-…`) or the end of its ARN.
    pub fn instance_id(&self) -> Option<&str> {
        let id = self
            .uid
            .rsplit_once(":instance/")
            .map_or(self.uid.as_str(), |(_, id)| id);
        id.starts_with("i-").then_some(id)
    }

    /// A cluster's name: the end of its ARN (`…:cluster/name`), else the resource's name.
    pub fn cluster_name(&self) -> Option<&str> {
        self.uid
            .rsplit_once(":cluster/")
            .map(|(_, n)| n)
            .or(self.name.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind};

    const IAM_SEQUENCE: &str = include_str!(
        "../../../tests/fixtures/events/aws.guardduty/finding-attacksequence-iam-compromisedcredentials.json"
    );

    fn sequence_of(text: &str) -> Sequence {
        let event = Event::from_json(text).unwrap();
        let EventKind::GuardDutyFinding(f) = event.kind else {
            panic!("not a finding")
        };
        f.sequence().cloned().unwrap()
    }

    /// The fixture with `detail.service.detection.sequence` changed by `edit`.
    fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut v: serde_json::Value = serde_json::from_str(IAM_SEQUENCE).unwrap();
        edit(&mut v["detail"]["service"]["detection"]["sequence"]);
        v.to_string()
    }

    #[test]
    fn the_sequence_is_read_into_the_typed_model() {
        let raw: serde_json::Value = serde_json::from_str(IAM_SEQUENCE).unwrap();
        let want = &raw["detail"]["service"]["detection"]["sequence"];
        let seq = sequence_of(IAM_SEQUENCE);
        assert_eq!(seq.uid.as_deref(), want["uid"].as_str());
        assert_eq!(seq.actors.len(), want["actors"].as_array().unwrap().len());
        assert_eq!(
            seq.resources.len(),
            want["resources"].as_array().unwrap().len()
        );
        assert_eq!(seq.signals.len(), want["signals"].as_array().unwrap().len());
        assert_eq!(
            seq.endpoints.len(),
            want["endpoints"].as_array().unwrap().len()
        );
        for (got, w) in seq
            .resources
            .iter()
            .zip(want["resources"].as_array().unwrap())
        {
            assert_eq!(Some(got.uid.as_str()), w["uid"].as_str());
            assert_eq!(Some(got.resource_type.as_str()), w["resourceType"].as_str());
        }
        for (got, w) in seq.signals.iter().zip(want["signals"].as_array().unwrap()) {
            assert_eq!(Some(got.name.as_str()), w["name"].as_str());
            assert_eq!(got.count, w["count"].as_u64());
            assert_eq!(
                got.first_seen_at
                    .as_ref()
                    .and_then(Timestamp::epoch_seconds),
                w["firstSeenAt"].as_f64()
            );
            assert_eq!(
                got.endpoint_ids.len(),
                w["endpointIds"].as_array().unwrap().len()
            );
            assert_eq!(
                got.signal_indicators.len(),
                w["signalIndicators"].as_array().unwrap().len()
            );
        }
        let session = seq.actors.iter().find_map(|a| a.session.as_ref()).unwrap();
        assert_eq!(session.uid.as_deref(), Some("1234567891"));
        assert_eq!(seq.iam_users(), ["john_doe"]);
        assert_eq!(seq.iam_roles(), ["ec2_instance_role_production"]);
        let endpoint = &seq.endpoints[0];
        assert_eq!(endpoint.ip.as_deref(), Some("203.0.113.1"));
        assert_eq!(
            endpoint.autonomous_system.as_ref().and_then(|a| a.number),
            Some(64496)
        );
    }

    #[test]
    fn unknown_members_are_tolerated() {
        let text = edited(|s| {
            s["futureMember"] = serde_json::json!({"x": [1, 2]});
            s["resources"][0]["data"]["somethingNew"] = serde_json::json!(true);
            s["signals"][0]["newScore"] = serde_json::json!(0.5);
        });
        assert_eq!(sequence_of(&text).resources.len(), 2);
    }

    #[test]
    fn bad_shapes_are_errors_naming_the_field() {
        type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|s| s["signals"][1]["count"] = "many".into()),
                "detail.service.detection.sequence.signals[1].count",
            ),
            (
                Box::new(|s| {
                    s["resources"][0].as_object_mut().unwrap().remove("uid");
                }),
                "detail.service.detection.sequence.resources[0].uid",
            ),
            (
                Box::new(|s| {
                    s["signals"][0].as_object_mut().unwrap().remove("name");
                }),
                "detail.service.detection.sequence.signals[0].name",
            ),
            (
                Box::new(|s| s["actors"] = serde_json::json!({"not": "a list"})),
                "detail.service.detection.sequence.actors",
            ),
            (
                Box::new(|s| s["signals"][0]["firstSeenAt"] = serde_json::json!([1])),
                "detail.service.detection.sequence.signals[0].firstSeenAt",
            ),
        ];
        for (edit, field) in cases {
            let err = Event::from_json(&edited(edit)).unwrap_err();
            assert_eq!(err.field(), Some(field), "{err}");
        }
    }

    fn signal(name: &str, severity: f64, count: u64, first: Option<f64>) -> Signal {
        Signal {
            name: name.to_string(),
            severity: Some(severity),
            count: Some(count),
            first_seen_at: first.map(Timestamp::Epoch),
            ..Signal::default()
        }
    }

    #[test]
    fn top_signals_are_the_most_severe_then_put_in_time_order() {
        let seq = Sequence {
            signals: vec![
                signal("low-early", 2.0, 100, Some(1.0)),
                signal("high-late", 8.0, 1, Some(50.0)),
                signal("mid-early", 5.0, 3, Some(10.0)),
                signal("high-early", 8.0, 2, Some(20.0)),
                signal("mid-untimed", 5.0, 9, None),
                signal("mid-last", 5.0, 1, Some(99.0)),
            ],
            ..Sequence::default()
        };
        let names: Vec<&str> = seq.top_signals(5).iter().map(|s| s.name.as_str()).collect();
        // low-early is the least important and drops out, even though it came first.
        assert_eq!(
            names,
            [
                "mid-early",
                "high-early",
                "high-late",
                "mid-last",
                "mid-untimed"
            ]
        );
    }

    #[test]
    fn timestamps_read_as_epoch_or_text() {
        let e = Timestamp::Epoch(1_740_514_320.0);
        let t = Timestamp::Text("2025-02-25T20:12:00Z".into());
        assert_eq!(e.epoch_seconds(), t.epoch_seconds());
        assert_eq!(e.display(), "2025-02-25T20:12:00Z");
        assert_eq!(Timestamp::Text("soon".into()).epoch_seconds(), None);
    }

    #[test]
    fn resource_names_come_from_their_identifiers() {
        let r = |uid: &str, name: Option<&str>| SequenceResource {
            uid: uid.into(),
            name: name.map(Into::into),
            ..SequenceResource::default()
        };
        assert_eq!(r("arn:aws:s3:::b1", None).bucket_name(), Some("b1"));
        assert_eq!(r("x", Some("b2")).bucket_name(), Some("b2"));
        assert_eq!(
            r("arn:aws:ec2:us-east-1:123456789012:instance/i-0abc", None).instance_id(),
            Some("i-0abc")
        );
        assert_eq!(r("i-0def", None).instance_id(), Some("i-0def"));
        assert_eq!(r("vol-1", None).instance_id(), None);
        assert_eq!(
            r("arn:aws:eks:us-east-1:123456789012:cluster/prod", None).cluster_name(),
            Some("prod")
        );
    }
}
