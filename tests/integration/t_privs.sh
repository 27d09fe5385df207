# Privileges and visibility (issue 10): owners sockreap cannot see are
# said, never silently dropped; a process whose main thread has exited is
# still found. Targets: tests/bin/blocker run as another user,
# tests/bin/zleader.
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

# With CAP_SYS_PTRACE but without CAP_DAC_READ_SEARCH (and DAC_OVERRIDE),
# another user's /proc/PID/fd cannot be listed: its sockets look ownerless.
# sockreap must say how many processes it could not read and which
# capability is missing, and refuse to act (4) instead of "nothing holds
# this socket, exit 0".
test_hidden_owners_other_uid() {
	need_root
	need_cmd setpriv
	chmod 1777 "$TMP" # the target (uid 65534) writes its ready file here
	mkdir "$TMP/bin"
	printf '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups %q "$@"\n' "$BIN/blocker" \
		>"$TMP/bin/blocker"
	chmod 755 "$TMP/bin/blocker"
	BIN=$TMP/bin start_blocker blocker --leak 5 --threads 1 --block nanosleep --duration-ms 60000
	[[ $(stat -c %u "/proc/$BPID") == 65534 ]] || fail "the target does not run as uid 65534"
	local drop=(setpriv --inh-caps=-dac_read_search,-dac_override --bounding-set=-dac_read_search,-dac_override)
	OUT=$TMP/out ERR=$TMP/err
	# --pid: other users' processes of other tests may be unreadable too
	"${drop[@]}" "$SOCKREAP" -4 --port "$PORT" --pid "$BPID" --state close-wait --yes --json \
		--audit-log "$TMP/audit.log" >"$OUT" 2>"$ERR"
	RC=$?
	cat "$ERR" >&2
	assert_rc 4
	grep -q "owners may be hidden: the fds of 1 process could not be read (pid $BPID (blocker))" "$ERR" ||
		fail "the unreadable target is not named"
	grep -q "missing CAP_DAC_READ_SEARCH" "$ERR" || fail "the missing capability is not named"
	assert_leaks_untouched
	# a dry run says so too, and keeps its status
	"${drop[@]}" "$SOCKREAP" -4 --port "$PORT" --state close-wait --dry-run --audit-log "$TMP/audit.log" >"$OUT" 2>"$ERR"
	RC=$?
	assert_rc 0
	grep -q "warning: owners may be hidden: the fds of [0-9]* process.*CAP_DAC_READ_SEARCH" "$ERR" ||
		fail "the dry run does not warn"
	# with the capability, the owner is there and the leaks are closed
	run_sockreap -4 --port "$PORT" --state close-wait --yes --json --audit-log "$TMP/audit.log"
	assert_rc 0
	[[ $(json_count ".pid == $BPID and .result == \"done\"") -eq 5 ]] || fail "not closed with full privileges"
	! grep -q "owners may be hidden" "$ERR" || fail "warned although everything was readable"
}

# The main thread called pthread_exit: /proc/PID/fd is empty, the fds live
# on in the other thread (/proc/PID/task/TID/fd).
test_zombie_leader_owner_found() {
	need_root
	local ready=$TMP/z.json i
	spawn "$BIN/zleader" --leak 4 --ready "$ready"
	local zpid=$SPAWNED
	wait_for_file "$ready"
	for ((i = 0; i < 500; i++)); do
		[[ $(proc_state "$zpid") == Z ]] && break
		sleep 0.01
	done
	[[ $(proc_state "$zpid") == Z ]] || fail "the leader is not a zombie"
	[[ -z $(ls "/proc/$zpid/fd") ]] || fail "the leader's fd directory is not empty"
	local port first last
	port=$(jq .port "$ready") first=$(jq .leak_first "$ready") last=$(jq .leak_last "$ready")
	run_sockreap -4 --port "$port" --state close-wait --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 0
	[[ $(json_count ".pid == $zpid and .fd >= $first and .fd <= $last and .comm == \"zleader\" and .result == \"planned\"") -eq 4 ]] ||
		fail "the zombie leader's fds were not found"
	[[ $(json_count '.pid == null') -eq 0 ]] || fail "rows without owner"
}
