# tests/bpf/lib.sh - shared by the BPF tests (sourced, never run).
#
# Each test loads real BPF programs into the running kernel, so it needs
# root and kernel BTF. Outside CI a test without them exits 77 (skipped);
# with CI=true that is a failure.
#
# The workload (tests/bpf/workload.c) is started with -g: it sets up its
# objects, prints "ready", and waits for a line on a fifo before its measured
# window, so a tracer can be attached in between and the window's calls are
# exactly the ones the tracer sees.

set -euo pipefail

BUILD=${BUILD:-build}
ZMAPLAT=$BUILD/zmaplat
WORKLOAD=$BUILD/tests/bpf/workload
T=$(mktemp -d "${TMPDIR:-/tmp}/zpool-bpf.XXXXXX")
BG_PIDS=()

cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	exec 9>&- 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI=true, cannot skip): $*" >&2
		exit 1
	fi
	echo "skipped: $*"
	exit 77
}

require_bpf() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to load BPF programs"
	[ -r /sys/kernel/btf/vmlinux ] || skip "kernel has no BTF (/sys/kernel/btf/vmlinux)"
	[ -x "$ZMAPLAT" ] || fail "$ZMAPLAT not built"
	[ -x "$WORKLOAD" ] || fail "$WORKLOAD not built"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c is not installed (tools/deps.sh)"
	done
}

# wait_for FILE REGEX [SECONDS]: until a line of FILE matches.
wait_for() {
	local file=$1 re=$2 secs=${3:-30} i
	for ((i = 0; i < secs * 10; i++)); do
		grep -qE -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "--- $file:" >&2
	cat "$file" >&2 || true
	fail "timed out after ${secs}s waiting for /$re/ in $file"
}

# start_workload ARGS...: sets WL_PID; the workload waits for go_workload.
start_workload() {
	rm -f "$T/go"
	mkfifo "$T/go"
	# Emptied before the background child redirects into them: a previous
	# workload's "ready" must not be read as this one's.
	: >"$T/wl.out"
	: >"$T/wl.err"
	"$WORKLOAD" -g "$@" <"$T/go" >"$T/wl.out" 2>"$T/wl.err" &
	WL_PID=$!
	BG_PIDS+=("$WL_PID")
	exec 9>"$T/go"
	local i
	for ((i = 0; i < 300; i++)); do
		grep -q '^ready' "$T/wl.out" && return 0
		kill -0 "$WL_PID" 2>/dev/null || fail "workload $*: $(cat "$T/wl.err")"
		sleep 0.1
	done
	fail "workload $* not ready after 30s"
}

# go_workload: start the measured window and wait for the workload to end.
go_workload() {
	echo go >&9
	exec 9>&-
	wait "$WL_PID" || fail "workload exited with $?: $(cat "$T/wl.err")"
	tail -n 1 "$T/wl.out" >"$T/wl.json"
}

# go_workload_held: go_workload for a workload started with -H: returns once its
# report is out while the process still exists, so that a tracer attached to it
# can be stopped first; release_workload then lets it exit and checks its status.
go_workload_held() {
	local i
	echo go >&9
	exec 9>&-
	for ((i = 0; i < 1200; i++)); do
		grep -q '^{' "$T/wl.out" && break
		kill -0 "$WL_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^{' "$T/wl.out" || fail "workload gave no report: $(cat "$T/wl.err")"
	tail -n 1 "$T/wl.out" >"$T/wl.json"
}

release_workload() {
	kill -USR1 "$WL_PID" 2>/dev/null || true
	wait "$WL_PID" || fail "workload exited with $?: $(cat "$T/wl.err")"
}

# wl_get KEY: a field of the workload's JSON report.
wl_get() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
		"$T/wl.json" "$1"
}

# start_zmaplat NAME ARGS...: zmaplat in the background, stdout to $T/NAME.out,
# stderr to $T/NAME.err; returns once it says it is attached. Sets ZM_PID.
start_zmaplat() {
	local name=$1
	shift
	: >"$T/$name.out"	# see start_workload
	: >"$T/$name.err"
	"$ZMAPLAT" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	ZM_PID=$!
	BG_PIDS+=("$ZM_PID")
	wait_for_any "$T/$name.out" "$T/$name.err" '^Tracing zpool' 30 || true
	kill -0 "$ZM_PID" 2>/dev/null || {
		cat "$T/$name.err" >&2
		fail "zmaplat $* exited early"
	}
}

wait_for_any() {
	local a=$1 b=$2 re=$3 secs=${4:-30} i
	for ((i = 0; i < secs * 10; i++)); do
		grep -qE -- "$re" "$a" "$b" 2>/dev/null && return 0
		kill -0 "$ZM_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	fail "timed out waiting for /$re/ in $a or $b"
}

# wait_pid PID SECONDS: wait for a background process to exit by itself;
# returns its exit status.
wait_pid() {
	local pid=$1 secs=${2:-30} i rc=0
	for ((i = 0; i < secs * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" || rc=$?
			return $rc
		fi
		sleep 0.1
	done
	fail "process $pid still running after ${secs}s"
}

# interrupt_pid PID [SECONDS]: Ctrl-C for a tracer, repeated every 2 s until it
# has exited (then its exit status is returned). bpftrace 0.17 can miss a SIGINT
# that arrives just before it blocks in epoll_wait (seen: asleep there 30 s with
# the signal handled), and a second one wakes it.
interrupt_pid() {
	local pid=$1 secs=${2:-30} i rc=0
	for ((i = 0; i < secs * 10; i++)); do
		((i % 20 == 0)) && kill -INT "$pid" 2>/dev/null
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" || rc=$?
			return $rc
		fi
		sleep 0.1
	done
	fail "process $pid still running ${secs}s after SIGINT"
}

# start_tracer NAME REGEX CMD...: CMD in the background, stdout to $T/NAME.out,
# stderr to $T/NAME.err; returns once either matches REGEX (the tracer says it
# is attached). Sets TR_PID.
start_tracer() {
	local name=$1 re=$2 i
	shift 2
	: >"$T/$name.out"	# see start_workload
	: >"$T/$name.err"
	"$@" >"$T/$name.out" 2>"$T/$name.err" &
	TR_PID=$!
	BG_PIDS+=("$TR_PID")
	for ((i = 0; i < 600; i++)); do
		grep -qE -- "$re" "$T/$name.out" "$T/$name.err" 2>/dev/null && return 0
		kill -0 "$TR_PID" 2>/dev/null || fail "$* exited early: $(cat "$T/$name.err")"
		sleep 0.1
	done
	fail "$* not attached after 60s: $(cat "$T/$name.err")"
}

# stop_tracer: Ctrl-C the tracer of start_tracer and wait for it to print and exit.
stop_tracer() {
	interrupt_pid "$TR_PID" 60 || fail "tracer exited with $?"
}
