"""Cross-account benchmark: the guardduty function acting in 50 accounts x 3 regions, against
the same function acting in its own account, in one run, side by side.

Started by `bench/run.sh --org`. The machinery is bench/driver.py's (moto server, the counting
proxy, the Lambda Runtime API emulator, warm processes fed alternately); see
bench/README.md, "Cross-account".

Two subjects, the same release binary with the same settings (MAMORU_MODE=enforce,
MAMORU_HUB_ACCOUNT=123456789012, moto's default account, MAMORU_MEMBER_ROLE_NAME=mamoru-member):

* single: every finding is of the hub's own account (its own role, no AssumeRole);
* cross: event i is of member account i mod 50, so each account's first event is among the
  first 50 (it assumes arn:aws:iam::ACCOUNT:role/mamoru/mamoru-member, then reuses it).

Every event is the key-compromise fixture on a key of its own (one user and key per event,
created in the event's account: moto binds what an assumed role's credentials create to that
role's account), `region` i mod 3 over three regions. Four warm processes are fed alternately,
event by event (--block N: N events each): single and cross reaching moto directly (the times),
and single and cross through the counting proxy (the calls, AssumeRole among them, and moto's
own time). Each process
first handles 50 events of the hub's own account (warm-up, not measured), so that the first event
per account is not also the process's first event. Each process has its own keys, so every event
deactivates an active key; all keys are checked at the end. The CPU time of each process (all its
threads, /proc/PID/task/*/schedstat) is read before and after each of its events.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from driver import (  # noqa: E402
    ACCOUNT, BENCH, FIXTURES, REGION, ROOT, CountingProxy, Moto, RuntimeApi, Subject, Warm, fmt,
    median, pct,
)

HUB = ACCOUNT  # moto's default account: the hub's own role is the "testing" credentials
MEMBER_ROLE = "mamoru-member"
# Documentation-style account IDs: 111122223300 .. 111122223349.
MEMBERS = [f"1111222233{i:02d}" for i in range(50)]
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]
# Figures per window of 50 events (the first window: the first event of each account).
WINDOW = 50
# Events of the hub's own account each process handles first, not measured: the process's own
# first-use costs (the hub's clients, lazy statics) are not charged to the first event per account.
WARMUP = 50


class Topic:
    """What driver.base_env needs of the world: the topic."""

    def __init__(self, topic):
        self.topic = topic


class Accounts:
    """boto3 IAM clients per account: the hub's own credentials, or a role assumed in the member
    (moto returns credentials bound to the role's account for any role ARN)."""

    def __init__(self, moto):
        self.moto = moto
        self.iam = {HUB: moto.client("iam")}
        self.sts = moto.client("sts")

    def client(self, account):
        if account not in self.iam:
            c = self.sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/bench-setup",
                                     RoleSessionName="bench-setup")["Credentials"]
            self.iam[account] = boto3.client(
                "iam", region_name=REGION, endpoint_url=self.moto.endpoint,
                aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                aws_session_token=c["SessionToken"])
        return self.iam[account]


def finding(base, serial, account, region, user, key):
    """The key-compromise fixture, of `account` and `region`, on `user`'s `key`, delivered to the
    hub (the envelope's account)."""
    e = json.loads(json.dumps(base))
    d = e["detail"]
    fid = f"{serial:032x}"
    e["id"] = f"00000000-0000-4000-8000-{serial:012d}"
    e["account"] = HUB
    e["region"] = d["region"] = region
    d["accountId"] = account
    d["id"] = fid
    detector = d["service"]["detectorId"]
    d["arn"] = f"arn:aws:guardduty:{region}:{account}:detector/{detector}/finding/{fid}"
    d["resource"]["accessKeyDetails"]["userName"] = user
    d["resource"]["accessKeyDetails"]["accessKeyId"] = key
    return json.dumps(e).encode()


def make_events(accounts, base, n, name, cross, serial):
    """n findings, each on a fresh user and key: (payloads, [(account, user, key)]). Event and
    finding ids from `serial` on."""
    payloads, keys = [], []
    for i in range(n):
        account = MEMBERS[i % len(MEMBERS)] if cross else HUB
        region = REGIONS[i % len(REGIONS)]
        user = f"bench-{name}-{i}"
        iam = accounts.client(account)
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
        payloads.append(finding(base, serial + i, account, region, user, key))
        keys.append((account, user, key))
    return payloads, keys


def cpu_ns(pid):
    """CPU time of all the process's threads so far (ns, /proc/PID/task/*/schedstat)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def deactivated(accounts, keys):
    n = 0
    for account, user, key in keys:
        meta = accounts.client(account).list_access_keys(UserName=user)["AccessKeyMetadata"]
        n += any(k["AccessKeyId"] == key and k["Status"] == "Inactive" for k in meta)
    return n


def stats(times):
    return {"n": len(times), "median": median(times), "p90": pct(times, 90),
            "mean": sum(times) / len(times) if times else None}


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1000,
                    help="measured events per process (default 1000: 20 per member account); at least 150")
    ap.add_argument("--block", type=int, default=1,
                    help="events each process handles before the next one's turn (default 1: the four "
                         "processes alternate event by event, so that load swings hit both sides alike)")
    ap.add_argument("--out", default=str(BENCH / "results"))
    args = ap.parse_args()
    n_acc = len(MEMBERS)
    if args.events < 3 * n_acc:
        raise SystemExit("--events: at least 150 (every account in every region once)")
    binary = Path(os.environ.get("MAMORU_BENCH_BIN_DIR", ROOT / "target" / "release")) / "mamoru-lambda"
    if not binary.exists():
        raise SystemExit(f"{binary} is missing: cargo build --release -p mamoru-lambda")

    out = Path(args.out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    moto = Moto(ROOT / ".venv")
    proxy = CountingProxy(moto.port)
    names = ("cross", "single", "cross-proxied", "single-proxied")
    apis = [RuntimeApi() for _ in names]
    results = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "kernel": platform.release(), "loadavg_start": os.getloadavg()},
        "settings": {"events": args.events, "warmup": WARMUP, "accounts": n_acc, "regions": REGIONS,
                     "block": args.block, "window": WINDOW, "hub": HUB, "member_role": MEMBER_ROLE, "binary": binary.name},
    }
    procs = []
    try:
        topic = moto.client("sns").create_topic(Name="mamoru-alerts")["TopicArn"]
        accounts = Accounts(moto)
        # moto loads each service's backend on its first request: before anything is timed.
        moto.client("sts").get_caller_identity()
        base = json.loads((FIXTURES / "constructed/finding-iamuser-key-malicious-ip-high.json").read_text())

        t0 = time.perf_counter()
        print(f"== {len(names) * (WARMUP + args.events)} users and keys: {WARMUP} + {args.events} per "
              f"process, {n_acc} member accounts", flush=True)
        warmup, sets, serial = {}, {}, 0
        for name in names:
            warmup[name] = make_events(accounts, base, WARMUP, f"warmup-{name}", False, serial)
            serial += WARMUP
            sets[name] = make_events(accounts, base, args.events, name, not name.startswith("single"), serial)
            serial += args.events
        print(f"   {time.perf_counter() - t0:.0f} s", flush=True)

        env = {"MAMORU_FUNCTION": "guardduty", "MAMORU_MODE": "enforce", "MAMORU_MEMBER_ROLE_NAME": MEMBER_ROLE,
               "MAMORU_HUB_ACCOUNT": HUB}
        subject = Subject("mamoru", f"mamoru ({binary.name})", [str(binary)], env=env)
        with open(out / "logs" / "cross-account.log", "wb") as log:
            warm = {}
            for name, api in zip(names, apis):
                proxied = name.endswith("proxied")
                warm[name] = Warm(subject, api, proxy.endpoint if proxied else moto.endpoint,
                                  proxy if proxied else None, Topic(topic), log)
                procs.append(warm[name])
            if any(w.dead for w in warm.values()):
                raise SystemExit(f"a process did not start: see {out / 'logs' / 'cross-account.log'}")

            swapped = (names[1], names[0], names[3], names[2])

            def feed(payloads, n, cpu=None):
                """All four processes, alternately in blocks of args.block events; the CPU each
                process used per event (read before and after it, outside the timed span)."""
                done, b = 0, 0
                while done < n and not any(w.dead for w in warm.values()):
                    k = min(args.block, n - done)
                    # Alternate which goes first: c s cp sp, s c sp cp, c s cp sp, ... Each direct
                    # process follows the other one and its own kind's proxied process equally
                    # often, and never itself (a process's second event in a row finds its
                    # memory in the CPU's caches: a bias of several per cent, seen with c s cp sp,
                    # sp cp s c).
                    for name in (names if b % 2 == 0 else swapped):
                        w = warm[name]
                        for i in range(done, done + k):
                            c0 = cpu_ns(w.run.proc.pid)
                            w.one(payloads[name][i])
                            if cpu is not None:
                                cpu[name].append((cpu_ns(w.run.proc.pid) - c0) / 1e6)
                    done += k
                    b += 1

            print(f"== warm-up: {WARMUP} events of the hub's own account per process", flush=True)
            feed({name: warmup[name][0] for name in names}, WARMUP)
            for w in warm.values():
                w.events.clear()
            print(f"== {args.events} events per process, the four processes alternating every "
                  f"{args.block} event(s)", flush=True)
            cpu_ms = {name: [] for name in names}
            feed({name: sets[name][0] for name in names}, args.events, cpu_ms)
            results["version"] = warm["cross"].version
            for w in warm.values():
                w.run.stop()
            procs.clear()
        remediated = {name: deactivated(accounts, sets[name][1]) for name in names}
        warmed = {name: deactivated(accounts, warmup[name][1]) for name in names}
        assume_ms = [c["moto_s"] * 1000 for c in proxy.calls if c["op"] == "AssumeRole"]
    finally:
        for w in procs:
            w.run.stop()
        for api in apis:
            api.close()
        proxy.close()
        moto.stop()
    results["machine"]["loadavg_end"] = os.getloadavg()

    ev = {name: w.events for name, w in warm.items()}
    results["answers"] = {name: {"events": len(es), "ok": sum(e["ok"] for e in es),
                                 "remediated": remediated[name], "warmup_remediated": warmed[name]}
                          for name, es in ev.items()}
    t = {name: [e["ms"] for e in es] for name, es in ev.items()}
    cross, single = t["cross"], t["single"]

    # The first event per account: the first 50 measured events of the cross process (account i
    # mod 50), each against the single-account event at the same position (same block).
    paired = [c - g for c, g in zip(cross[:n_acc], single[:n_acc])]
    first = {
        "cross": stats(cross[:n_acc]), "single": stats(single[:n_acc]),
        "cost_ms_paired_median": median(paired),
        "cost_ms_median": median(cross[:n_acc]) - median(single[:n_acc]),
        "cost_ms_mean": stats(cross[:n_acc])["mean"] - stats(single[:n_acc])["mean"],
        "cpu_ms_per_event": {k: statistics.fmean(cpu_ms[k][:n_acc]) for k in ("cross", "single")},
    }
    first["cpu_cost_ms"] = first["cpu_ms_per_event"]["cross"] - first["cpu_ms_per_event"]["single"]

    steady = {"cross": stats(cross[n_acc:]), "single": stats(single[n_acc:])}
    steady["ratio_median"] = ratio(steady["cross"]["median"], steady["single"]["median"])
    steady["ratio_mean"] = ratio(steady["cross"]["mean"], steady["single"]["mean"])
    # Per window of 50 events (after the first): the ratio of the two processes' medians in that
    # window, i.e. under the same load; the median of those ratios.
    block_ratios = [median(cross[s:s + WINDOW]) / median(single[s:s + WINDOW])
                    for s in range(WINDOW, len(cross), WINDOW) if single[s:s + WINDOW]]
    steady["block_ratio_median"] = median(block_ratios)
    steady["block_ratio_p10_p90"] = [pct(block_ratios, 10), pct(block_ratios, 90)]
    steady["block_ratios"] = block_ratios
    # CPU per event of each process over the same events: what the machine's load moves least.
    cpu = {k: statistics.fmean(cpu_ms[k][n_acc:]) for k in names}
    steady["cpu_ms_per_event"] = cpu
    steady["cpu_ratio"] = ratio(cpu["cross"], cpu["single"])
    # Also past the first event per account *and region* (the first 150).
    later = 3 * n_acc
    steady["after_150"] = {"cross": stats(cross[later:]), "single": stats(single[later:])}
    steady["after_150"]["ratio_median"] = ratio(steady["after_150"]["cross"]["median"],
                                                steady["after_150"]["single"]["median"])

    calls = {}
    for name in ("cross-proxied", "single-proxied"):
        es = ev[name]
        ops = {}
        for e in es:
            for c in e["calls"]:
                ops[c] = ops.get(c, 0) + 1
        assume = ops.get("sts:AssumeRole", 0)
        calls[name] = {
            "events": len(es),
            "assume_role": assume,
            "assume_role_per_1000_events": 1000 * assume / len(es) if es else None,
            "assume_role_in_first_50": sum(c == "sts:AssumeRole" for e in es[:n_acc] for c in e["calls"]),
            "calls_by_op": ops,
            "calls_first_event_example": es[0]["calls"] if es else None,
            "calls_later_event_example": es[-1]["calls"] if es else None,
            "moto_ms_median_first_50": median([e["moto_ms"] for e in es[:n_acc]]),
            "moto_ms_median_after": median([e["moto_ms"] for e in es[n_acc:]]),
        }
    # moto's own time for AssumeRole, as the proxy's upstream leg saw it.
    calls["assume_role_moto_ms_median"] = median(assume_ms)
    steady["moto_floor_ms"] = {"cross": calls["cross-proxied"]["moto_ms_median_after"],
                               "single": calls["single-proxied"]["moto_ms_median_after"]}
    steady["overhead_above_floor_ms"] = {
        k: steady[k]["median"] - steady["moto_floor_ms"][k] for k in ("cross", "single")}
    results.update({"first_event_per_account": first, "after_first_event_per_account": steady,
                    "calls": calls, "cpu_ms": cpu_ms, "times_ms": t})

    report(results)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = out / f"cross-account-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    shutil.copyfile(path, out / "cross-account-latest.json")
    print(f"\nwritten: {path}")


def report(r):
    s, f, c = r["after_first_event_per_account"], r["first_event_per_account"], r["calls"]
    n = r["settings"]["events"]
    print()
    print(f"mamoru-lambda (guardduty) {r.get('version')}; load average at start {r['machine']['loadavg_start'][0]:.1f}, "
          f"at end {r['machine']['loadavg_end'][0]:.1f} ({r['machine']['cpus']} CPUs)")
    for name, a in r["answers"].items():
        print(f"  {name:<15} answered {a['ok']}/{a['events']}, keys deactivated {a['remediated']}/{n} "
              f"(warm-up {a['warmup_remediated']}/{r['settings']['warmup']})")
    print()
    print(f"Per event, ms, {n} events per process after {r['settings']['warmup']} of warm-up; cross: "
          f"{r['settings']['accounts']} accounts x {len(r['settings']['regions'])} regions:")
    hdr = f"{'':<52} {'cross':>8} {'single':>8} {'cross/single':>13}"
    print(hdr)
    print("-" * len(hdr))
    rows = [
        ("warm time after the first event per account, median", s["cross"]["median"], s["single"]["median"]),
        ("  mean", s["cross"]["mean"], s["single"]["mean"]),
        ("  p90", s["cross"]["p90"], s["single"]["p90"]),
        ("  CPU (the process's own)", s["cpu_ms_per_event"]["cross"], s["cpu_ms_per_event"]["single"]),
        ("  moto's floor (proxied processes)", s["moto_floor_ms"]["cross"], s["moto_floor_ms"]["single"]),
        ("  overhead above the floor", s["overhead_above_floor_ms"]["cross"], s["overhead_above_floor_ms"]["single"]),
        ("warm time after the first per account and region", s["after_150"]["cross"]["median"],
         s["after_150"]["single"]["median"]),
        ("first event per account (first 50), median", f["cross"]["median"], f["single"]["median"]),
        ("  mean", f["cross"]["mean"], f["single"]["mean"]),
        ("  CPU (the process's own)", f["cpu_ms_per_event"]["cross"], f["cpu_ms_per_event"]["single"]),
    ]
    for label, a, b in rows:
        print(f"{label:<52} {fmt(a, digits=2):>8} {fmt(b, digits=2):>8} {fmt(ratio(a, b), digits=3):>13}")
    lo, hi = s["block_ratio_p10_p90"]
    print()
    print(f"Cross-account overhead after the first event per account: {fmt(s['ratio_median'], digits=3)} "
          f"(ratio of the medians), {fmt(s['block_ratio_median'], digits=3)} (median of the {len(s['block_ratios'])} "
          f"per-window ratios; p10 {fmt(lo, digits=3)}, p90 {fmt(hi, digits=3)}), CPU {fmt(s['cpu_ratio'], digits=3)}; "
          f"target <= 1.10")
    print(f"First-event-per-account cost: {fmt(f['cost_ms_paired_median'], ' ms', 2)} (median of the 50 paired "
          f"differences), {fmt(f['cost_ms_median'], ' ms', 2)} (difference of the medians), CPU "
          f"{fmt(f['cpu_cost_ms'], ' ms', 2)}; moto's AssumeRole alone {fmt(c['assume_role_moto_ms_median'], ' ms', 2)}")
    cp = c["cross-proxied"]
    print(f"AssumeRole calls: {cp['assume_role']} in {cp['events']} events = "
          f"{fmt(cp['assume_role_per_1000_events'], digits=1)} per 1,000 events "
          f"({cp['assume_role_in_first_50']} within the first 50); single-account: {c['single-proxied']['assume_role']}")
    print(f"  calls, cross: first event {cp['calls_first_event_example']}, last {cp['calls_later_event_example']}")
    print(f"  calls by operation: cross {cp['calls_by_op']}, single {c['single-proxied']['calls_by_op']}")


if __name__ == "__main__":
    main()
