"""The SAM transform, run offline with aws-sam-translator (what CloudFormation runs on deploy):
it must succeed, must not add IAM roles, policies or invoke permissions of its own (the
permission test reads the template's explicit roles, so SAM may not grant anything beside them),
and its CloudFormation output must pass cfn-lint too."""

from __future__ import annotations

import copy
import json
import os

import pytest

import cfn

# A missing translator fails the run (conftest.py turns any skip into a failure too).
import samtranslator  # noqa: E402,F401


class _NoManagedPolicies:
    """The template uses no managed policy names, so nothing needs to be looked up in IAM."""

    def load(self) -> dict:
        return {}


def transform(template: dict, overrides: dict[str, str] | None = None) -> dict:
    from samtranslator.translator.transform import transform as sam_transform

    t = copy.deepcopy(template)
    for res in cfn.resources(t, "AWS::Serverless::Function").values():
        # `sam deploy` replaces the local CodeUri with the uploaded artifact's S3 location.
        res["Properties"]["CodeUri"] = "s3://example-bucket/mamoru/function.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return sam_transform(t, cfn.parameter_values(template, overrides), _NoManagedPolicies())


@pytest.fixture(scope="module")
def transformed(template) -> dict:
    return transform(template)


def test_transform_adds_no_iam_or_invoke_permission(template, transformed):
    before = {k: v["Type"] for k, v in template["Resources"].items()}
    added = {k: v["Type"] for k, v in transformed["Resources"].items() if k not in before}
    # SAM adds exactly one EventInvokeConfig per function, nothing else.
    assert sorted(added.values()) == ["AWS::Lambda::EventInvokeConfig"] * 4, added
    for type_ in ["AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::Lambda::Permission"]:
        assert set(cfn.resources(transformed, type_)) == set(cfn.resources(template, type_)), type_


def test_transformed_functions_keep_their_settings(transformed):
    for fid in ["GuardDutyFunction", "CloudTrailFunction", "ConfigFunction", "SecurityHubFunction"]:
        p = transformed["Resources"][fid]["Properties"]
        assert p["Architectures"] == ["arm64"]
        assert p["Runtime"] == "provided.al2023"
        assert p["LoggingConfig"]["LogFormat"] == "JSON"
        invoke = transformed["Resources"][f"{fid}EventInvokeConfig"]["Properties"]
        assert invoke["MaximumRetryAttempts"] == 2
        assert invoke["Qualifier"] == "$LATEST"
        assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["FailureQueue", "Arn"]
        }


def test_transformed_template_passes_cfn_lint(transformed):
    from cfnlint.api import lint_all

    # Errors and warnings, as the cfn-lint command line reports by default (lint_all also
    # returns the informational I-rules).
    matches = [m for m in lint_all(json.dumps(transformed)) if m.rule.id[0] in "EW"]
    assert [str(m) for m in matches] == []
