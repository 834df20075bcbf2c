"""A minimal AWS Lambda custom runtime for Python, written for the benchmark.

It does what Lambda's own Python runtime does around a handler, and nothing more: import the
handler module (init), then loop on the Runtime API: GET /next, call the handler, POST the result
to /{id}/response (or the exception to /{id}/error). Logging goes to stdout, one line per record,
as in Lambda.

    python runtime.py MODULE.FUNCTION

Environment: AWS_LAMBDA_RUNTIME_API (host:port), AWS_LAMBDA_FUNCTION_NAME,
AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_LAMBDA_FUNCTION_VERSION.
"""

import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

PREFIX = "/2018-06-01/runtime"


class Context:
    """The subset of Lambda's context object handlers use."""

    def __init__(self, request_id, deadline_ms, function_arn):
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "bench")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = "/aws/lambda/" + self.function_name
        self.log_stream_name = "bench"
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def post(conn, path, body, headers=None):
    conn.request("POST", PREFIX + path, body=body, headers=headers or {})
    conn.getresponse().read()


def main():
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80))
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.INFO,
        format="[%(levelname)s]\t%(asctime)s\t%(name)s\t%(message)s",
    )
    try:
        module_name, _, function_name = sys.argv[1].rpartition(".")
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as e:  # init error: report it as Lambda's runtimes do
        body = json.dumps({"errorType": type(e).__name__, "errorMessage": str(e)})
        post(conn, "/init/error", body, {"Lambda-Runtime-Function-Error-Type": "Runtime.InitError"})
        raise
    while True:
        conn.request("GET", PREFIX + "/invocation/next")
        resp = conn.getresponse()
        payload = resp.read()
        request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
        context = Context(
            request_id,
            int(resp.getheader("Lambda-Runtime-Deadline-Ms") or 0),
            resp.getheader("Lambda-Runtime-Invoked-Function-Arn") or "",
        )
        try:
            result = handler(json.loads(payload), context)
            post(conn, f"/invocation/{request_id}/response", json.dumps(result, default=str))
        except Exception as e:
            body = json.dumps(
                {
                    "errorType": type(e).__name__,
                    "errorMessage": str(e),
                    "stackTrace": traceback.format_exc().splitlines(),
                }
            )
            post(conn, f"/invocation/{request_id}/error", body)


if __name__ == "__main__":
    main()
