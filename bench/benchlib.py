"""Helpers for bench/run: HTTP loops against a running procq and the statistics.

Every loop is bounded in count and time and talks only to 127.0.0.1.
"""
import http.client
import json
import re
import statistics
import sys
import threading
import time

HOST = "127.0.0.1"


def request(port, method, path, body=None, headers=None, timeout=600):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, data
    finally:
        conn.close()


def get_json(port, path):
    status, data = request(port, "GET", path, timeout=30)
    if status != 200:
        raise SystemExit(f"GET {path}: {status} {data[:200]!r}")
    return json.loads(data)


def percentile(values, p):
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def wait_ready(port, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            status, _ = request(port, "GET", "/readyz", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"API on port {port} not ready after {seconds}s")


def submit_file(port, job_type, path):
    """POSTs a text/plain file of targets; prints: batch id, seconds from request start to 202."""
    with open(path, "rb") as f:
        body = f.read()
    started = time.time()
    status, data = request(port, "POST", f"/api/v1/batches?type={job_type}", body=body,
                           headers={"Content-Type": "text/plain"})
    elapsed = time.time() - started
    if status != 202:
        raise SystemExit(f"POST {path}: {status} {data[:300]!r}")
    print(json.loads(data)["id"], f"{started:.6f}", f"{elapsed:.6f}")


def submit_stream(port, job_type, path):
    """Like submit_file, but sends the body in chunks (Transfer-Encoding: chunked), never whole in memory."""
    started = time.time()
    conn = http.client.HTTPConnection(HOST, port, timeout=900)
    with open(path, "rb") as f:
        conn.request("POST", f"/api/v1/batches?type={job_type}", body=iter(lambda: f.read(1 << 16), b""),
                     headers={"Content-Type": "text/plain"}, encode_chunked=True)
        response = conn.getresponse()
        data = response.read()
    elapsed = time.time() - started
    conn.close()
    if response.status != 202:
        raise SystemExit(f"POST {path}: {response.status} {data[:300]!r}")
    print(json.loads(data)["id"], f"{started:.6f}", f"{elapsed:.6f}")


def wait_done(port, batch_id, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        batch = get_json(port, f"/api/v1/batches/{batch_id}")
        if batch["state"] in ("DONE", "CANCELLED"):
            return
        time.sleep(0.1)
    raise SystemExit(f"batch {batch_id} not done after {seconds}s")


def latency_series(port, count, job_type="true"):
    """B4: single-target batches one after another, each to an idle worker; prints the batch ids."""
    ids = []
    for i in range(count):
        body = json.dumps({"type": job_type, "targets": [f"latency-{i}"]})
        status, data = request(port, "POST", "/api/v1/batches", body=body,
                               headers={"Content-Type": "application/json"})
        if status != 202:
            raise SystemExit(f"POST: {status} {data[:200]!r}")
        batch_id = json.loads(data)["id"]
        ids.append(batch_id)
        deadline = time.time() + 10
        while get_json(port, f"/api/v1/batches/{batch_id}")["state"] != "DONE":
            if time.time() > deadline:
                raise SystemExit(f"batch {batch_id} not done after 10s")
            time.sleep(0.005)
        time.sleep(0.05)  # the worker is idle again before the next one
    print(",".join(map(str, ids)))


def status_latencies(port, batch_id, count, seconds):
    """GETs the batch's status up to count times (within seconds); returns latencies in ms and first/last bodies."""
    latencies = []
    first = last = None
    deadline = time.time() + seconds
    for _ in range(count):
        if time.time() > deadline:
            break
        started = time.perf_counter()
        status, data = request(port, "GET", f"/api/v1/batches/{batch_id}", timeout=30)
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"GET batch {batch_id}: {status}")
        last = json.loads(data)
        if first is None:
            first = last
    return latencies, first, last


def status_p99(port, batch_id, count, seconds):
    """B5: prints p50 p99 max (ms), the sample count and how many jobs finished meanwhile."""
    latencies, first, last = status_latencies(port, batch_id, count, seconds)
    done = lambda b: b["counts"]["OK"] + b["counts"]["FAILED"]
    print(f"{percentile(latencies, 50):.2f} {percentile(latencies, 99):.2f} {max(latencies):.2f} "
          f"{len(latencies)} {done(last) - done(first)}")


def probe_while(port, batch_id, stop_file, out_file):
    """Status calls on a small batch while something else runs, until stop_file exists; writes p50 p99 max n."""
    import os
    latencies = []
    deadline = time.time() + 900
    while not os.path.exists(stop_file) and time.time() < deadline:
        started = time.perf_counter()
        request(port, "GET", f"/api/v1/batches/{batch_id}", timeout=60)
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)
    with open(out_file, "w") as f:
        if latencies:
            f.write(f"{percentile(latencies, 50):.2f} {percentile(latencies, 99):.2f} {max(latencies):.2f} {len(latencies)}\n")
        else:
            f.write("nan nan nan 0\n")


def scrape(port, out_file):
    """Saves one GET /metrics of a worker (its own metrics port) to out_file."""
    status, data = request(port, "GET", "/metrics", timeout=30)
    if status != 200:
        raise SystemExit(f"GET /metrics on {port}: {status}")
    with open(out_file, "wb") as f:
        f.write(data)


def histogram_buckets(path, metric):
    """Cumulative bucket counts {le: count} of a Prometheus histogram (one series: its other labels are ignored)."""
    buckets = {}
    pattern = re.compile(r"^" + re.escape(metric) + r'_bucket\{(?:[^}]*,)?le="([^"]+)"[^}]*\} ([0-9.eE+-]+)$')
    with open(path) as f:
        for line in f:
            m = pattern.match(line.strip())
            if m:
                buckets[float(m.group(1))] = float(m.group(2))
    return buckets


def histogram_quantiles(metric, *pairs):
    """p50 and p99 (ms, each the upper bound of its bucket) and the count of what a histogram
    recorded between scrapes, summed over several processes; pairs are 'before,after' file names."""
    total = {}
    for pair in pairs:
        before_file, after_file = pair.split(",")
        before, after = histogram_buckets(before_file, metric), histogram_buckets(after_file, metric)
        for le, count in after.items():
            total[le] = total.get(le, 0.0) + count - before.get(le, 0.0)
    bounds = sorted(total)
    count = total.get(float("inf"), 0.0)
    if count == 0:
        print("nan nan 0")
        return
    def q(p):
        for le in bounds:
            if total[le] >= p * count:
                return le * 1000
        return float("inf")
    print(f"{q(0.5):.2f} {q(0.99):.2f} {count:.0f}")


def page_times(port, count, *paths):
    """A page load as the dashboard makes it: every path GET in turn; prints the median and p99 (ms)
    of the whole load over count loads, after one untimed load."""
    def load():
        started = time.perf_counter()
        for path in paths:
            status, _ = request(port, "GET", path, timeout=60)
            if status != 200:
                raise SystemExit(f"GET {path}: {status}")
        return (time.perf_counter() - started) * 1000
    load()
    times = [load() for _ in range(count)]
    print(f"{percentile(times, 50):.2f} {percentile(times, 99):.2f}")


def job_rows(first_batch, batches, per_batch, start_epoch, gap_seconds):
    """B10's finished rows as COPY text for procq.job (batch_id, type, target, state, attempts,
    worker_id, exit_code, error, run_at, created_at, started_at, finished_at): batch b (from
    first_batch) was created at start_epoch + b * gap_seconds, its jobs start 10 ms apart and each
    ran 5 ms; one in fifty FAILED with exit code 1. Written in large blocks, so 10,000,000 rows
    take seconds of this process, not minutes."""
    out = sys.stdout
    for b in range(batches):
        batch_id = first_batch + b
        created = start_epoch + b * gap_seconds
        created_text = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(created))
        seconds = [time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(created + s)) for s in range(per_batch // 100 + 2)]
        block = []
        for i in range(per_batch):
            sec, hundredths = divmod(i, 100)
            started = f"{seconds[sec]}.{hundredths:02d}0+00"
            finished = f"{seconds[sec]}.{hundredths:02d}5+00"
            if i % 50 == 49:
                state, code, error = "FAILED", "1", "exit code 1"
            else:
                state, code, error = "OK", "0", "\\N"
            block.append(f"{batch_id}\ttrue\t/srv/photos/{batch_id}/img_{i:07d}.jpg\t{state}\t1\t1\t{code}\t{error}"
                         f"\t{created_text}\t{created_text}\t{started}\t{finished}\n")
        out.write("".join(block))


def cpu_seconds(*pids):
    """CPU seconds used so far: 'self children' for the given processes (children: reaped descendants)."""
    import os
    tick = os.sysconf("SC_CLK_TCK")
    own = reaped = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        own += int(fields[11]) + int(fields[12])
        reaped += int(fields[13]) + int(fields[14])
    print(f"{own / tick:.2f} {reaped / tick:.2f}")


SPAWND = "procq-spawnd"


def proc_stat(pid):
    """(comm, ppid, own, reaped) for a process from /proc/PID/stat, CPU in clock ticks; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    fields = text.rsplit(")", 1)[1].split()
    return comm, int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def spawnd_pids(parent):
    """Pids of the spawn helpers (comm procq-spawnd) whose parent is the given worker pid; none with the java spawner."""
    import os
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(name)
        if st and st[0] == SPAWND and st[1] == int(parent):
            found.append(int(name))
    return sorted(found)


def spawnd_pid(parent):
    """Prints the spawn helper's pid (the first, if there are more), or nothing."""
    pids = spawnd_pids(parent)
    if pids:
        print(pids[0])


JIT_THREADS = ("C1 CompilerThre", "C2 CompilerThre")


def jit_ticks(pid):
    """CPU ticks so far of a JVM's JIT compiler threads (they count in its own CPU too)."""
    import os
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as f:
                text = f.read()
        except OSError:
            continue
        if text[text.index("(") + 1:text.rindex(")")].startswith(JIT_THREADS):
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


def cpu_snapshot(*labelled):
    """Prints 'label pid self children' CPU seconds for each label=pid given, for cpu-diff.
    spawnd-of=PID adds a 'spawnd' line for each procq-spawnd child of PID (the native spawn helper);
    jit-of=PID a 'jit' line with the CPU of that JVM's JIT compiler threads (part of its own)."""
    import os
    tick = os.sysconf("SC_CLK_TCK")
    for item in labelled:
        label, pid = item.split("=")
        if label == "jit-of":
            ticks = jit_ticks(pid)
            if ticks is not None:
                print("jit", pid, ticks / tick, 0.0)
            continue
        pids = spawnd_pids(pid) if label == "spawnd-of" else [pid]
        for p in pids:
            st = proc_stat(p)
            if st is None:
                continue
            print("spawnd" if label == "spawnd-of" else label, p, st[2] / tick, st[3] / tick)


def cpu_diff(before_file, after_file, jobs):
    """Milliseconds of CPU per job between two snapshots, per label; processes new since the first
    snapshot count whole. 'children' are the job programs: what the spawn helper reaped plus what the
    worker JVM reaped (the jobs themselves with the java spawner; nothing else with the helper, unless
    a helper died: the JVM's reaping of it brings its whole life's CPU, own and reaped, so its share
    from before the first snapshot is taken off, and its CPU in between counts with the children).
    'jit' (the worker's JIT compiler threads) is shown but not added: it is part of 'worker'.
    Prints 'total worker=ms jit=ms spawnd=ms children=ms api=ms pg-worker=ms pg-api=ms[; note]'."""
    def read(path):
        with open(path) as f:
            return {(c[0], c[1]): (float(c[2]), float(c[3])) for c in (l.split() for l in f) if len(c) == 4}
    before, after = read(before_file), read(after_file)
    per = {}
    for key, (own, reaped) in after.items():
        b_own, b_reaped = before.get(key, (0.0, 0.0))
        label = key[0]
        per[label] = per.get(label, 0.0) + own - b_own
        if label in ("worker", "spawnd"):
            per["children"] = per.get("children", 0.0) + reaped - b_reaped
    note = ""
    gone = [key for key in before if key[0] == "spawnd" and key not in after]
    for key in gone:
        per["children"] = per.get("children", 0.0) - sum(before[key])
    spawnd_before = sorted(k[1] for k in before if k[0] == "spawnd")
    spawnd_after = sorted(k[1] for k in after if k[0] == "spawnd")
    if spawnd_before != spawnd_after and spawnd_before:
        note = (f"; {SPAWND} pid {','.join(spawnd_before)} -> {','.join(spawnd_after) or 'none'}:"
                " the CPU of the one that ended is counted with the children")
    jobs = int(jobs)
    total = sum(v for k, v in per.items() if k != "jit") * 1000 / jobs
    order = ["worker", "jit", "spawnd", "children", "api", "pg-worker", "pg-api"]
    labels = [k for k in order if k in per or k == "spawnd" and "worker" in per] + sorted(set(per) - set(order))
    split = " ".join(f"{k}={per[k] * 1000 / jobs:.2f}" if k in per else f"{k}=none" for k in labels)
    print(f"{total:.2f} {split}{note}")


def cpu_run(*command):
    """Runs a command with its stdin from the last argument; prints wall seconds, the CPU seconds
    (user + sys) of it and everything it reaped, and its exit status."""
    import os
    import resource
    import signal
    import subprocess
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    with open(command[-1]) as stdin:
        # its own process group, so that a TERM (bench/run's exit) ends it and every child it started
        proc = subprocess.Popen(command[:-1], stdin=stdin, start_new_session=True)

        def stop(signum, _frame):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            raise SystemExit(128 + signum)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        rc = proc.wait()
    wall = time.time() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"{wall:.4f} {cpu:.2f} {rc}")


def stat(kind, *values):
    numbers = [float(v) for v in values]
    if kind == "median":
        print(f"{statistics.median(numbers):.6f}")
    elif kind == "max":
        print(f"{max(numbers):.6f}")
    elif kind == "min":
        print(f"{min(numbers):.6f}")


def heap_peak(jstat_file):
    """Largest used heap (MB) among jstat -gc samples: S0U + S1U + EU + OU."""
    peak = 0.0
    header = None
    with open(jstat_file) as f:
        for line in f:
            cols = line.split()
            if not cols:
                continue
            if cols[0] == "S0C":
                header = cols
                continue
            if header is None or len(cols) != len(header):
                continue
            try:
                row = dict(zip(header, map(float, cols)))
            except ValueError:
                continue
            peak = max(peak, (row["S0U"] + row["S1U"] + row["EU"] + row["OU"]) / 1024)
    print(f"{peak:.0f}")


def rss_peak(samples_file):
    """Largest VmRSS sample (kB in the file) as MB."""
    peak = 0
    with open(samples_file) as f:
        for line in f:
            line = line.strip()
            if line.isdigit():
                peak = max(peak, int(line))
    print(f"{peak / 1024:.0f}")


def table(results_file):
    """Prints the results (tab-separated: name what procq peer ratio target ok) as an aligned table."""
    rows = [["fig", "what", "procq", "peer", "ratio", "target", ""]]
    with open(results_file) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) == 7:
                rows.append(cols[:6] + ["PASS" if cols[6] == "1" else "MISS"])
    # B2 first, then the lines read off its run (B2s, B2c), then B2j (B2 on the java spawner)
    order = {f"B{i}": i for i in range(1, 11)}
    suffix = {"": 0, "s": 1, "c": 2, "j": 3}
    def key(r):
        base = r[0].rstrip("abcdefghijklmnopqrstuvwxyz")
        return order.get(base, 99), suffix.get(r[0][len(base):], 9), r[0]
    rows[1:] = sorted(rows[1:], key=key)
    widths = [max(len(r[i]) for r in rows) for i in range(7)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def type_command(types_file, name):
    """Prints a job type's command from a job types file, one argument per line, {target} last.
    Reads only the flow-sequence form the repository's files use: command: ["prog", "arg", ...]."""
    with open(types_file) as f:
        text = f.read()
    section = re.search(r"^  " + re.escape(name) + r":\s*$(.*?)(?=^  \S|\Z)", text, re.M | re.S)
    command = section and re.search(r"^\s+command:\s*(\[.*?\])", section.group(1), re.M | re.S)
    if not command:
        raise SystemExit(f"{types_file}: no command: [...] for type {name}")
    args = json.loads(command.group(1))
    if not args or args[-1] != "{target}" or any("{" in a or "\n" in a for a in args[:-1]):
        raise SystemExit(f"{types_file}: type {name}: expected {{target}} as the last argument only")
    print("\n".join(args[:-1]))


def compare(a, op, b):
    """Exit 0 if the comparison holds, for bash."""
    a, b = float(a), float(b)
    holds = {"le": a <= b, "ge": a >= b, "lt": a < b, "gt": a > b}[op]
    raise SystemExit(0 if holds else 1)


def calc(expression):
    """Arithmetic for bash, on numbers only."""
    allowed = set("0123456789.+-*/() e")
    if not set(expression) <= allowed:
        raise SystemExit(f"not arithmetic: {expression}")
    print(f"{eval(expression):.6g}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    functions = {
        "wait-ready": lambda port, seconds: wait_ready(int(port), float(seconds)),
        "submit-file": lambda port, t, path: submit_file(int(port), t, path),
        "submit-stream": lambda port, t, path: submit_stream(int(port), t, path),
        "wait-done": lambda port, b, seconds: wait_done(int(port), int(b), float(seconds)),
        "latency-series": lambda port, n: latency_series(int(port), int(n)),
        "status-p99": lambda port, b, n, s: status_p99(int(port), int(b), int(n), float(s)),
        "probe-while": lambda port, b, stop, out: probe_while(int(port), int(b), stop, out),
        "job-rows": lambda f, n, per, start, gap: job_rows(int(f), int(n), int(per), float(start), float(gap)),
        "scrape": lambda port, out: scrape(int(port), out),
        "hist-quantiles": histogram_quantiles,
        "page-times": lambda port, n, *paths: page_times(int(port), int(n), *paths),
        "stat": lambda kind, *values: stat(kind, *values),
        "heap-peak": heap_peak,
        "rss-peak": rss_peak,
        "table": table,
        "cmp": compare,
        "calc": calc,
        "cpu": cpu_seconds,
        "cpu-snap": cpu_snapshot,
        "cpu-diff": cpu_diff,
        "cpu-run": cpu_run,
        "spawnd-pid": spawnd_pid,
        "type-command": type_command,
    }
    functions[command](*args)
