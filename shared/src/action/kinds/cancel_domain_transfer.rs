//! `cancel_domain_transfer`: `route53domains:CancelDomainTransferToAnotherAwsAccount` on the domain
//! a TransferDomainToAnotherAwsAccount call offered to another account, in the call's account,
//! before that account accepts it (it has 3 days). Route 53 Domains is served in us-east-1 only.
//! No read first: the API offers none that says whether a transfer is pending, so a domain with
//! none (already accepted, cancelled or expired) fails with the service's error, never "already
//! done".

use serde_json::Value;

use super::enable_domain_transfer_lock::{bind_domain, domain_params, is_domains_call};
use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "cancel_domain_transfer"
    }
    fn summary(&self) -> &'static str {
        "Cancel the transfer of a Route 53 domain to another AWS account that a TransferDomainToAnotherAwsAccount call started, before that account accepts it (in us-east-1)"
    }
    fn api(&self) -> &'static str {
        "route53domains:CancelDomainTransferToAnotherAwsAccount"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::anywhere_in_domains_region(&[
            "route53domains:CancelDomainTransferToAnotherAwsAccount",
        ])];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "domain transfer cancelled",
            already: "domain transfer already cancelled",
            would: "would cancel the domain transfer",
            noun: "domain transfer cancel",
            withheld: "cancel the domain's transfer to another account",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        bind_domain(self, event, "TransferDomainToAnotherAwsAccount")
    }
    fn params(&self, target: &Target) -> Value {
        domain_params(target)
    }
    fn describe(&self, action: &Action) -> String {
        format!("cancel the transfer of {} to another account", action.resource())
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        is_domains_call(call, "CancelDomainTransferToAnotherAwsAccount")
    }
}
