//! `enable_domain_transfer_lock`: `route53domains:EnableDomainTransferLock` on the domain a
//! DisableDomainTransferLock call unlocked, in the call's account. Route 53 Domains is served in
//! us-east-1 only: the call goes there whatever region the function runs in. The domain's status
//! is read first (GetDomainDetail): a domain that is locked again (`clientTransferProhibited`) is
//! already done. Route 53 Domains changes the lock asynchronously: the outcome gives the
//! operation's ID, not the lock read back.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, DOMAINS_REGION, Grant, Target, Words};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

/// The status Route 53 Domains gives a locked domain (the executor reads it).
/// The status that locks a domain against transfers.
pub const LOCKED: &str = "clientTransferProhibited";

/// A domain name as Route 53 Domains accepts it: up to 255 lowercase letters, digits, hyphens
/// and dots, with at least one dot (internationalized names arrive in their `xn--` form).
pub(crate) fn domain_name_ok(name: &str) -> bool {
    name.len() <= 255
        && name.contains('.')
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// Whether a CloudTrail `eventName` is the operation: the Route 53 Developer Guide says CloudTrail
/// writes domain registration actions with a lowercase first letter (`updateDomainContact`);
/// the public catalogs' rules name them as the API does. Both are taken.
pub(crate) fn is_operation(event_name: &str, operation: &str) -> bool {
    event_name == operation
        || (event_name.get(..1) == operation.get(..1).map(str::to_ascii_lowercase).as_deref()
            && event_name.get(1..) == operation.get(1..))
}

/// The domain a Route 53 Domains call names: `requestParameters.domainName`, as a string or, as
/// the Route 53 Developer Guide's example record gives it, an object with `name`.
pub(crate) fn domain_of(def: &dyn ActionDef, event: &Event, operation: &str) -> Result<String, String> {
    let EventKind::CloudTrailCall(c) = &event.kind else {
        return Err(def.unsupported(event));
    };
    if c.event_source != "route53domains.amazonaws.com" || !is_operation(&c.event_name, operation) {
        return Err(format!(
            "{} acts on {operation} calls, not {}",
            def.name(),
            c.event_name
        ));
    }
    let field = c
        .request_parameters
        .get("domainName")
        .ok_or("requestParameters.domainName is missing")?;
    let name = field
        .as_str()
        .or_else(|| field.get("name").and_then(Value::as_str))
        .ok_or("requestParameters.domainName is not a domain name")?
        .to_ascii_lowercase();
    if !domain_name_ok(&name) {
        return Err("requestParameters.domainName is not a domain name".to_string());
    }
    Ok(name)
}

/// Where a Route 53 Domains action acts: the domain the `operation` call names, in us-east-1.
pub(crate) fn bind_domain(
    def: &dyn ActionDef,
    event: &Event,
    operation: &str,
) -> Result<(String, Target), String> {
    let name = domain_of(def, event, operation)?;
    Ok((DOMAINS_REGION.to_string(), Target::Domain { name }))
}

/// The request of a Route 53 Domains action: the domain's name.
pub(crate) fn domain_params(target: &Target) -> Value {
    match target {
        Target::Domain { name } => json!({"DomainName": name}),
        _ => Value::Null,
    }
}

/// Whether a CloudTrail call is the Route 53 Domains `operation` (an action's own restoring call).
pub(crate) fn is_domains_call(call: &CloudTrailCall, operation: &str) -> Option<bool> {
    (call.event_source == "route53domains.amazonaws.com"
        && is_operation(&call.event_name, operation))
    .then_some(true)
}

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "enable_domain_transfer_lock"
    }
    fn summary(&self) -> &'static str {
        "Lock the Route 53 domain a DisableDomainTransferLock call unlocked against transfers again (in us-east-1, where Route 53 Domains is served)"
    }
    fn api(&self) -> &'static str {
        "route53domains:EnableDomainTransferLock"
    }
    fn grants(&self) -> &'static [Grant] {
        // Route 53 Domains has no resource types: every resource, the write held to us-east-1.
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["route53domains:GetDomainDetail"]),
            Grant::anywhere_in_domains_region(&["route53domains:EnableDomainTransferLock"]),
        ];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "domain transfer lock requested",
            already: "domain already locked",
            would: "would lock the domain against transfers",
            noun: "domain transfer lock",
            withheld: "lock the domain against transfers",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        bind_domain(self, event, "DisableDomainTransferLock")
    }
    fn params(&self, target: &Target) -> Value {
        domain_params(target)
    }
    fn describe(&self, action: &Action) -> String {
        format!("lock {} against transfers", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        is_domains_call(call, "EnableDomainTransferLock")
    }
}
