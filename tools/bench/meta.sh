#!/usr/bin/env bash
# meta.sh - the run's date, machine and commit as the first lines of a results file (TSV),
# and a measure of how busy the machine was with other work.
#
# Run:     meta.sh > RESULTS          date, commit, machine; warns when the CPUs are busy now
# Sourced: noise_start; ...; noise_report PART RESULTS
#          reports the share of the CPUs that processes other than ours used meanwhile

# busy_idle: busy and idle clock ticks of all CPUs since boot
busy_idle() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }

# own_ticks: CPU ticks of this shell and of its children that have been waited for
own_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$$/stat"; }

noise_start() {
	read -r NOISE_B0 NOISE_I0 <<<"$(busy_idle)"
	NOISE_O0=$(own_ticks)
}

noise_report() {
	local b1 i1 o1
	read -r b1 i1 <<<"$(busy_idle)"
	o1=$(own_ticks)
	awk -v part="$1" -v res="$2" -v b=$((b1 - NOISE_B0)) -v i=$((i1 - NOISE_I0)) \
		-v o=$((o1 - NOISE_O0)) 'BEGIN {
		other = b - o; if (other < 0) other = 0
		p = b + i ? 100 * other / (b + i) : 0
		printf "%s: other processes kept the CPUs %.0f%% busy during this part\n", part, p
		printf "meta\tother_busy_pct\t%s\t0\t%.1f\tpercent\n", part, p >> res }'
}

meta_lines() {
	local b1 i1 b2 i2
	printf 'meta\tdate\t%s\t0\t0\t-\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	printf 'meta\tcommit\t%s\t0\t0\t-\n' \
		"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf 'meta\tnproc\t%s\t0\t0\t-\n' "$(nproc)"
	printf 'meta\tcpu\t%s\t0\t0\t-\n' \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	printf 'meta\tmem_kib\t%s\t0\t0\t-\n' "$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)"
	printf 'meta\tkernel\t%s\t0\t0\t-\n' "$(uname -r)"
	printf 'meta\tload\t%s\t0\t0\t-\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
	# Sampled over 2 s rather than read from the load average, which still holds our own
	# previous part.
	read -r b1 i1 <<<"$(busy_idle)"
	sleep 2
	read -r b2 i2 <<<"$(busy_idle)"
	awk -v b=$((b2 - b1)) -v i=$((i2 - i1)) 'BEGIN { p = b + i ? 100 * b / (b + i) : 0
		printf "meta\tcpu_busy_pct\tstart\t0\t%.0f\tpercent\n", p
		if (p > 10) printf "bench: warning: the CPUs were %.0f%% busy before the start; " \
			"other work may disturb the numbers\n", p > "/dev/stderr" }'
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cd "$(dirname "$0")/../.." || exit 1
	meta_lines
fi
