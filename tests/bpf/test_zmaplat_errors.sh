#!/usr/bin/env bash
# zmaplat's bad-input paths: each gets a clear message and a non-zero exit.
# Also --help (examples, 80 columns) and --version.
. "$(dirname "$0")/lib.sh"
require_bpf
require_cmd setpriv

# expect_error WANT_RC REGEX ARGS...: zmaplat ARGS must exit WANT_RC and say REGEX.
expect_error() {
	local want=$1 re=$2 rc=0
	shift 2
	"$ZMAPLAT" "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] || fail "zmaplat $*: exit $rc, expected $want; $(cat "$T/err")"
	grep -qE -- "$re" "$T/err" || fail "zmaplat $*: no /$re/ in: $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "zmaplat $*: printed on stdout: $(cat "$T/out")"
	echo "ok: zmaplat $* -> $(head -n 1 "$T/err")"
}

# Usage errors: argp's exit status 64.
expect_error 64 'give -p PID, -b BINARY_OR_LIB'
expect_error 64 'invalid PID: abc' -p abc
expect_error 64 'invalid PID: -3' -p -3
expect_error 64 'invalid PID: 12x' -p 12x
expect_error 64 'invalid PID: 99999999999' -p 99999999999
expect_error 64 'invalid interval: 0' -p 1 0
expect_error 64 'invalid interval: 1s' -p 1 1s
expect_error 64 'invalid count: -1' -p 1 1 -- -1
expect_error 64 'unexpected argument: 3' -p 1 1 2 3
expect_error 64 '-n, -u and -m exclude each other' -p 1 -n -u
expect_error 64 'invalid option' -p 1 -Z

# The environment: not root, no BTF.
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "$ZMAPLAT" -p 1 >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'must run as root' "$T/err" ||
	fail "as nobody: exit $rc: $(cat "$T/err")"
echo "ok: as nobody -> $(cat "$T/err")"
expect_error 1 'no kernel BTF at /nonexistent/btf' -p 1 --btf=/nonexistent/btf

# The target: no such process, a process without probes, files without them.
pid_max=$(cat /proc/sys/kernel/pid_max)
expect_error 1 "no such process: $((pid_max + 1))" -p $((pid_max + 1))
sleep 60 &
BG_PIDS+=($!)
expect_error 1 "PID $! has no zpool USDT probes" -p $!
expect_error 1 'cannot read /nonexistent: No such file' -b /nonexistent
echo "not an ELF file" >"$T/text"
expect_error 1 "cannot read $T/text: not an ELF file" -b "$T/text"
expect_error 1 'has no zpool USDT probes' -b "$(type -P true)"
expect_error 1 'has no zpool USDT probes' -p $! -b "$(type -P true)"

# --help and --version.
"$ZMAPLAT" --help >"$T/help" || fail "--help exit $?"
grep -q '^EXAMPLES:' "$T/help" || fail "--help has no examples"
grep -q -- '-H, --hold' "$T/help" || fail "--help does not list -H"
awk 'length > 80 { print "too wide: " $0; bad = 1 } END { exit bad }' "$T/help" ||
	fail "--help is wider than 80 columns"
"$ZMAPLAT" --version | grep -qE '^zmaplat [0-9]+\.[0-9]+' || fail "--version"
echo "error paths ok"
