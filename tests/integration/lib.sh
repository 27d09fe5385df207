# Shared helpers for integration tests (sourced by run.sh in each test's
# subshell). Tests start their own processes and end only those, by PID.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SOCKREAP=${SOCKREAP:-$ROOT/sockreap}
BIN=$ROOT/tests/bin
LIB_PIDS=()
LIB_CLEANUP=()

lib_setup() {
	TMP=$(mktemp -d /tmp/sockreap-test.XXXXXX)
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
spawn() {
	"$@" &
	SPAWNED=$!
	LIB_PIDS+=("$SPAWNED")
}
track_pid() { LIB_PIDS+=("$1"); }

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
run_sockreap() {
	OUT=$TMP/out.$RANDOM ERR=$TMP/err.$RANDOM
	"$SOCKREAP" "$@" >"$OUT" 2>"$ERR"
	RC=$?
	echo "+ sockreap $* -> $RC" >&2
	sed 's/^/  stdout: /' "$OUT" | head -20 >&2
	sed 's/^/  stderr: /' "$ERR" | head -20 >&2
}

assert_eq() { [[ "$1" == "$2" ]] || fail "${3:-values differ}: expected '$2', got '$1'"; }
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
