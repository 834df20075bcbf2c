"""The Python way: a boto3 responder written for the benchmark, as a careful team would write it.

It handles the two events the benchmark sends, with the same guards and the same AWS calls as
mamoru's playbook for them:

* GuardDuty finding on an IAM user's long-term key (AKIA...), severity >= 7, not archived, not a
  sample: iam:UpdateAccessKey Status=Inactive on that key, then sns:Publish.
* CloudTrail StopLogging that succeeded, not made by this function's own role:
  cloudtrail:StartLogging on the trail in its home region (from the ARN), then sns:Publish.

Like mamoru, it builds its clients once at import (init) and knows its own role (loop
prevention) from MAMORU_SELF_ROLE_ARNS, as the stack sets it, else from sts:GetCallerIdentity at
import. Environment: MAMORU_TOPIC_ARN, MAMORU_SELF_ROLE_ARNS, AWS_REGION.
"""

import json
import logging
import os

import boto3

log = logging.getLogger("responder")

TOPIC_ARN = os.environ["MAMORU_TOPIC_ARN"]
REGION = os.environ.get("AWS_REGION", "us-east-1")
MIN_SEVERITY = float(os.environ.get("MAMORU_MIN_REMEDIATION_SEVERITY", "7"))

session = boto3.session.Session(region_name=REGION)
iam = session.client("iam")
sns = session.client("sns")
_trail_clients = {REGION: session.client("cloudtrail")}


def _role_of(caller_arn):
    # arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION -> arn:aws:iam::ACCOUNT:role/ROLE
    parts = caller_arn.split(":", 5)
    if len(parts) == 6 and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
    return caller_arn


SELF_ROLES = [a for a in os.environ.get("MAMORU_SELF_ROLE_ARNS", "").split(",") if a] or [
    _role_of(session.client("sts").get_caller_identity()["Arn"])
]


def _trail_client(region):
    client = _trail_clients.get(region)
    if client is None:
        client = _trail_clients[region] = session.client("cloudtrail", region_name=region)
    return client


def _publish(subject, severity, body):
    sns.publish(
        TopicArn=TOPIC_ARN,
        Subject=subject[:100],
        Message=json.dumps(body, indent=2, default=str),
        MessageAttributes={"severity": {"DataType": "String", "StringValue": severity}},
    )


def _band(score):
    if score >= 9:
        return "CRITICAL"
    if score >= 7:
        return "HIGH"
    if score >= 4:
        return "MEDIUM"
    return "LOW"


def on_finding(event, d):
    service = d.get("service") or {}
    if service.get("archived"):
        return {"disposition": "ignore", "reason": "archived"}
    sample = (service.get("additionalInfo") or {}).get("sample")
    severity = float(d["severity"])
    key = (d.get("resource") or {}).get("accessKeyDetails") or {}
    user, key_id = key.get("userName"), key.get("accessKeyId") or ""
    result = {"disposition": "notify", "finding": d.get("type"), "severity": severity}
    if (
        not sample
        and severity >= MIN_SEVERITY
        and key.get("userType") == "IAMUser"
        and user
        and key_id.startswith("AKIA")
    ):
        try:
            iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
            result["outcome"] = f"access key {key_id} of {user} is Inactive"
        except iam.exceptions.NoSuchEntityException:
            result["outcome"] = f"access key {key_id} of {user} no longer exists"
        result["disposition"] = "remediate"
    _publish(f"[{_band(severity)}] {d.get('type')}", _band(severity), {"event": event["id"], **result})
    return result


def on_call(event, d):
    if d.get("eventName") != "StopLogging":
        return {"disposition": "ignore"}
    issuer = ((d.get("userIdentity") or {}).get("sessionContext") or {}).get("sessionIssuer") or {}
    if issuer.get("arn") in SELF_ROLES:
        return {"disposition": "ignore", "reason": "own call"}
    name = (d.get("requestParameters") or {}).get("name") or ""
    result = {"disposition": "notify", "trail": name}
    if d.get("errorCode"):
        result["reason"] = f"the call failed ({d['errorCode']})"
        _publish("[MEDIUM] StopLogging attempt", "MEDIUM", {"event": event["id"], **result})
        return result
    region = name.split(":")[3] if name.startswith("arn:") else d.get("awsRegion", REGION)
    _trail_client(region).start_logging(Name=name)
    result.update(disposition="remediate", outcome=f"trail {name} is logging")
    _publish("[HIGH] CloudTrail logging stopped", "HIGH", {"event": event["id"], **result})
    return result


def handler(event, context):
    detail_type = event.get("detail-type")
    d = event.get("detail") or {}
    if detail_type == "GuardDuty Finding":
        result = on_finding(event, d)
    elif detail_type == "AWS API Call via CloudTrail":
        result = on_call(event, d)
    else:
        result = {"disposition": "ignore"}
    log.info(json.dumps({"event_id": event.get("id"), **result}))
    return result
