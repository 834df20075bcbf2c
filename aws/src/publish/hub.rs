//! The import through the AWS SDK: `BatchImportFindings` of one finding under the `default`
//! product of the function's own account and region, with the function's own role. Its grant
//! is [`super::GRANT`].

use aws_config::SdkConfig;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, FindingProviderFields, FindingProviderSeverity, Resource, Severity,
    SeverityLabel,
};

use super::{API, Detection, Home, Import, PublishOutcome, PublishStatus, SCHEMA_VERSION};

/// Imports with one client, built once per container.
pub struct Importer {
    client: Client,
    home: Home,
}

impl Importer {
    pub fn new(sdk: &SdkConfig, home: Home) -> Importer {
        Importer {
            client: Client::new(sdk),
            home,
        }
    }

    /// The finding as the SDK sends it.
    pub fn finding(d: &Detection) -> AwsSecurityFinding {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let created = if d.first_observed_at.is_empty() {
            now.clone()
        } else {
            d.first_observed_at.clone()
        };
        let label = SeverityLabel::from(d.severity.as_str());
        let mut b = AwsSecurityFinding::builder()
            .schema_version(SCHEMA_VERSION)
            .id(&d.id)
            .product_arn(&d.product_arn)
            .generator_id(&d.generator_id)
            .aws_account_id(&d.aws_account_id)
            .region(&d.region)
            .created_at(&created)
            .first_observed_at(&created)
            .updated_at(now)
            .severity(Severity::builder().label(label.clone()).build())
            .title(&d.title)
            .description(&d.description)
            .finding_provider_fields(
                FindingProviderFields::builder()
                    .severity(FindingProviderSeverity::builder().label(label).build())
                    .set_types(Some(d.types.clone()))
                    .build(),
            )
            .set_types(Some(d.types.clone()));
        for r in &d.resources {
            b = b.resources(
                Resource::builder()
                    .r#type(&r.resource_type)
                    .id(&r.id)
                    .build(),
            );
        }
        b.build()
    }

    async fn send(&self, d: &Detection) -> PublishOutcome {
        let failed = |code: Option<&str>, message: String, retryable: bool| PublishOutcome {
            error_code: Some(code.unwrap_or("error").to_string()),
            retryable: Some(retryable),
            ..PublishOutcome::new(
                Some(d.id.clone()),
                PublishStatus::Failed,
                crate::redact::text(&message),
            )
        };
        let result = self
            .client
            .batch_import_findings()
            .findings(Importer::finding(d))
            .send()
            .await;
        match result {
            Ok(out) => match out.failed_findings().first() {
                // Security Hub answers 200 and lists a finding it did not take.
                Some(f) => failed(
                    f.error_code(),
                    format!(
                        "{API} did not import the finding: {}: {}",
                        f.error_code().unwrap_or("error"),
                        f.error_message().unwrap_or("no message")
                    ),
                    false,
                ),
                None => PublishOutcome::new(
                    Some(d.id.clone()),
                    PublishStatus::Imported,
                    format!("imported into Security Hub as {}", d.product_arn),
                ),
            },
            Err(e) => {
                let f = crate::action::exec::failure(API, e);
                failed(f.code.as_deref(), f.message, f.retryable)
            }
        }
    }
}

impl Import for Importer {
    fn home(&self) -> &Home {
        &self.home
    }

    fn import<'a>(
        &'a self,
        detection: &'a Detection,
    ) -> crate::state::BoxFuture<'a, PublishOutcome> {
        Box::pin(self.send(detection))
    }
}
