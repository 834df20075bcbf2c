"""Side-by-side benchmark of mamoru against a boto3 responder and Cloud Custodian.

Started by bench/run.sh. Everything runs on 127.0.0.1, on free ports, and is stopped at the end:

* moto server (the AWS APIs);
* a counting proxy in front of moto: each AWS call is counted by operation (X-Amz-Target, or
  Action= in the form body) and timed, and one request per operation is kept to measure moto's
  floor;
* a Lambda Runtime API emulator (/next, /{id}/response, /{id}/error, /init/error).

For each event (a GuardDuty key-compromise finding, a CloudTrail StopLogging call) and each
subject (the mamoru function binary, the boto3 responder, Cloud Custodian's Lambda handler):

* cold: the process is started N times, timed from process start, through init, to the posted
  response of one event (AWS calls through the proxy; the state is reset before each run and the
  remediation checked after it);
* warm: one process handles M events through the proxy (calls per event), then M events with
  moto reached directly (the timing run: no proxy hop in the times);
* max RSS of each process (wait4 ru_maxrss).

moto's floor: the requests each subject made are replayed straight to moto in a tight loop; the
floor of an event is the sum of the median replay times of its calls. Warm overhead per event is
the median warm time minus that floor.
"""

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
FIXTURES = ROOT / "tests" / "fixtures" / "events"
ACCOUNT = "123456789012"
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
PREFIX = "/2018-06-01/runtime"

now = time.perf_counter


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def median(xs):
    return statistics.median(xs) if xs else None


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Small responses written in two pieces (headers, body) would otherwise wait for the peer's
    # delayed ACK (Nagle): 40 ms per response.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def parse_request(self):
        # The request line has just been read: the request has arrived. Header parsing (slow in
        # Python) comes after this stamp, so it is not charged to the subject.
        self.arrived = now()
        return super().parse_request()

    def reply(self, code, headers, body):
        """The whole response in one write."""
        head = [f"HTTP/1.1 {code} {self.responses.get(code, ('',))[0]}"]
        head += [f"{k}: {v}" for k, v in headers]
        head.append(f"Content-Length: {len(body)}")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a killed function's connection: nothing to report


# ------------------------------------------------------------------------------------------------
# Lambda Runtime API emulator


class RuntimeApi:
    """One invocation at a time: the driver queues an event and waits for the answer."""

    def __init__(self):
        self.cv = threading.Condition()
        self.pending = []  # (request id, payload bytes)
        self.results = {}  # request id -> dict
        self.handout = {}  # request id -> time the event was handed out
        self.next_calls = []  # times of GET /next
        self.init_error = None
        self.closed = False
        self.counter = 0
        self.generation = 0  # bumped by reset(): /next calls of killed processes give up
        api = self

        class Handler(QuietHandler):
            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    return self._send(404, b"not found")
                with api.cv:
                    api.next_calls.append(now())
                    api.cv.notify_all()
                    generation = api.generation
                    while not api.pending and not api.closed and api.generation == generation:
                        api.cv.wait()
                    if api.closed or api.generation != generation:
                        return self._send(410, b"gone")
                    rid, payload = api.pending.pop(0)
                deadline = int(time.time() * 1000) + 30_000
                headers = [
                    ("Lambda-Runtime-Aws-Request-Id", rid),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                    ("Content-Type", "application/json"),
                ]
                with api.cv:
                    api.handout[rid] = now()
                self.reply(200, headers, payload)

            def do_POST(self):
                t = self.arrived
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path[len(PREFIX):].strip("/").split("/")
                if parts == ["init", "error"]:
                    with api.cv:
                        api.init_error = body.decode("utf-8", "replace")
                        api.cv.notify_all()
                    return self._send(202, b"{}")
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    with api.cv:
                        api.results[parts[1]] = {"kind": parts[2], "time": t, "body": body}
                        api.cv.notify_all()
                    return self._send(202, b"{}")
                self._send(404, b"not found")

            def _send(self, code, body):
                self.reply(code, [], body)

        self.server = Server(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def queue(self, payload):
        if callable(payload):  # Varying: a new event each time
            payload = payload()
        with self.cv:
            self.counter += 1
            rid = f"00000000-0000-4000-8000-{self.counter:012d}"
            self.pending.append((rid, payload))
            self.cv.notify_all()
        return rid

    def wait(self, rid, proc, timeout=120):
        """The answer to one invocation (or None if the process died or it timed out)."""
        deadline = now() + timeout
        with self.cv:
            while rid not in self.results:
                if self.init_error is not None or proc.poll() is not None or now() > deadline:
                    return None
                self.cv.wait(0.05)
            return self.results.pop(rid)

    def wait_next(self, count, proc, timeout=120):
        """Waits until /next has been called `count` times in all (init done)."""
        deadline = now() + timeout
        with self.cv:
            while len(self.next_calls) < count:
                if self.init_error is not None or proc.poll() is not None or now() > deadline:
                    return None
                self.cv.wait(0.05)
            return self.next_calls[count - 1]

    def reset(self):
        with self.cv:
            self.generation += 1
            self.cv.notify_all()
            self.pending.clear()
            self.results.clear()
            self.handout.clear()
            self.next_calls.clear()
            self.init_error = None

    def close(self):
        with self.cv:
            self.closed = True
            self.cv.notify_all()
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------------------------------------
# Counting proxy in front of moto


def operation(headers, body):
    """(service, operation) of an AWS request."""
    auth = headers.get("Authorization") or ""
    service = "?"
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = scope[3]
    target = headers.get("X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1]
    if body:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return service, form["Action"][0]
    return service, "?"


class CountingProxy:
    """Forwards every request to moto; records (start, end, service, operation, moto time)."""

    def __init__(self, upstream_port, answer=False):
        self.lock = threading.Lock()
        self.in_flight = 0
        # answer=True: the first successful response to each (service, operation) comes from
        # moto and is kept; later requests of that operation are answered from it, at once. The
        # subject then sees a fast, keep-alive endpoint (as AWS is), and its own CPU and time per
        # event can be read without moto's (single Python process) in the way.
        self.answer = answer
        self.answers = {}
        # TCP connections accepted from the subjects: with keep-alive, one per process (the
        # proxy answers HTTP/1.1 without `Connection: close`, as AWS endpoints do), where moto
        # itself closes every connection after one request.
        self.connections = 0
        self.calls = []
        self.samples = {}  # (tag, service, op) -> (method, path, headers, body)
        self.tag = None
        local = threading.local()
        proxy = self

        class Handler(QuietHandler):
            def setup(self):
                super().setup()
                with proxy.lock:
                    proxy.connections += 1

            def _forward(self):
                t0 = self.arrived
                with proxy.lock:
                    proxy.in_flight += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.answer:
                    service, op = operation(self.headers, body)
                    kept = proxy.answers.get((service, op))
                    if kept is not None:
                        self.reply(*kept)
                        t3 = now()
                        with proxy.lock:
                            proxy.calls.append({"start": t0, "end": t3, "service": service, "op": op,
                                                "moto_s": 0.0, "status": kept[0]})
                            proxy.in_flight -= 1
                        return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn = getattr(local, "conn", None)
                if conn is None:
                    conn = local.conn = http.client.HTTPConnection("127.0.0.1", upstream_port)
                    conn.connect()
                    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                t1 = now()
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                except (OSError, http.client.HTTPException):
                    local.conn = None
                    conn.close()
                    with proxy.lock:
                        proxy.in_flight -= 1
                    return self._reply(502, [], b"proxy: upstream failed")
                t2 = now()
                hop = {"transfer-encoding", "connection", "content-length", "keep-alive"}
                kept = (resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in hop], data)
                self.reply(*kept)
                if proxy.answer and resp.status < 300:
                    with proxy.lock:
                        proxy.answers.setdefault(operation(self.headers, body), kept)
                t3 = now()
                service, op = operation(self.headers, body)
                with proxy.lock:
                    proxy.calls.append(
                        {"start": t0, "end": t3, "service": service, "op": op,
                         "moto_s": t2 - t1, "status": resp.status}
                    )
                    key = (proxy.tag, service, op)
                    if key not in proxy.samples and resp.status < 300:
                        proxy.samples[key] = (self.command, self.path, headers, body)
                    proxy.in_flight -= 1

            def _reply(self, code, headers, data):
                self.reply(code, headers, data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = Server(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def between(self, t0, t1):
        # A call the subject already has its answer to may not be recorded yet: the proxy
        # records after replying. Wait for those (briefly).
        deadline = now() + 1
        while True:
            with self.lock:
                if self.in_flight == 0 or now() > deadline:
                    return [c for c in self.calls if t0 <= c["start"] < t1]
            time.sleep(0.0005)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------------------------------------
# moto


class Moto:
    def __init__(self, venv):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(venv / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = now() + 60
        while now() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/moto-api/")
                c.getresponse().read()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"moto did not start on 127.0.0.1:{self.port}")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def client(self, service, region=REGION):
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Varying:
    """An event whose IDs change at each delivery (the envelope's `id`, and the finding's or the
    CloudTrail record's own ID): with a state table, each one is a first delivery and a first
    sight, so every event pays every state check (claim, digest, budgets), as a new event in
    production does. The same event repeated would be a redelivery, handled after one claim."""

    def __init__(self, payload):
        self.event = json.loads(payload)
        self.n = 0

    def __call__(self):
        self.n += 1
        e = json.loads(json.dumps(self.event))
        e["id"] = f"{e['id'][:24]}{self.n:012d}"
        if "eventID" in e["detail"]:
            e["detail"]["eventID"] = e["id"]
        else:
            e["detail"]["id"] = f"{e['detail']['id']}-{self.n}"
        return json.dumps(e).encode()


STATE_TABLE = "mamoru-bench-state"


class World:
    """The AWS state the events name, created in moto, and its reset/check per run."""

    def __init__(self, moto):
        self.moto = moto
        iam = moto.client("iam")
        iam.create_user(UserName="bench-user")
        self.key = iam.create_access_key(UserName="bench-user")["AccessKey"]["AccessKeyId"]
        self.other_key = iam.create_access_key(UserName="bench-user")["AccessKey"]["AccessKeyId"]
        self.trails = {}
        for region, name in ((REGION, "bench-trail"), (OTHER_REGION, "bench-trail-eu")):
            moto.client("s3", region).create_bucket(
                Bucket=f"{name}-logs",
                **({} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}),
            )
            ct = moto.client("cloudtrail", region)
            arn = ct.create_trail(Name=name, S3BucketName=f"{name}-logs")["TrailARN"]
            self.trails[region] = arn
        sns = moto.client("sns")
        self.topic = sns.create_topic(Name="mamoru-alerts")["TopicArn"]
        sqs = moto.client("sqs")
        self.queue = sqs.create_queue(QueueName="mamoru-alerts-inbox")["QueueUrl"]
        self.sns = sns
        self.subscription = None
        self.iam, self.sqs = iam, sqs
        self.seen = 0
        # moto loads each service's backend on its first request (slow, once): do it now, so
        # that the first measured run does not pay for it.
        moto.client("sts").get_caller_identity()
        iam.list_account_aliases()
        iam.get_user(UserName="bench-user")
        moto.client("resourcegroupstaggingapi").get_resources()
        for region in (REGION, OTHER_REGION):
            moto.client("cloudtrail", region).describe_trails()
            moto.client("sts", region).get_caller_identity()

    def events(self):
        gd = json.loads((FIXTURES / "constructed/finding-iamuser-key-malicious-ip-high.json").read_text())
        gd["detail"]["resource"]["accessKeyDetails"]["userName"] = "bench-user"
        gd["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = self.key
        ct = json.loads((FIXTURES / "aws.cloudtrail/ct-stop-logging.json").read_text())
        ct["detail"]["requestParameters"]["name"] = self.trails[REGION]
        other = json.loads((FIXTURES / "constructed/ct-stop-logging-trail-in-other-region.json").read_text())
        other["detail"]["requestParameters"]["name"] = self.trails[OTHER_REGION]
        return {
            "guardduty": json.dumps(gd).encode(),
            "cloudtrail": json.dumps(ct).encode(),
            "cloudtrail-other-region": json.dumps(other).encode(),
        }

    def reset(self, family):
        if family == "guardduty":
            self.iam.update_access_key(UserName="bench-user", AccessKeyId=self.key, Status="Active")
        else:
            region = OTHER_REGION if family.endswith("other-region") else REGION
            self.moto.client("cloudtrail", region).stop_logging(Name=self.trails[region])

    def remediated(self, family):
        if family == "guardduty":
            keys = {k["AccessKeyId"]: k["Status"]
                    for k in self.iam.list_access_keys(UserName="bench-user")["AccessKeyMetadata"]}
            return keys[self.key] == "Inactive" and keys[self.other_key] == "Active"
        region = OTHER_REGION if family.endswith("other-region") else REGION
        ct = self.moto.client("cloudtrail", region)
        return bool(ct.get_trail_status(Name=self.trails[region])["IsLogging"])

    def listen(self, on):
        """Delivers the topic's messages to the queue (cold runs count them) or not (warm runs:
        moto's publish slows down as a queue grows, which would skew the floor over a run)."""
        if on and self.subscription is None:
            self.subscription = self.sns.subscribe(
                TopicArn=self.topic, Protocol="sqs",
                Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:mamoru-alerts-inbox")["SubscriptionArn"]
        elif not on and self.subscription is not None:
            self.sns.unsubscribe(SubscriptionArn=self.subscription)
            self.subscription = None

    def notifications(self):
        """Messages delivered to the topic since the last call."""
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["ApproximateNumberOfMessages"])
        total = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
        n, self.seen = total - self.seen, total
        return n


# ------------------------------------------------------------------------------------------------
# Subjects


class Subject:
    def __init__(self, name, label, argv, cwd=None, note=None, env=None):
        self.name, self.label, self.argv, self.cwd, self.note = name, label, argv, cwd, note
        self.env = env or {}  # added to base_env's (bench/org.py: the organization settings)


def c7n_subject(name, label, policy, family, world, workdir, note=None):
    for a in policy["actions"]:
        if a.get("type") == "notify":
            a["transport"]["topic"] = world.topic
    cwd = workdir / f"{name}-{family}"
    cwd.mkdir(parents=True, exist_ok=True)
    # What c7n's Lambda packaging writes next to the handler: execution options and the policy.
    (cwd / "config.json").write_text(json.dumps({"execution-options": {}, "policies": [policy]}, indent=2))
    argv = [str(BENCH / ".venv-c7n/bin/python"), str(BENCH / "baseline" / "runtime.py"), "c7n.handler.dispatch_event"]
    return Subject(name, label, argv, cwd=str(cwd), note=note)


def subjects_for(family, args, world, workdir):
    # MAMORU_BENCH_BIN_DIR: another build of the functions, e.g. one with symbols for `perf`.
    # The one binary of the four functions; MAMORU_FUNCTION says which one it runs.
    binary = Path(os.environ.get("MAMORU_BENCH_BIN_DIR", ROOT / "target" / "release")) / "mamoru-lambda"
    function = {"MAMORU_FUNCTION": family}
    out = [
        Subject("mamoru", f"mamoru ({binary.name}, {family})", [str(binary)], env=dict(function)),
        Subject("boto3", "boto3 responder (bench/baseline/responder.py)",
                [str(ROOT / ".venv/bin/python"), str(BENCH / "baseline" / "runtime.py"), "responder.handler"],
                cwd=str(BENCH / "baseline")),
    ]
    if args.c7n:
        policy = json.loads((BENCH / "baseline" / "c7n" / f"{family}.json").read_text())
        out.append(c7n_subject("c7n", "Cloud Custodian (c7n.handler.dispatch_event)", policy, family, world, workdir))
        if family == "guardduty":
            # c7n's guard-duty mode annotates the user with the finding's key as a dict, and
            # remove-keys iterates that annotation as a list of keys: the action fails. What
            # runs is the rest of the policy: resolve the user, filter, notify.
            notify_only = json.loads(json.dumps(policy))
            notify_only["name"] += "-notify"
            notify_only["actions"] = [a for a in policy["actions"] if a["type"] == "notify"]
            out.append(c7n_subject("c7n-notify", "Cloud Custodian, the part that runs (no remove-keys)",
                                   notify_only, family, world, workdir,
                                   note="remove-keys dropped: it fails in guard-duty mode"))
    if args.state:
        # The same binary with the state table (shared/src/state): claims, digests, budgets.
        out.insert(1, Subject("mamoru-state", f"mamoru ({binary.name}, {family}) with the state table", [str(binary)],
                              env={**function,
                                   "MAMORU_STATE_TABLE": STATE_TABLE,
                                   # High enough that no budget withholds the bench's actions.
                                   "MAMORU_BUDGET_PER_ACCOUNT": "10000",
                                   "MAMORU_BUDGET_PER_PRINCIPAL": "10000"}))
    return [s for s in out if s.name in args.subjects or s.name.split("-")[0] in args.subjects]


def base_env(api, endpoint, world):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "MAMORU_MODE": "enforce",
        "MAMORU_TOPIC_ARN": world.topic,
        # As the stack sets it for the functions (infra/template.yaml); the Python subjects
        # ignore it.
        "MIMALLOC_ARENA_EAGER_COMMIT": "0",
        # As the stack deploys the functions: their own roles named, no STS call at start-up.
        "MAMORU_SELF_ROLE_ARNS": SELF_ROLE_ARNS,
    }
    return env


SELF_ROLE_ARNS = ",".join(
    f"arn:aws:iam::123456789012:role/mamoru-{f}-role" for f in ("guardduty", "cloudtrail", "config")
)


class Run:
    """One process of a subject under the emulator."""

    def __init__(self, subject, api, endpoint, world, log, extra_env=None):
        env = base_env(api, endpoint, world)
        env.update(subject.env)
        env.update(extra_env or {})
        self.api = api
        self.cpu_ms = None
        self.t_start = now()
        self.proc = subprocess.Popen(subject.argv, cwd=subject.cwd, env=env, stdout=log, stderr=log)

    def stop(self):
        """Kills the process. Returns (peak RSS, ru_maxrss) in KiB; sets self.cpu_ms.

        The peak RSS is VmHWM of the process's own address space, read just before the kill.
        wait4's ru_maxrss is kept for the record but is not the figure to compare: Linux carries
        the parent's high-water mark over the fork and exec into the child, so for any child of
        this (Python, ~40-60 MiB) driver it reports at least the driver's size.
        """
        hwm = None
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = int(line.split()[1])
        except OSError:
            pass
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        try:
            _, _, usage = os.wait4(self.proc.pid, 0)
            self.proc.returncode = -9
            self.cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000
            return hwm, usage.ru_maxrss
        except ChildProcessError:
            return hwm, None


def answer_ok(result):
    return result is not None and result["kind"] == "response"


def run_cold(subject, family, payload, n, api, proxy, world, log):
    world.listen(True)
    world.notifications()
    runs = []
    version = None
    for i in range(n):
        world.reset(family)
        api.reset()
        rid = api.queue(payload)
        run = Run(subject, api, proxy.endpoint, world, log)
        result = api.wait(rid, run.proc)
        t_end = result["time"] if result else now()
        t_init = api.next_calls[0] if api.next_calls else None
        rss, ru_maxrss = run.stop()
        calls = proxy.between(run.t_start, t_end)
        if answer_ok(result) and version is None:
            try:
                version = json.loads(result["body"]).get("version")
            except (ValueError, AttributeError):
                pass
        runs.append({
            "ok": answer_ok(result),
            "error": None if answer_ok(result) else (result["body"].decode("utf-8", "replace")[:500] if result else api.init_error or "no answer"),
            "total_ms": (t_end - run.t_start) * 1000,
            "init_ms": (t_init - run.t_start) * 1000 if t_init else None,
            "max_rss_kib": rss,
            "ru_maxrss_kib": ru_maxrss,
            "cpu_ms": run.cpu_ms,
            "calls": [f"{c['service']}:{c['op']}" for c in calls],
            "init_calls": [f"{c['service']}:{c['op']}" for c in calls if t_init and c["start"] < t_init],
            "remediated": world.remediated(family),
        })
    notified = world.notifications()
    return {
        "n": n,
        "version": version,
        "ok": sum(r["ok"] for r in runs),
        "remediated": sum(r["remediated"] for r in runs),
        "notifications": notified,
        "total_ms_median": median([r["total_ms"] for r in runs if r["ok"]]),
        "init_ms_median": median([r["init_ms"] for r in runs if r["ok"] and r["init_ms"] is not None]),
        "max_rss_kib_median": median([r["max_rss_kib"] for r in runs if r["max_rss_kib"]]),
        "ru_maxrss_kib_median": median([r["ru_maxrss_kib"] for r in runs if r["ru_maxrss_kib"]]),
        "cpu_ms_median": median([r["cpu_ms"] for r in runs if r["ok"] and r["cpu_ms"] is not None]),
        "calls_median": median([len(r["calls"]) for r in runs if r["ok"]]),
        "calls_example": next((r["calls"] for r in runs if r["ok"]), []),
        "init_calls_example": next((r["init_calls"] for r in runs if r["ok"]), []),
        "errors": sorted({r["error"] for r in runs if r["error"]})[:3],
        "runs": runs,
    }


class Warm:
    """One warm process: started once, then handed events one at a time."""

    def __init__(self, subject, api, endpoint, proxy, world, log):
        self.api, self.proxy = api, proxy
        api.reset()
        self.run = Run(subject, api, endpoint, world, log)
        self.ready = api.wait_next(1, self.run.proc)
        self.events = []
        self.dead = self.ready is None
        self.version = None  # the binary's version, from its first answer

    def one(self, payload):
        if self.dead:
            return
        api = self.api
        rid = api.queue(payload)
        result = api.wait(rid, self.run.proc)
        if result is None:
            self.dead = True
            return
        t0 = api.handout.get(rid)
        calls = self.proxy.between(t0, result["time"]) if self.proxy else []
        wall = (result["time"] - t0) * 1000
        proxy_ms = sum(c["end"] - c["start"] for c in calls) * 1000
        if self.version is None and answer_ok(result):
            try:
                self.version = json.loads(result["body"]).get("version")
            except (ValueError, AttributeError):
                pass
        self.events.append({
            "ok": answer_ok(result),
            "ms": wall,
            "calls": [f"{c['service']}:{c['op']}" for c in calls],
            "proxy_ms": proxy_ms,
            "moto_ms": sum(c["moto_s"] for c in calls) * 1000,
            # Everything but the time spent inside the proxy and moto: the subject's own
            # work, its HTTP client, loopback transit and the emulator's hand-off.
            "overhead_ms": wall - proxy_ms,
        })

    def finish(self, m, family, world):
        rss, ru_maxrss = self.run.stop()
        events, proxy, run = self.events, self.proxy, self.run
        ok = [e for e in events if e["ok"]]
        times = [e["ms"] for e in ok]
        return {
            "events": len(events),
            "ok": len(ok),
            "init_ms": (self.ready - run.t_start) * 1000 if self.ready else None,
            "remediated": world.remediated(family),
            "ms_median": median(times),
            "ms_p90": pct(times, 90),
            "ms_mean": statistics.fmean(times) if times else None,
            "max_rss_kib": rss,
            "ru_maxrss_kib": ru_maxrss,
            # CPU time of the whole process (init and all events) divided by the events.
            "cpu_ms_per_event": run.cpu_ms / len(ok) if ok and run.cpu_ms is not None else None,
            "calls_per_event_median": median([len(e["calls"]) for e in ok]) if proxy else None,
            "calls_example": ok[len(ok) // 2]["calls"] if ok and proxy else [],
            "ops": sorted({c for e in ok for c in e["calls"]}) if proxy else [],
            "proxy_ms_median": median([e["proxy_ms"] for e in ok]) if proxy else None,
            "moto_ms_median": median([e["moto_ms"] for e in ok]) if proxy else None,
            "overhead_ms_median": median([e["overhead_ms"] for e in ok]) if proxy else None,
            "overhead_ms_p90": pct([e["overhead_ms"] for e in ok], 90) if proxy else None,
            "error": None if len(ok) == m else (events[-1] if events else self.api.init_error or "no event handled"),
        }


def run_warm(subject, family, payload, m, apis, moto, proxy, world, log, block=50):
    """Two warm processes of the subject, one reaching moto directly (the times), one through
    the proxy (the calls and moto's floor), fed alternately in blocks of `block` events, so
    that both see the same machine and the same moto: drift in either cancels out."""
    world.reset(family)
    world.listen(False)
    direct = Warm(subject, apis[0], moto.endpoint, None, world, log)
    connections = proxy.connections
    proxied = Warm(subject, apis[1], proxy.endpoint, proxy, world, log)
    done = 0
    while done < m and not (direct.dead and proxied.dead):
        n = min(block, m - done)
        for w in (direct, proxied):
            for _ in range(n):
                w.one(payload)
        done += n
    connections = proxy.connections - connections
    wp = proxied.finish(m, family, world)
    wp["connections"] = connections
    return direct.finish(m, family, world), wp


def run_answered(subject, family, payload, m, api, answering, world, log):
    """One warm process against the answering proxy (keep-alive, moto's answers replayed): the
    subject's own CPU and time per event, with next to no endpoint time in them."""
    world.reset(family)
    connections = answering.connections
    w = Warm(subject, api, answering.endpoint, answering, world, log)
    for _ in range(m):
        w.one(payload)
    r = w.finish(m, family, world)
    r["connections"] = answering.connections - connections
    return r


def run_concurrency(subject, family, payload, m, api, answering, world, log, n, rounds=3):
    """Events per second of one process given `m` events queued at once: sequential (no
    AWS_LAMBDA_MAX_CONCURRENCY) against `n` concurrent invocations (AWS_LAMBDA_MAX_CONCURRENCY=n,
    Lambda Managed Instances), alternated `rounds` times, against the answering proxy."""
    rates = {"sequential": [], "concurrent": []}
    for _ in range(rounds):
        for label, env in (("sequential", {}), ("concurrent", {"AWS_LAMBDA_MAX_CONCURRENCY": str(n)})):
            world.reset(family)
            api.reset()
            run = Run(subject, api, answering.endpoint, world, log, env)
            if api.wait_next(1, run.proc) is None:
                run.stop()
                rates[label].append(None)
                continue
            t0 = now()
            rids = [api.queue(payload) for _ in range(m)]
            ok = 0
            for rid in rids:
                res = api.wait(rid, run.proc)
                ok += 1 if res is not None and answer_ok(res) else 0
            elapsed = now() - t0
            run.stop()
            rates[label].append(m / elapsed if ok == m else None)
    seq = [x for x in rates["sequential"] if x]
    con = [x for x in rates["concurrent"] if x]
    return {
        "n": n,
        "events": m,
        "sequential_per_s": median(seq) if seq else None,
        "concurrent_per_s": median(con) if con else None,
        "all": rates,
    }


# ------------------------------------------------------------------------------------------------
# moto's floor: the subjects' own requests, replayed straight to moto


def replay_floor(moto, sample, repeat):
    method, path, headers, body = sample
    conn = http.client.HTTPConnection("127.0.0.1", moto.port)
    times = []
    for _ in range(repeat):
        t0 = now()
        conn.request(method, path, body=body, headers=headers)
        conn.getresponse().read()
        times.append((now() - t0) * 1000)
    conn.close()
    return median(times)


def noop_floor(api, m, log):
    """The emulator's own hand-off: a no-op Python runtime answering immediately."""
    subject = Subject("noop", "no-op runtime", [sys.executable, "-c", NOOP_RUNTIME])
    api.reset()
    env = {"AWS_LAMBDA_RUNTIME_API": api.address, "PATH": os.environ.get("PATH", "")}
    proc = subprocess.Popen(subject.argv, env=env, stdout=log, stderr=log)
    times = []
    if api.wait_next(1, proc) is not None:
        for _ in range(m):
            rid = api.queue(b"{}")
            result = api.wait(rid, proc)
            if result is None:
                break
            times.append((result["time"] - api.handout[rid]) * 1000)
    proc.kill()
    proc.wait()
    return median(times)


NOOP_RUNTIME = """
import http.client, os
h, _, p = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
c = http.client.HTTPConnection(h, int(p))
while True:
    c.request("GET", "/2018-06-01/runtime/invocation/next")
    r = c.getresponse(); r.read()
    rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
    c.request("POST", "/2018-06-01/runtime/invocation/" + rid + "/response", body=b"{}")
    c.getresponse().read()
"""


# ------------------------------------------------------------------------------------------------
# Report


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def fmt(v, unit="", digits=1):
    if v is None:
        return "n/a"
    return f"{v:.{digits}f}{unit}"


FIGURES = ("cold_ms", "cold_cpu_ms", "max_rss_mib", "warm_ms", "overhead_ms", "calls_per_event",
           "warm_cpu_ms", "warm_cpu_keepalive_ms", "warm_cpu_answered_ms", "warm_ms_answered")


def summarize(results):
    rows = []
    for family, subjects in results["families"].items():
        for name, r in subjects.items():
            cold, warm, wp = r.get("cold") or {}, r.get("warm") or {}, r.get("warm_proxied") or {}
            rss = [x for x in (cold.get("max_rss_kib_median"), warm.get("max_rss_kib")) if x]
            warm_ms, floor_ms = warm.get("ms_median"), wp.get("moto_ms_median")
            rows.append({
                "family": family,
                "subject": name,
                "version": cold.get("version"),
                "note": r.get("note"),
                "cold_ms": cold.get("total_ms_median"),
                "init_ms": cold.get("init_ms_median"),
                "cold_cpu_ms": cold.get("cpu_ms_median"),
                "cold_rss_mib": cold["max_rss_kib_median"] / 1024 if cold.get("max_rss_kib_median") else None,
                "warm_rss_mib": warm["max_rss_kib"] / 1024 if warm.get("max_rss_kib") else None,
                # The larger of the two: what the function's memory size must hold.
                "max_rss_mib": max(rss) / 1024 if rss else None,
                "warm_ms": warm_ms,
                "warm_cpu_ms": warm.get("cpu_ms_per_event"),
                # The same, through the proxy, which keeps the connection open as AWS does:
                # the figure production sees. `warm_connections`: TCP connections the process
                # opened for all its events (1 when keep-alive holds).
                "warm_cpu_keepalive_ms": wp.get("cpu_ms_per_event"),
                "warm_connections": wp.get("connections"),
                # Against the answering proxy: keep-alive, no moto in the loop.
                "warm_cpu_answered_ms": (r.get("warm_answered") or {}).get("cpu_ms_per_event"),
                "warm_ms_answered": (r.get("warm_answered") or {}).get("ms_median"),
                "concurrency": r.get("concurrency"),
                "floor_ms": floor_ms,
                # Warm time per event (moto reached directly) above moto's own time for the
                # event's calls (as the proxy's upstream leg saw it, same run).
                "overhead_ms": warm_ms - floor_ms if warm_ms is not None and floor_ms is not None else None,
                # Upper bound: per event, everything outside the proxy and moto in the proxied
                # run (includes the extra loopback hop to the proxy and its request parsing).
                "overhead_outside_proxy_ms": wp.get("overhead_ms_median"),
                "replay_floor_ms": r.get("replay_floor_ms"),
                "calls_per_event": wp.get("calls_per_event_median"),
                "calls_cold": cold.get("calls_median"),
                "init_calls": cold.get("init_calls_example") if cold.get("ok") else None,
                "event_calls": wp.get("calls_example"),
                "cold_ok": f"{cold.get('ok', 0)}/{cold.get('n', 0)}",
                "remediated": f"{cold.get('remediated', 0)}/{cold.get('n', 0)}",
                "notified": cold.get("notifications"),
                "warm_ok": f"{warm.get('ok', 0)}/{warm.get('events', 0)}",
            })
    for row in rows:
        mrow = next((x for x in rows if x["family"] == row["family"] and x["subject"] == "mamoru"), None)
        if mrow and row is not mrow:
            row["ratio"] = {k: ratio(mrow[k], row[k]) for k in FIGURES}
    return rows


def print_table(rows, results):
    print()
    print("Medians (times in ms, memory in MiB). Ratios are mamoru / baseline, from this run.")
    hdr = (f"{'event':<10} {'subject':<10} {'cold':>7} {'init':>7} {'cpu':>6} {'RSS':>6} {'warm':>7} "
           f"{'floor':>6} {'ovh':>6} {'ovh<=':>6} {'calls':>5}  cold ok, remediated, warm ok")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['family']:<10} {r['subject']:<10} {fmt(r['cold_ms']):>7} {fmt(r['init_ms']):>7} "
              f"{fmt(r['cold_cpu_ms']):>6} {fmt(r['max_rss_mib']):>6} {fmt(r['warm_ms'], digits=2):>7} "
              f"{fmt(r['floor_ms'], digits=2):>6} {fmt(r['overhead_ms'], digits=2):>6} "
              f"{fmt(r['overhead_outside_proxy_ms'], digits=2):>6} {fmt(r['calls_per_event'], digits=0):>5}  "
              f"{r['cold_ok']}, {r['remediated']}, {r['warm_ok']}")
    print()
    print(f"{'event':<10} {'mamoru / baseline':<20} {'cold time':>10} {'cold CPU':>9} {'max RSS':>8} "
          f"{'warm/event':>11} {'overhead':>9} {'calls/event':>12}")
    for r in rows:
        if "ratio" not in r:
            continue
        q = r["ratio"]
        print(f"{r['family']:<10} {'/ ' + r['subject']:<20} {fmt(q['cold_ms'], digits=3):>10} "
              f"{fmt(q['cold_cpu_ms'], digits=3):>9} {fmt(q['max_rss_mib'], digits=3):>8} {fmt(q['warm_ms'], digits=3):>11} "
              f"{fmt(q['overhead_ms'], digits=3):>9} {fmt(q['calls_per_event'], digits=2):>12}")
    print()
    print("cold: process start to posted response; init: process start to first /next; cpu: CPU time")
    print("(user+sys) of the cold process; RSS: peak resident set (VmHWM), the larger of cold and warm;")
    print("warm: per event, moto reached directly; floor: moto's own time for the event's calls;")
    print("ovh: warm minus floor; ovh<=: upper bound, per event everything outside proxy and moto.")
    print(f"The emulator's hand-off alone (a no-op Python runtime): {fmt(results.get('noop_handoff_ms'), ' ms', 3)} per event.")
    print("Warm CPU (user+sys) per event, whole process over its events: a new connection per call (moto")
    print("direct) and keep-alive (through the proxy; connections the process opened in parentheses):")
    for r in rows:
        print(f"  {r['family']}/{r['subject']}: {fmt(r['warm_cpu_ms'], ' ms', 3)} and "
              f"{fmt(r['warm_cpu_keepalive_ms'], ' ms', 3)} ({r['warm_connections']} connections); "
              f"answered by the proxy: {fmt(r['warm_cpu_answered_ms'], ' ms', 3)} CPU, "
              f"{fmt(r['warm_ms_answered'], ' ms', 3)} per event")
        if r.get("concurrency"):
            c = r["concurrency"]
            print(f"    {c['events']} events queued at once: sequential {fmt(c['sequential_per_s'], '/s', 0)}, "
                  f"{c['n']} concurrent {fmt(c['concurrent_per_s'], '/s', 0)} "
                  f"(ratio {fmt(ratio(c['concurrent_per_s'], c['sequential_per_s']), '', 2)})")
    for r in rows:
        print(f"  {r['family']}/{r['subject']}: init calls {r['init_calls']}, event calls {r['event_calls']}, "
              f"notifications in cold runs {r['notified']}" + (f" ({r['note']})" if r["note"] else ""))
    for family, subjects in results["families"].items():
        for name, r in subjects.items():
            for e in ((r.get("cold") or {}).get("errors") or []):
                print(f"  {family}/{name} error: {e[:300]}")
            if r.get("other_region"):
                print(f"  {family}/{name} StopLogging of a trail in {OTHER_REGION}: {r['other_region']}")


def markdown(rows, results):
    """The same tables, in Markdown (bench/results/latest.md), for the README."""
    out = ["| event | subject | cold ms | init ms | cold CPU ms | peak RSS MiB | warm ms/event | moto floor ms "
           "| overhead ms | overhead upper bound ms | AWS calls/event | init calls | cold ok / remediated |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        init = len(r["init_calls"]) if r["init_calls"] is not None else None
        out.append(f"| {r['family']} | {r['subject']} | {fmt(r['cold_ms'])} | {fmt(r['init_ms'])} | "
                   f"{fmt(r['cold_cpu_ms'])} | {fmt(r['max_rss_mib'])} | {fmt(r['warm_ms'], digits=2)} | "
                   f"{fmt(r['floor_ms'], digits=2)} | {fmt(r['overhead_ms'], digits=2)} | "
                   f"{fmt(r['overhead_outside_proxy_ms'], digits=2)} | {fmt(r['calls_per_event'], digits=0)} | "
                   f"{fmt(init, digits=0)} | {r['cold_ok']} / {r['remediated']} |")
    out += ["", "| event | mamoru / | cold time | cold CPU | peak RSS | warm per event | overhead | calls per event |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "ratio" in r:
            q = r["ratio"]
            out.append(f"| {r['family']} | {r['subject']} | {fmt(q['cold_ms'], digits=3)} | {fmt(q['cold_cpu_ms'], digits=3)} | "
                       f"{fmt(q['max_rss_mib'], digits=3)} | {fmt(q['warm_ms'], digits=3)} | "
                       f"{fmt(q['overhead_ms'], digits=3)} | {fmt(q['calls_per_event'], digits=2)} |")
    out.append("")
    out.append(f"Emulator hand-off alone (no-op Python runtime): {fmt(results.get('noop_handoff_ms'), ' ms', 3)} per event.")
    out += ["", "| event | subject | warm CPU ms/event, new connection per call | warm CPU ms/event, keep-alive "
            "| connections opened (keep-alive run) | warm CPU ms/event, answered by the proxy "
            "| warm ms/event, answered | mamoru / subject, answered CPU |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        q = (r.get("ratio") or {}).get("warm_cpu_answered_ms")
        out.append(f"| {r['family']} | {r['subject']} | {fmt(r['warm_cpu_ms'], digits=3)} | "
                   f"{fmt(r['warm_cpu_keepalive_ms'], digits=3)} | {fmt(r['warm_connections'], digits=0)} | "
                   f"{fmt(r['warm_cpu_answered_ms'], digits=3)} | {fmt(r['warm_ms_answered'], digits=3)} | "
                   f"{fmt(q, digits=3)} |")
    for r in rows:
        if r.get("concurrency"):
            c = r["concurrency"]
            out.append(f"\n{r['family']}/{r['subject']}, {c['events']} events queued at once: sequential "
                       f"{fmt(c['sequential_per_s'], '/s', 0)}, {c['n']} concurrent "
                       f"{fmt(c['concurrent_per_s'], '/s', 0)} "
                       f"(ratio {fmt(ratio(c['concurrent_per_s'], c['sequential_per_s']), '', 2)}).")
    out.append("")
    for r in rows:
        out.append(f"- {r['family']}/{r['subject']}: init calls {r['init_calls']}, event calls {r['event_calls']}"
                   + (f" ({r['note']})" if r["note"] else ""))
    return "\n".join(out) + "\n"


def cleanup_c7n_output(workdir):
    """c7n writes each invocation's output under /tmp/<policy name> (it forces that directory)."""
    for config in workdir.glob("c7n*/config.json"):
        for policy in json.loads(config.read_text())["policies"]:
            out = Path("/tmp") / policy["name"]
            if out.is_dir():
                shutil.rmtree(out, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cold", type=int, default=20, help="cold runs per subject (default 20)")
    ap.add_argument("--warm", type=int, default=1000, help="events per warm run (default 1000)")
    ap.add_argument("--replay", type=int, default=200, help="replays per request for the replay floor")
    ap.add_argument("--families", nargs="+", default=["guardduty", "cloudtrail"], choices=["guardduty", "cloudtrail"])
    ap.add_argument("--subjects", nargs="+", default=["mamoru", "boto3", "c7n"])
    ap.add_argument("--out", default=str(BENCH / "results"))
    ap.add_argument("--concurrency", type=int, default=8,
                    help="mamoru only: events/s with this many concurrent invocations "
                         "(AWS_LAMBDA_MAX_CONCURRENCY) against sequential; 0 skips (default 8)")
    ap.add_argument("--state", action="store_true",
                    help="also run mamoru with a state table in moto (subject mamoru-state), every "
                         "event with new IDs for every subject: the cost of the state checks")
    args = ap.parse_args()
    args.c7n = "c7n" in args.subjects
    if args.c7n and not (BENCH / ".venv-c7n/bin/python").exists():
        print("bench/.venv-c7n is missing: Cloud Custodian skipped (bench/run.sh installs it)")
        args.c7n = False

    out = Path(args.out)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)

    moto = Moto(ROOT / ".venv")
    proxy = CountingProxy(moto.port)
    answering = CountingProxy(moto.port, answer=True)
    api, api2 = RuntimeApi(), RuntimeApi()
    results = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "kernel": platform.release(), "loadavg_start": os.getloadavg()},
        "settings": {"cold": args.cold, "warm": args.warm, "replay": args.replay},
        "families": {},
    }
    try:
        world = World(moto)
        events = world.events()
        if args.state:
            ddb = moto.client("dynamodb")
            ddb.create_table(TableName=STATE_TABLE, BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
            ddb.update_item(TableName=STATE_TABLE, Key={"pk": {"S": "warm-up"}},
                            UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "1"}})
            events = {k: Varying(v) for k, v in events.items()}
        with open(logs / "noop.log", "wb") as log:
            results["noop_handoff_ms"] = noop_floor(api, min(args.warm, 1000), log)
        for family in args.families:
            results["families"][family] = {}
            for subject in subjects_for(family, args, world, work):
                print(f"== {family}: {subject.label}", flush=True)
                r = results["families"][family][subject.name] = {"label": subject.label, "note": subject.note}
                with open(logs / f"{family}-{subject.name}.log", "wb") as log:
                    proxy.tag = (family, subject.name)
                    r["cold"] = cold = run_cold(subject, family, events[family], args.cold, api, proxy, world, log)
                    print(f"   cold: {cold['ok']}/{args.cold} answered, {cold['remediated']} remediated, "
                          f"median {fmt(cold['total_ms_median'], ' ms')}, "
                          f"peak RSS {fmt((cold['max_rss_kib_median'] or 0) / 1024, ' MiB')}", flush=True)
                    if cold["ok"] == 0:
                        print("   every cold run failed: no warm runs", flush=True)
                        continue
                    r["warm"], r["warm_proxied"] = run_warm(subject, family, events[family], args.warm,
                                                            (api, api2), moto, proxy, world, log)
                    print(f"   warm: {r['warm']['ok']}/{args.warm} ok, median {fmt(r['warm']['ms_median'], ' ms', 2)}, "
                          f"calls/event {r['warm_proxied']['calls_per_event_median']}, "
                          f"overhead {fmt(r['warm_proxied']['overhead_ms_median'], ' ms', 3)}", flush=True)
                    r["warm_answered"] = wa = run_answered(subject, family, events[family], args.warm,
                                                           api, answering, world, log)
                    print(f"   warm, answered by the proxy (keep-alive): {wa['ok']}/{args.warm} ok, "
                          f"median {fmt(wa['ms_median'], ' ms', 3)}, CPU {fmt(wa['cpu_ms_per_event'], ' ms', 3)}"
                          f" per event, {wa['connections']} connections", flush=True)
                    if args.concurrency > 1 and subject.name == "mamoru":
                        r["concurrency"] = cc = run_concurrency(subject, family, events[family],
                                                                min(args.warm, 400), api, answering,
                                                                world, log, args.concurrency)
                        print(f"   {cc['events']} events queued at once: sequential "
                              f"{fmt(cc['sequential_per_s'], '/s', 0)}, {cc['n']} concurrent "
                              f"{fmt(cc['concurrent_per_s'], '/s', 0)}", flush=True)
                    if family == "cloudtrail":
                        world.reset("cloudtrail-other-region")
                        api.reset()
                        rid = api.queue(events["cloudtrail-other-region"])
                        run = Run(subject, api, moto.endpoint, world, log)
                        res = api.wait(rid, run.proc)
                        run.stop()
                        r["other_region"] = {"answered": answer_ok(res),
                                             "trail_restarted": world.remediated("cloudtrail-other-region")}
                        world.notifications()
                # Cross-check of the floor: this subject's own requests replayed straight to moto.
                ops = r["warm_proxied"].get("calls_example") or []
                by_op = {}
                for op in sorted(set(ops)):
                    service, name = op.split(":", 1)
                    sample = proxy.samples.get(((family, subject.name), service, name))
                    if sample:
                        by_op[op] = replay_floor(moto, sample, args.replay)
                        world.reset(family)
                world.notifications()  # the replayed publishes are not the next subject's
                r["replay_floor_by_op_ms"] = {k: round(v, 3) for k, v in by_op.items()}
                if ops and all(op in by_op for op in ops):
                    r["replay_floor_ms"] = sum(by_op[op] for op in ops)
    finally:
        api.close()
        api2.close()
        proxy.close()
        answering.close()
        moto.stop()
        cleanup_c7n_output(work)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["summary"] = summarize(results)
    print_table(results["summary"], results)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = out / f"bench-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    shutil.copyfile(path, out / "latest.json")
    (out / "latest.md").write_text(markdown(results["summary"], results))
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
