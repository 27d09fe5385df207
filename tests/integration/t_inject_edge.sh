# The injection engine's edge cases (issue 3): a target that exits mid-way,
# one already traced, a stopped job, SIGINT to sockreap mid-way, a signal
# sent to the target while sockreap holds it, a thread blocked reading the
# very socket being closed, FIN vs RST seen by the peer through both the
# pidfd and the ptrace path, a socket shared by a parent and its child, and
# a seccomp filter that kills on close. Events meant to land while sockreap
# holds the target are timed from the moment its TracerPid turns non-zero.
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

# reap ARGS...: run_sockreap acting (--yes), JSON output, audit log in $TMP.
reap() {
	run_sockreap "$@" --yes --json --audit-log "$TMP/audit.log"
}

# sockreap_with_timeout SECONDS: bound every run of sockreap (run_sockreap
# and $SOCKREAP) to SECONDS, so a hang fails the test (status 124) soon.
sockreap_with_timeout() {
	export SR_TIMEOUT=$1
}

# assert_sane_exit: sockreap neither hung nor crashed.
assert_sane_exit() {
	[[ $RC != 124 && $RC != 137 ]] || fail "sockreap hung (killed by timeout, status $RC)"
	((RC < 128)) || fail "sockreap died of signal $((RC - 128))"
	! grep -qE 'Sanitizer|runtime error|Segmentation fault|core dumped' "$ERR" ||
		fail "sockreap crashed: $(cat "$ERR")"
}

# assert_fds_closed_or_intact: every fd of the blocker is as before, except
# leaked sockets that may be gone; nothing new, nothing else changed. And
# the JSON agrees: a socket said done is gone, any other is still there.
assert_fds_closed_or_intact() {
	local now bad
	now=$(fd_table "$BPID")
	# no fd number appeared (a placeholder left at a new number) and none
	# but the leaked sockets changed
	bad=$(comm -13 <(cut -d' ' -f1 <<<"$FDS_BEFORE" | sort) <(cut -d' ' -f1 <<<"$now" | sort))
	[[ -z $bad ]] || fail "new fds in the target: $bad"
	bad=$(comm -23 <(sort <<<"$FDS_BEFORE") <(sort <<<"$now") |
		awk -v a="$LEAK_FIRST" -v b="$LEAK_LAST" '$1 < a || $1 > b || $2 !~ /^socket:/')
	[[ -z $bad ]] || fail "fds changed that were not leaked sockets: $bad"
	# JSON "FD RESULT" lines against the fd table: done <=> the fd no
	# longer holds its old socket (it holds a placeholder, or with
	# REAP_MODE=free it is gone).
	bad=$(awk 'FILENAME == ARGV[1] { before[$1] = $2; next }
		FILENAME == ARGV[2] { now[$1] = $2; next }
		{ changed = !($1 in now) || now[$1] != before[$1]
		  if (($2 == "done") != changed) print "fd " $1 " is " (changed ? "changed" : "intact") " but " $2
		  else if (changed && ENVIRON["REAP_MODE"] != "free" && !($1 in now)) print "fd " $1 " was freed, not replaced" }' \
		<(echo "$FDS_BEFORE") <(echo "$now") <(jq -r 'select(.pid != null) | "\(.fd) \(.result)"' "$OUT") | head -5)
	[[ -z $bad ]] || fail "the JSON disagrees with the fd table: $bad"
}

# ---- the target exits while sockreap works on it ----

# MIDWAY_DELAYS: when the watcher acts, in ms after it first sees the target
# traced, so the event lands in each phase of sockreap's work on 2,000 fds
# (attach, checks, the close loop, release; about 15 ms here in all).
MIDWAY_DELAYS="0 2 4 6 8 10 13"

# midway_start [CALL]: a blocker (in CALL, default read) with 2,000 leaks,
# none adjacent (--gaps: no close_range over them), and sockreap under a
# timeout.
midway_start() {
	start_blocker blocker --leak 2000 --gaps --threads 4 --block "${1:-read}"
	sockreap_with_timeout 20
}

# stop_watcher: the watcher is done, or sockreap finished before it saw the
# target traced (then it is just ended).
stop_watcher() {
	kill "$WATCHER" 2>/dev/null
	wait "$WATCHER" 2>/dev/null
}

test_edge_target_exits_midway() {
	need_root
	local d n done bad early=0
	for d in $MIDWAY_DELAYS; do
		midway_start
		spawn when_traced "$BPID" after_ms "$d" kill -KILL "$BPID"
		WATCHER=$SPAWNED
		reap --port "$PORT" --state close-wait
		assert_sane_exit
		stop_watcher
		kill -KILL "$BPID" 2>/dev/null
		wait "$BPID"
		n=$(jq -s length "$OUT")
		done=$(json_count '.result == "done"')
		bad=$(json_count '(.result == "failed" or .result == "skipped") and (.reason | type) == "string"')
		echo "kill after $d ms: exit $RC, $n lines, $done done, $bad failed or skipped with a reason" >&2
		assert_eq "$n" 2000 "one JSON line per socket"
		assert_eq "$((done + bad))" "$n" "every line done, or failed/skipped with a reason"
		# The blocker never closes or reuses an fd: the reason must be the exit.
		assert_eq "$(json_count '(.reason // "") | test("fd reused")')" 0 "lines blaming a reused fd"
		# ... nor an exec: a process killed with 2,000 sockets takes a
		# while to exit, its leader neither running on nor a zombie yet
		assert_eq "$(json_count '(.reason // "") | test("new program")')" 0 "lines blaming an execve()"
		[[ $RC == 0 || $RC == 3 ]] || fail "exit status $RC"
		((done == n)) || early=$((early + 1))
	done
	((early > 0)) || fail "the target never died before sockreap was done: the test did not test"
}

# ---- a target already traced by someone else ----

# start_strace: trace the blocker with strace; sets STRACE_PID once attached.
start_strace() {
	need_cmd strace
	spawn strace -f -o /dev/null -p "$BPID"
	STRACE_PID=$SPAWNED
	local i
	for ((i = 0; i < 500; i++)); do
		[[ $(tracer_pid "$BPID") == "$STRACE_PID" ]] && return 0
		sleep 0.01
	done
	fail "strace did not attach"
}

test_edge_already_traced() {
	need_root
	start_blocker blocker --leak 5 --threads 2 --block read
	start_strace
	reap --port "$PORT" --state close-wait
	assert_rc 3
	assert_eq "$(json_count '.result == "failed" and (.reason | test("\\b'"$STRACE_PID"'\\b"))')" 5 \
		"failed lines naming tracer PID $STRACE_PID"
	assert_leaks_untouched
	assert_eq "$(tracer_pid "$BPID")" "$STRACE_PID" "the tracer of the target"
	# The table names the tracer too, not only the JSON.
	run_sockreap --port "$PORT" --state close-wait --yes --audit-log "$TMP/audit.log"
	assert_rc 3
	grep -q "\b$STRACE_PID\b" "$OUT" "$ERR" || fail "no message names the tracer $STRACE_PID"
	kill "$STRACE_PID"
	wait "$STRACE_PID"
	assert_all_threads_untraced "$BPID"
	finish_call read
	wait_report
	assert_report_ok read 0
}

# The pidfd path never ptraces: --shutdown works on a target under strace,
# while --shutdown --inject (the ptrace path) must fail naming the tracer.
test_edge_shutdown_pidfd_needs_no_ptrace() {
	need_root
	start_blocker blocker --leak 3 --block read
	start_strace
	reap --port "$PORT" --state close-wait --shutdown --inject
	assert_rc 3
	assert_eq "$(json_count '.result == "failed" and (.reason | test("'"$STRACE_PID"'"))')" 3 "failed lines"
	assert_eq "$(close_wait_count "$PORT")" 3 "CLOSE-WAIT sockets after the failed --inject"
	reap --port "$PORT" --state close-wait --shutdown
	assert_rc 0
	assert_eq "$(json_count '.action == "shutdown-rdwr" and .result == "done"')" 3 "shutdown done lines"
	assert_eq "$(close_wait_count "$PORT")" 0 "CLOSE-WAIT sockets after the pidfd shutdown"
	assert_leaks_untouched # shutdown keeps the fds
	kill "$STRACE_PID"
	wait "$STRACE_PID"
	finish_call read
	wait_report
	assert_report_ok read 0
}

# ---- a stopped job stays stopped ----

test_edge_job_stopped_static() {
	need_root
	start_blocker blocker-static --leak 5 --threads 3 --block read
	kill -STOP "$BPID"
	local i t
	for ((i = 0; i < 200; i++)); do
		[[ $(proc_state "$BPID") == T ]] && break
		sleep 0.01
	done
	reap --port "$PORT" --state close-wait
	assert_rc 0
	assert_json_closed "$BPID"
	assert_only_leaks_closed
	sleep 0.2 # a wrongly resumed target would have run by now
	for t in /proc/"$BPID"/task/*; do
		assert_eq "$(awk '/^State:/ {print $2}' "$t/status")" T "state of thread ${t##*/}"
		assert_eq "$(awk '/^TracerPid:/ {print $2}' "$t/status")" 0 "tracer of thread ${t##*/}"
	done
	[[ ! -s $REPORT ]] || fail "the stopped target ran its call to the end: $(cat "$REPORT")"
	kill -CONT "$BPID"
	finish_call read
	wait_report
	# its heartbeat saw the job stop itself as a stall: no bound on it here
	report_is '.ok == true and .ret == 3'
	[[ $BRC == 0 ]] || fail "blocker exited $BRC"
}

# ---- SIGINT to sockreap while it reaps 2,000 fds ----

test_edge_sigint_midway() {
	need_root
	local d
	for d in $MIDWAY_DELAYS; do
		midway_start
		spawn when_traced "$BPID" after_ms "$d" interrupt_tracer
		WATCHER=$SPAWNED
		reap --port "$PORT" --state close-wait
		assert_sane_exit
		stop_watcher
		echo "SIGINT after $d ms: exit $RC, $(json_count '.result == "done"') done" >&2
		assert_all_threads_untraced "$BPID"
		assert_sigmasks_unchanged
		assert_fds_closed_or_intact
		finish_call read
		wait_report
		assert_report_ok read 0
	done
}
interrupt_tracer() { kill -INT "$TRACER"; }

# ---- a signal sent while sockreap holds the target is not lost ----

# The main thread waits for SIGUSR2 in sigsuspend() (SIGUSR2 blocked at any
# other time: the race-free wait) or pause(); the signal arrives while the
# engine holds the target stopped. Once sockreap leaves, the handler must run
# and the wait must end with EINTR: a handler run with the wait restarted
# afterwards is a lost wakeup (for sigsuspend one that cannot happen
# without sockreap).
signal_during_stop_case() {
	local call=$1 d landed=0
	need_root
	for d in 0 0 3; do
		midway_start "$call"
		wait_blocked "$BPID"
		rm -f "$TMP/fired"
		spawn when_traced "$BPID" after_ms "$d" fire kill -USR2 "$BPID"
		WATCHER=$SPAWNED
		reap --port "$PORT" --state close-wait
		assert_sane_exit
		stop_watcher
		# (No mask check: the wait may be over, with the mask it restores.)
		assert_all_threads_untraced "$BPID"
		if [[ -e $TMP/fired ]]; then
			landed=$((landed + 1))
		else
			kill -USR2 "$BPID" # sockreap was done before the watcher saw it
		fi
		if ! (wait_for_file "$REPORT" 3) 2>/dev/null; then
			kill -USR2 "$BPID"
			wait_report 5
			fail "$call did not end with the SIGUSR2 sent while sockreap held the target; a second one ended it: $(cat "$REPORT")"
		fi
		wait_report
		assert_report_ok "$call" 0
	done
	((landed > 0)) || fail "no signal was sent while the target was traced: the test did not test"
}

test_edge_signal_during_stop_sigsuspend() { signal_during_stop_case sigsuspend; }
test_edge_signal_during_stop_pause() { signal_during_stop_case pause; }
# fire CMD...: run CMD and leave a mark that it ran.
fire() { "$@" && touch "$TMP/fired"; }

# ---- a thread blocked reading the very socket being closed ----

# readsock_start ACTION...: the main thread reads the ESTABLISHED socket (its
# peer sends nothing) while sockreap acts on that socket.
readsock_start() {
	need_root
	start_blocker blocker --leak 1 --threads 2 --block readsock
	wait_blocked "$BPID"
	reap --port "$PORT" --state estab --pid "$BPID" "$@"
	# 0 when done; 3 when the close was skipped (a planned action not done)
	[[ $RC -eq 0 || ( $RC -eq 3 && $(jq -r .result "$OUT") == skipped ) ]] || fail "exit status $RC"
	assert_all_threads_untraced "$BPID"
}

# Closing a socket does not wake a reader (DESIGN.md); but sockreap's stop
# interrupts the read, and the read restarts by fd number. The default close
# leaves a placeholder there, so the restarted read returns EOF; freeing the
# number instead would make it fail with EBADF, so --free-fd skips that fd.
test_edge_readsock_close() {
	readsock_start
	# The default close replaces the fd: the restarted read finds the
	# placeholder and returns EOF, as for a peer that closed.
	assert_eq "$(jq -r .result "$OUT")" done "result"
	jq -e '.verify | test("kept by a placeholder")' "$OUT" >/dev/null || fail "verify: $(jq -r .verify "$OUT")"
	wait_report 5
	report_is '.ok == true and .ret == 0'
}

# Freeing the number instead would make the restarted read fail with EBADF
# (or read a reused number): that fd is skipped, with the reason.
test_edge_readsock_free_fd() {
	readsock_start --free-fd
	assert_eq "$(jq -r .result "$OUT")" skipped "result"
	assert_eq "$(json_count '(.reason | test("blocked in"))')" 1 "a skip naming the blocked call"
	assert_leaks_untouched
	sleep 0.5
	[[ ! -s $REPORT ]] || fail "the blocked read ended: $(cat "$REPORT")"
	kill -USR1 "$PEER_PID"
	wait_report
	report_is '.ok == true and .ret == 1'
}

# Under a storm of signals (an SA_RESTART handler: the read restarts after
# each), the thread blocked in read() is often in a signal-delivery stop
# when sockreap stops it. That signal is delivered first, and its
# registers then show the handler (the read's restart in its frame) or the
# read about to be entered again: --free-fd must still see the fd as the
# read's, every run, and leave it.
test_edge_readsock_free_fd_under_signals() {
	need_root
	start_blocker blocker --leak 1 --threads 2 --block readsock --usr1-restart
	wait_blocked "$BPID"
	spawn "$BIN/sigstorm" kill "$BPID" 60000 "$TMP/usr1.sent"
	local storm=$SPAWNED i
	for ((i = 0; i < 10; i++)); do
		reap --port "$PORT" --state estab --pid "$BPID" --free-fd
		assert_eq "$(jq -r .result "$OUT")" skipped "run $i: result"
		[[ -n $(fd_link "$BPID" "$ESTAB_FD") ]] || fail "run $i: the fd the blocked read uses was freed"
	done
	kill -TERM "$storm"
	wait "$storm" 2>/dev/null
	assert_all_threads_untraced "$BPID"
	[[ ! -s $REPORT ]] || fail "the blocked read ended: $(cat "$REPORT")"
	kill -USR1 "$PEER_PID"
	wait_report
	report_is '.ok == true and .ret == 1'
}

# shutdown wakes the reader with EOF; the fd stays.
test_edge_readsock_shutdown() {
	readsock_start --shutdown
	wait_report 5
	report_is '.ok == true and .ret == 0'
}

test_edge_readsock_shutdown_inject() {
	readsock_start --shutdown --inject
	wait_report 5
	report_is '.ok == true and .ret == 0'
}

# ---- FIN or RST, as the peer sees it ----

# peer_case EXPECT ACTION...: act on the blocker's ESTABLISHED socket; the
# peer's recv() must see EXPECT (fin: EOF; rst: ECONNRESET).
peer_case() {
	local expect=$1
	shift
	need_root
	start_blocker blocker --leak 1 --block read --peer-report "$TMP/peer.json"
	reap --port "$PORT" --state estab --pid "$BPID" "$@"
	assert_rc 0
	assert_eq "$(json_count '.result == "done" and .fd == '"$ESTAB_FD")" 1 "done line for fd $ESTAB_FD"
	assert_all_threads_untraced "$BPID"
	wait_for_file "$TMP/peer.json" 5
	echo "peer: $(cat "$TMP/peer.json")" >&2
	assert_eq "$(jq -r .seen "$TMP/peer.json")" "$expect" "what the peer saw"
	case " $* " in
	*" --shutdown "*) assert_leaks_untouched ;;
	*) assert_only_leaks_closed_except_estab ;;
	esac
	if [[ $expect == rst ]]; then
		assert_eq "$(ss -Htan state time-wait "( sport = :$PORT )" | wc -l)" 0 "TIME-WAIT left by --reset"
	fi
	finish_call read
	wait_report
	assert_report_ok read 0
}

# close and reset replace the ESTABLISHED fd by a placeholder, nothing else.
assert_only_leaks_closed_except_estab() {
	LEAK_FIRST=$ESTAB_FD LEAK_LAST=$ESTAB_FD assert_leaks_replaced "$BPID"
}

test_edge_peer_fin_close() { peer_case fin; }
test_edge_peer_fin_shutdown_pidfd() { peer_case fin --shutdown; }
test_edge_peer_fin_shutdown_inject() { peer_case fin --shutdown --inject; }
test_edge_peer_rst_reset_pidfd() { peer_case rst --reset; }
test_edge_peer_rst_reset_inject() { peer_case rst --reset --inject; }

# ---- a socket shared by a parent and its forked child ----

test_edge_shared_socket() {
	need_root
	start_blocker blocker --leak 3 --share --block read
	local share_before lo hi
	share_before=$(fd_table "$SHARE_PID")
	reap --port "$PORT" --state close-wait
	assert_rc 0
	assert_eq "$(jq -s length "$OUT")" 6 "JSON lines (3 sockets x 2 owners)"
	assert_eq "$(json_count '.owners == 2 and .result == "done"')" 6 "done lines with owners 2"
	lo=$((BPID < SHARE_PID ? BPID : SHARE_PID)) hi=$((BPID > SHARE_PID ? BPID : SHARE_PID))
	assert_eq "$(jq -sc '[.[].pid] | unique' "$OUT")" "[$lo,$hi]" "owners"
	# After both closes, verify must find each socket gone.
	assert_eq "$(jq -s 'group_by(.inode) | map(select(any(.[]; .verify | test("socket gone")))) | length' "$OUT")" 3 \
		"sockets verified gone"
	assert_only_leaks_closed
	FDS_BEFORE=$share_before assert_leaks_replaced "$SHARE_PID"
	assert_eq "$(close_wait_count "$PORT")" 0 "CLOSE-WAIT sockets left"
	assert_all_threads_untraced "$SHARE_PID"
	[[ $(proc_state "$SHARE_PID") != Z ]] || fail "the child sharing the sockets died"
	finish_call read
	wait_report
	assert_report_ok read 0
}

# Closing one owner's fd leaves the socket alive: the result says so.
test_edge_shared_socket_one_owner() {
	need_root
	start_blocker blocker --leak 3 --share --block read
	reap --port "$PORT" --state close-wait --pid "$BPID"
	assert_rc 0
	assert_eq "$(json_count '.pid == '"$BPID"' and .result == "done" and (.verify | test("alive|held"))')" 3 \
		"done lines saying the socket lives on"
	assert_only_leaks_closed
	assert_eq "$(close_wait_count "$PORT")" 3 "CLOSE-WAIT sockets still held by the child"
	reap --port "$PORT" --state close-wait --pid "$SHARE_PID"
	assert_rc 0
	assert_eq "$(json_count '.result == "done" and (.verify | test("socket gone"))')" 3 "done lines, socket gone"
	assert_eq "$(close_wait_count "$PORT")" 0 "CLOSE-WAIT sockets left"
	finish_call read
	wait_report
	assert_report_ok read 0
}

# ---- a seccomp filter that kills the process on close/shutdown ----

# seccomp_case BIN ACTION...: the target must never die. sockreap either
# acts with PTRACE_O_SUSPEND_SECCOMP or refuses with a reason (fds intact).
seccomp_case() {
	local bin=$1
	shift
	need_root
	start_blocker "$bin" --leak 4 --threads 2 --block read --seccomp-kill-close
	wait_blocked "$BPID"
	assert_eq "$(awk '/^Seccomp:/ {print $2}' "/proc/$BPID/status")" 2 "Seccomp mode of the target"
	reap --port "$PORT" --state close-wait "$@"
	sleep 0.1
	[[ $(proc_state "$BPID") != Z ]] && kill -0 "$BPID" 2>/dev/null || {
		wait "$BPID"
		fail "the target died (exit status $?)"
	}
	assert_all_threads_untraced "$BPID"
	local done
	done=$(json_count '.result == "done"')
	if [[ $RC == 0 && $done == 4 ]]; then
		case " $* " in
		*" --shutdown "*) assert_leaks_untouched ;;
		*) assert_only_leaks_closed ;;
		esac
		assert_eq "$(close_wait_count "$PORT")" 0 "CLOSE-WAIT sockets left"
	else
		assert_rc 3
		assert_eq "$(json_count '(.result == "refused" or .result == "failed") and (.reason | test("seccomp"; "i"))')" 4 \
			"refusals naming seccomp"
		assert_leaks_untouched
	fi
	finish_call read
	wait_report
	assert_report_ok read 0
}

test_edge_seccomp_close_static() { seccomp_case blocker-static; }
test_edge_seccomp_close() { seccomp_case blocker; }
test_edge_seccomp_shutdown_inject() { seccomp_case blocker --shutdown --inject; }
test_edge_seccomp_reset_inject() { seccomp_case blocker --reset --inject; }

# ---- sockreap held up past the executor's timeout ----

# freeze_tracer: once the target's main thread runs our executor (it is
# traced and no longer in a tracing stop), SIGSTOP sockreap ($TRACER) for
# 1.2 s; 0.7 s in, the peer sends the byte the target's read() waits for.
freeze_tracer() {
	local st end=$((SECONDS + 20))
	while ((SECONDS < end)); do
		st=$(sed 's/.*) //' "/proc/$BPID/task/$BPID/stat" 2>/dev/null) || return
		[[ ${st%% *} == [RS] ]] && break
	done
	kill -STOP "$TRACER"
	after_ms 700 kill -USR1 "$PEER_PID"
	after_ms 500 kill -CONT "$TRACER"
}

# Stopped (SIGSTOP, a frozen cgroup) longer than the executor's final wait
# (0.5 s), sockreap finds the thread already restored by the executor's
# frame and running its own code: its read() got the peer's byte, it
# reported and went on to read the FIFO. Writing the saved registers back
# then would rewind it into the read() it has finished, for ever.
test_edge_held_up_past_the_executor_timeout() {
	need_root
	local try seen=0
	for ((try = 0; try < 6 && !seen; try++)); do
		BLK=b$try start_blocker blocker --leak 2000 --threads 2 --block readsock --linger
		spawn when_traced "$BPID" freeze_tracer
		WATCHER=$SPAWNED
		SR_TIMEOUT=30 reap --port "$PORT" --state close-wait --single-stop -v
		assert_sane_exit
		stop_watcher
		kill -CONT "$(jobs -p)" 2>/dev/null
		if grep -q 'restored the thread itself' "$ERR"; then
			seen=1
			wait_for_file "$REPORT" 10
			report_is '.ok == true'
			echo bye 1<>"$FIFO" # the linger: its read of the FIFO ends, it exits
			local i
			for ((i = 0; i < 500; i++)); do
				kill -0 "$BPID" 2>/dev/null || break
				sleep 0.01
			done
			kill -0 "$BPID" 2>/dev/null && fail "the target did not go on after its read (rewound?): \
$(cat /proc/"$BPID"/task/*/wchan 2>/dev/null | tr '\0' ' ')"
			wait "$BPID"
		else
			echo "try $try: the stop did not land while the executor waited" >&2
			kill -KILL "$BPID" 2>/dev/null
			wait "$BPID" 2>/dev/null
		fi
	done
	((seen)) || fail "sockreap was never held up inside the executor's wait: the test did not test"
}
