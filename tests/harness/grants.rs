//! The IAM actions a request seen on the wire needs, and the grants an action declares.
//!
//! moto does not enforce IAM, so a call an executor starts making without a grant would pass
//! every moto test and fail in production with AccessDenied. The recording proxy
//! ([`crate::faults::FaultProxy`]) sees every request; [`iam_action`] names the IAM action each
//! one needs, from the request alone (SigV4 signing name + operation; for the REST protocols the
//! method and path, as the services' API references define them). It does not look at mamoru's
//! declarations: those come from [`declared`], a thin wrapper over the library's public API.

use std::collections::BTreeSet;

use crate::faults::Seen;

/// The IAM action a request needs, as `prefix:Action`; `Ok(None)` for a call that needs no
/// permission (`sts:GetCallerIdentity`: "No permissions are required to perform this
/// operation", STS API reference). `Err` names a request this table cannot map: add it here,
/// from the service's API reference, never from mamoru's code.
pub fn iam_action(seen: &Seen) -> Result<Option<String>, String> {
    let service = seen.service.as_str();
    let unmapped = || {
        Err(format!(
            "unmapped request: service {service:?}, {} {} (operation {:?})",
            seen.method, seen.path, seen.operation
        ))
    };
    match service {
        // REST-JSON: the operation is the method and the path (GuardDuty API reference).
        "guardduty" => {
            let path = seen.path.split('?').next().unwrap_or_default();
            let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
            let op = match (seen.method.as_str(), parts.as_slice()) {
                ("GET", ["detector"]) => "ListDetectors",
                ("POST", ["detector"]) => "CreateDetector",
                ("GET", ["detector", _]) => "GetDetector",
                ("POST", ["detector", _]) => "UpdateDetector",
                ("DELETE", ["detector", _]) => "DeleteDetector",
                ("GET", ["detector", _, "ipset"]) => "ListIPSets",
                ("GET", ["detector", _, "ipset", _]) => "GetIPSet",
                ("POST", ["detector", _, "ipset", _]) => "UpdateIPSet",
                _ => return unmapped(),
            };
            Ok(Some(format!("guardduty:{op}")))
        }
        // REST-XML, path style: the subresource names the operation, and IAM names the bucket
        // configuration calls `…Bucket…` (Amazon S3 "Actions, resources, and condition keys").
        // S3 Control signs as `s3` too; its operations are under `/v20180820/`. The account's
        // public access block: GetPublicAccessBlock needs s3:GetAccountPublicAccessBlock,
        // PutPublicAccessBlock and DeletePublicAccessBlock s3:PutAccountPublicAccessBlock (Amazon
        // S3 API reference, S3 Control).
        "s3" if seen.path.starts_with("/v20180820/") => {
            let path = seen.path.split('?').next().unwrap_or_default();
            let op = match (seen.method.as_str(), path) {
                ("GET", "/v20180820/configuration/publicAccessBlock") => {
                    "GetAccountPublicAccessBlock"
                }
                ("PUT" | "DELETE", "/v20180820/configuration/publicAccessBlock") => {
                    "PutAccountPublicAccessBlock"
                }
                _ => return unmapped(),
            };
            Ok(Some(format!("s3:{op}")))
        }
        "s3" => {
            let query = seen.path.split_once('?').map(|(_, q)| q).unwrap_or("");
            let sub: BTreeSet<&str> = query
                .split('&')
                .map(|kv| kv.split('=').next().unwrap_or_default())
                .collect();
            let versioned = sub.contains("versionId");
            let op = if sub.contains("tagging") {
                // An object's tags; with versionId, the version's (Amazon S3 "Actions, resources,
                // and condition keys": GetObjectVersionTagging, PutObjectVersionTagging).
                match (seen.method.as_str(), versioned) {
                    ("GET", false) => "GetObjectTagging",
                    ("GET", true) => "GetObjectVersionTagging",
                    ("PUT", false) => "PutObjectTagging",
                    ("PUT", true) => "PutObjectVersionTagging",
                    _ => return unmapped(),
                }
            } else if sub.contains("publicAccessBlock") {
                match seen.method.as_str() {
                    "GET" => "GetBucketPublicAccessBlock",
                    // DeletePublicAccessBlock is authorized as s3:PutBucketPublicAccessBlock.
                    "PUT" | "DELETE" => "PutBucketPublicAccessBlock",
                    _ => return unmapped(),
                }
            } else if sub.contains("versioning") {
                // GetBucketVersioning and PutBucketVersioning are authorized by the IAM actions
                // of the same names.
                match seen.method.as_str() {
                    "GET" => "GetBucketVersioning",
                    "PUT" => "PutBucketVersioning",
                    _ => return unmapped(),
                }
            } else {
                return unmapped();
            };
            Ok(Some(format!("s3:{op}")))
        }
        // REST-JSON: the operation is the method and the path, under its API version (Lambda
        // API reference: PutFunctionConcurrency, GetFunctionConcurrency).
        "lambda" => {
            let path = seen.path.split('?').next().unwrap_or_default();
            let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
            let op = match (seen.method.as_str(), parts.as_slice()) {
                ("PUT", [_, "functions", _, "concurrency"]) => "PutFunctionConcurrency",
                ("GET", [_, "functions", _, "concurrency"]) => "GetFunctionConcurrency",
                ("DELETE", [_, "functions", _, "concurrency"]) => "DeleteFunctionConcurrency",
                _ => return unmapped(),
            };
            Ok(Some(format!("lambda:{op}")))
        }
        "" => unmapped(),
        _ => {
            // JSON protocols name the operation in X-Amz-Target (`Prefix_Version.Operation`),
            // the query protocols in `Action=`; the IAM prefix is the signing name.
            let op = seen.operation.rsplit('.').next().unwrap_or_default();
            if op.is_empty() || op.contains(' ') || op.contains('/') {
                return unmapped();
            }
            if service == "sts" && op == "GetCallerIdentity" {
                return Ok(None);
            }
            Ok(Some(format!("{service}:{op}")))
        }
    }
}

/// The IAM actions every request in `seen` needs.
pub fn needed(seen: &[Seen]) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    for s in seen {
        if let Some(a) = iam_action(s)? {
            out.insert(a);
        }
    }
    Ok(out)
}

/// The grants mamoru declares for the action named `name` (as outcomes and rules name it).
pub fn declared(name: &str) -> BTreeSet<String> {
    let kind = mamoru::action::ActionKind::ALL
        .iter()
        .copied()
        .find(|k| k.name() == name)
        .unwrap_or_else(|| panic!("no action kind named {name}"));
    kind.permissions().iter().map(|p| p.to_string()).collect()
}

/// The name of every action kind.
pub fn every_action() -> Vec<&'static str> {
    mamoru::action::ActionKind::ALL
        .iter()
        .copied()
        .map(|k| k.name())
        .collect()
}
