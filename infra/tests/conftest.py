"""Shared fixtures: the template, the Rust side's declarations, and a moto server on a free
loopback port (a real HTTP EventBridge/SQS emulation, reached with boto3 endpoint_url)."""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cfn  # noqa: E402
from moto_process import REGION, moto_server_command, reset_moto, running_moto  # noqa: E402


# A check that cannot run has not passed: a skipped test, or a module skipped at collection
# (a missing tool, an importorskip), is reported as a failure.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, which infra/ counts as a failure: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped at collection, which infra/ counts as a failure: {report.longrepr}"


@pytest.fixture(scope="session")
def template() -> dict:
    return cfn.load_template()


@pytest.fixture(scope="session")
def permissions() -> dict:
    return cfn.mamoru_json("permissions")


@pytest.fixture(scope="session")
def grants() -> dict:
    """The registry's grants per function, resources and conditions included."""
    return cfn.mamoru_json("permissions", "--grants")


@pytest.fixture(scope="session")
def routes() -> dict:
    return cfn.mamoru_json("routes")


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    """Starts `moto_server -H 127.0.0.1 -p <free port>` for the session and stops it at the end."""
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    with running_moto(moto_server_command(), log) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def moto_cfn_endpoint(tmp_path_factory):
    """A moto server for the deploy tests: moto_cfn_server.py, which corrects moto's handling
    of AWS::NoValue in lists (see there)."""
    log = tmp_path_factory.mktemp("moto-cfn") / "moto_server.log"
    server = Path(__file__).resolve().parent / "moto_cfn_server.py"
    with running_moto([sys.executable, str(server)], log) as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint):
    """boto3 clients on a freshly reset moto."""
    reset_moto(moto_endpoint)

    def client(service: str):
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION)

    return client
