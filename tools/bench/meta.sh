#!/usr/bin/env bash
# meta.sh - the run's date, machine and commit as the first lines of a results file (TSV).
cd "$(dirname "$0")/../.."
printf 'meta\tdate\t%s\t0\t0\t-\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf 'meta\tcommit\t%s\t0\t0\t-\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
printf 'meta\tnproc\t%s\t0\t0\t-\n' "$(nproc)"
printf 'meta\tcpu\t%s\t0\t0\t-\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
printf 'meta\tmem_kib\t%s\t0\t0\t-\n' "$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)"
printf 'meta\tkernel\t%s\t0\t0\t-\n' "$(uname -r)"
printf 'meta\tload\t%s\t0\t0\t-\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
# A warning on stderr when the machine is busy: the numbers are then less trustworthy.
awk -v n="$(nproc)" '{ if ($1 > n / 2) printf "bench: warning: load average %s on %d CPUs; " \
	"other work may disturb the numbers\n", $1, n > "/dev/stderr" }' /proc/loadavg
