//! The write-back through the AWS SDK: `BatchUpdateFindings` in the stack's own hub (the
//! function's account and region, where Security Hub delivered the finding's event), with the
//! function's own role. Its grant is [`super::GRANT`].

use aws_config::SdkConfig;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate,
};

use super::{API, FindingUpdate, WriteBack, WriteBackOutcome, WriteStatus};

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
                // Security Hub answers 200 and lists a finding it could not update.
                Some(u) => failed(
                    u.error_code(),
                    format!(
                        "{API} did not update the finding: {}: {}",
                        u.error_code().unwrap_or("error"),
                        u.error_message().unwrap_or("no message")
                    ),
                    false,
                ),
                None => WriteBackOutcome::new(
                    update.clone(),
                    WriteStatus::Written,
                    format!("workflow set to {}, note written", update.workflow.as_str()),
                ),
            },
            Err(e) => {
                let f = crate::action::exec::failure(API, e);
                failed(f.code.as_deref(), f.message, f.retryable)
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
