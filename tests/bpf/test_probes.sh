#!/usr/bin/env bash
# The USDT probes themselves: libzpool.so and the binaries linking libzpool.a
# (the workload, zpoolfs) carry the four zpool probes with their argument counts, each guarded by a
# semaphore inside the .probes section; bpftrace lists them; and at run time
# the semaphore of zpool:unmap_return is raised (once per probe site) while
# zmaplat is attached and back to 0 once Ctrl-C has detached it.
. "$(dirname "$0")/lib.sh"
require_bpf
require_cmd readelf bpftrace

# check_notes FILE: the four probes, their arguments, their semaphores.
check_notes() {
	python3 - "$1" <<'PY'
import re, subprocess, sys
path = sys.argv[1]
notes = subprocess.run(["readelf", "-n", path], capture_output=True, text=True,
                       check=True).stdout
sections = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True,
                          check=True).stdout
m = re.search(r"\]\s+\.probes\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", sections)
if not m:
    sys.exit(f"FAIL: {path} has no .probes section")
lo, size = int(m.group(1), 16), int(m.group(2), 16)
want_args = {"map_entry": 6, "map_return": 8, "unmap_entry": 6, "unmap_return": 10}
seen = {}
for prov, name, sema, args in re.findall(
        r"Provider: (\S+)\s+Name: (\S+)\s+Location: \S+, Base: \S+, Semaphore: (\S+)\s+"
        r"Arguments: ([^\n]*)", notes):
    if prov != "zpool":
        continue
    sema = int(sema, 16)
    if not lo <= sema < lo + size:
        sys.exit(f"FAIL: {path}: zpool:{name} semaphore {sema:#x} outside .probes")
    if len(args.split()) != want_args.get(name, -1):
        sys.exit(f"FAIL: {path}: zpool:{name} has arguments {args!r}")
    seen.setdefault(name, set()).add(sema)
if set(seen) != set(want_args):
    sys.exit(f"FAIL: {path}: zpool probes {sorted(seen)}")
for name, semas in seen.items():
    if len(semas) != 1:
        sys.exit(f"FAIL: {path}: zpool:{name} sites disagree on the semaphore")
print(f"ok: {path}: " + ", ".join(f"{n} ({want_args[n]} args)" for n in sorted(seen)))
PY
}

check_notes "$BUILD/libzpool.so"
check_notes "$WORKLOAD"
# zpoolfs links libzpool.a: its probes are in the zpoolfs binary itself.
[ -x "$BUILD/zpoolfs" ] || fail "$BUILD/zpoolfs not built"
check_notes "$BUILD/zpoolfs"

bpftrace -l "usdt:$WORKLOAD:zpool:*" >"$T/list" 2>/dev/null || true
for p in map_entry map_return unmap_entry unmap_return; do
	grep -q ":zpool:$p\$" "$T/list" ||
		fail "bpftrace -l does not list zpool:$p: $(cat "$T/list")"
done
echo "ok: bpftrace -l lists the four probes"

# sema NAME: the value of zpool:NAME's semaphore in the running workload.
sema() {
	python3 - "$WORKLOAD" "$WL_PID" "$1" <<'PY'
import re, subprocess, sys
path, pid, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
notes = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
addr = int(re.search(r"Provider: zpool\s+Name: %s\s+Location: \S+, Base: \S+, "
                     r"Semaphore: (\S+)" % name, notes).group(1), 16)
real = subprocess.run(["readlink", "-f", path], capture_output=True, text=True).stdout.strip()
base = None
for line in open(f"/proc/{pid}/maps"):
    f = line.split()
    if len(f) >= 6 and f[5] == real and int(f[2], 16) == 0:
        base = int(f[0].split("-")[0], 16)
        break
with open(f"/proc/{pid}/mem", "rb") as mem:
    mem.seek(base + addr)
    print(int.from_bytes(mem.read(2), "little"))
PY
}

start_workload -n 1000
for p in map_entry map_return unmap_entry unmap_return; do
	[ "$(sema $p)" = 0 ] || fail "zpool:$p semaphore is $(sema $p) before any tracer"
done
# One uprobe per probe site, and each raises the shared semaphore once.
sites=$(readelf -n "$WORKLOAD" | grep -c 'Name: unmap_return$')
start_zmaplat zm -p "$WL_PID"
[ "$(sema unmap_return)" = "$sites" ] ||
	fail "unmap_return semaphore is $(sema unmap_return) while traced, expected $sites (sites)"
[ "$(sema map_entry)" = 0 ] || fail "zmaplat raised map_entry's semaphore"
echo "ok: zmaplat raises zpool:unmap_return's semaphore only"
kill -INT "$ZM_PID"
wait_pid "$ZM_PID" 10 || fail "zmaplat exited with $? on SIGINT"
grep -q '^no map/unmap calls traced$' "$T/zm.out" ||
	fail "zmaplat's last interval: $(cat "$T/zm.out")"
grep -q '^events: 0 maps, 0 unmaps' "$T/zm.out" || fail "zmaplat's events: $(cat "$T/zm.out")"
[ "$(sema unmap_return)" = 0 ] || fail "semaphore still $(sema unmap_return) after zmaplat ended"
echo "ok: Ctrl-C prints the last interval, detaches, the semaphore is back to 0"
go_workload
echo "probes ok"
