//! The write-back through the AWS SDK: `BatchUpdateFindings` (ASFF) or `BatchUpdateFindingsV2`
//! (OCSF) in the stack's own hub (the function's account and region, where Security Hub
//! delivered the finding's event), with the function's own role. Its grant is
//! [`super::GRANT`].

use aws_config::SdkConfig;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, NoteUpdate, OcsfFindingIdentifier, WorkflowStatus, WorkflowUpdate,
};

use super::{FindingUpdate, Schema, WriteBack, WriteBackOutcome, WriteStatus};

/// Writes back with one client, built once per container.
pub struct Hub {
    client: Client,
}

impl Hub {
    pub fn new(sdk: &SdkConfig) -> Hub {
        Hub {
            client: Client::new(sdk),
        }
    }

    async fn send(&self, update: &FindingUpdate) -> WriteBackOutcome {
        let failed = |code: Option<&str>, message: String, retryable: bool| WriteBackOutcome {
            error_code: Some(code.unwrap_or("error").to_string()),
            retryable: Some(retryable),
            ..WriteBackOutcome::new(
                update.clone(),
                WriteStatus::Failed,
                crate::redact::text(&message),
            )
        };
        let api = update.api();
        let written = || {
            WriteBackOutcome::new(
                update.clone(),
                WriteStatus::Written,
                match update.schema {
                    Schema::Asff => {
                        format!("workflow set to {}, note written", update.workflow.as_str())
                    }
                    Schema::Ocsf => format!(
                        "status set to {} ({}), comment written",
                        update.workflow.status_id(),
                        update.workflow.as_str()
                    ),
                },
            )
        };
        // Security Hub answers 200 and lists a finding it could not update.
        let unprocessed = |code: Option<&str>, message: Option<&str>| {
            failed(
                code,
                format!(
                    "{api} did not update the finding: {}: {}",
                    code.unwrap_or("error"),
                    message.unwrap_or("no message")
                ),
                false,
            )
        };
        let error =
            |f: crate::action::exec::Failure| failed(f.code.as_deref(), f.message, f.retryable);
        match update.schema {
            Schema::Asff => {
                let id = AwsSecurityFindingIdentifier::builder()
                    .id(&update.finding_id)
                    .product_arn(&update.product_arn)
                    .build();
                let note = NoteUpdate::builder()
                    .text(&update.note)
                    .updated_by(&update.updated_by)
                    .build();
                let result = self
                    .client
                    .batch_update_findings()
                    .finding_identifiers(id)
                    .workflow(
                        WorkflowUpdate::builder()
                            .status(WorkflowStatus::from(update.workflow.as_str()))
                            .build(),
                    )
                    .note(note)
                    .send()
                    .await;
                match result {
                    Ok(out) => match out.unprocessed_findings().first() {
                        Some(u) => unprocessed(u.error_code(), u.error_message()),
                        None => written(),
                    },
                    Err(e) => error(crate::action::exec::failure(api, e)),
                }
            }
            Schema::Ocsf => {
                let id = OcsfFindingIdentifier::builder()
                    .cloud_account_uid(&update.account)
                    .finding_info_uid(&update.finding_id)
                    .metadata_product_uid(&update.product_arn)
                    .build();
                let status = i32::try_from(update.workflow.status_id()).unwrap_or(2);
                let result = self
                    .client
                    .batch_update_findings_v2()
                    .finding_identifiers(id)
                    .status_id(status)
                    .comment(&update.note)
                    .send()
                    .await;
                match result {
                    Ok(out) => match out.unprocessed_findings().first() {
                        Some(u) => {
                            unprocessed(u.error_code().map(|c| c.as_str()), u.error_message())
                        }
                        None => written(),
                    },
                    Err(e) => error(crate::action::exec::failure(api, e)),
                }
            }
        }
    }
}

impl WriteBack for Hub {
    fn write_back<'a>(
        &'a self,
        update: &'a FindingUpdate,
    ) -> crate::state::BoxFuture<'a, WriteBackOutcome> {
        Box::pin(self.send(update))
    }
}
