"""Deploying infra/template.yaml offline: the SAM transform (aws-sam-translator, what
CloudFormation runs for `Transform: AWS::Serverless-2016-10-31`), then CreateStack / UpdateStack /
DeleteStack on a moto server over HTTP, and reading back what was created.

moto's CloudFormation creates the resource types it models (IAM roles and managed policies,
Lambda functions and permissions, EventBridge rules, SNS topics, SQS queues, log groups) and
accepts the others without creating them (topic and queue policies, subscriptions, alarms, Lambda
event invoke configs, Config rules). `complete_unmodeled` finishes those by hand, as
CloudFormation would: it evaluates their properties against what moto created (every Ref and
GetAtt must resolve to a created resource) and makes the matching API calls, so that they can be
read back and checked too.
"""

from __future__ import annotations

import ast
import copy
import io
import json
import re
import os
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote

import boto3
from botocore.exceptions import ClientError

import cfn

REGION = cfn.PSEUDO_PARAMETERS["AWS::Region"]
ACCOUNT = cfn.PSEUDO_PARAMETERS["AWS::AccountId"]
ARTIFACT_BUCKET = "mamoru-deploy-artifacts"
ARTIFACT_KEY = "functions/bootstrap.zip"
# Named IAM resources are not used (role names stay generated), so CAPABILITY_IAM is enough;
# moto does not check capabilities, CloudFormation does.
CAPABILITIES = ["CAPABILITY_IAM"]

# Resource types moto's CloudFormation accepts without creating them.
UNMODELED = {
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::CloudWatch::Alarm",
    "AWS::Config::ConfigRule",
    "AWS::Events::EventBusPolicy",
    # moto 5.2.5 serves no CreateActionTarget: the custom action is checked against the API's
    # constraints, not created.
    "AWS::SecurityHub::ActionTarget",
}


class DeployFailed(AssertionError):
    """The stack did not reach the wanted status."""


def clients(endpoint: str) -> Callable[[str], Any]:
    def client(service: str):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION)

    return client


def stand_in_zip() -> bytes:
    """A function package the size of a note: a `bootstrap` that is never run (moto cannot
    invoke without Docker). The deploy checks the stack, not the code."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        z.writestr(info, "#!/bin/sh\necho 'stand-in for the mamoru function binary' >&2\nexit 1\n")
    return buf.getvalue()


def upload_code(client) -> str:
    s3 = client("s3")
    try:
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    s3.put_object(Bucket=ARTIFACT_BUCKET, Key=ARTIFACT_KEY, Body=stand_in_zip())
    return f"s3://{ARTIFACT_BUCKET}/{ARTIFACT_KEY}"


class _NoManagedPolicies:
    """The template names no managed policy, so nothing needs to be looked up in IAM."""

    def load(self) -> dict:
        return {}


def transform(template: dict, params: dict[str, str], code_uri: str) -> dict:
    """The SAM transform of the template, with each function's CodeUri replaced by the uploaded
    artifact (what `sam deploy` does)."""
    from samtranslator.translator.transform import transform as sam_transform

    t = copy.deepcopy(template)
    for res in cfn.resources(t, "AWS::Serverless::Function").values():
        res["Properties"]["CodeUri"] = code_uri
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    return sam_transform(t, params, _NoManagedPolicies())


def _parameters(transformed: dict, params: dict[str, str]) -> list[dict]:
    return [
        {"ParameterKey": k, "ParameterValue": v}
        for k, v in params.items()
        if k in transformed.get("Parameters", {})
    ]


@dataclass
class Deployment:
    client: Callable[[str], Any]
    stack: str
    template: dict  # the SAM template (before the transform)
    params: dict[str, str] = field(default_factory=dict)  # every parameter, defaults included
    transformed: dict = field(default_factory=dict)
    seconds: float = 0.0  # time spent transforming, deploying and completing
    _resources: dict | None = field(default=None, repr=False)

    # --- lifecycle --------------------------------------------------------------------------

    def status(self) -> tuple[str, str]:
        stacks = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"]
        return stacks[0]["StackStatus"], stacks[0].get("StackStatusReason") or ""

    def _wait(self, want: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            status, reason = self.status()
            if status == want:
                return
            if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
                raise DeployFailed(f"{self.stack}: {status}, wanted {want}: {reason}")
            time.sleep(0.2)

    def _submit(self, operation: str, overrides: dict[str, str]) -> None:
        start = time.monotonic()
        params = cfn.parameter_values(self.template, {**self.params, **overrides})
        code_uri = upload_code(self.client)
        transformed = transform(self.template, params, code_uri)
        cf = self.client("cloudformation")
        call = cf.create_stack if operation == "create" else cf.update_stack
        try:
            call(
                StackName=self.stack,
                TemplateBody=json.dumps(transformed),
                Parameters=_parameters(transformed, params),
                Capabilities=CAPABILITIES,
            )
        except ClientError as e:
            raise DeployFailed(f"{self.stack}: {operation} rejected: {e}") from e
        self.params, self.transformed = params, transformed
        self._wait("CREATE_COMPLETE" if operation == "create" else "UPDATE_COMPLETE")
        self._resources = None
        try:
            if operation == "update":
                complete_iam_update(self)
            complete_unmodeled(self)
        except ValueError as e:  # a reference that does not resolve (cfn.evaluate)
            raise DeployFailed(f"{self.stack}: {e}") from e
        self.seconds += time.monotonic() - start

    def create(self, overrides: dict[str, str] | None = None) -> "Deployment":
        self._submit("create", overrides or {})
        return self

    def update(self, overrides: dict[str, str]) -> "Deployment":
        self._submit("update", overrides)
        return self

    def delete(self) -> str:
        cf = self.client("cloudformation")
        stack_id = cf.describe_stacks(StackName=self.stack)["Stacks"][0]["StackId"]
        cf.delete_stack(StackName=self.stack)
        deadline = time.monotonic() + 60
        while True:
            (st,) = cf.describe_stacks(StackName=stack_id)["Stacks"]
            if st["StackStatus"] != "DELETE_IN_PROGRESS" or time.monotonic() > deadline:
                return st["StackStatus"]
            time.sleep(0.2)

    # --- reading back -----------------------------------------------------------------------

    def stack_resources(self) -> dict[str, dict]:
        """Logical id -> StackResourceSummary, for the resources moto created (read once per
        create or update)."""
        if self._resources is None:
            cf = self.client("cloudformation")
            out = {}
            for page in cf.get_paginator("list_stack_resources").paginate(StackName=self.stack):
                for r in page["StackResourceSummaries"]:
                    if r["LogicalResourceId"]:
                        out[r["LogicalResourceId"]] = r
            self._resources = out
        return self._resources

    def active(self, logical_id: str) -> bool:
        return cfn.active(self.template, self.params, self.transformed["Resources"][logical_id])

    def outputs(self) -> dict[str, str]:
        st = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}

    def physical(self, logical_id: str, attribute: str | None = None) -> str:
        """What Ref (attribute None) or GetAtt of a created resource returns, read from moto."""
        res = self.transformed["Resources"][logical_id]
        if res["Type"] in UNMODELED:
            raise AssertionError(f"{logical_id} ({res['Type']}) is referenced but moto does not create it")
        summary = self.stack_resources().get(logical_id)
        if summary is None:
            raise AssertionError(f"{logical_id} was not created (condition false or failed)")
        pid = summary["PhysicalResourceId"]
        t, c = res["Type"], self.client
        if attribute is None:
            return pid
        if t == "AWS::IAM::Role" and attribute == "Arn":
            return c("iam").get_role(RoleName=pid)["Role"]["Arn"]
        if t == "AWS::SQS::Queue" and attribute in ("Arn", "QueueName"):
            arn = c("sqs").get_queue_attributes(QueueUrl=pid, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            return arn if attribute == "Arn" else arn.rsplit(":", 1)[1]
        if t == "AWS::Logs::LogGroup" and attribute == "Arn":
            (group,) = [
                g for g in c("logs").describe_log_groups(logGroupNamePrefix=pid)["logGroups"]
                if g["logGroupName"] == pid
            ]
            return group["arn"]
        if t == "AWS::Events::Rule" and attribute == "Arn":
            bus = res["Properties"].get("EventBusName")
            on_bus = {"EventBusName": self.evaluate(bus)} if bus else {}
            return c("events").describe_rule(Name=pid, **on_bus)["Arn"]
        if t == "AWS::Events::EventBus" and attribute in ("Arn", "Name"):
            return c("events").describe_event_bus(Name=pid)[attribute]
        if t == "AWS::Lambda::Function" and attribute == "Arn":
            return c("lambda").get_function(FunctionName=pid)["Configuration"]["FunctionArn"]
        raise AssertionError(f"cannot read {logical_id}.{attribute} ({t}) back from moto")

    def evaluate(self, value: Any) -> Any:
        """A template value evaluated against the deployment: parameters, pseudo parameters and
        the created resources."""
        return cfn.evaluate(
            self.transformed, {**self.params, "AWS::StackName": self.stack}, value, self.physical
        )


def policy_document(raw: Any) -> dict:
    """A policy document as moto returns it: a dict, JSON (maybe URL-encoded), or the Python
    repr moto stores for inline role policies created by CloudFormation."""
    if isinstance(raw, dict):
        return raw
    text = unquote(raw) if raw.lstrip().startswith("%7B") else raw
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return ast.literal_eval(text)


# --- what moto does not create or update ----------------------------------------------------


def complete_iam_update(dep: Deployment) -> None:
    """moto 5.2.5 updates neither a role's inline policies nor a managed policy's document on
    UpdateStack (CloudFormation does both in place): apply them, evaluated against the
    deployment, as CloudFormation would."""
    iam = dep.client("iam")
    for logical_id, res in dep.transformed["Resources"].items():
        if not dep.active(logical_id):
            continue
        if res["Type"] == "AWS::IAM::Role":
            name = dep.physical(logical_id)
            wanted = {
                p["PolicyName"]: p["PolicyDocument"]
                for p in dep.evaluate(res["Properties"].get("Policies", []))
            }
            for old in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                if old not in wanted:
                    iam.delete_role_policy(RoleName=name, PolicyName=old)
            for policy_name, doc in wanted.items():
                iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(doc))
        elif res["Type"] == "AWS::IAM::ManagedPolicy":
            arn = dep.physical(logical_id)
            doc = dep.evaluate(res["Properties"]["PolicyDocument"])
            current = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            got = iam.get_policy_version(PolicyArn=arn, VersionId=current)["PolicyVersion"]["Document"]
            if policy_document(got) != doc:
                iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc), SetAsDefault=True)



def complete_unmodeled(dep: Deployment) -> None:
    """Creates, through the service APIs, each active resource of a type moto's CloudFormation
    does not model, with its properties evaluated against the deployment."""
    c = dep.client
    for logical_id, res in dep.transformed["Resources"].items():
        if res["Type"] not in UNMODELED or not dep.active(logical_id):
            continue
        p = dep.evaluate(res.get("Properties", {}))
        t = res["Type"]
        if t == "AWS::SNS::TopicPolicy":
            for topic in p["Topics"]:
                c("sns").set_topic_attributes(
                    TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(p["PolicyDocument"])
                )
        elif t == "AWS::SQS::QueuePolicy":
            for url in p["Queues"]:
                c("sqs").set_queue_attributes(
                    QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])}
                )
        elif t == "AWS::SNS::Subscription":
            c("sns").get_topic_attributes(TopicArn=p["TopicArn"])  # the topic must exist
            attributes = {}
            if "FilterPolicy" in p:
                attributes["FilterPolicy"] = json.dumps(p["FilterPolicy"])
            if "FilterPolicyScope" in p:
                attributes["FilterPolicyScope"] = p["FilterPolicyScope"]
            c("sns").subscribe(
                TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"], Attributes=attributes
            )
        elif t == "AWS::Lambda::EventInvokeConfig":
            c("lambda").put_function_event_invoke_config(
                FunctionName=p["FunctionName"],
                Qualifier=p["Qualifier"],
                MaximumRetryAttempts=p["MaximumRetryAttempts"],
                MaximumEventAgeInSeconds=p["MaximumEventAgeInSeconds"],
                DestinationConfig=p["DestinationConfig"],
            )
        elif t == "AWS::CloudWatch::Alarm":
            c("cloudwatch").put_metric_alarm(**{k: v for k, v in p.items()})
        elif t == "AWS::Config::ConfigRule":
            c("config").put_config_rule(ConfigRule=p)
        elif t == "AWS::SecurityHub::ActionTarget":
            # CreateActionTarget: Id up to 20 alphanumeric characters, Name up to 20 characters,
            # a Description (Security Hub API Reference). moto does not serve it.
            assert re.fullmatch(r"[A-Za-z0-9]{1,20}", p["Id"]), p
            assert 0 < len(p["Name"]) <= 20 and p["Description"].strip(), p
        elif t == "AWS::Events::EventBusPolicy":
            # The one statement, with StatementId as its Sid, as EventBridge stores it.
            statement = {**p["Statement"], "Sid": p["StatementId"]}
            c("events").put_permission(
                EventBusName=p["EventBusName"],
                Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
            )


# --- the member accounts' template (infra/member.yaml) ---------------------------------------

MEMBER_ACCOUNT = "444455556666"


def account_clients(endpoint: str, account: str, region: str = REGION) -> Callable[[str], Any]:
    """Clients acting in another account of the moto server: credentials of a role there, from
    sts:AssumeRole by the hub's (default) account. moto binds them to that account; the hub stays
    moto's default account 123456789012 (with MOTO_ACCOUNT_ID set, assumed-role credentials would
    map back to the default account)."""
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=region)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="mamoru-infra-tests",
    )["Credentials"]
    assert boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).get_caller_identity()["Account"] == account

    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    return client


@dataclass
class MemberStack:
    """infra/member.yaml created as one StackSet instance would create it: CreateStack in the
    member account and region, with CAPABILITY_NAMED_IAM. The body is sent as JSON (cfn.load_template
    reads the YAML short forms): moto's YAML reader turns `!Condition X` into `Fn::Condition`, which
    it then evaluates as false."""

    client: Callable[[str], Any]
    stack: str
    template: dict
    params: dict[str, str]

    def create(self) -> "MemberStack":
        cf = self.client("cloudformation")
        cf.create_stack(
            StackName=self.stack,
            TemplateBody=json.dumps(self.template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in self.params.items()],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )
        deadline = time.monotonic() + 60
        while True:
            st = cf.describe_stacks(StackName=self.stack)["Stacks"][0]
            if not st["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if st["StackStatus"] != "CREATE_COMPLETE":
            raise DeployFailed(f"{self.stack}: {st['StackStatus']}: {st.get('StackStatusReason')}")
        return self

    def resources(self) -> dict[str, dict]:
        cf = self.client("cloudformation")
        return {
            r["LogicalResourceId"]: r
            for r in cf.list_stack_resources(StackName=self.stack)["StackResourceSummaries"]
            if r["LogicalResourceId"]
        }

    def outputs(self) -> dict[str, str]:
        st = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}
