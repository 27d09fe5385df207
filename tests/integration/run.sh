#!/bin/bash
# Integration test runner: every tests/integration/t_*.sh defines functions
# named test_*; each runs in its own subshell with lib.sh loaded. A test
# passes by returning 0, fails with `fail MSG` (or any non-zero status), and
# skips with `skip REASON` (exit 77), which is printed loudly. Under CI
# (CI set in the environment) a skip counts as a failure: CI runs as root
# and must exercise everything.
#
#   bash tests/integration/run.sh [FILE-OR-FUNCTION-PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
pattern=${1:-}
pass=0 failn=0 skipn=0
failed=()
for file in "$here"/t_*.sh; do
	base=$(basename "$file" .sh)
	fns=$(bash -c "source '$here/lib.sh'; source '$file'; declare -F" | awk '$3 ~ /^test_/ {print $3}')
	for fn in $fns; do
		if [[ -n $pattern && $base != *$pattern* && $fn != *$pattern* ]]; then continue; fi
		log=$(mktemp)
		start=$(date +%s%N)
		( source "$here/lib.sh"; source "$file"; lib_setup; trap lib_teardown EXIT; "$fn" ) >"$log" 2>&1
		rc=$?
		ms=$(( ($(date +%s%N) - start) / 1000000 ))
		if [[ $rc -eq 0 ]]; then
			pass=$((pass + 1)); echo "PASS  $base.$fn (${ms} ms)"
		elif [[ $rc -eq 77 ]]; then
			skipn=$((skipn + 1))
			echo "SKIPPED  $base.$fn: $(grep '^SKIP:' "$log" | tail -1 | cut -c7-)"
			echo "*********************************************************"
			[[ -n ${CI:-} ]] && failed+=("$base.$fn (skipped under CI)")
		else
			failn=$((failn + 1)); failed+=("$base.$fn")
			echo "FAIL  $base.$fn (${ms} ms, status $rc)"
			sed 's/^/    | /' "$log" | tail -40
		fi
		rm -f "$log"
	done
done
echo "integration: $pass passed, $failn failed, $skipn skipped"
[[ ${#failed[@]} -eq 0 ]] || { printf 'not ok: %s\n' "${failed[@]}"; exit 1; }
