# The engine never harms the target (issue 8): one test (or a few) per
# numbered case of the issue, each against a small target of
# tests/targets/ that checks itself and reports:
#
#   1 threads being created (clone event stops)   spawner
#   2 a thread calling execve() while we attach   execer
#   3 sockreap SIGKILLed mid-run                  blocker --linger-full, --leak 3000
#   4 seccomp + a /proc/PID/status over 4 KiB     blocker --groups 1000 --seccomp-kill-close
#     a filter installed between two batches,
#     syscall user dispatch (Wine)                gated late|sud
#   5 SIGTRAP caught, ignored, blocked            blocker --sigtrap MODE
#   6 select/pselect6/poll(>64) on the socket     blocker --block select|pselect|pollmany
#   7 a zombie target                             blocker under a parent that never reaps
#   8 ~20k signals/s, siginfo intact              sigstorm
#   9 no EINTR from epoll_wait(-1)                blocker --block epollinf|epolltimed
#  10 io_uring holding the socket                 uring
#  11 the PID reused between plan and attach      blocker, twice with the same PID
#
# Every wait is bounded; a sockreap that hangs is killed by run_sockreap's
# timeout and fails the test.
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

TEST_TIMEOUT=180
TEST_TIMEOUT_test_engine_2_exec_while_attaching=480 # its runs take up to 10+5 s each

# reap ARGS...: run_sockreap acting (--yes), JSON output, audit log in $TMP.
reap() {
	run_sockreap "$@" --yes --json --audit-log "$TMP/audit.log"
}

# assert_sane_exit: sockreap neither hung nor crashed.
assert_sane_exit() {
	[[ $RC != 124 && $RC != 137 ]] || fail "sockreap hung (killed by timeout, status $RC)"
	((RC < 128)) || fail "sockreap died of signal $((RC - 128))"
	! grep -qE 'Sanitizer|runtime error|Segmentation fault|core dumped' "$ERR" ||
		fail "sockreap crashed: $(cat "$ERR")"
}

# assert_alive PID: the process exists and is no zombie (if it was ours,
# the message says how it died). While a non-main thread execs, the pid's
# status briefly shows the old main thread, a zombie: only a state that
# stays Z (or a pid that is gone) counts.
assert_alive() {
	local st rc i
	for ((i = 0; i < 100; i++)); do
		st=$(proc_state "$1" 2>/dev/null)
		[[ -n $st && $st != Z && $st != X ]] && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.01
	done
	if [[ $st == Z ]]; then
		wait "$1" 2>/dev/null
		rc=$?
		((rc > 128)) && fail "pid $1 died of signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
		fail "pid $1 died (exit status $rc)"
	fi
	fail "pid $1 is gone (state '$st')"
}

# ---- 4: seccomp, and a status file longer than 4 KiB ----

# The filter kills the target on close() of its sockets unless sockreap
# suspends it (PTRACE_O_SUSPEND_SECCOMP); the Seccomp: line sits past the
# first 4 KiB of /proc/PID/status because of the 1,000 groups.
test_engine_4_seccomp_long_status() {
	need_root
	start_blocker blocker --leak 4 --threads 2 --block read --seccomp-kill-close --groups 1000
	wait_blocked "$BPID"
	local size
	size=$(wc -c <"/proc/$BPID/status")
	((size > 4096)) || fail "the status file is only $size bytes: the test does not test"
	assert_eq "$(awk '/^Seccomp:/ {print $2}' "/proc/$BPID/status")" 2 "Seccomp mode of the target"
	reap --port "$PORT" --state close-wait
	assert_sane_exit
	sleep 0.1
	kill -0 "$BPID" 2>/dev/null && [[ $(proc_state "$BPID") != Z ]] || {
		wait "$BPID"
		fail "the target died (exit status $?; 159 is SIGSYS from its seccomp filter)"
	}
	assert_all_threads_untraced "$BPID"
	if [[ $RC == 0 ]]; then
		assert_json_closed "$BPID"
		assert_only_leaks_closed
	else
		assert_rc 3
		assert_eq "$(json_count '(.result == "refused" or .result == "failed") and (.reason | test("seccomp|Seccomp"))')" 4 \
			"rows refused naming seccomp"
		assert_leaks_untouched
	fi
	finish_call read
	wait_report
	assert_report_ok read 0
}

# sockreap's own status is long too (it runs with 1,000 groups): its check
# for CAP_SYS_PTRACE must still find CapEff, and act.
test_engine_4_capeff_long_status() {
	need_root
	need_cmd setpriv
	start_blocker blocker --leak 3 --threads 1 --block read
	local real=$SOCKREAP groups
	groups=$(seq -s, 200000 200999)
	printf '#!/bin/sh\nexec setpriv --groups %s %q "$@"\n' "$groups" "$real" >"$TMP/sockreap-groups"
	chmod +x "$TMP/sockreap-groups"
	SOCKREAP=$TMP/sockreap-groups
	reap --port "$PORT" --state close-wait
	SOCKREAP=$real
	assert_sane_exit
	! grep -q 'CAP_SYS_PTRACE\|CapEff' "$ERR" || fail "sockreap could not see its own capabilities: $(cat "$ERR")"
	assert_rc 0
	assert_json_closed "$BPID"
	assert_only_leaks_closed
	finish_call read
	wait_report
	assert_report_ok read 0
}

# ---- 4, and what else judges a thread's calls: a filter that comes
# between two batches, one in a thread the leader's status does not show,
# syscall user dispatch ----

# gated_start MODE ARGS...: start tests/targets/gated MODE ARGS READY REPORT
# (GPID, GPORT); skipped where it cannot run (not x86_64)
gated_start() {
	[[ $(uname -m) == x86_64 ]] || skip "the gated target names x86_64 system calls"
	rm -f "$TMP/g.ready" "$TMP/g.report"
	spawn "$BIN/gated" "$@" "$TMP/g.ready" "$TMP/g.report"
	GPID=$SPAWNED
	wait_for_file "$TMP/g.ready" 20
	GPORT=$(jq -r .port "$TMP/g.ready")
}

# gated_end: the target alive, untraced, then its report (SIGTERM)
gated_end() {
	assert_alive "$GPID"
	assert_untraced_running "$GPID"
	kill -TERM "$GPID"
	wait_for_file "$TMP/g.report" 20
	wait_bounded "$GPID" 20
	echo "gated: $(cat "$TMP/g.report")" >&2
	assert_eq "$(jq .sigsys "$TMP/g.report")" 0 "SIGSYS the target saw"
	# seccomp is suspended only in the thread our calls run in, while
	# they run: the target's own code never runs without its sandbox
	assert_eq "$(jq '.unsandboxed // 0' "$TMP/g.report")" 0 "calls the target's filter let through"
}

# Every thread (TSYNC) gets a filter that kills the process for close,
# dup3, socket, ... once the run's first batch has replaced an fd: the
# batches after it are judged by the filter unless it is suspended. The
# leader had no seccomp when sockreap attached. Old engine: killed by
# SIGSYS after the first batch. The filter must come while fds are left
# (kept_at_filter > 0); on a machine so loaded that it came after the
# run, the case is tried again.
test_engine_4_seccomp_between_batches() {
	need_root
	ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	local try
	for ((try = 0; try < 3; try++)); do
		gated_start late 2000
		reap --pid "$GPID" --state close-wait
		assert_sane_exit
		assert_alive "$GPID"
		assert_rc 0
		assert_eq "$(jq -s 'map(select(.result == "done")) | length' "$OUT")" 2000 "fds done"
		gated_end
		jq -e .filtered "$TMP/g.report" >/dev/null || fail "the filter never came: the test did not test"
		(($(jq .kept_at_filter "$TMP/g.report") > 0)) && return 0
		echo "the filter came after the last batch; again" >&2
	done
	fail "in 3 tries the filter never came while fds were left: the test did not test"
}

# The same without CAP_SYS_ADMIN: seccomp cannot be suspended, so each
# stop reads the seccomp mode of the thread the calls would run in. Once
# the filter is there, every thread has it: the rest is refused, the
# target lives.
test_engine_4_seccomp_between_batches_unsuspended() {
	need_root
	need_cmd setpriv
	ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	gated_start late 2000
	local real=$SOCKREAP
	printf '#!/bin/sh\nexec setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin %q "$@"\n' "$real" \
		>"$TMP/sockreap-noadmin"
	chmod +x "$TMP/sockreap-noadmin"
	SOCKREAP=$TMP/sockreap-noadmin
	reap --pid "$GPID" --state close-wait
	SOCKREAP=$real
	assert_sane_exit
	assert_alive "$GPID"
	local done failed
	done=$(jq -s 'map(select(.result == "done")) | length' "$OUT")
	failed=$(jq -s 'map(select(.result == "failed" and (.reason | test("runs under seccomp")))) | length' "$OUT")
	echo "done $done, refused for seccomp $failed" >&2
	assert_rc 3
	gated_end
	jq -e .filtered "$TMP/g.report" >/dev/null || fail "the filter never came: the test did not test"
	((done + failed == 2000 && failed > 0)) || fail "$done done and $failed refused for seccomp, of 2000"
}

# Syscall user dispatch in the only thread (the main one): every injected
# call would be a SIGSYS forced on the engine's code, handler reset: the
# target died (SIGSEGV) with the old engine. Refused with the reason,
# nothing done.
test_engine_4_syscall_user_dispatch_refused() {
	need_root
	kernel_at_least 6 4 || skip "Linux before 6.4 cannot report syscall user dispatch to a tracer"
	gated_start sud 1 20
	reap --pid "$GPID" --state close-wait
	assert_sane_exit
	assert_rc 3
	assert_eq "$(jq -s 'map(select(.result == "failed" and .reason_code == "syscall-dispatch")) | length' "$OUT")" \
		20 "fds refused for syscall user dispatch"
	assert_eq "$(ss -Htan state close-wait "( sport = :$GPORT )" | wc -l)" 20 "CLOSE_WAIT sockets left"
	gated_end
}

# ... and with a second thread that has it off: the calls run there.
test_engine_4_syscall_user_dispatch_other_thread() {
	need_root
	kernel_at_least 6 4 || skip "Linux before 6.4 cannot report syscall user dispatch to a tracer"
	gated_start sud 2 20
	reap --pid "$GPID" --state close-wait
	assert_sane_exit
	assert_rc 0
	assert_eq "$(jq -s 'map(select(.result == "done")) | length' "$OUT")" 20 "fds done"
	gated_end
}

# ---- 6: select, pselect6 and poll with more than 64 entries ----

# The main thread waits in CALL with the first leaked socket in its set.
# The kernel restarts the call after sockreap's stop and looks every fd of
# the set up again: closing that socket would end it with EBADF (select) or
# POLLNVAL (poll). It must be left alone (skipped with a reason), the other
# leaks closed, and the call must end as it would have: the FIFO readable.
# busy_set_case CALL [--free-fd]: a thread blocked in CALL with a set that
# holds the first leaked fd. The default close replaces every fd, that one
# too: the restarted call finds the placeholder (readable, hung up), never
# EBADF or POLLNVAL. Freeing the number instead (--free-fd) would break the
# restarted call: that fd is skipped with a reason naming the call.
# The blocker lingers after its call (--linger): a placeholder ends the
# call at once, and on a loaded machine the rows may take more than one
# stop, so the process must still be there for the later ones.
busy_set_case() {
	local call=$1
	shift
	need_root
	start_blocker blocker --leak 5 --threads 2 --block "$call" --linger
	wait_blocked "$BPID"
	sleep 0.2
	reap --port "$PORT" --state close-wait "$@"
	assert_sane_exit
	assert_all_threads_untraced "$BPID"
	if [[ " $* " == *" --free-fd "* ]]; then
		[[ -n $(fd_link "$BPID" "$LEAK_FIRST") ]] || fail "fd $LEAK_FIRST, in the set of the blocked $call, was closed"
		assert_eq "$(json_count ".fd == $LEAK_FIRST and .result == \"skipped\" and (.reason | length) > 0")" 1 \
			"skipped row (with a reason) for the fd in the set"
		assert_eq "$(json_count '.result == "done"')" 4 "rows done for the other leaks"
		assert_rc 3
	else
		assert_eq "$(json_count '.result == "done"')" 5 "rows done"
		assert_rc 0
	fi
	finish_call "$call"
	wait_report
	if [[ " $* " == *" --free-fd "* ]]; then
		report_is '.ok == true'
	else
		# it may wake for the placeholder (hung up: the point of it), but
		# never with EBADF or POLLNVAL
		report_is '.errname != "EBADF" and ((.revents // 0) < 0 or ((.revents / 32 | floor) % 2) == 0)'
	fi
}

test_engine_6_select() { busy_set_case select; }
test_engine_6_pselect6() { busy_set_case pselect; }
test_engine_6_poll_100() { busy_set_case pollmany; }
test_engine_6_select_free_fd() { busy_set_case select --free-fd; }
test_engine_6_poll_100_free_fd() { busy_set_case pollmany --free-fd; }

# The reason names the call, not its number.
test_engine_6_busy_reason_names_call() {
	busy_set_case select --free-fd
	local why
	why=$(jq -r "select(.fd == $LEAK_FIRST) | .reason" "$OUT")
	[[ $why == *"select()"* ]] || fail "the reason does not name select(): $why"
	[[ ! $why =~ system\ call\ [0-9]+ ]] || fail "the reason gives a number: $why"
}

# ---- helpers: sockreap held at its consent prompt ----

# start_at_prompt ARGS...: run sockreap ARGS (acting, JSON, audit log in
# $TMP) on a pseudo-terminal (script(1)): it makes its plan, prints it and
# waits at the prompt, having touched nothing. Its stdout (the final rows)
# goes to $OUT. answer_prompt answers and waits for it; RC its status.
start_at_prompt() {
	need_cmd script
	OUT=$TMP/prompt.out ERR=$TMP/tty.out
	rm -f "$TMP/answer" "$ERR"
	mkfifo "$TMP/answer"
	local cmd
	printf -v cmd '%q ' timeout --foreground -k 5 60 "$SOCKREAP" "$@" --json --audit-log "$TMP/audit.log"
	# read-write: opening never blocks, and script's stdin stays open
	exec {ANSWER}<>"$TMP/answer"
	# (the redirections inside: a background job's stdin is /dev/null)
	spawn sh -c 'exec script -qefc "$1" /dev/null <"$2" >"$3" 2>&1' sh "$cmd >$OUT" "$TMP/answer" "$ERR"
	SR_SCRIPT=$SPAWNED
	local i
	for ((i = 0; i < 3000; i++)); do
		grep -q 'Proceed?' "$ERR" 2>/dev/null && return 0
		kill -0 "$SR_SCRIPT" 2>/dev/null || break
		sleep 0.01
	done
	fail "sockreap did not ask: $(cat "$ERR")"
}

answer_prompt() {
	echo "$1" >&"$ANSWER"
	local i
	for ((i = 0; i < 6000; i++)); do
		kill -0 "$SR_SCRIPT" 2>/dev/null || break
		sleep 0.01
	done
	kill -0 "$SR_SCRIPT" 2>/dev/null && fail "sockreap did not finish within 60 s of the answer"
	wait "$SR_SCRIPT"
	RC=$?
	exec {ANSWER}>&-
	echo "+ sockreap (at a prompt) -> $RC" >&2
	sed 's/^/  stdout: /' "$OUT" | head -20 >&2
	tr -d '\r' <"$ERR" | grep -v '^{' | sed 's/^/  tty: /' | head -20 >&2
}

# start_blocker_unreaped ARGS...: a blocker whose parent never reaps it
# (a shell that execs sleep), so that once killed it stays a zombie.
start_blocker_unreaped() {
	READY=$TMP/z.ready.json REPORT=$TMP/z.report.json
	spawn bash -c '"$@" & exec sleep 600' sh "$BIN/blocker" --ready "$READY" --report "$REPORT" \
		--fifo "$TMP/z.fifo" "$@"
	UNREAPER=$SPAWNED
	wait_for_file "$READY" 30
	eval "$(jq -r '@sh "PORT=\(.port) LEAK_FIRST=\(.leak_first) LEAK_LAST=\(.leak_last) PEER_PID=\(.peer_pid) BPID=\(.pid)"' "$READY")"
	track_pid "$BPID"
	track_pid "$PEER_PID"
}

# ---- 7: a zombie target ----

# The target dies after the plan and before the attach, and stays a zombie
# (its parent does not reap it): PTRACE_SEIZE then fails with EPERM, which
# means "gone", not "no permission". Its rows are skipped, not failed.
test_engine_7_zombie() {
	need_root
	start_blocker_unreaped --leak 3 --threads 2 --block read
	start_at_prompt --port "$PORT" --state close-wait
	kill -KILL "$BPID"
	local i
	for ((i = 0; i < 500; i++)); do
		[[ $(proc_state "$BPID") == Z ]] && break
		sleep 0.01
	done
	assert_eq "$(proc_state "$BPID")" Z "state of the killed target"
	answer_prompt y
	assert_sane_exit
	assert_eq "$(jq -s length "$OUT")" 3 "rows"
	assert_eq "$(json_count '.result == "skipped" and .errno == null and (.reason | test("exited|gone"))')" 3 \
		"rows skipped because the process is gone"
	! grep -qi 'EPERM\|permission\|CAP_SYS_PTRACE' "$OUT" || fail "reported as a permission problem"
	assert_rc 3 # planned actions that ended skipped (main.c's exit_status)
}

# ---- 11: the PID reused between the plan and the attach ----

# spawn_with_pid PID CMD...: start CMD so that it gets PID (the next pid
# the kernel hands out is ns_last_pid + 1; other processes on the machine
# may take it first: retried). SPAWNED is set; fails if it never works.
spawn_with_pid() {
	local want=$1 try k
	shift
	for ((try = 0; try < 50; try++)); do
		# a process of our own that took it in a failed try (a
		# subshell of spawn's) may still be on its way out
		for ((k = 0; k < 500; k++)); do
			[[ -e /proc/$want ]] || break
			sleep 0.01
		done
		[[ -e /proc/$want ]] && fail "pid $want is still taken"
		echo $((want - 1)) >/proc/sys/kernel/ns_last_pid
		spawn "$@"
		[[ $SPAWNED == "$want" ]] && return 0
		kill -KILL "$SPAWNED" 2>/dev/null
		wait "$SPAWNED" 2>/dev/null
	done
	fail "could not start a process with pid $want"
}

# The process planned on exits after the plan; another one takes its PID
# (and, being the same program, sockets at the same fd numbers). sockreap
# must recognise it (start time) and neither stop, nor record an intent
# for, nor act on the newcomer: "process exited (PID reused)".
test_engine_11_pid_reused() {
	need_root
	[[ -w /proc/sys/kernel/ns_last_pid ]] || skip "needs a writable /proc/sys/kernel/ns_last_pid"
	start_blocker blocker --leak 2 --threads 1 --block read
	local old=$BPID old_port=$PORT
	start_at_prompt --port "$old_port" --state close-wait
	kill -KILL "$old" "$PEER_PID"
	wait "$old" 2>/dev/null
	# the newcomer: the same program, the same fd layout, other sockets
	READY=$TMP/n.ready.json REPORT=$TMP/n.report.json
	spawn_with_pid "$old" "$BIN/blocker" --ready "$READY" --report "$REPORT" --fifo "$TMP/n.fifo" \
		--leak 2 --threads 1 --block read
	wait_for_file "$READY" 30
	track_pid "$(jq .peer_pid "$READY")"
	local fds_before
	fds_before=$(fd_table "$old")
	spawn when_traced_mark "$old" "$TMP/traced"
	local watcher=$SPAWNED
	sleep 0.2
	answer_prompt y
	assert_sane_exit
	kill "$watcher" 2>/dev/null
	[[ ! -e $TMP/traced ]] || fail "the process that reused pid $old was stopped (traced by $(cat "$TMP/traced"))"
	assert_eq "$(json_count '.result == "skipped" and (.reason | test("PID reused"))')" 2 \
		"rows skipped because the PID was reused"
	assert_fds "$old" "$fds_before"
	! grep -q '"phase":"intent"' "$TMP/audit.log" || fail "an intent was recorded for the newcomer"
	kill -0 "$old" || fail "the newcomer died"
}

# when_traced_mark PID FILE: poll PID's TracerPid until it is gone; the
# first tracer seen is written to FILE.
when_traced_mark() {
	local k v
	while :; do
		v=0
		while read -r k v; do
			[[ $k == TracerPid: ]] && break
		done 2>/dev/null <"/proc/$1/status" || return 0
		if [[ $v != 0 ]]; then
			echo "$v" >"$2"
			return 0
		fi
	done
}

# ---- 10: io_uring ----

# The blocker's io_uring holds its first leaked socket as a registered file
# and has a RECV in flight on its ESTABLISHED socket: closing the fds frees
# neither socket.
test_engine_10_io_uring_detected() {
	need_root
	start_blocker blocker --leak 3 --threads 1 --block read --io-uring
	[[ $(fd_link "$BPID" "$(jq .uring_fd "$READY")") == "anon_inode:[io_uring]" ]] || fail "no io_uring fd in the target"
	run_sockreap --port "$PORT" --state close-wait --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 0
	assert_eq "$(json_count '.io_uring == true')" 3 "rows saying the owner has an io_uring"
	BLK=plain start_blocker blocker --leak 2 --threads 1 --block read
	run_sockreap --port "$PORT" --state close-wait --dry-run --json --audit-log "$TMP/audit.log"
	assert_eq "$(json_count '.io_uring == false')" 2 "rows of an owner without io_uring"
}

# io_uring_case STATE: act on the blocker's sockets in STATE; afterwards
# verify must not claim a socket the ring still holds gone or closing (the
# kernel still has it), and the plan must have warned.
io_uring_case() {
	local state=$1 acted alive bad
	need_root
	start_blocker blocker --leak 3 --threads 1 --block read --io-uring
	reap --port "$PORT" --state "$state" --pid "$BPID"
	assert_sane_exit
	acted=$OUT
	assert_eq "$(json_count '.result != "done"')" 0 "rows not done (the fds are closed)"
	assert_eq "$(json_count '(.note // "") | test("io_uring")')" "$(jq -s length "$OUT")" \
		"rows whose plan note names io_uring"
	# what the kernel still has: the cookies of a dump after the run
	run_sockreap --port "$PORT" --state "$state" --dry-run --json --audit-log "$TMP/audit.log"
	alive=$(jq -sc '[.[] | .cookie]' "$OUT")
	echo "sockets still there: $alive" >&2
	[[ $(jq length <<<"$alive") -ge 1 ]] || fail "the ring kept no socket alive: the test does not test"
	bad=$(jq -c --argjson alive "$alive" 'select(.cookie as $c | $alive | index($c)) |
		select((.verify // "") | (test("gone|closing") or (test("io_uring") | not))) | {fd, verify}' "$acted")
	[[ -z $bad ]] || fail "verify claims sockets the io_uring still holds are freed: $bad"
	finish_call read
	wait_report
	assert_report_ok read 0
}

test_engine_10_io_uring_registered_file() { io_uring_case close-wait; }
test_engine_10_io_uring_recv_in_flight() { io_uring_case established; }

# ---- 2: a thread calls execve() while sockreap attaches ----

# gen_of PID: the generation execer PID is in (from its command line).
gen_of() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | sed -n 's/.*--gen \([0-9]*\).*/\1/p'
}

# execer re-executes itself from its last-created thread, as soon as it
# sees its main thread stopped (in the middle of sockreap's attach) or
# after 0-200 ms, for ever, making CLOSE_WAIT sockets each time. sockreap
# runs against it 15 times (on today's main before this work, about one
# run in three hung for ever): each run must end well within its deadline
# (an attach that cannot finish is given up, with a reason) and leave the
# target neither traced nor stopped, still going from one program to the
# next.
test_engine_2_exec_while_attaching() {
	need_root
	local ready=$TMP/e.ready runs acted=0 gaveup=0 nothing=0 execs=0 pid port g1 g2 i
	spawn "$BIN/execer" --ready "$ready" --report "$TMP/e.report" --gens 1000000 --threads 16
	pid=$SPAWNED
	wait_for_file "$ready" 10
	port=$(jq .port "$ready")
	# 15 runs, and more (up to 40, for 200 s at most) until one has met an exec
	local t0=$SECONDS
	for ((runs = 1; runs <= 15 || (execs == 0 && runs <= 40 && SECONDS - t0 < 200); runs++)); do
		SR_TIMEOUT=10 reap --port "$port" --state close-wait --pid "$pid"
		assert_sane_exit
		case $RC in
		0) acted=$((acted + 1)) ;;
		1) nothing=$((nothing + 1)) ;;
		3)
			gaveup=$((gaveup + 1))
			assert_eq "$(json_count '(.result == "failed" or .result == "skipped") and ((.reason // "") | length) == 0')" 0 \
				"rows failed or skipped without a reason"
			;;
		*) fail "exit status $RC" ;;
		esac
		assert_alive "$pid"
		# it never exits: an exec, while attaching, between two batches
		# or while a thread of it is used, is said as such
		assert_eq "$(json_count '(.reason // "") | test("process exited|target exited")')" 0 "rows blaming an exit"
		execs=$((execs + $(json_count '(.reason // "") | test("new program|killed while sockreap attached")')))
	done
	echo "$((runs - 1)) runs: $acted acted, $gaveup gave up (or skipped rows), $nothing found nothing; $execs rows ended by an exec" >&2
	((acted + gaveup > 0)) || fail "no run found anything to do: the test did not test"
	((execs > 0)) || fail "no run met an exec: the test did not test the exec paths"
	for ((i = 0; i < 300; i++)); do # (unreadable for an instant while it execs)
		g1=$(gen_of "$pid")
		[[ -n $g1 ]] && break
		sleep 0.01
	done
	for ((i = 0; i < 300; i++)); do
		g2=$(gen_of "$pid")
		[[ -n $g1 && -n $g2 && $g2 -gt $g1 ]] && break
		sleep 0.01
	done
	[[ -n $g2 && -n $g1 && $g2 -gt $g1 ]] || fail "the target no longer executes (generation ${g1:-?} -> ${g2:-?})"
	assert_all_threads_untraced "$pid"
}
