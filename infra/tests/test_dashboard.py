"""The CloudWatch dashboard and the alarms on mamoru's own metrics, against the metrics the
functions write: the catalogue `mamoru metrics` prints (the table the code builds its Embedded
Metric Format lines from; tests/tests/metrics_emf.rs checks the lines against it).

Every mamoru metric a widget or an alarm reads is one the code writes, under one of the dimension
sets it writes, with dimension values it can take; every metric the code writes is shown; the
AWS metrics read are this stack's functions and queue; the README describes every widget."""

from __future__ import annotations

import json
import re

import pytest

import cfn

FUNCTION_IDS = ["GuardDutyFunction", "CloudTrailFunction", "ConfigFunction", "SecurityHubFunction"]
# The Function dimension: `mamoru metrics` lists the values as prose; these are the functions.
FUNCTIONS = ["guardduty", "cloudtrail", "config", "securityhub"]


@pytest.fixture(scope="module")
def catalogue() -> dict:
    return cfn.mamoru_json("metrics")


def dashboard_body(template: dict) -> tuple[dict, set[str]]:
    """The dashboard body as JSON, each ${Resource} or ${Resource.Attribute} replaced by
    <Resource> or <Resource.Attribute> (checked to be a resource of the template), pseudo
    parameters by their test values. Returns the body and the resources it names."""
    (dash,) = cfn.resources(template, "AWS::CloudWatch::Dashboard").values()
    text = dash["Properties"]["DashboardBody"]["Fn::Sub"]
    named: set[str] = set()

    def one(m: re.Match) -> str:
        name = m.group(1)
        if name in cfn.PSEUDO_PARAMETERS:
            return cfn.PSEUDO_PARAMETERS[name]
        logical = name.split(".", 1)[0]
        assert logical in template["Resources"], f"${{{name}}} names no resource"
        named.add(name)
        return f"<{name}>"

    return json.loads(re.sub(r"\$\{([^}!]+)\}", one, text)), named


def expand(rows: list[list]) -> list[tuple[list, dict]]:
    """The metric rows of a widget with CloudWatch's "..." and "." shorthands expanded: each as
    (namespace, name, dim, value, ...) and its options."""
    out: list[tuple[list, dict]] = []
    previous: list = []
    for row in rows:
        opts = row[-1] if row and isinstance(row[-1], dict) else {}
        items = row[:-1] if opts else list(row)
        if items and items[0] == "...":
            # Repeat the previous row's leading items, replacing as many trailing ones as given.
            rest = items[1:]
            items = previous[: len(previous) - len(rest)] + rest if rest else list(previous)
        else:
            items = [previous[i] if v == "." and i < len(previous) else v for i, v in enumerate(items)]
        previous = items
        out.append((items, opts))
    return out


SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s*MetricName=\"([^\"]+)\"'")


def reads(body: dict) -> list[tuple[str, str, str, dict[str, str] | frozenset[str]]]:
    """Every metric the dashboard reads: (widget title, namespace, metric name, dimensions),
    dimensions as {name: value} for a metric row, or the frozenset of names of a SEARCH schema."""
    out = []
    for w in body["widgets"]:
        if w["type"] != "metric":
            continue
        title = w["properties"]["title"]
        for items, opts in expand(w["properties"]["metrics"]):
            if "expression" in opts:
                found = SEARCH.findall(opts["expression"])
                assert found, f"{title}: an expression that is no SEARCH of a metric: {opts['expression']}"
                for schema, name in found:
                    ns, *dims = [s.strip() for s in schema.split(",")]
                    out.append((title, ns, name, frozenset(dims)))
                continue
            ns, name, *pairs = items
            assert len(pairs) % 2 == 0, f"{title}: {items}"
            out.append((title, ns, name, dict(zip(pairs[::2], pairs[1::2]))))
    return out


def written(catalogue: dict) -> dict[str, list[frozenset[str]]]:
    assert catalogue["namespace"] == "mamoru"
    return {m["name"]: [frozenset(s) for s in m["dimensions"]] for m in catalogue["metrics"]}


def allowed_values(catalogue: dict) -> dict[str, set[str]]:
    values = {k: set(v) for k, v in catalogue["values"].items()}
    values["Function"] = set(FUNCTIONS)
    return values


def check_mamoru_metric(catalogue: dict, where: str, name: str, dims) -> None:
    metrics = written(catalogue)
    assert name in metrics, f"{where}: mamoru writes no metric {name} (it writes {sorted(metrics)})"
    keys = frozenset(dims)
    assert keys in metrics[name], (
        f"{where}: {name} is not written with the dimensions {sorted(keys)} "
        f"(it is with {[sorted(s) for s in metrics[name]]})"
    )
    if isinstance(dims, dict):
        values = allowed_values(catalogue)
        for k, v in dims.items():
            if k in values:
                assert v in values[k], f"{where}: {k}={v} is a value mamoru never writes"


def test_every_mamoru_metric_a_widget_reads_is_one_the_code_writes(template, catalogue):
    body, _ = dashboard_body(template)
    mamoru = [r for r in reads(body) if r[1] == "mamoru"]
    assert mamoru, "the dashboard reads no mamoru metric"
    for title, _, name, dims in mamoru:
        check_mamoru_metric(catalogue, f"widget {title!r}", name, dims)
    # And the other way: every metric the code writes is on the dashboard.
    assert {r[2] for r in mamoru} == set(written(catalogue))


def test_the_aws_metrics_read_are_this_stacks_functions_and_queue(template):
    body, named = dashboard_body(template)
    others = [r for r in reads(body) if r[1] != "mamoru"]
    by_metric: dict[tuple[str, str], set] = {}
    for title, ns, name, dims in others:
        assert isinstance(dims, dict), title
        by_metric.setdefault((ns, name), set()).update(dims.items())
    assert by_metric == {
        ("AWS/Lambda", "Errors"): {("FunctionName", f"<{f}>") for f in FUNCTION_IDS},
        ("AWS/Lambda", "Duration"): {("FunctionName", f"<{f}>") for f in FUNCTION_IDS},
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): {("QueueName", "<FailureQueue.QueueName>")},
    }
    assert named == set(FUNCTION_IDS) | {"FailureQueue.QueueName"}


def test_the_widgets_the_issue_asks_for_are_there(template):
    body, _ = dashboard_body(template)
    metric_widgets = {
        w["properties"]["title"]: w["properties"] for w in body["widgets"] if w["type"] == "metric"
    }
    shows = {title: {(ns, name) for t, ns, name, _ in reads(body) if t == title} for title in metric_widgets}
    # Events and actions over time, by status.
    assert ("mamoru", "Events") in shows["Events by function and disposition"]
    assert metric_widgets["Events by function and disposition"]["view"] == "timeSeries"
    assert shows["Actions by status"] == {("mamoru", "Actions")}
    assert metric_widgets["Actions by status"]["view"] == "timeSeries"
    # The top rules: the ten rules with most matches over the dashboard's time range.
    (top,) = metric_widgets["Top rules (events matched)"]["metrics"]
    assert top[0]["expression"].startswith("SORT(") and top[0]["expression"].endswith(", SUM, DESC, 10)")
    assert shows["Failures by error class"] == {("mamoru", "Failures")}
    assert shows["Dead-letter queue depth"] == {("AWS/SQS", "ApproximateNumberOfMessagesVisible")}
    assert shows["Function errors"] == {("AWS/Lambda", "Errors")}
    assert shows["Function duration (p50, p99)"] == {("AWS/Lambda", "Duration")}
    # Time to remediate: p50 and p95 of every function.
    rows = expand(metric_widgets["Time to remediate (p50, p95)"]["metrics"])
    got = {(items[3], opts["stat"]) for items, opts in rows}
    assert got == {(f, s) for f in FUNCTIONS for s in ("p50", "p95")}
    # Every metric widget names its region; the alarm widget lists every alarm of the stack.
    assert all(p["region"] == cfn.PSEUDO_PARAMETERS["AWS::Region"] for p in metric_widgets.values())
    (alarms,) = [w["properties"]["alarms"] for w in body["widgets"] if w["type"] == "alarm"]
    p = cfn.PSEUDO_PARAMETERS
    names = {
        cfn.substitute(template, {}, a["Properties"]["AlarmName"])
        for a in cfn.resources(template, "AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == {
        f"arn:{p['AWS::Partition']}:cloudwatch:{p['AWS::Region']}:{p['AWS::AccountId']}:alarm:{n}" for n in names
    }


def test_alarms_on_mamoru_metrics_read_what_the_code_writes(template, catalogue):
    mine = {
        lid: a["Properties"]
        for lid, a in cfn.resources(template, "AWS::CloudWatch::Alarm").items()
        if a["Properties"]["Namespace"] == "mamoru"
    }
    assert set(mine) == {"RemediationFailuresAlarm", "NotificationFailuresAlarm"}
    for lid, a in mine.items():
        dims = {d["Name"]: d["Value"] for d in a["Dimensions"]}
        check_mamoru_metric(catalogue, lid, a["MetricName"], dims)
        # Above zero in 15 minutes, to the alarm topic, quiet when nothing happens.
        assert (a["Statistic"], a["Period"], a["EvaluationPeriods"]) == ("Sum", 900, 1)
        assert (a["Threshold"], a["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert a["TreatMissingData"] == "notBreaching"
        assert a["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert (mine["RemediationFailuresAlarm"]["MetricName"], mine["RemediationFailuresAlarm"]["Dimensions"]) == (
        "Actions", [{"Name": "Status", "Value": "failed"}]
    )


def test_the_readme_describes_every_widget(template):
    body, _ = dashboard_body(template)
    readme = (cfn.REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Metrics, dashboard and alarms", 1)[1].split("\n### ", 1)[0]
    for w in body["widgets"]:
        if w["type"] == "text":
            continue
        assert f"**{w['properties']['title']}**" in section, f"README does not describe {w['properties']['title']!r}"


def test_the_dashboard_url_is_an_output(template):
    out = template["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
    assert out.endswith("#dashboards/dashboard/${Dashboard}")
    assert "region=${AWS::Region}" in out
