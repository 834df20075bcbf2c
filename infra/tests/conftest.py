"""Shared fixtures: the template, the Rust side's declarations, and a moto server on a free
loopback port (a real HTTP EventBridge/SQS emulation, reached with boto3 endpoint_url)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cfn  # noqa: E402

REGION = "us-east-1"


@pytest.fixture(scope="session")
def template() -> dict:
    return cfn.load_template()


@pytest.fixture(scope="session")
def permissions() -> dict:
    return cfn.mamoru_json("permissions")


@pytest.fixture(scope="session")
def routes() -> dict:
    return cfn.mamoru_json("routes")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _moto_server_command() -> list[str]:
    beside = Path(sys.executable).parent / "moto_server"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("moto_server")
    if found:
        return [found]
    return [sys.executable, "-m", "moto.server"]


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    """Starts `moto_server -H 127.0.0.1 -p <free port>` for the session and stops it at the end."""
    # Dummy credentials, never the caller's: nothing here may reach AWS.
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        os.environ[k] = v
    os.environ.pop("AWS_PROFILE", None)
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*_moto_server_command(), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start; see {log}") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def aws(moto_endpoint):
    """boto3 clients on a freshly reset moto."""
    req = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(req, timeout=10).read()

    def client(service: str):
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION)

    return client
