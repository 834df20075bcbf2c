//! The lookup through the AWS SDK: `DescribeTrails` (shadow trails included) and, for a log
//! group, `DescribeFlowLogs` (CloudWatch Logs destinations delivering to that group), in the
//! account and region that own the destination: the actor's clients, built once per container
//! and kept per account (the member role in an organization) and region. Its grant is
//! [`super::GRANT`].

use aws_sdk_ec2::types::Filter;

use super::{Destination, Failure, FlowLog, Found, Lookup, Trail};
use crate::action::Actor;

fn failed(f: crate::action::exec::Failure) -> Failure {
    Failure {
        code: f.code.unwrap_or_else(|| "error".to_string()),
        message: crate::redact::text(&f.message),
    }
}

impl Actor {
    async fn look_up_destination(
        &self,
        event_id: &str,
        dest: &Destination,
    ) -> Result<Found, Failure> {
        let clients = self
            .clients_for(event_id, dest.account())
            .await
            .map_err(failed)?;
        let region = dest.region();
        let trails = clients
            .cloudtrail
            .get(region)
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
            .map_err(|e| failed(crate::action::exec::failure(super::API_TRAILS, e)))?;
        let mut found = Found {
            trails: trails
                .trail_list()
                .iter()
                .map(|t| Trail {
                    arn: t.trail_arn().or(t.name()).unwrap_or_default().to_string(),
                    kms_key_id: t.kms_key_id().map(str::to_string),
                    log_group_arn: t.cloud_watch_logs_log_group_arn().map(str::to_string),
                    s3_bucket: t.s3_bucket_name().map(str::to_string),
                })
                .collect(),
            flow_logs: Vec::new(),
        };
        if let Destination::LogGroup { name, .. } = dest {
            let mut pages = clients
                .ec2
                .get(region)
                .describe_flow_logs()
                .filter(
                    Filter::builder()
                        .name("log-destination-type")
                        .values("cloud-watch-logs")
                        .build(),
                )
                .filter(
                    Filter::builder()
                        .name("log-group-name")
                        .values(name)
                        .build(),
                )
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page
                    .map_err(|e| failed(crate::action::exec::failure(super::API_FLOW_LOGS, e)))?;
                found
                    .flow_logs
                    .extend(page.flow_logs().iter().map(|f| FlowLog {
                        id: f.flow_log_id().unwrap_or_default().to_string(),
                        resource_id: f.resource_id().map(str::to_string),
                        destination_type: f.log_destination_type().map(|t| t.as_str().to_string()),
                        log_group_name: f.log_group_name().map(str::to_string),
                        log_destination: f.log_destination().map(str::to_string),
                    }));
            }
        }
        Ok(found)
    }
}

impl Lookup for Actor {
    fn look_up<'a>(
        &'a self,
        event_id: &'a str,
        dest: &'a Destination,
    ) -> crate::state::BoxFuture<'a, Result<Found, Failure>> {
        Box::pin(self.look_up_destination(event_id, dest))
    }
}
