#!/bin/bash
# Integration test runner: every tests/integration/t_*.sh defines functions
# named test_*; each runs in its own subshell with lib.sh loaded. A test
# passes by returning 0, fails with `fail MSG` (or any non-zero status), and
# skips with `skip REASON` (exit 77), which is printed loudly. Under CI
# (CI set in the environment) a skip counts as a failure: CI runs as root
# and must exercise everything.
#
# Nothing may hang the run: each test runs in its own process group with a
# time limit, TEST_TIMEOUT seconds (default 120; a t_*.sh file may set
# TEST_TIMEOUT for all its tests, or TEST_TIMEOUT_<function> for one). On
# timeout the runner prints what was still running in the test's group,
# kills every process of the group but the test's shell (so a hung command
# returns and the test's EXIT trap, lib_teardown, still runs), gives the
# shell TEST_GRACE seconds (default 15) to finish, then kills the group and
# every process the test spawned, and counts the test as failed.
#
#   bash tests/integration/run.sh [FILE-OR-FUNCTION-PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
pattern=${1:-}
pass=0 failn=0 skipn=0
failed=()
default_timeout=${TEST_TIMEOUT:-120}
grace=${TEST_GRACE:-15}
# Background jobs get a process group of their own (the test's shell turns
# job control off again, so what it starts stays in that group).
set -m

# group_members PGID: "PID STAT ELAPSED COMMAND" of every process in PGID.
group_members() {
	ps -e -o pgid=,pid=,stat=,etime=,wchan:24=,args= | awk -v g="$1" '$1 == g { $1 = ""; print substr($0, 2) }'
}

# kill_group_but PGID KEEP: SIGKILL every process of group PGID except KEEP.
kill_group_but() {
	local p
	for p in $(ps -e -o pgid=,pid= | awk -v g="$1" -v k="$2" '$1 == g && $2 != k { print $2 }'); do
		kill -KILL "$p" 2>/dev/null
	done
}

# kill_spawned DIR: the processes the test started with spawn/track_pid
# (DIR/.pids holds "PID STARTTIME" lines), killed only if still the same
# process (same start time: the PID was not reused meanwhile).
kill_spawned() {
	local pid st now
	[[ -r $1/.pids ]] || return 0
	while read -r pid st; do
		now=$(awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$pid/stat" 2>/dev/null)
		[[ -n $now && $now == "$st" ]] && kill -KILL "$pid" 2>/dev/null
	done <"$1/.pids"
}

# run_one FILE FN LOG LIMIT: run the test, bounded; its status in $rc.
run_one() {
	local file=$1 fn=$2 log=$3 limit=$4 tpid end timed_out=0
	SR_TEST_TMP=$(mktemp -d /tmp/sockreap-test.XXXXXX)
	export SR_TEST_TMP
	( set +m; source "$here/lib.sh"; source "$file"; lib_setup; trap lib_teardown EXIT; "$fn" ) >>"$log" 2>&1 &
	tpid=$!
	end=$((SECONDS + limit))
	while kill -0 "$tpid" 2>/dev/null; do
		if ((SECONDS >= end)); then
			timed_out=1
			break
		fi
		sleep 0.1
	done
	if ((timed_out)); then
		{
			echo "TIMEOUT: still running after $limit s; processes of the test's group:"
			group_members "$tpid" | sed 's/^/  /'
		} >>"$log"
		kill_group_but "$tpid" "$tpid"
		end=$((SECONDS + grace))
		while kill -0 "$tpid" 2>/dev/null && ((SECONDS < end)); do
			sleep 0.1
		done
		if kill -0 "$tpid" 2>/dev/null; then
			echo "TIMEOUT: the test's shell did not finish within $grace s more: killed" >>"$log"
			kill -KILL -- "-$tpid" 2>/dev/null
		fi
	fi
	wait "$tpid" 2>/dev/null
	rc=$?
	kill_spawned "$SR_TEST_TMP"
	rm -rf "$SR_TEST_TMP"
	((timed_out)) && rc=124
	return 0
}

for file in "$here"/t_*.sh; do
	base=$(basename "$file" .sh)
	listing=$(bash -c "source '$here/lib.sh'; source '$file'; declare -F; declare -p | grep -E '^declare -[-a-z]* TEST_TIMEOUT'" 2>/dev/null)
	fns=$(awk '$1 == "declare" && $2 == "-f" && $3 ~ /^test_/ {print $3}' <<<"$listing")
	for fn in $fns; do
		if [[ -n $pattern && $base != *$pattern* && $fn != *$pattern* ]]; then continue; fi
		# the file's limits: TEST_TIMEOUT_<fn>, else TEST_TIMEOUT, else the default
		limit=$(awk -v f="TEST_TIMEOUT_$fn" -v d="$default_timeout" '
			$1 == "declare" { split($3, kv, "="); gsub(/"/, "", kv[2]);
				if (kv[1] == f) one = kv[2]; else if (kv[1] == "TEST_TIMEOUT") all = kv[2] }
			END { print one != "" ? one : all != "" ? all : d }' <<<"$listing")
		log=$(mktemp)
		start=$(date +%s%N)
		run_one "$file" "$fn" "$log" "$limit"
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
			if [[ $rc -eq 124 ]]; then
				echo "FAIL  $base.$fn (${ms} ms, timed out after $limit s)"
			else
				echo "FAIL  $base.$fn (${ms} ms, status $rc)"
			fi
			sed 's/^/    | /' "$log" | tail -40
		fi
		rm -f "$log"
	done
done
echo "integration: $pass passed, $failn failed, $skipn skipped"
[[ ${#failed[@]} -eq 0 ]] || { printf 'not ok: %s\n' "${failed[@]}"; exit 1; }
