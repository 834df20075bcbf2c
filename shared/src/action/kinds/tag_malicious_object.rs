//! `tag_malicious_object` (containment, opt-in): adds the tag `mamoru-malware=THREATS_FOUND` to
//! the S3 object version in which Malware Protection for S3 found a threat, keeping its other
//! tags, so that a bucket policy denying `s3:GetObject` on objects with that tag keeps it from
//! being read. Only that version: a scan result without a version id binds nothing (the
//! object's current version may be a later upload). Undo: remove the tag (`PutObjectTagging`
//! with the other tags).
//!
//! S3 replaces an object's whole tag set and has no conditional write: a tag another writer
//! (GuardDuty's own `GuardDutyMalwareScanStatus`, when the plan tags objects) puts on the version
//! between the read and the write is lost. The outcome records the tags before and after.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is};
use crate::event::{CloudTrailCall, DT_MALWARE_OBJECT_SCAN_RESULT, Event, EventKind, ServiceEvent};

pub struct Def;

/// The tag mamoru sets.
pub const TAG_KEY: &str = "mamoru-malware";
pub const TAG_VALUE: &str = "THREATS_FOUND";

const OBJECTS: &str = "arn:${AWS::Partition}:s3:::*/*";

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "tag_malicious_object"
    }
    fn summary(&self) -> &'static str {
        "Tag the S3 object a malware scan found a threat in (mamoru-malware=THREATS_FOUND), keeping its other tags, for a bucket policy to deny reads (containment)"
    }
    fn api(&self) -> &'static str {
        "s3:PutObjectTagging"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(
            &["s3:GetObjectVersionTagging", "s3:PutObjectVersionTagging"],
            &[OBJECTS],
        )];
        GRANTS
    }
    fn containment(&self) -> bool {
        true
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_MALWARE_OBJECT_SCAN_RESULT]
    }
    fn words(&self) -> Words {
        Words {
            done: "object tagged",
            already: "object already tagged",
            would: "would tag object",
            noun: "object tagging",
            withheld: "tag the malicious object",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::GuardDutyService(s) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let ServiceEvent::ObjectScanResult(r) = s.as_ref() else {
            return Err(self.unsupported(event));
        };
        if r.scan_result_details.scan_result_status != "THREATS_FOUND" {
            return Err(format!(
                "the scan result is {}, not THREATS_FOUND",
                r.scan_result_details.scan_result_status
            ));
        }
        let o = &r.s3_object_details;
        if o.bucket_name.is_empty() || o.object_key.is_empty() {
            return Err("the scan result names no bucket or key".into());
        }
        Ok((
            event.region.clone(),
            Target::Object {
                bucket: o.bucket_name.clone(),
                key: o.object_key.clone(),
                version_id: o
                    .version_id
                    .clone()
                    .filter(|v| !v.is_empty())
                    .ok_or("the scan result names no object version (versionId)")?,
            },
        ))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Object {
                bucket,
                key,
                version_id,
            } => {
                json!({
                    "Bucket": bucket,
                    "Key": key,
                    "VersionId": version_id,
                    "Tagging": format!("the object's tags, plus {TAG_KEY}={TAG_VALUE}"),
                })
            }
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!("tag {} {TAG_KEY}={TAG_VALUE}", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        // mamoru's own tagging adds its tag; any other tagging call is someone else's.
        call_is(call, "s3.amazonaws.com", "PutObjectTagging").then(|| {
            call.request_parameters
                .get("Tagging")
                .is_some_and(|t| t.to_string().contains(TAG_KEY))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::action::{ActionDef, Target};
    use crate::event::Event;

    const THREATS: &str = include_str!(
        "../../../../tests/fixtures/events/aws.guardduty/malware-s3-object-scan-threats-found.json"
    );
    const DENIED: &str = include_str!(
        "../../../../tests/fixtures/events/aws.guardduty/malware-s3-object-scan-access-denied.json"
    );

    #[test]
    fn binds_only_the_named_version_of_an_object_with_a_threat() {
        let bound = super::Def
            .bind(&Event::from_json(THREATS).unwrap())
            .unwrap();
        assert_eq!(
            bound,
            (
                "ca-central-1".to_string(),
                Target::Object {
                    bucket: "bucketName".into(),
                    key: "objectKey".into(),
                    version_id: "NpeIP.i5R7OBO0bChPbGTmSsym5UohWS".into(),
                }
            )
        );
        let err = super::Def
            .bind(&Event::from_json(DENIED).unwrap())
            .unwrap_err();
        assert!(err.contains("ACCESS_DENIED"), "{err}");
        let mut v: serde_json::Value = serde_json::from_str(THREATS).unwrap();
        v["detail"]["s3ObjectDetails"]
            .as_object_mut()
            .unwrap()
            .remove("versionId");
        let err = super::Def
            .bind(&Event::from_json(&v.to_string()).unwrap())
            .unwrap_err();
        assert!(err.contains("versionId"), "{err}");
    }
}
