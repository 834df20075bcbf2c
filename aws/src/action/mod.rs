//! Remediation actions, executed. What an action is (its name, grants, binding and words) is in
//! the core, `mamoru_core::action`, one file per action in `shared/src/action/kinds/`; here is
//! how each one runs against AWS, one file per action of the same name in `executors/`, and the
//! per-account clients and ports that run them.
//!
//! `executors!` is called with the core's registry (`mamoru_core::for_each_action!`): each
//! registered action gets its module here (a missing file does not compile) and an arm of a
//! `match` with no catch-all.

pub use mamoru_core::action::*;

mod accounts;
pub mod exec;
pub mod port;

pub use accounts::Actor;

/// The executors: `Variant => module in executors/`, for every line of the core's registry.
macro_rules! executors {
    ($($variant:ident => $module:ident),* $(,)?) => {
        /// One executor per action: `executors/<module>.rs`.
        mod executors {
            $(pub mod $module;)*
        }

        /// Runs the action's executor with one account's clients.
        pub(crate) async fn execute(clients: &exec::Clients, action: &Action) -> Outcome {
            use exec::Execute;
            match action.kind {
                $(ActionKind::$variant => mamoru_core::action::kinds::$module::Def.execute(clients, action).await),*
            }
        }
    };
}

mamoru_core::for_each_action!(executors);

#[cfg(test)]
mod exec_tests;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::iam_names::IAM_ACTIONS;

    /// The IAM names list against the AWS SDK: each entry's service and operation are the names the
    /// SDK's own operation metadata carries (a missing operation does not compile).
    #[test]
    fn iam_names_are_sdk_operations() {
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;

        fn meta(op: impl RuntimePlugin) -> (String, String) {
            let layer = op.config().expect("the operation's config layer");
            let m = layer.load::<Metadata>().expect("the operation's metadata");
            (m.service().to_string(), m.name().to_string())
        }
        let sdk: BTreeSet<(String, String)> = [
            meta(aws_sdk_cloudtrail::operation::describe_trails::DescribeTrails::new()),
            meta(aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectors::new()),
            meta(aws_sdk_cloudtrail::operation::get_trail_status::GetTrailStatus::new()),
            meta(aws_sdk_cloudtrail::operation::put_event_selectors::PutEventSelectors::new()),
            meta(aws_sdk_cloudtrail::operation::start_logging::StartLogging::new()),
            meta(aws_sdk_config::operation::start_configuration_recorder::StartConfigurationRecorder::new()),
            meta(aws_sdk_config::operation::describe_configuration_recorder_status::DescribeConfigurationRecorderStatus::new()),
            meta(aws_sdk_ec2::operation::create_security_group::CreateSecurityGroup::new()),
            meta(aws_sdk_ec2::operation::describe_instances::DescribeInstances::new()),
            meta(aws_sdk_ec2::operation::describe_flow_logs::DescribeFlowLogs::new()),
            meta(aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroups::new()),
            meta(aws_sdk_ec2::operation::modify_instance_attribute::ModifyInstanceAttribute::new()),
            meta(aws_sdk_ec2::operation::revoke_security_group_egress::RevokeSecurityGroupEgress::new()),
            meta(aws_sdk_ec2::operation::revoke_security_group_ingress::RevokeSecurityGroupIngress::new()),
            meta(aws_sdk_ec2::operation::describe_snapshot_attribute::DescribeSnapshotAttribute::new()),
            meta(aws_sdk_ec2::operation::modify_snapshot_attribute::ModifySnapshotAttribute::new()),
            meta(aws_sdk_ec2::operation::describe_image_attribute::DescribeImageAttribute::new()),
            meta(aws_sdk_ec2::operation::modify_image_attribute::ModifyImageAttribute::new()),
            meta(aws_sdk_ec2::operation::get_serial_console_access_status::GetSerialConsoleAccessStatus::new()),
            meta(aws_sdk_ec2::operation::disable_serial_console_access::DisableSerialConsoleAccess::new()),
            meta(aws_sdk_ec2::operation::get_ebs_encryption_by_default::GetEbsEncryptionByDefault::new()),
            meta(aws_sdk_ec2::operation::enable_ebs_encryption_by_default::EnableEbsEncryptionByDefault::new()),
            meta(aws_sdk_eventbridge::operation::enable_rule::EnableRule::new()),
            meta(aws_sdk_guardduty::operation::create_detector::CreateDetector::new()),
            meta(aws_sdk_guardduty::operation::get_detector::GetDetector::new()),
            meta(aws_sdk_guardduty::operation::list_detectors::ListDetectors::new()),
            meta(aws_sdk_guardduty::operation::update_detector::UpdateDetector::new()),
            meta(aws_sdk_guardduty::operation::update_ip_set::UpdateIPSet::new()),
            meta(aws_sdk_iam::operation::delete_login_profile::DeleteLoginProfile::new()),
            meta(aws_sdk_iam::operation::get_login_profile::GetLoginProfile::new()),
            meta(aws_sdk_iam::operation::get_user::GetUser::new()),
            meta(aws_sdk_iam::operation::put_role_policy::PutRolePolicy::new()),
            meta(aws_sdk_iam::operation::put_user_policy::PutUserPolicy::new()),
            meta(aws_sdk_iam::operation::update_access_key::UpdateAccessKey::new()),
            meta(aws_sdk_s3::operation::put_public_access_block::PutPublicAccessBlock::new()),
            meta(aws_sdk_route53domains::operation::get_domain_detail::GetDomainDetail::new()),
            meta(aws_sdk_route53domains::operation::cancel_domain_transfer_to_another_aws_account::CancelDomainTransferToAnotherAwsAccount::new()),
            meta(aws_sdk_route53domains::operation::enable_domain_transfer_lock::EnableDomainTransferLock::new()),
            meta(aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioning::new()),
            meta(aws_sdk_s3::operation::put_bucket_versioning::PutBucketVersioning::new()),
            meta(aws_sdk_s3::operation::get_object_tagging::GetObjectTagging::new()),
            meta(aws_sdk_s3control::operation::get_public_access_block::GetPublicAccessBlock::new()),
            meta(aws_sdk_s3control::operation::put_public_access_block::PutPublicAccessBlock::new()),
            meta(aws_sdk_s3::operation::put_object_tagging::PutObjectTagging::new()),
            meta(aws_sdk_lambda::operation::get_function_concurrency::GetFunctionConcurrency::new()),
            meta(aws_sdk_lambda::operation::put_function_concurrency::PutFunctionConcurrency::new()),
            meta(aws_sdk_rds::operation::describe_db_snapshot_attributes::DescribeDBSnapshotAttributes::new()),
            meta(aws_sdk_rds::operation::modify_db_snapshot_attribute::ModifyDBSnapshotAttribute::new()),
            meta(aws_sdk_rds::operation::describe_db_cluster_snapshot_attributes::DescribeDBClusterSnapshotAttributes::new()),
            meta(aws_sdk_rds::operation::modify_db_cluster_snapshot_attribute::ModifyDBClusterSnapshotAttribute::new()),
        ]
        .into_iter()
        .collect();
        let listed: BTreeSet<(String, String)> = IAM_ACTIONS
            .iter()
            .map(|a| (a.service.to_string(), a.operation.to_string()))
            .collect();
        assert_eq!(listed, sdk);
    }
}
