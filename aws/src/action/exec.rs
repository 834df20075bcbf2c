//! Executing planned actions through the AWS SDK: idempotently, in the action's region, and never
//! in dry-run or shadow mode.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use super::Failure;
use super::{Action, Outcome};

const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServerErrorException",
    "ServiceFailure",
    "ServiceFailureException",
    "LimitExceededException",
];

pub(crate) fn service_failure<E: ProvideErrorMetadata>(api: &str, e: &E) -> Failure {
    let code = e.code().map(str::to_string);
    let retryable = code
        .as_deref()
        .is_some_and(|c| RETRYABLE_CODES.contains(&c));
    let message = format!(
        "{api} failed: {}: {}",
        code.as_deref().unwrap_or("error"),
        e.message().unwrap_or("no message")
    );
    Failure {
        code,
        message,
        retryable,
    }
}

pub(crate) fn failure<E, R>(api: &str, err: SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(ctx) => service_failure(api, ctx.err()),
        SdkError::TimeoutError(_) => Failure {
            code: Some("Timeout".into()),
            message: format!("{api} failed: timed out"),
            retryable: true,
        },
        SdkError::DispatchFailure(d) => Failure {
            code: Some("DispatchFailure".into()),
            message: format!(
                "{api} failed: could not send the request ({})",
                if d.is_timeout() {
                    "timeout"
                } else if d.is_io() {
                    "connection error"
                } else {
                    "dispatch error"
                }
            ),
            retryable: true,
        },
        SdkError::ResponseError(_) => Failure {
            code: Some("ResponseError".into()),
            message: format!("{api} failed: the response could not be read"),
            retryable: true,
        },
        SdkError::ConstructionFailure(_) => Failure {
            code: Some("ConstructionFailure".into()),
            message: format!("{api} failed: the request could not be built"),
            retryable: false,
        },
        _ => Failure {
            code: None,
            message: format!("{api} failed"),
            retryable: true,
        },
    }
}

/// Regional SDK clients, built once per container and per region on first use.
pub(crate) struct Regional<C> {
    base: SdkConfig,
    make: fn(&SdkConfig, &str) -> C,
    clients: Mutex<HashMap<String, C>>,
}

impl<C: Clone> Regional<C> {
    fn new(base: &SdkConfig, make: fn(&SdkConfig, &str) -> C) -> Self {
        Regional {
            base: base.clone(),
            make,
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn get(&self, region: &str) -> C {
        let mut map = match self.clients.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(region.to_string())
            .or_insert_with(|| (self.make)(&self.base, region))
            .clone()
    }
}

fn region_config(base: &SdkConfig, region: &str) -> SdkConfig {
    base.to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build()
}

/// The SDK clients of one account (its credentials), per region on first use.
pub(crate) struct Clients {
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) cloudtrail: Regional<aws_sdk_cloudtrail::Client>,
    pub(crate) guardduty: Regional<aws_sdk_guardduty::Client>,
    pub(crate) config: Regional<aws_sdk_config::Client>,
    pub(crate) events: Regional<aws_sdk_eventbridge::Client>,
    pub(crate) ec2: Regional<aws_sdk_ec2::Client>,
    pub(crate) s3: Regional<aws_sdk_s3::Client>,
    pub(crate) lambda: Regional<aws_sdk_lambda::Client>,
    pub(crate) rds: Regional<aws_sdk_rds::Client>,
    pub(crate) s3control: Regional<aws_sdk_s3control::Client>,
    /// Route 53 Domains is served in us-east-1 only, whatever region the function runs in.
    pub(crate) route53domains: aws_sdk_route53domains::Client,
}

impl Clients {
    pub(crate) fn new(sdk: &SdkConfig) -> Clients {
        Clients {
            iam: aws_sdk_iam::Client::new(sdk),
            cloudtrail: Regional::new(sdk, |b, r| {
                aws_sdk_cloudtrail::Client::new(&region_config(b, r))
            }),
            guardduty: Regional::new(sdk, |b, r| {
                aws_sdk_guardduty::Client::new(&region_config(b, r))
            }),
            config: Regional::new(sdk, |b, r| {
                aws_sdk_config::Client::new(&region_config(b, r))
            }),
            events: Regional::new(sdk, |b, r| {
                aws_sdk_eventbridge::Client::new(&region_config(b, r))
            }),
            ec2: Regional::new(sdk, |b, r| aws_sdk_ec2::Client::new(&region_config(b, r))),
            s3: Regional::new(sdk, |b, r| {
                // A custom endpoint (an emulator) has no per-bucket host names.
                let path_style = b.endpoint_url().is_some();
                let conf = aws_sdk_s3::config::Builder::from(&region_config(b, r))
                    .force_path_style(path_style)
                    .build();
                aws_sdk_s3::Client::from_conf(conf)
            }),
            lambda: Regional::new(sdk, |b, r| {
                aws_sdk_lambda::Client::new(&region_config(b, r))
            }),
            rds: Regional::new(sdk, |b, r| aws_sdk_rds::Client::new(&region_config(b, r))),
            s3control: Regional::new(sdk, |b, r| {
                let conf = aws_sdk_s3control::config::Builder::from(&region_config(b, r));
                // A custom endpoint (an emulator) has no per-account host names
                // (`<account>.s3-control.<region>.amazonaws.com`): its URL is used as it is.
                let conf = match b.endpoint_url() {
                    Some(url) => conf.endpoint_resolver(AsIs(url.to_string())),
                    None => conf,
                };
                aws_sdk_s3control::Client::from_conf(conf.build())
            }),
            route53domains: aws_sdk_route53domains::Client::new(&region_config(
                sdk,
                super::DOMAINS_REGION,
            )),
        }
    }
}

/// An endpoint used as it is, for S3 Control behind an emulator: the SDK's own rules put the
/// account in the host name, which a local endpoint does not serve.
#[derive(Debug)]
struct AsIs(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for AsIs {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_sdk_s3control::config::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}

/// How an action is carried out: idempotently, reading the state before and after where it
/// needs to, acting only on the resource the event named. Never panics; every error becomes a
/// `Failed` outcome. Implemented beside each action's definition, in `kinds/`.
pub(crate) trait Execute {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome;
}
