//! The resources an attack sequence lists, as action targets. Only `resources` count (never the
//! description, the signals or the actors' words), and only resources of the finding's own
//! account: a listed resource that names another account is refused, not acted on there.
//!
//! * `ACCESS_KEY` of an IAM user, `AKIA…`: deactivate that key. A session key (`ASIA…`) or a
//!   key of any other principal is never deactivated.
//! * `ACCESS_KEY` of an assumed role: revoke the role's sessions (GuardDuty's `userName` of an
//!   AssumedRole principal is the role name).
//! * `EC2_INSTANCE`: isolate the instance, in the region the resource names.

use super::Target;
use crate::event::sequence::{self, Sequence, SequenceResource};
use crate::event::{Event, EventKind, Finding};

/// The finding and its sequence, when the event is an attack-sequence finding.
pub fn of(event: &Event) -> Option<(&Finding, &Sequence)> {
    let EventKind::GuardDutyFinding(f) = &event.kind else {
        return None;
    };
    if f.resource.resource_type != "AttackSequence" {
        return None;
    }
    Some((f, f.sequence()?))
}

/// A listed resource is acted on only in the finding's own account.
fn same_account(f: &Finding, r: &SequenceResource) -> Result<(), String> {
    match r.account_id.as_deref() {
        Some(a) if !a.is_empty() && a != f.account_id => Err(format!(
            "{} {} is in account {a}, not the finding's account {}: not acted on",
            r.resource_type, r.uid, f.account_id
        )),
        _ => Ok(()),
    }
}

/// A name IAM accepts for a user or a role.
fn iam_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'=' | b',' | b'.' | b'@' | b'_' | b'-')
        })
}

/// The long-term IAM user keys the sequence lists: one entry per `ACCESS_KEY` resource.
pub fn access_keys(f: &Finding, seq: &Sequence) -> Vec<Result<Target, String>> {
    seq.resources_of(sequence::ACCESS_KEY)
        .map(|r| {
            same_account(f, r)?;
            let key = &r.uid;
            let owner = r.data.as_ref().and_then(|d| d.access_key.as_ref());
            if !key.starts_with("AKIA")
                || key.len() < 16
                || key.len() > 128
                || !key.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(format!(
                    "key {key} is not a long-term IAM user key (AKIA…): never deactivated"
                ));
            }
            let owner = owner
                .filter(|k| k.user_type.as_deref() == Some("IAMUser"))
                .ok_or_else(|| format!("key {key} is not listed as an IAM user's key"))?;
            let user_name = owner
                .user_name
                .clone()
                .filter(|u| iam_name(u))
                .ok_or_else(|| format!("key {key} names no IAM user name"))?;
            Ok(Target::AccessKey {
                user_name,
                access_key_id: key.clone(),
            })
        })
        .collect()
}

/// The roles whose session keys the sequence lists: one entry per `ACCESS_KEY` resource of an
/// assumed role (each role once).
pub fn roles(f: &Finding, seq: &Sequence) -> Vec<Result<Target, String>> {
    let mut out: Vec<Result<Target, String>> = Vec::new();
    for r in seq.resources_of(sequence::ACCESS_KEY) {
        let Some(owner) = r
            .data
            .as_ref()
            .and_then(|d| d.access_key.as_ref())
            .filter(|k| k.user_type.as_deref() == Some("AssumedRole"))
        else {
            continue;
        };
        let bound = same_account(f, r).and_then(|()| {
            let role_name = owner
                .user_name
                .clone()
                .filter(|u| iam_name(u))
                .ok_or_else(|| format!("session key {} names no role name", r.uid))?;
            Ok(Target::Role { role_name })
        });
        if !out.contains(&bound) {
            out.push(bound);
        }
    }
    out
}

/// The instances the sequence lists, each with the region it names (else `default_region`).
pub fn instances(
    f: &Finding,
    seq: &Sequence,
    default_region: &str,
) -> Vec<Result<(String, Target), String>> {
    seq.resources_of(sequence::EC2_INSTANCE)
        .map(|r| {
            same_account(f, r)?;
            let id = r
                .instance_id()
                .filter(|id| id.len() <= 19 && id[2..].bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| format!("EC2_INSTANCE {} names no instance id (i-…)", r.uid))?;
            let region = r
                .region
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| default_region.to_string());
            Ok((
                region,
                Target::Instance {
                    instance_id: id.to_string(),
                },
            ))
        })
        .collect()
}

/// For an action that acts on a kind of listed resource: an error entry when the sequence lists
/// none, so the plan says why nothing was done.
pub fn or_none<T>(found: Vec<Result<T, String>>, what: &str) -> Vec<Result<T, String>> {
    if found.is_empty() {
        vec![Err(format!("the attack sequence lists no {what}"))]
    } else {
        found
    }
}
