# Shared helpers for integration tests (sourced by run.sh in each test's
# subshell). Tests start their own processes and end only those, by PID.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# SOCKREAP_BIN: the binary; SOCKREAP, which tests run: the same, bounded
# (sockreap-bounded); a SOCKREAP from outside picks the binary
SOCKREAP_BIN=${SOCKREAP_BIN:-${SOCKREAP:-$ROOT/sockreap}}
SOCKREAP=$ROOT/tests/integration/sockreap-bounded
export SOCKREAP_BIN
BIN=$ROOT/tests/bin
LIB_PIDS=()
LIB_CLEANUP=()

# The runner passes each test a fresh directory (SR_TEST_TMP) so that it can
# clean up after a test it had to kill; alone, a test makes its own.
lib_setup() {
	TMP=${SR_TEST_TMP:-$(mktemp -d /tmp/sockreap-test.XXXXXX)}
	mkdir -p "$TMP"
	export TMP
}

# Kill (SIGKILL) every process this test started through `spawn`, by PID,
# then run what at_teardown registered (last first).
lib_teardown() {
	local p i
	for p in "${LIB_PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for ((i = ${#LIB_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${LIB_CLEANUP[i]}" 2>/dev/null
	done
	rm -rf "$TMP"
}
# at_teardown 'COMMAND': run COMMAND (a string) in teardown, after the
# processes are gone: delete a namespace, remove a cgroup.
at_teardown() { LIB_CLEANUP+=("$1"); }

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
need_root() { [[ $(id -u) -eq 0 ]] || skip "needs root (CI runs as root)"; }
need_cmd() { command -v "$1" >/dev/null || skip "needs $1"; }

# spawn CMD...: start a background process, remember its PID in $SPAWNED.
# Each PID also goes to $TMP/.pids with its start time, for the runner to
# kill if the test itself is killed (and only if it is still that process).
spawn() {
	"$@" &
	SPAWNED=$!
	track_pid "$SPAWNED"
}
track_pid() {
	LIB_PIDS+=("$1")
	echo "$1 $(awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null)" >>"$TMP/.pids"
}

# wait_for_file FILE [SECONDS]: wait until FILE exists and is non-empty.
wait_for_file() {
	local f=$1 t=${2:-10} i
	for ((i = 0; i < t * 100; i++)); do
		[[ -s $f ]] && return 0
		sleep 0.01
	done
	fail "timed out waiting for $f"
}

# run_sockreap ARGS...: run sockreap, stdout to $OUT, stderr to $ERR, status in $RC.
# Bounded: killed after SR_TIMEOUT seconds (default 60; then RC is 124, or
# 137 if it ignored SIGTERM for 5 s more). --foreground keeps it in the
# test's process group, which the runner kills when the test times out.
run_sockreap() {
	OUT=$TMP/out.$RANDOM ERR=$TMP/err.$RANDOM
	"$SOCKREAP" "$@" >"$OUT" 2>"$ERR"
	RC=$?
	[[ $RC != 124 && $RC != 137 ]] || echo "sockreap timed out after ${SR_TIMEOUT:-60} s (status $RC)" >>"$ERR"
	echo "+ sockreap $* -> $RC" >&2
	sed 's/^/  stdout: /' "$OUT" | head -20 >&2
	sed 's/^/  stderr: /' "$ERR" | head -20 >&2
}

# wait_bounded PID SECONDS: wait for our child PID (a sockreap started
# from $SOCKREAP_BIN in the background, to be SIGKILLed by PID); SIGKILL it
# if it is still running after SECONDS. Its status in $RC.
wait_bounded() {
	local i
	for ((i = 0; i < $2 * 100; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.01
	done
	kill -0 "$1" 2>/dev/null && echo "pid $1 still running after $2 s: killed" >&2 && kill -KILL "$1"
	RC=0
	wait "$1" 2>/dev/null || RC=$?
}

assert_eq() { [[ "$1" == "$2" ]] || fail "${3:-values differ}: expected '$2', got '$1'"; }
# kernel_at_least MAJOR MINOR: the running kernel is that version or newer
kernel_at_least() {
	local v maj min
	v=$(uname -r)
	maj=${v%%.*}
	min=${v#*.}
	min=${min%%[!0-9]*}
	((maj > $1 || (maj == $1 && min >= $2)))
}

assert_rc() { [[ $RC -eq $1 ]] || fail "expected exit status $1, got $RC"; }

# fd_link PID FD: the target of /proc/PID/fd/FD or empty.
fd_link() { readlink "/proc/$1/fd/$2" 2>/dev/null; }
proc_state() { awk '/^State:/ {print $2}' "/proc/$1/status"; }
tracer_pid() { awk '/^TracerPid:/ {print $2}' "/proc/$1/status"; }
# assert_untraced_running PID: not traced, not stopped (t or T).
assert_untraced_running() {
	local st tp
	tp=$(tracer_pid "$1"); st=$(proc_state "$1")
	[[ $tp == 0 ]] || fail "pid $1 still traced by $tp"
	[[ $st != t && $st != T ]] || fail "pid $1 left stopped (state $st)"
}
