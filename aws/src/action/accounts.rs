//! Acting in the account that owns the resource. The hub (mamoru's own account) uses its own
//! role; every other account of the organization through its member role
//! (`arn:PARTITION:iam::ACCOUNT:role/mamoru/NAME`), assumed once and reused until shortly
//! before its credentials expire. SDK clients are kept per account and region.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::exec::{Clients, Failure};
use super::{Action, Outcome};
use crate::settings::Settings;

/// Credentials this close to their expiry are renewed before use.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

struct Member {
    clients: Arc<Clients>,
    expires: Option<SystemTime>,
}

/// Runs actions, each in the account that owns its resource. Built once per container.
pub struct Actor {
    hub: SdkConfig,
    hub_clients: Arc<Clients>,
    sts: aws_sdk_sts::Client,
    /// mamoru's own account: from the settings, else asked of STS once.
    hub_account: Mutex<Option<String>>,
    member_role: Option<String>,
    partition: String,
    members: Mutex<HashMap<String, Member>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Actor {
    pub fn new(sdk: &SdkConfig, settings: &Settings) -> Arc<Actor> {
        let partition = settings
            .self_role_arns
            .iter()
            .filter_map(|a| a.split(':').nth(1))
            .next()
            .unwrap_or("aws")
            .to_string();
        Arc::new(Actor {
            hub: sdk.clone(),
            hub_clients: Arc::new(Clients::new(sdk)),
            sts: aws_sdk_sts::Client::new(sdk),
            hub_account: Mutex::new(settings.hub_account.clone()),
            member_role: settings.member_role_name.clone(),
            partition,
            members: Mutex::new(HashMap::new()),
        })
    }

    /// Carries out one action in the account that owns its resource. Never panics; every error
    /// (a member role that cannot be assumed included) becomes a `Failed` outcome.
    pub async fn execute(&self, event_id: &str, action: &Action) -> Outcome {
        match self.clients_for(event_id, &action.account).await {
            Ok(clients) => super::execute(&clients, action).await,
            Err(f) => Outcome::failed(action, f),
        }
    }

    /// The member role's ARN in `account`.
    pub fn member_role_arn(&self, account: &str) -> Option<String> {
        let name = self.member_role.as_deref()?;
        Some(format!(
            "arn:{}:iam::{account}:role/mamoru/{name}",
            self.partition
        ))
    }

    async fn hub_account(&self) -> Result<String, Failure> {
        if let Some(a) = lock(&self.hub_account).clone() {
            return Ok(a);
        }
        match self.sts.get_caller_identity().send().await {
            Ok(id) => {
                let account = id.account.unwrap_or_default();
                *lock(&self.hub_account) = Some(account.clone());
                Ok(account)
            }
            Err(e) => Err(super::exec::failure("sts:GetCallerIdentity", e)),
        }
    }

    pub(crate) async fn clients_for(
        &self,
        event_id: &str,
        account: &str,
    ) -> Result<Arc<Clients>, Failure> {
        let hub = self.hub_account().await?;
        if account.is_empty() || account == hub {
            return Ok(Arc::clone(&self.hub_clients));
        }
        let Some(role_arn) = self.member_role_arn(account) else {
            return Err(Failure {
                code: Some("NoMemberRole".into()),
                message: format!(
                    "mamoru cannot act in {account}: it is not mamoru's own account ({hub}) and no member role is set (MAMORU_MEMBER_ROLE_NAME)"
                ),
                retryable: false,
            });
        };
        let now = SystemTime::now();
        if let Some(m) = lock(&self.members).get(account)
            && m.expires.is_none_or(|e| e > now + RENEW_BEFORE)
        {
            return Ok(Arc::clone(&m.clients));
        }
        // The session names the event that needed it (the member's CloudTrail shows it with the
        // source identity `mamoru`); later events reuse the session while it lasts.
        let session: String = format!("mamoru-{event_id}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "=,.@-".contains(*c))
            .take(64)
            .collect();
        let assumed = self
            .sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(session)
            .source_identity("mamoru")
            .send()
            .await;
        let creds = match assumed {
            Ok(out) => out.credentials,
            Err(e) => {
                let (code, retryable) = match &e {
                    SdkError::ServiceError(ctx) => (
                        ctx.err().code().unwrap_or("error").to_string(),
                        ctx.err().code().is_some_and(|c| c.contains("Throttl")),
                    ),
                    _ => ("unreachable".to_string(), true),
                };
                return Err(Failure {
                    message: format!(
                        "mamoru cannot act in {account}: role {role_arn} not assumable ({code})"
                    ),
                    code: Some(code),
                    retryable,
                });
            }
        };
        let Some(c) = creds else {
            return Err(Failure {
                code: Some("NoCredentials".into()),
                message: format!(
                    "mamoru cannot act in {account}: assuming {role_arn} returned no credentials"
                ),
                retryable: true,
            });
        };
        let expires = SystemTime::try_from(c.expiration).ok();
        let credentials = Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            expires,
            "mamoru-member-role",
        );
        let config = self
            .hub
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        let clients = Arc::new(Clients::new(&config));
        lock(&self.members).insert(
            account.to_string(),
            Member {
                clients: Arc::clone(&clients),
                expires,
            },
        );
        Ok(clients)
    }
}
