//! AWS state set-up and inspection in moto, through the SDK, for the integration and end-to-end
//! tests. Region-aware: trails and detectors live in a region.

use serde_json::Value;

use crate::moto::{ACCOUNT, Moto};

/// Creates `user` with two access keys; returns their ids (first, second).
pub async fn user_with_two_keys(moto: &Moto, user: &str) -> (String, String) {
    let iam = aws_sdk_iam::Client::new(&moto.sdk("us-east-1").await);
    iam.create_user().user_name(user).send().await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let key = iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
        ids.push(key.access_key.unwrap().access_key_id);
    }
    (ids[0].clone(), ids[1].clone())
}

/// The status (Active/Inactive) of each of the user's keys.
pub async fn key_statuses(moto: &Moto, user: &str) -> Vec<(String, String)> {
    let iam = aws_sdk_iam::Client::new(&moto.sdk("us-east-1").await);
    let keys = iam.list_access_keys().user_name(user).send().await.unwrap();
    keys.access_key_metadata
        .into_iter()
        .map(|k| {
            (
                k.access_key_id.unwrap_or_default(),
                k.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

pub async fn key_status(moto: &Moto, user: &str, key: &str) -> String {
    key_statuses(moto, user)
        .await
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, s)| s)
        .unwrap_or_else(|| panic!("no key {key} for {user}"))
}

/// Creates a trail in `region` (with its bucket), starts it, then stops it. Returns its ARN.
pub async fn stopped_trail(moto: &Moto, region: &str, name: &str, multi_region: bool) -> String {
    let bucket = format!("{name}-logs");
    moto.create_bucket(&bucket);
    let ct = aws_sdk_cloudtrail::Client::new(&moto.sdk(region).await);
    let trail = ct
        .create_trail()
        .name(name)
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(multi_region)
        .send()
        .await
        .unwrap();
    ct.start_logging().name(name).send().await.unwrap();
    ct.stop_logging().name(name).send().await.unwrap();
    let arn = trail.trail_arn.unwrap();
    assert!(
        !trail_logging(moto, region, &arn).await,
        "set-up: trail must be stopped"
    );
    arn
}

/// Stops a trail's logging again (as an attacker's StopLogging would have).
pub async fn stop_trail(moto: &Moto, region: &str, name_or_arn: &str) {
    let ct = aws_sdk_cloudtrail::Client::new(&moto.sdk(region).await);
    ct.stop_logging().name(name_or_arn).send().await.unwrap();
}

pub async fn trail_logging(moto: &Moto, region: &str, name_or_arn: &str) -> bool {
    let ct = aws_sdk_cloudtrail::Client::new(&moto.sdk(region).await);
    ct.get_trail_status()
        .name(name_or_arn)
        .send()
        .await
        .unwrap()
        .is_logging
        .unwrap_or(false)
}

/// Creates a disabled GuardDuty detector in `region`; returns its id.
pub async fn disabled_detector(moto: &Moto, region: &str) -> String {
    let gd = aws_sdk_guardduty::Client::new(&moto.sdk(region).await);
    let id = gd
        .create_detector()
        .enable(false)
        .send()
        .await
        .unwrap()
        .detector_id
        .unwrap();
    assert_eq!(detector_status(moto, region, &id).await, "DISABLED");
    id
}

pub async fn detector_status(moto: &Moto, region: &str, id: &str) -> String {
    let gd = aws_sdk_guardduty::Client::new(&moto.sdk(region).await);
    gd.get_detector()
        .detector_id(id)
        .send()
        .await
        .unwrap()
        .status
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

/// Creates a configuration recorder and delivery channel in `region`, not recording.
pub async fn stopped_recorder(moto: &Moto, region: &str, name: &str) {
    use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel};
    let cfg = aws_sdk_config::Client::new(&moto.sdk(region).await);
    let bucket = format!("config-{region}");
    moto.create_bucket(&bucket);
    cfg.put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name(name)
                .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/config-recorder"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    cfg.put_delivery_channel()
        .delivery_channel(
            DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name(bucket)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(!recorder_recording(moto, region, name).await);
}

pub async fn recorder_recording(moto: &Moto, region: &str, name: &str) -> bool {
    let cfg = aws_sdk_config::Client::new(&moto.sdk(region).await);
    let out = cfg
        .describe_configuration_recorder_status()
        .configuration_recorder_names(name)
        .send()
        .await
        .unwrap();
    out.configuration_recorders_status
        .unwrap_or_default()
        .first()
        .is_some_and(|s| s.recording)
}

/// A fixture event with changes applied.
pub fn event_with(rel: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(&crate::fixture(rel)).unwrap();
    change(&mut v);
    v.to_string()
}

/// The SNS notifications delivered to an SQS subscriber (the SNS envelopes).
pub async fn notifications(moto: &Moto, region: &str, queue_url: &str) -> Vec<Value> {
    moto.drain(region, queue_url)
        .await
        .into_iter()
        .filter(|m| m["Type"] == "Notification")
        .collect()
}

/// A function in moto (a role for it first; the code is an empty zip archive).
pub async fn lambda_function(moto: &Moto, region: &str, name: &str) {
    let sdk = moto.sdk(region).await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let role = match iam
        .create_role()
        .role_name("fn-role")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
    {
        Ok(out) => out.role.unwrap().arn,
        Err(_) => iam
            .get_role()
            .role_name("fn-role")
            .send()
            .await
            .unwrap()
            .role
            .unwrap()
            .arn,
    };
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.extend([0u8; 18]);
    aws_sdk_lambda::Client::new(&sdk)
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(role)
        .handler("index.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// An object in a new bucket of `region` (versioned or not), tagged owner=finance; its version id
/// when the bucket is versioned.
pub async fn tagged_object(
    moto: &Moto,
    region: &str,
    bucket: &str,
    key: &str,
    versioned: bool,
) -> Option<String> {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
        VersioningConfiguration,
    };
    let conf = aws_sdk_s3::config::Builder::from(&moto.sdk(region).await)
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(conf);
    let mut create = s3.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.unwrap();
    if versioned {
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .tagging("owner=finance")
        .send()
        .await
        .unwrap()
        .version_id
}

/// A security group (`name`, in `region`) open to the world on 22 (IPv4 and IPv6) and 443, and
/// on 3389 to a documentation range only; returns its id.
pub async fn world_open_group(moto: &Moto, region: &str, name: &str) -> String {
    use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range};
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk(region).await);
    let group = ec2
        .create_security_group()
        .group_name(name)
        .description("test")
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let tcp = |port: i32| {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
    };
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            tcp(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .ip_permissions(
            tcp(22)
                .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
                .build(),
        )
        .ip_permissions(
            tcp(443)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .ip_permissions(
            tcp(3389)
                .ip_ranges(IpRange::builder().cidr_ip("198.51.100.0/24").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    group
}

/// The group's ingress as (protocol, port, cidr) triples, sorted.
pub async fn ingress(moto: &Moto, region: &str, group: &str) -> Vec<(String, i32, String)> {
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk(region).await);
    let d = ec2
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for p in d.security_groups()[0].ip_permissions() {
        let proto = p.ip_protocol().unwrap_or("").to_string();
        let port = p.from_port().unwrap_or(-1);
        for r in p.ip_ranges() {
            out.push((proto.clone(), port, r.cidr_ip().unwrap_or("").to_string()));
        }
        for r in p.ipv6_ranges() {
            out.push((proto.clone(), port, r.cidr_ipv6().unwrap_or("").to_string()));
        }
    }
    out.sort();
    out
}

/// The table as infra/template.yaml makes it: partition key `pk`, TTL on `expires`.
pub async fn state_table(moto: &Moto, region: &str, table: &str) -> aws_sdk_dynamodb::Client {
    let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk(region).await);
    ddb.create_table()
        .table_name(table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .attribute_name("expires")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    ddb
}

/// An S3 Control client on moto. The SDK's endpoint rules put the account in the host name
/// (`<account>.s3-control.<region>.amazonaws.com`), which moto on loopback does not serve: its
/// endpoint is used as it is (moto routes S3 Control by the `/v20180820/` path).
async fn s3control(moto: &Moto, region: &str) -> aws_sdk_s3control::Client {
    use aws_sdk_s3control::config::endpoint::{Endpoint, EndpointFuture, Params, ResolveEndpoint};
    #[derive(Debug)]
    struct AsIs(String);
    impl ResolveEndpoint for AsIs {
        fn resolve_endpoint<'a>(&'a self, _: &'a Params) -> EndpointFuture<'a> {
            EndpointFuture::ready(Ok(Endpoint::builder().url(self.0.clone()).build()))
        }
    }
    let conf = aws_sdk_s3control::config::Builder::from(&moto.sdk(region).await)
        .endpoint_resolver(AsIs(moto.endpoint()))
        .build();
    aws_sdk_s3control::Client::from_conf(conf)
}

/// The account's four S3 Block Public Access settings (BlockPublicAcls, IgnorePublicAcls,
/// BlockPublicPolicy, RestrictPublicBuckets), or `None` when the account has none set.
pub async fn account_public_access_block(moto: &Moto, region: &str) -> Option<[bool; 4]> {
    match s3control(moto, region)
        .await
        .get_public_access_block()
        .account_id(ACCOUNT)
        .send()
        .await
    {
        Ok(out) => {
            let c = out.public_access_block_configuration.unwrap();
            Some([
                c.block_public_acls.unwrap_or(false),
                c.ignore_public_acls.unwrap_or(false),
                c.block_public_policy.unwrap_or(false),
                c.restrict_public_buckets.unwrap_or(false),
            ])
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_no_such_public_access_block_configuration()) =>
        {
            None
        }
        Err(e) => panic!("s3control GetPublicAccessBlock: {e:?}"),
    }
}

/// Sets the account's four S3 Block Public Access settings, in the order of
/// [`account_public_access_block`].
pub async fn set_account_public_access_block(moto: &Moto, region: &str, settings: [bool; 4]) {
    let config = aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
        .block_public_acls(settings[0])
        .ignore_public_acls(settings[1])
        .block_public_policy(settings[2])
        .restrict_public_buckets(settings[3])
        .build();
    s3control(moto, region)
        .await
        .put_public_access_block()
        .account_id(ACCOUNT)
        .public_access_block_configuration(config)
        .send()
        .await
        .unwrap();
}
