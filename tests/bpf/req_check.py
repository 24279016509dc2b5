#!/usr/bin/env python3
"""req_check.py - checks of zpoolfsdist, zpoolfsslower and requests.bt output
against the workload of req_workload.py and the daemon's requests file.

  req_check.py dist TOOL.json WANT.json R0 R1 R2
  req_check.py slower TOOL.json WANT.json DELAY_MS
  req_check.py slower-all TOOL.txt WANT.json
  req_check.py bt BT.out WANT.json R0 R1 R2

R0, R1, R2 are MOUNT/.zpool/requests read before the tracer attached (R0),
after it detached (R1) and once more at once (R2). Between R0 and R1 the
daemon counted the tracer's window plus what reading R0 did after its
snapshot and reading R1 before its own; R1 to R2 is the same reading cost
alone. So for every opcode that reading the file always costs the same
(all but the lookups and getattrs of the path walk, whose caching depends on
time), window = (R1 - R0) - (R2 - R1), exactly.
"""
import json
import re
import sys

# Opcodes whose count in a path walk depends on what the kernel still caches.
WALK = {"LOOKUP", "GETATTR", "FORGET", "BATCH_FORGET"}
# Operations of the workload and the one request each sends exactly once.
EXACT = {"create": "CREATE", "read": "READ", "write": "WRITE", "fsync": "FSYNC",
         "unlink": "UNLINK"}


def requests_file(path):
    rows = {}
    with open(path) as f:
        next(f)
        for line in f:
            name, count = line.split()[:2]
            rows[name] = int(count)
    return rows


def window(r0, r1, r2, extra=None):
    a, b, c = requests_file(r0), requests_file(r1), requests_file(r2)
    out = {}
    for op in set(a) | set(b) | set(c):
        out[op] = (b.get(op, 0) - a.get(op, 0)) - (c.get(op, 0) - b.get(op, 0))
    for op, n in (extra or {}).items():
        out[op] = out.get(op, 0) - n
    return out, {op: b.get(op, 0) - a.get(op, 0) for op in set(a) | set(b)}


def check_daemon_counts(got, want_window, delta, what):
    for op in sorted(set(got) | set(want_window)):
        g, w = got.get(op, 0), want_window.get(op, 0)
        if op in WALK:
            assert g <= delta.get(op, 0), f"{what}: {op} {g} > the file's {delta.get(op, 0)}"
        else:
            assert g == w, f"{what}: {op} counted {g}, the requests file {w}"


def dist(tool, want, r0, r1, r2):
    docs = [json.loads(line) for line in open(tool) if line.strip()]
    want = json.load(open(want))
    assert docs, "no JSON output"
    ops, reqs, events = {}, {}, {}
    for d in docs:
        assert d["version"] == 1 and d["unit"] in ("us", "ms")
        for o in d["operations"]:
            acc = ops.setdefault(o["op"], {"caller": 0, "caller_ns": 0, "daemon": 0,
                                           "daemon_ns": 0, "matched": 0, "over": 0,
                                           "span_ns": 0})
            acc["caller"] += o["caller"]["count"]
            acc["caller_ns"] += o["caller"]["sum_ns"]
            acc["daemon"] += o["daemon"]["count"]
            acc["daemon_ns"] += o["daemon"]["sum_ns"]
            acc["matched"] += o["round_trip"]["count"]
            acc["over"] += o["round_trip"]["over"]
            acc["span_ns"] += o["round_trip"]["daemon_ns"]
        for r in d["requests"]:
            reqs[r["opcode"]] = reqs.get(r["opcode"], 0) + r["count"]
        for k, v in d["events"].items():
            events[k] = events.get(k, 0) + v
    print("operations:", {k: (v["caller"], v["daemon"], v["matched"]) for k, v in ops.items()
                          if v["caller"] or v["daemon"]})
    print("requests:", reqs, "events:", events)
    # The callers' side: one operation per system call of the workload.
    for op in ("create", "open", "read", "write", "fsync", "unlink", "close"):
        assert ops[op]["caller"] == want[op], f"{op}: {ops[op]['caller']} calls, want {want[op]}"
    # The daemon's side: each of these calls sends its request exactly once...
    for op, code in EXACT.items():
        assert reqs.get(code, 0) == want[op], f"{code}: {reqs.get(code, 0)}, want {want[op]}"
    # ...and the probes count what the daemon's own counters count (the
    # tracer's statfs that found the daemon came before it was armed).
    win, delta = window(r0, r1, r2, {"STATFS": 1})
    check_daemon_counts(reqs, win, delta, "zpoolfsdist")
    # Every such call was matched with its request, and no request's span in
    # the daemon is longer than the call that sent it.
    for op in EXACT:
        assert ops[op]["matched"] == want[op], f"{op}: {ops[op]['matched']} matched of {want[op]}"
    for op, v in ops.items():
        assert v["over"] == 0, f"{op}: {v['over']} calls shorter than a daemon span"
        assert v["span_ns"] <= v["caller_ns"], f"{op}: daemon spans exceed the calls' time"
    assert events["no_start"] == 0 and events["lost"] == 0, events
    print("ok: zpoolfsdist counts equal the workload's and the daemon's")


def slower(tool, want, delay_ms):
    want = json.load(open(want))
    lines = [json.loads(line) for line in open(tool) if line.strip()]
    print(f"{len(lines)} slow operations:", [(e["op"], e["file"], e["lat_ms"]) for e in lines])
    assert len(lines) == want["fsync"], f"{len(lines)} lines, want {want['fsync']} fsyncs"
    assert sorted(e["file"] for e in lines) == sorted(want["fsynced"])
    for e in lines:
        assert e["op"] == "fsync" and e["pid"] == want["pid"] and e["comm"] == "python3", e
        assert e["lat_ms"] >= delay_ms and e["daemon_ms"] >= delay_ms, e
        assert e["daemon_ms"] <= e["lat_ms"] and e["requests"] == 1, e
    print("ok: zpoolfsslower printed exactly the delayed operations")


def slower_all(tool, want):
    want = json.load(open(want))
    lines = open(tool).read().splitlines()
    head = [i for i, line in enumerate(lines) if line.startswith("TIME ")]
    assert head, "no header"
    assert lines[head[0]].split() == ["TIME", "COMM", "PID", "T", "BYTES", "OFF_KB", "LAT(ms)",
                                      "DMN(ms)", "FILENAME"], lines[head[0]]
    counts = {}
    for line in lines[head[0] + 1:]:
        f = line.split()
        if len(f) != 9 or not re.fullmatch(r"\d\d:\d\d:\d\d", f[0]):
            continue
        assert int(f[2]) == want["pid"], line
        counts[f[3]] = counts.get(f[3], 0) + 1
        assert float(f[7]) <= float(f[6]), f"daemon share above the latency: {line}"
        if f[3] == "R":
            assert int(f[4]) in (4096, 8192) and int(f[5]) in (0, 4), line
    print("lines by operation:", counts)
    letters = {"create": "C", "open": "O", "read": "R", "write": "W", "fsync": "S",
               "unlink": "U", "close": "F"}
    for op, t in letters.items():
        assert counts.get(t, 0) == want[op], f"{t}: {counts.get(t, 0)} lines, want {want[op]}"
    assert sum(counts.values()) == sum(want[op] for op in letters), counts
    print("ok: zpoolfsslower 0 printed every call of the workload, once")


def bt(out, want, r0, r1, r2):
    want = json.load(open(want))
    text = open(out).read()
    counts = {m[0]: int(m[1]) for m in re.findall(r"^@count\[(\w+)\]: (\d+)$", text, re.M)}
    print("requests.bt counts:", counts)
    for op, code in EXACT.items():
        assert counts.get(code, 0) == want[op], f"{code}: {counts.get(code, 0)}, want {want[op]}"
    win, delta = window(r0, r1, r2)
    check_daemon_counts(counts, win, delta, "requests.bt")
    for code in EXACT.values():
        assert re.search(rf"^@us\[{code}\]:\s*\n\[", text, re.M), f"no histogram for {code}"
    print("ok: requests.bt counts equal the workload's and the daemon's")


if __name__ == "__main__":
    {"dist": dist, "slower": lambda t, w, d: slower(t, w, float(d)),
     "slower-all": slower_all, "bt": bt}[sys.argv[1]](*sys.argv[2:])
