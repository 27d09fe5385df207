# The operator's terminal (issue 10): everything that comes from another
# process (comm, exe and file names in stacks, reasons quoting a tracer's
# comm) reaches the table, the consent plan and stderr escaped; long
# reasons appear once below the table, rows carry a short code.
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

EVIL=$'\e[2J\nevil'       # erase the screen, then a fake line
EVIL_SHOWN='\x1b[2J\nevil'

# assert_no_raw_controls FILE: no ESC, no BEL, no other control byte but
# newline and tab (and the CR of a terminal), and no line starting "evil".
assert_no_raw_controls() {
	if LC_ALL=C grep -q $'[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' "$1"; then
		fail "raw control bytes in $1: $(LC_ALL=C grep -n $'[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' "$1" | od -c | head)"
	fi
	! grep -q '^evil' "$1" || fail "a process name forged a line in $1"
}

evil_start() {
	need_root
	mkdir -p "$TMP/bin"
	cp "$BIN/blocker" "$TMP/bin/$EVIL"
	BIN=$TMP/bin start_blocker "$EVIL" --leak 3 --threads 1 --block nanosleep --duration-ms 60000
	[[ $(cat "/proc/$BPID/comm") == "$EVIL" ]] || fail "the target's comm is not the escape sequence"
}

test_terminal_comm_escaped_in_table() {
	evil_start
	run_sockreap -4 --port "$PORT" --state close-wait --dry-run --audit-log "$TMP/audit.log"
	assert_rc 0
	assert_no_raw_controls "$OUT"
	[[ $(grep -cF "$EVIL_SHOWN/$BPID/" "$OUT") -eq 3 ]] || fail "the comm is not shown escaped: $(cat "$OUT")"
	# JSON keeps the real name, escaped the JSON way
	run_sockreap -4 --port "$PORT" --state close-wait --dry-run --json --audit-log "$TMP/audit.log"
	[[ $(jq -s --arg e "$EVIL" '[.[] | select(.comm == $e)] | length' "$OUT") -eq 3 ]] ||
		fail "the JSON comm is not the real name"
	assert_no_raw_controls "$OUT"
}

# After the default close, stderr counts the placeholders in each process
# acted on, naming it by its comm: escaped like every other name.
test_terminal_census_comm_escaped() {
	evil_start
	run_sockreap -4 --port "$PORT" --state close-wait --yes --audit-log "$TMP/audit.log"
	assert_rc 0
	# "3 of its N open fds", or, without pidfd_getfd (valgrind), "N open fds; how many ..."
	grep -qF "pid $BPID ($EVIL_SHOWN): 3 of its" "$ERR" ||
		grep -F "pid $BPID ($EVIL_SHOWN): " "$ERR" | grep -q "open fds; how many are sockreap placeholders" ||
		fail "no escaped placeholder census line: $(cat "$ERR")"
	assert_no_raw_controls "$ERR"
	assert_no_raw_controls "$OUT"
}

# The plan shown before the prompt cannot be erased by the target's name.
test_terminal_consent_plan_escaped() {
	evil_start
	need_cmd script
	printf 'n\n' | script -qec "$SOCKREAP -4 --port $PORT --state close-wait --audit-log $TMP/audit.log" /dev/null \
		>"$TMP/tty.out" 2>&1
	grep -q 'Proceed? \[y/N\]' "$TMP/tty.out" || fail "no prompt: $(cat "$TMP/tty.out")"
	grep -qF "$EVIL_SHOWN/$BPID/" "$TMP/tty.out" || fail "the plan does not show the escaped name"
	tr -d '\r' <"$TMP/tty.out" >"$TMP/tty.txt"
	assert_no_raw_controls "$TMP/tty.txt"
	assert_leaks_untouched
}

# Stacks name the target's executable file (and its symbols): escaped.
test_terminal_backtrace_escaped() {
	evil_start
	run_sockreap -4 --port "$PORT" --state close-wait --yes --backtrace --audit-log "$TMP/audit.log"
	assert_rc 0
	grep -qF "stacks of $EVIL_SHOWN (pid $BPID)" "$OUT" ||
		fail "no escaped stacks header"
	grep -qF "(/tmp/" "$OUT" || fail "the stacks name no file"
	assert_no_raw_controls "$OUT"
	assert_only_leaks_closed
}

# A tracer named with an escape sequence: the reason quoting its comm is
# escaped, in the reasons below the table.
test_terminal_tracer_comm_escaped() {
	need_root
	need_cmd strace
	start_blocker blocker --leak 3 --threads 1 --block nanosleep --duration-ms 60000
	mkdir -p "$TMP/bin"
	local tracer=$'\e]0;pwned\a'
	cp "$(command -v strace)" "$TMP/bin/$tracer"
	spawn "$TMP/bin/$tracer" -o /dev/null -p "$BPID"
	local spid=$SPAWNED i
	for ((i = 0; i < 500; i++)); do
		[[ $(tracer_pid "$BPID") == "$spid" ]] && break
		sleep 0.01
	done
	[[ $(tracer_pid "$BPID") == "$spid" ]] || fail "the tracer did not attach"
	run_sockreap -4 --port "$PORT" --state close-wait --yes --audit-log "$TMP/audit.log"
	assert_rc 3
	assert_no_raw_controls "$OUT"
	assert_no_raw_controls "$ERR"
	grep -qF 'already traced by PID '"$spid"' (\x1b]0;pwned\x07)' "$OUT" || fail "the tracer's comm is not escaped"
	[[ $(grep -c 'failed EBUSY: traced$' "$OUT") -eq 3 ]] || fail "rows do not carry the short code"
	kill "$spid"
	wait "$spid" 2>/dev/null
	assert_leaks_untouched
}

# 10 TIME-WAIT rows: the 150-character explanation once, each row a code.
test_terminal_long_reason_once() {
	need_root
	start_blocker blocker --leak 10 --threads 1 --block nanosleep --duration-ms 60000
	run_sockreap -4 --port "$PORT" --state close-wait --yes -q --audit-log "$TMP/audit.log"
	assert_rc 0
	run_sockreap -4 --dport "$PORT" --state time-wait --dry-run --audit-log "$TMP/audit.log"
	assert_rc 0
	[[ $(grep -c ' skipped: no-owner$' "$OUT") -eq 10 ]] || fail "not 10 rows with the code"
	[[ $(grep -c "only the kernel's SOCK_DESTROY can" "$OUT") -eq 1 ]] || fail "the explanation is not printed once"
	grep -q '^reasons:$' "$OUT" || fail "no reasons section"
	# JSON keeps the whole reason on every row, and the code
	run_sockreap -4 --dport "$PORT" --state time-wait --dry-run --json --audit-log "$TMP/audit.log"
	[[ $(json_count '(.reason | test("SOCK_DESTROY")) and .reason_code == "no-owner"') -eq 10 ]] ||
		fail "JSON rows lack the full reason or the code"
}
