//! What an alert names beyond the principal and the resource, one line each: the signals,
//! principals and resources of an attack sequence; the instance, container and process of a
//! Runtime Monitoring finding; the database and its user of an RDS Protection finding; the
//! function of a Lambda Protection finding; the object and threats of a malware scan.
//!
//! Values are the event's words (masked with the rest of the plan, bounded and made inert by
//! each renderer). A line may point at a resource by a typed identifier ([`Linked`]): the
//! notification builds the console link from that, never from the text shown.

use serde::Serialize;

use crate::event::guardduty_events::ServiceEvent;
use crate::event::sequence::{self, Sequence};
use crate::event::{Event, EventKind, Finding};

/// How many signals of an attack sequence an alert shows.
pub const TOP_SIGNALS: usize = 5;

/// At most this many lines per event: the rest are counted in a last line.
pub const MAX_DETAILS: usize = 40;

/// One line of an alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detail {
    pub label: &'static str,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Linked>,
}

/// A resource a console link can be built for, by its identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Linked {
    IamUser { name: String },
    IamRole { name: String },
    Bucket { name: String },
    Instance { id: String, region: String },
    EksCluster { name: String, region: String },
    EcsCluster { name: String, region: String },
    DbInstance { id: String, region: String },
    DbCluster { id: String, region: String },
    Function { name: String, region: String },
}

fn line(label: &'static str, value: impl Into<String>) -> Detail {
    Detail {
        label,
        value: value.into(),
        link: None,
    }
}

fn linked(label: &'static str, value: impl Into<String>, link: Linked) -> Detail {
    Detail {
        label,
        value: value.into(),
        link: Some(link),
    }
}

fn some(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

/// The lines an event's alert shows.
pub fn details_of(event: &Event) -> Vec<Detail> {
    let mut out = match &event.kind {
        EventKind::GuardDutyFinding(f) => finding_details(f, &event.region),
        EventKind::GuardDutyService(s) => service_details(s, &event.region),
        _ => Vec::new(),
    };
    if out.len() > MAX_DETAILS {
        let more = out.len() - (MAX_DETAILS - 1);
        out.truncate(MAX_DETAILS - 1);
        out.push(line("More", format!("{more} more lines in the finding")));
    }
    out
}

fn finding_details(f: &Finding, region: &str) -> Vec<Detail> {
    let mut out = Vec::new();
    if let Some(seq) = f.sequence() {
        sequence_details(seq, region, &mut out);
    }
    let r = &f.resource;
    // Runtime Monitoring and Malware Protection for EC2: instance, container, process.
    let runtime = f.service.runtime_details.is_some()
        || r.container_details.is_some()
        || f.finding_type.ends_with("/MaliciousFile");
    if runtime
        && let Some(id) = some(
            r.instance_details
                .as_ref()
                .and_then(|i| i.instance_id.as_deref()),
        )
    {
        out.push(linked(
            "EC2 instance",
            id,
            Linked::Instance {
                id: id.to_string(),
                region: region.to_string(),
            },
        ));
    }
    if let Some(c) = &r.container_details {
        let what: Vec<&str> = [c.name.as_deref(), c.id.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        if !what.is_empty() {
            out.push(line("Container", what.join(" ")));
        }
        if let Some(image) = some(c.image.as_deref()) {
            out.push(line("Image", image));
        }
    }
    if let Some(e) = &r.eks_cluster_details
        && let Some(name) = some(e.name.as_deref())
    {
        out.push(linked(
            "EKS cluster",
            name,
            Linked::EksCluster {
                name: name.to_string(),
                region: region.to_string(),
            },
        ));
    }
    if let Some(p) = f
        .service
        .runtime_details
        .as_ref()
        .and_then(|d| d.process.as_ref())
    {
        if let Some(name) = some(p.name.as_deref()) {
            let user = some(p.user.as_deref())
                .map(|u| format!(" (user {u})"))
                .unwrap_or_default();
            out.push(line("Process", format!("{name}{user}")));
        }
        if let Some(path) = some(p.executable_path.as_deref()) {
            out.push(line("Executable", path));
        }
        if let Some(sha) = some(p.executable_sha256.as_deref()) {
            out.push(line("SHA-256", sha));
        }
    }
    // RDS Protection: the database, its engine, the database user and the remote address.
    if let Some(db) = &r.rds_db_instance_details {
        if let Some(id) = some(db.db_instance_identifier.as_deref()) {
            out.push(linked(
                "DB instance",
                id,
                Linked::DbInstance {
                    id: id.to_string(),
                    region: region.to_string(),
                },
            ));
        }
        if let Some(id) = some(db.db_cluster_identifier.as_deref()) {
            out.push(linked(
                "DB cluster",
                id,
                Linked::DbCluster {
                    id: id.to_string(),
                    region: region.to_string(),
                },
            ));
        }
        if let Some(engine) = some(db.engine.as_deref()) {
            let version = some(db.engine_version.as_deref())
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            out.push(line("Engine", format!("{engine}{version}")));
        }
    }
    if let Some(u) = &r.rds_db_user_details {
        if let Some(user) = some(u.user.as_deref()) {
            out.push(line("DB user", user));
        }
        if let Some(db) = some(u.database.as_deref()) {
            out.push(line("Database", db));
        }
        if let Some(app) = some(u.application.as_deref()) {
            out.push(line("Application", app));
        }
    }
    if r.rds_db_instance_details.is_some()
        && let Some(ip) = f.service.action.as_ref().and_then(|a| a.remote_ip())
    {
        out.push(line("Remote IP", ip));
    }
    // Lambda Protection: the function and its version.
    if let Some(l) = &r.lambda_details {
        let name = some(l.function_name.as_deref()).or_else(|| {
            some(l.function_arn.as_deref())
                .and_then(|a| a.split(":function:").nth(1))
                .map(|rest| rest.split(':').next().unwrap_or(rest))
        });
        if let Some(name) = name {
            out.push(linked(
                "Lambda function",
                name,
                Linked::Function {
                    name: name.to_string(),
                    region: region.to_string(),
                },
            ));
        }
        if let Some(v) = some(l.function_version.as_deref()) {
            out.push(line("Version", v));
        }
    }
    // Malware Protection for S3 findings: the bucket (always, for an `Object:` finding: its
    // resource may name a principal instead), the objects and the threats.
    let object_finding = f.finding_type.starts_with("Object:");
    for b in &r.s3_bucket_details {
        if (object_finding || !b.s3_object_details.is_empty())
            && let Some(name) = some(b.name.as_deref())
        {
            out.push(linked(
                "S3 bucket",
                name,
                Linked::Bucket {
                    name: name.to_string(),
                },
            ));
        }
        for o in &b.s3_object_details {
            if let Some(key) = some(o.key.as_deref()) {
                out.push(line("Object key", key));
            }
            if let Some(v) = some(o.version_id.as_deref()) {
                out.push(line("Version", v));
            }
        }
    }
    if let Some(m) = &f.service.malware_scan_details {
        let names: Vec<&str> = m
            .threats
            .iter()
            .filter_map(|t| some(t.name.as_deref()))
            .collect();
        if !names.is_empty() {
            out.push(line("Threats", names.join(", ")));
        }
    }
    out
}

fn sequence_details(seq: &Sequence, region: &str, out: &mut Vec<Detail>) {
    for s in seq.top_signals(TOP_SIGNALS) {
        let when = s
            .first_seen_at
            .as_ref()
            .or(s.created_at.as_ref())
            .map(|t| format!("{} ", t.display()))
            .unwrap_or_default();
        let count = s
            .count
            .map(|c| format!(", seen {c} time{}", if c == 1 { "" } else { "s" }))
            .unwrap_or_default();
        let severity = s
            .severity
            .filter(|v| v.is_finite())
            .map(|v| format!(", severity {v:.1}"))
            .unwrap_or_default();
        out.push(line("Signal", format!("{when}{}{count}{severity}", s.name)));
    }
    for name in seq.iam_users() {
        out.push(linked(
            "IAM user",
            name,
            Linked::IamUser {
                name: name.to_string(),
            },
        ));
    }
    for name in seq.iam_roles() {
        out.push(linked(
            "IAM role",
            name,
            Linked::IamRole {
                name: name.to_string(),
            },
        ));
    }
    for r in seq.resources_of(sequence::ACCESS_KEY) {
        let owner = r.data.as_ref().and_then(|d| d.access_key.as_ref());
        let whose = owner
            .and_then(|k| {
                Some(format!(
                    " of {} {}",
                    k.user_type.as_deref()?,
                    k.user_name.as_deref()?
                ))
            })
            .unwrap_or_default();
        // The owner's line above links to the owner: a key has no console page of its own.
        out.push(line("Access key", format!("{}{whose}", r.uid)));
    }
    for r in seq.resources_of(sequence::S3_BUCKET) {
        if let Some(name) = r.bucket_name() {
            out.push(linked(
                "S3 bucket",
                name,
                Linked::Bucket {
                    name: name.to_string(),
                },
            ));
        }
    }
    let region_of =
        |r: &sequence::SequenceResource| some(r.region.as_deref()).unwrap_or(region).to_string();
    for r in seq.resources_of(sequence::EC2_INSTANCE) {
        let id = r.instance_id().unwrap_or(&r.uid);
        let link = r.instance_id().map(|id| Linked::Instance {
            id: id.to_string(),
            region: region_of(r),
        });
        out.push(Detail {
            label: "EC2 instance",
            value: id.to_string(),
            link,
        });
    }
    for (kind, label) in [
        (sequence::EKS_CLUSTER, "EKS cluster"),
        (sequence::ECS_CLUSTER, "ECS cluster"),
    ] {
        for r in seq.resources_of(kind) {
            let name = r.cluster_name().unwrap_or(&r.uid).to_string();
            let link = r.cluster_name().map(|n| {
                let (name, region) = (n.to_string(), region_of(r));
                if kind == sequence::EKS_CLUSTER {
                    Linked::EksCluster { name, region }
                } else {
                    Linked::EcsCluster { name, region }
                }
            });
            out.push(Detail {
                label,
                value: name,
                link,
            });
        }
    }
    for e in &seq.endpoints {
        let Some(addr) = some(e.ip.as_deref()).or(some(e.domain.as_deref())) else {
            continue;
        };
        let mut v = addr.to_string();
        if let Some(d) = some(e.domain.as_deref()).filter(|d| *d != addr) {
            v.push_str(&format!(" ({d})"));
        }
        if let Some(loc) = &e.location {
            let place: Vec<&str> = [loc.city.as_deref(), loc.country.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect();
            if !place.is_empty() {
                v.push_str(&format!(", {}", place.join(", ")));
            }
        }
        if let Some(n) = e.autonomous_system.as_ref().and_then(|a| a.number) {
            v.push_str(&format!(", AS{n}"));
        }
        out.push(line("Endpoint", v));
    }
    for i in &seq.sequence_indicators {
        if i.values.is_empty() {
            continue;
        }
        let label = match i.key.as_deref() {
            Some("ATTACK_TACTIC") => "Tactics",
            Some("ATTACK_TECHNIQUE") => "Techniques",
            Some("HIGH_RISK_API") => "High-risk APIs",
            Some("TOR_IP") => "Tor addresses",
            Some("MALICIOUS_IP") => "Malicious IPs",
            _ => "Indicator",
        };
        out.push(line(label, i.values.join(", ")));
    }
}

fn service_details(s: &ServiceEvent, region: &str) -> Vec<Detail> {
    let mut out = Vec::new();
    match s {
        ServiceEvent::ObjectScanResult(r) => {
            let o = &r.s3_object_details;
            out.push(linked(
                "S3 bucket",
                o.bucket_name.clone(),
                Linked::Bucket {
                    name: o.bucket_name.clone(),
                },
            ));
            out.push(line("Object key", o.object_key.clone()));
            if let Some(v) = some(o.version_id.as_deref()) {
                out.push(line("Version", v));
            }
            let status = match &r.scan_status {
                Some(s) => format!("{} ({s})", r.scan_result_details.scan_result_status),
                None => r.scan_result_details.scan_result_status.clone(),
            };
            out.push(line("Scan result", status));
            let threats = r.threat_names();
            if !threats.is_empty() {
                out.push(line("Threats", threats.join(", ")));
            }
        }
        ServiceEvent::PostScanActionFailed(p) => {
            // Only what the event names: a missing bucket or key is no line, never a guess.
            if let Some(b) = p.bucket() {
                out.push(linked(
                    "S3 bucket",
                    b,
                    Linked::Bucket {
                        name: b.to_string(),
                    },
                ));
            }
            if let Some(k) = p.key() {
                out.push(line("Object key", k));
            }
            if let Some(v) = p.version() {
                out.push(line("Version", v));
            }
        }
        ServiceEvent::RuntimeProtectionHealth(h) => {
            let status = match (h.current_status.as_deref(), h.previous_status.as_deref()) {
                (Some(c), Some(p)) => Some(format!("{c} (was {p})")),
                (Some(c), None) => Some(c.to_string()),
                _ => None,
            };
            if let Some(status) = status {
                out.push(line("Coverage", status));
            }
            if let Some(d) = &h.resource_details
                && let Some(name) = d
                    .eks_cluster_details
                    .as_ref()
                    .and_then(|e| some(e.cluster_name.as_deref()))
            {
                out.push(linked(
                    "EKS cluster",
                    name,
                    Linked::EksCluster {
                        name: name.to_string(),
                        region: region.to_string(),
                    },
                ));
            }
            if let Some(issue) = some(h.issue.as_deref()) {
                out.push(line("Issue", issue));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MALICIOUS_FILE: &str =
        include_str!("../../../tests/fixtures/events/findings/object-s3-maliciousfile.json");

    fn lines(event: &Event) -> Vec<(&'static str, String)> {
        details_of(event)
            .into_iter()
            .map(|d| (d.label, d.value))
            .collect()
    }

    /// An Object:S3/MaliciousFile finding names what it carries: the bucket always, the key, the
    /// version and the threats when the finding has the GuardDuty API reference's
    /// `S3BucketDetail.S3ObjectDetails` and `Service.MalwareScanDetails.Threats`.
    #[test]
    fn a_malicious_file_finding_names_the_object_and_threats_it_carries() {
        let event = Event::from_json(MALICIOUS_FILE).unwrap();
        // The fixture's resource is the sample's principal: the bucket is named all the same.
        assert_eq!(lines(&event), [("S3 bucket", "bucketName".to_string())]);

        let mut v: serde_json::Value = serde_json::from_str(MALICIOUS_FILE).unwrap();
        v["detail"]["resource"]["s3BucketDetails"][0]["s3ObjectDetails"] = serde_json::json!([
            {"key": "uploads/invoice.pdf", "versionId": "v2", "eTag": "e"}
        ]);
        v["detail"]["service"]["malwareScanDetails"] = serde_json::json!({
            "threats": [{"name": "EICAR-Test-File (not a virus)"}, {"name": ""}, {}]
        });
        let event = Event::from_json(&v.to_string()).unwrap();
        assert_eq!(
            lines(&event),
            [
                ("S3 bucket", "bucketName".to_string()),
                ("Object key", "uploads/invoice.pdf".to_string()),
                ("Version", "v2".to_string()),
                ("Threats", "EICAR-Test-File (not a virus)".to_string()),
            ]
        );
        let bucket = &details_of(&event)[0];
        assert_eq!(
            bucket.link,
            Some(Linked::Bucket {
                name: "bucketName".to_string()
            })
        );
    }
}
