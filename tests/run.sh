#!/usr/bin/env bash
# Run test programs and scripts, one after another, and print one closing line:
#   tests: N passed, N failed, N skipped
# A test that exits 77 skipped itself; under CI=true a skip counts as a failure
# (a missing /dev/fuse or BPF capability must not pass silently).
# VALGRIND=1 runs compiled tests under memcheck (leaks are errors).
set -u
pass=0 fail=0 skip=0
failed=()
logdir=${BUILD:-build}/test-logs
mkdir -p "$logdir"

for t in "$@"; do
	name=${t#"${BUILD:-build}"/}
	log=$logdir/$(echo "$name" | tr '/' '_').log
	case $t in
	*.sh) cmd=(bash "$t") ;;
	*)
		if [ "${VALGRIND:-}" = 1 ]; then
			cmd=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
			     --show-leak-kinds=definite,indirect "$t")
		else
			cmd=("$t")
		fi ;;
	esac
	start=$(date +%s)
	"${cmd[@]}" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); printf '  PASS    %s (%ss)\n' "$name" "$secs"
	elif [ $rc -eq 77 ] && [ "${CI:-}" != true ]; then
		skip=$((skip + 1)); printf '  SKIP    %s: %s\n' "$name" "$(tail -n 1 "$log")"
	else
		fail=$((fail + 1)); failed+=("$name")
		printf '  FAIL    %s (exit %d, %ss); last lines of %s:\n' "$name" $rc "$secs" "$log"
		tail -n 40 "$log" | sed 's/^/    | /'
	fi
done

echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
