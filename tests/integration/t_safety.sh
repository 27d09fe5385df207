# The safety layer (issue 4): refusals with reasons, consent (no terminal:
# --yes required; a terminal: asked once), the audit trail, exit statuses,
# and --backtrace. Targets are tests/bin/blocker processes.
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

safety_start() {
	need_root
	start_blocker "${1:-blocker}" --leak 10 --threads 2 --block nanosleep --duration-ms 60000
	AUDIT=$TMP/audit.log
}

reap_cw() { run_sockreap --port "$PORT" --state close-wait --audit-log "$AUDIT" "$@"; }

assert_refused_all() {
	local why=$1
	assert_rc 3
	[[ $(json_count '.result == "refused"') -eq 10 ]] || fail "not every row refused"
	[[ $(jq -r .reason "$OUT" | sort -u) == *"$why"* ]] || fail "reason lacks '$why': $(jq -r .reason "$OUT" | sort -u)"
	assert_leaks_untouched
	assert_all_threads_untraced "$BPID"
}

test_refuse_listen() {
	safety_start
	run_sockreap --port "$PORT" --state listen --yes --json --audit-log "$AUDIT"
	assert_rc 3
	[[ $(jq -r .reason "$OUT") == *--allow-listen* ]] || fail "no --allow-listen hint"
	assert_leaks_untouched
	run_sockreap --port "$PORT" --state listen --dry-run --allow-listen --json --audit-log "$AUDIT"
	assert_rc 0
	[[ $(jq -r .result "$OUT") == planned ]] || fail "--allow-listen did not plan it"
}

test_refuse_excluded() {
	safety_start
	reap_cw --yes --json --exclude-pid "$BPID"
	assert_refused_all --exclude-pid
	reap_cw --yes --json --exclude-comm blocker
	assert_refused_all --exclude-comm
}

test_refuse_over_max() {
	safety_start
	reap_cw --yes --json --max 9
	assert_refused_all "more than --max 9"
	reap_cw --yes --json --max 10
	assert_rc 0
	assert_only_leaks_closed
}

# The shell running the test is an ancestor of sockreap: a socket it holds
# (like the ssh session of an operator) is refused.
test_refuse_ancestor() {
	safety_start
	exec 7<>"/dev/tcp/127.0.0.1/$PORT"
	run_sockreap --pid "$BASHPID" --dport "$PORT" --yes --json --audit-log "$AUDIT"
	assert_rc 3
	[[ $(jq -r .reason "$OUT") == *ancestor* ]] || fail "not refused as an ancestor"
	[[ -n $(fd_link "$BASHPID" 7) ]] || fail "the ancestor's fd was touched"
	run_sockreap --pid "$BASHPID" --dport "$PORT" --dry-run --allow-ancestors --json --audit-log "$AUDIT"
	assert_rc 0
	[[ $(jq -r .result "$OUT") == planned ]] || fail "--allow-ancestors did not plan it"
	exec 7>&-
}

test_no_terminal_needs_yes() {
	safety_start
	reap_cw </dev/null
	assert_rc 4
	grep -q -- --yes "$ERR" || fail "the message does not mention --yes"
	grep -q -- --dry-run "$ERR" || fail "the message does not mention --dry-run"
	assert_leaks_untouched
	assert_all_threads_untraced "$BPID"
	! grep -q '"phase":"intent"' "$AUDIT" 2>/dev/null || fail "an intent was logged without consent"
}

# On a terminal (a pseudo-terminal from script(1)) sockreap asks once.
test_terminal_prompt() {
	safety_start
	need_cmd script
	printf 'n\n' | script -qec "$SOCKREAP --port $PORT --state close-wait --audit-log $AUDIT" /dev/null >"$TMP/tty.out" 2>&1
	grep -q 'Proceed? \[y/N\]' "$TMP/tty.out" || fail "no prompt: $(cat "$TMP/tty.out")"
	grep -q 'not confirmed' "$TMP/tty.out" || fail "no refusal after 'n'"
	assert_leaks_untouched
	printf 'y\n' | script -qec "$SOCKREAP --port $PORT --state close-wait --audit-log $AUDIT" /dev/null >"$TMP/tty.out" 2>&1
	grep -q 'about to close 10 sockets in 1 process' "$TMP/tty.out" || fail "the prompt lacks the plan summary"
	assert_only_leaks_closed
	assert_all_threads_untraced "$BPID"
}

test_audit_log_unwritable() {
	safety_start
	mkdir "$TMP/dir"
	run_sockreap --port "$PORT" --state close-wait --yes --audit-log "$TMP/dir"
	assert_rc 4
	grep -q "$TMP/dir" "$ERR" || fail "the message does not name the log"
	assert_leaks_untouched
	assert_all_threads_untraced "$BPID"
}

# Every field of the record, for a dry run (one "plan" record per row) and
# a real run ("intent" before, "result" after).
# The actor comes from the login uid (or the real uid), never from
# SUDO_USER when sockreap does not run under sudo (the tests set it).
check_record() {
	local rec=$1 phase=$2 auid
	auid=$(cat /proc/self/loginuid)
	[[ $auid == 4294967295 ]] && auid=$(id -u)
	jq -e --arg phase "$phase" --arg host "$(hostname)" --argjson pid "$BPID" \
		--argjson auid "$auid" --arg actor "$(getent passwd "$auid" | cut -d: -f1)" '
		(.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{2}:[0-9]{2}$"))
		and .host == $host and .actor_uid == $auid and .actor == $actor and .real_uid == 0
		and (has("sudo_user") | not)
		and (.argv | type == "array" and .[1] == "--port")
		and .phase == $phase and .method == "close"
		and .proto == "tcp" and .family == "ipv4" and .state == "CLOSE-WAIT"
		and (.local | test(":[0-9]+$")) and (.peer | test(":[0-9]+$"))
		and .inode > 0 and .cookie > 0 and .pid == $pid and .fd > 0 and .comm == "blocker"
		and (.exe | endswith("/blocker")) and (has("result") and has("reason") and has("errno") and has("verify"))
	' <<<"$rec" >/dev/null || fail "bad $phase record: $rec"
}

test_audit_records() {
	safety_start
	SUDO_USER=alice run_sockreap --port "$PORT" --state close-wait --dry-run
	assert_rc 0
	SUDO_USER=alice "$SOCKREAP" --port "$PORT" --state close-wait --dry-run --audit-log "$AUDIT" -q >/dev/null
	[[ $(grep -c '"phase":"plan"' "$AUDIT") -eq 10 ]] || fail "not 10 plan records for the dry run"
	check_record "$(grep '"phase":"plan"' "$AUDIT" | head -1)" plan
	jq -e '.dry_run == true and .result == "planned"' <<<"$(head -1 "$AUDIT")" >/dev/null || fail "dry-run record"
	SUDO_USER=alice "$SOCKREAP" --port "$PORT" --state close-wait --yes --audit-log "$AUDIT" -q >/dev/null
	[[ $(grep -c '"phase":"intent"' "$AUDIT") -eq 10 ]] || fail "not 10 intent records"
	[[ $(grep -c '"phase":"result"' "$AUDIT") -eq 10 ]] || fail "not 10 result records"
	[[ $(grep -c '"phase":"verify"' "$AUDIT") -eq 10 ]] || fail "not 10 verify records"
	check_record "$(grep '"phase":"intent"' "$AUDIT" | head -1)" intent
	local res ver
	res=$(grep '"phase":"result"' "$AUDIT" | head -1)
	check_record "$res" result
	jq -e '.result == "done" and .dry_run == false and .stall_ms >= 0' <<<"$res" >/dev/null ||
		fail "result record: $res"
	ver=$(grep '"phase":"verify"' "$AUDIT" | head -1)
	check_record "$ver" verify
	jq -e '.result == "done" and (.verify | test("^fd [0-9]+ kept by a placeholder"))' <<<"$ver" >/dev/null ||
		fail "verify record: $ver"
	[[ $(grep -n '"phase":"result"' "$AUDIT" | tail -1 | cut -d: -f1) -lt \
	   $(grep -n '"phase":"verify"' "$AUDIT" | head -1 | cut -d: -f1) ]] || fail "verify before result"
	# intents come before results, and every line is valid JSON
	[[ $(grep -n '"phase":"intent"' "$AUDIT" | tail -1 | cut -d: -f1) -lt \
	   $(grep -n '"phase":"result"' "$AUDIT" | head -1 | cut -d: -f1) ]] || fail "result before intent"
	jq -e . "$AUDIT" >/dev/null || fail "the audit log is not JSON lines"
}

test_exit_statuses() {
	safety_start
	reap_cw --dry-run
	assert_rc 0
	run_sockreap --port "$PORT" --state syn-sent --dry-run --audit-log "$AUDIT"
	assert_rc 1
	run_sockreap --port 70000
	assert_rc 2
	reap_cw --yes --max 1
	assert_rc 3
	reap_cw --yes --audit-log /proc/version
	assert_rc 4
	reap_cw --yes
	assert_rc 0
}

# --backtrace names the function the main thread was blocked in.
backtrace_case() {
	safety_start "$1"
	reap_cw --yes --json --backtrace
	assert_rc 0
	local bt
	bt=$(jq -r 'select(.backtrace != null) | .backtrace' "$OUT" | head -40)
	echo "$bt" >&2
	grep -q "thread $BPID:" <<<"$bt" || fail "no stack for the main thread"
	sed -n "/thread $BPID:/,/thread/p" <<<"$bt" | grep -Eq '#[01] .*nanosleep' ||
		fail "the main thread's stack does not name nanosleep"
	# stacks once per process: one row carries them, the others name it
	[[ $(jq -s '[.[] | select(.backtrace != null)] | length' "$OUT") -eq 1 ]] || fail "not one row with the stacks"
	local fd
	fd=$(jq -r 'select(.backtrace != null) | .fd' "$OUT")
	[[ $(jq -s --argjson fd "$fd" '[.[] | select(.backtrace == null and .backtrace_at_fd == $fd)] | length' "$OUT") -eq \
	   $(($(jq -s length "$OUT") - 1)) ]] || fail "rows without stacks do not name the row that has them"
	assert_only_leaks_closed
}
# A target with many threads: walking them all would freeze it for
# seconds; the walk stops at its budget and says how many were left.
test_backtrace_budget() {
	need_root
	start_blocker blocker --leak 3 --threads 300 --block nanosleep --duration-ms 60000
	AUDIT=$TMP/audit.log
	reap_cw --yes --json --backtrace
	assert_rc 0
	jq -se 'map(select(.backtrace != null)) | length == 1 and (.[0].backtrace | test("more threads? not walked: the 50 ms budget"))' \
		"$OUT" >/dev/null || fail "no word of the threads left unwalked: $(jq -r 'select(.backtrace != null) | .backtrace' "$OUT" | tail -3)"
	[[ -z $(grep -h '^TracerPid:' /proc/"$BPID"/task/*/status | grep -v '[[:space:]]0$') ]] || fail "threads left traced"
}

test_backtrace_dynamic() { backtrace_case blocker; }
test_backtrace_static() { backtrace_case blocker-static; }

# TIME_WAIT sockets have no owner: listed, never acted on, with the reason.
# Reaping the blocker's CLOSE_WAIT fds sends their FINs, which leaves the
# peer's ends (which closed first) in TIME_WAIT.
test_time_wait_listed_never_acted_on() {
	safety_start
	reap_cw --yes -q
	assert_rc 0
	run_sockreap --dport "$PORT" --state time-wait --yes --json --audit-log "$AUDIT"
	assert_rc 0
	[[ $(json_count '.pid == null and .fd == null and .action == "none" and .result == "skipped"') -eq 10 ]] ||
		fail "not 10 ownerless TIME-WAIT rows"
	jq -r .reason "$OUT" | grep -q "SOCK_DESTROY" || fail "the reason does not say what could reach them"
	! grep -q '"phase":"intent"' <(grep -F "time-wait" "$AUDIT") || fail "an action was announced"
}
