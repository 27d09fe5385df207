# The engine never harms the target (issue 8), the cases about the stops
# themselves (t_engine_safety.sh has the others):
#
#   1 a main thread creating threads in a loop (often inside clone(), in a
#     clone event stop, when interrupted)                spawner;
#     processes created by clone() (the same event)      spawner procs
#   3 sockreap SIGKILLed at many points of a run, during a long batch and
#     during a lingering close                           blocker
#   5 SIGTRAP caught, ignored, blocked: nothing of the signal state changes,
#     the handler never runs (no trap is ever raised)   blocker --sigtrap;
#     a target stepping itself (TF) stopped mid-step    stepper
#   8 a storm of signals during the stops: siginfo intact, none lost,
#     SIGTRAP sent to the application included, sockreap
#     SIGKILLed during the storm's stops too             sigstorm
#   9 epoll_wait(-1) sees no EINTR; with a timeout EINTR is allowed
#                                                        blocker --block epollinf|epolltimed
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

TEST_TIMEOUT=240

reap() {
	run_sockreap "$@" --yes --json --audit-log "$TMP/audit.log"
}

# the signal state of every thread: dispositions, mask, pending
sigstate() {
	grep -H -E '^(SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt):' /proc/"$1"/task/*/status 2>/dev/null
}

# cw_inodes PID COUNT: INODES, COUNT of PID's CLOSE_WAIT sockets' inodes
# (ss's view), comma-separated: one run acts on these only (--inode), so
# that every run of a series has sockets to act on
cw_inodes() {
	INODES=$(ss -Htanep state close-wait | grep -F "pid=$1," | sed -n 's/.* ino:\([0-9]*\) .*/\1/p' |
		head -n "$2" | paste -sd,)
	local n
	n=$(tr ',' '\n' <<<"$INODES" | grep -c .)
	((n == $2)) || fail "$1 has $n CLOSE_WAIT sockets left, not $2"
}

# slice_runs PID RUNS COUNT [ARGS...]: RUNS runs of sockreap ARGS on PID,
# each acting on COUNT CLOSE_WAIT fds of its own (cw_inodes); every one
# must find its fds, do them all, exit 0 and leave PID alive
slice_runs() {
	local pid=$1 runs=$2 count=$3 i
	shift 3
	for ((i = 0; i < runs; i++)); do
		cw_inodes "$pid" "$count"
		reap --pid "$pid" --state close-wait --inode "$INODES" "$@"
		kill -0 "$pid" 2>/dev/null || fail "run $i: the target died"
		[[ $RC == 0 ]] || fail "run $i: exit status $RC: $(cat "$ERR")"
		assert_eq "$(jq -s 'map(select(.result == "done")) | length' "$OUT")" "$count" "run $i: fds done"
	done
}

# kill_when_traced PID MS SR: SIGKILL sockreap SR (our child) MS ms after
# it has begun to trace PID, then wait (bounded) until the kernel has
# detached PID (the executor's wait times out, 0.5 s, where it was running)
kill_when_traced() {
	when_traced "$1" after_ms "$2" kill -KILL "$3"
	wait_bounded "$3" 60
	wait_untraced "$1" "$2 ms into its run"
}

# wait_untraced PID WHEN: until the kernel has detached PID (bounded: 3 s),
# sockreap having been killed WHEN; fail, with PID's exit status, if it
# died meanwhile
wait_untraced() {
	local k rc=0
	for ((k = 0; k < 300; k++)); do
		kill -0 "$1" 2>/dev/null || break
		[[ $(tracer_pid "$1") == 0 ]] && break
		sleep 0.01
	done
	kill -0 "$1" 2>/dev/null && return
	wait "$1" 2>/dev/null || rc=$?
	((rc > 128)) && rc="$rc (signal $(kill -l $((rc - 128))))"
	fail "the target died after sockreap was killed $2: exit status $rc"
}

# ---- 1 ----

# spawner_case [procs]: 30 runs on a spawner (of threads, or processes)
spawner_case() {
	need_root
	local ready=$TMP/sp.ready rep=$TMP/sp.report i port
	spawn "$BIN/spawner" 60 "$ready" "$rep" "$@"
	local sp=$SPAWNED
	wait_for_file "$ready" 20
	port=$(jq .port "$ready")
	# many short runs, each acting on two fds of its own (every run
	# attaches and injects): each stop lands at a random point of the
	# loop, often inside clone()
	for ((i = 0; i < 30; i++)); do
		slice_runs "$sp" 1 2
		assert_untraced_running "$sp"
	done
	kill -USR1 "$sp"
	wait_for_file "$rep" 20
	wait "$sp"
	local rc=$?
	echo "spawner: $(cat "$rep") (exit $rc)" >&2
	jq -e '.ok == true and .created > 0' "$rep" >/dev/null || fail "the spawner saw a failed or lost thread: $(cat "$rep")"
	((rc == 0)) || fail "the spawner exited $rc"
}

test_engine_1_clone_stops() { spawner_case; }

# clone() of a process (no CLONE_THREAD, exit signal 0) raises the same
# clone event: its child is another process, held while stopped, but
# never the one the calls run in (its fd table is a copy). With the old
# engine, a stop that caught the main thread in its clone event ran them
# there: the target's fds stayed, the rows failed.
test_engine_1_clone_of_a_process() { spawner_case procs; }

# ---- 3 ----

# A blocker with 2,000 leaks in a read; sockreap is SIGKILLed once it has
# traced the target, after a few ms, at 6 points (batches, the executor,
# the pauses between them).
# Each time the target must go on: untraced, not stopped, masks as
# before, and its blocked read finishes correctly.
# The executor's mapping, left in the target by a SIGKILLed sockreap:
# one line per anonymous executable mapping of pid (the blocker has none
# of its own), "ran" or "new" (whether an anonymous rw mapping touches it:
# the executor's own mprotect() of its data pages, in the middle of its
# mapping, so it has run in it), then its VmFlags.
exec_mapping_flags() {
	awk 'function flush(touch) { if (pend != "") print (pend_rw || touch ? "ran " : "new ") pend; pend = "" }
	     /^[0-9a-f]+-[0-9a-f]+ / { split($1, a, "-"); anon = NF == 5
		flush(anon && $2 ~ /^rw/ && a[1] == pend_end)
		ex = anon && $2 ~ /x/; ex_rw = prev_rw && a[1] == prev_end; end = a[2]
		prev_rw = anon && $2 ~ /^rw/; prev_end = a[2] }
	     /^VmFlags:/ && ex { pend = $0; pend_end = end; pend_rw = ex_rw; ex = 0 }
	     END { flush(0) }' /proc/"$1"/smaps
}

test_engine_3_sigkill_midway() {
	need_root
	local d left=0 flags
	local state=()
	[[ $(uname -m) == x86_64 ]] && state=(--check-state) # vectors, MXCSR, sigaltstack
	for d in 0 2 5 10 20 40 80 150; do
		start_blocker blocker --leak 2000 --gaps --threads 3 --block read "${state[@]}"
		"$SOCKREAP_BIN" --port "$PORT" --state close-wait --yes --json -q --audit-log "$TMP/audit.log" >/dev/null 2>&1 &
		local sr=$!
		kill_when_traced "$BPID" "$d" "$sr"
		assert_all_threads_untraced "$BPID"
		sleep 0.7
		assert_all_threads_untraced "$BPID"
		assert_sigmasks_unchanged
		# what is left is not for the application's children nor its
		# core dumps, whichever batch the kill came in: the marks are
		# made once per mapping, by the executor's first run in it, in
		# the stop that made it (a kill inside that stop, between the
		# mmap and that run, leaves a mapping it never ran in)
		flags=$(exec_mapping_flags "$BPID" | grep '^ran ')
		if [[ -n $flags ]]; then
			left=$((left + 1))
			grep -v -E ' dc( |$)' <<<"$flags" | grep -q . && fail "killed after $d ms: the mapping left is not MADV_DONTFORK: $flags"
			grep -v -E ' dd( |$)' <<<"$flags" | grep -q . && fail "killed after $d ms: the mapping left is not MADV_DONTDUMP: $flags"
		fi
		finish_call read
		wait_report
		echo "killed after $d ms: $(cat "$REPORT")" >&2
		assert_report_ok read 0
	done
	echo "executor mappings left: $left of 8 kills" >&2
	((left > 0)) || fail "no kill left the executor's mapping: the test saw none of its flags"
}

# The scratch mapping's own calls (its mmap, and its munmap at the end)
# run before any code of ours is in the target, or after it is gone:
# they are guarded. sockreap is killed the moment the main thread is seen
# inside one (sniper polls /proc/TID/syscall): the target finishes the
# call, returns into its own rt_sigreturn code, and is as it was. With
# plain calls it ran on with sockreap's registers (SIGSEGV in its vdso).
test_engine_3_sigkill_in_mapping_call() {
	need_root
	[[ $(uname -m) == x86_64 ]] || skip "the guarded call's gadgets are looked for on x86_64 only"
	local nr name hit i out sr
	for nr in 9 11; do # mmap, munmap (x86_64)
		[[ $nr == 9 ]] && name=mmap || name=munmap
		hit=0
		for ((i = 0; i < 10 && !hit; i++)); do
			start_blocker blocker --leak 20 --threads 3 --block read --check-state
			# sockreap and the sniper on one CPU, sockreap at the
			# lowest priority: it gets the CPU for a moment at a
			# time, and each of its steps lasts long enough to be seen
			nice -n 19 taskset -c 0 "$SOCKREAP_BIN" --port "$PORT" --state close-wait --yes --json -q \
				--audit-log "$TMP/audit.log" >/dev/null 2>&1 &
			sr=$!
			# the mapping's length: the executor's smallest (remote.c)
			out=$(timeout 60 taskset -c 0 "$BIN/sniper" "$BPID" "$nr" 40000 "$sr" 40000)
			wait_bounded "$sr" 60
			wait_untraced "$BPID" "inside its $name ($out)"
			if [[ $out == hit ]]; then
				hit=1
				[[ $nr == 9 ]] && ! exec_mapping_flags "$BPID" | grep -q '^new ' &&
					fail "killed inside the mmap, but no mapping was left: the call did not finish"
			fi
			echo "$name, run $i: $out" >&2
			assert_all_threads_untraced "$BPID"
			assert_sigmasks_unchanged
			finish_call read
			wait_report
			assert_report_ok read 0
		done
		((hit)) || fail "sockreap was never seen inside its $name in 10 runs: the test saw nothing"
	done
}

# The main thread waits inside a signal handler, on an alternate stack
# that is an array of its own stack, with too little room below the
# handler for the guarded call's frame: the mapping's calls are plain
# there, and say why. A frame put below the handler's stack pointer would
# overwrite the live stack under the alternate one (the blocker checks a
# pattern there).
test_engine_3_guard_handler_on_altstack() {
	need_root
	[[ $(uname -m) == x86_64 ]] || skip "the guarded call is made on x86_64 only"
	start_blocker blocker --leak 3 --threads 0 --no-heartbeat --block read --in-handler
	wait_blocked "$BPID"
	run_sockreap --port "$PORT" --state close-wait --pid "$BPID" --yes \
		-v --audit-log "$TMP/audit.log"
	assert_rc 0
	grep -q 'were plain, not guarded.*in a signal handler, on an alternate stack' "$ERR" ||
		fail "sockreap did not say the mapping's calls were plain, and why"
	assert_all_threads_untraced "$BPID"
	assert_sigmasks_unchanged
	finish_call read
	wait_report
	assert_report_ok read 0
}

# A close that lingers (SO_LINGER {1,T}, a full send queue the peer does
# not read): sockreap is SIGKILLed while the target blocks in it. The
# close finishes on its own; the target goes on as before.
test_engine_3_sigkill_in_lingering_close() {
	need_root
	start_blocker blocker --leak 1 --threads 2 --block read --linger-full 3
	"$SOCKREAP_BIN" --port "$PORT" --state estab --pid "$BPID" --free-fd --yes --json -q --audit-log "$TMP/audit.log" \
		>"$TMP/out" 2>&1 &
	local sr=$! k
	when_traced "$BPID" after_ms 300 kill -KILL "$sr"
	wait_bounded "$sr" 60
	for ((k = 0; k < 800; k++)); do
		[[ $(tracer_pid "$BPID") == 0 ]] && break
		sleep 0.01
	done
	assert_all_threads_untraced "$BPID"
	# the linger runs out (3 s), the executor's wait (0.5 s) after it
	for ((k = 0; k < 600; k++)); do
		[[ $(awk '/^State:/ {print $2}' /proc/"$BPID"/status) != R ]] && [[ -z $(fd_link "$BPID" "$ESTAB_FD") ]] && break
		sleep 0.01
	done
	kill -0 "$BPID" 2>/dev/null || fail "the target died"
	# (the fd leaves the table as the close begins: the loop above does
	# not wait for the linger, this does: 3 s of it, the executor's 0.5 s,
	# and room for a slow machine or a sanitizer build)
	wait_sigmasks_restored 10
	assert_sigmasks_unchanged
	finish_call read
	wait_report 10
	# its heartbeat saw the linger itself (3 s, the whole process held
	# while the close blocked): bounded by it, not by sockreap
	report_is '.ok == true and .ret == 3 and .max_stall_ms < 5000'
	[[ $BRC == 0 ]] || fail "blocker exited $BRC"
}

# ---- 5 ----

sigtrap_case() {
	need_root
	start_blocker blocker --leak 200 --threads 3 --block read --sigtrap "$1"
	local before after
	before=$(sigstate "$BPID")
	reap --port "$PORT" --state close-wait
	assert_rc 0
	assert_eq "$(json_count '.result == "done"')" 200 "rows done"
	after=$(sigstate "$BPID")
	[[ $after == "$before" ]] || fail "the signal state changed:
$(diff <(echo "$before") <(echo "$after"))"
	finish_call read
	wait_report
	report_is '.sigtrap == 0'
	assert_report_ok read 0
}

test_engine_5_sigtrap_handled() { sigtrap_case handle; }
test_engine_5_sigtrap_ignored() { sigtrap_case ignore; }
test_engine_5_sigtrap_blocked() { sigtrap_case block; }

# A program that steps itself (TF set, a SIGTRAP handler), stopped while
# stepping: the engine's calls and executor run without its TF (each of
# their instructions would trap: a forced SIGTRAP, the handler reset, the
# target killed), and it goes on stepping after, every step counted.
test_engine_5_self_stepping_target() {
	need_root
	[[ $(uname -m) == x86_64 ]] || skip "the stepper target steps with x86's TF only"
	local ready=$TMP/step.ready rep=$TMP/step.report
	spawn "$BIN/stepper" 200 "$ready" "$rep"
	local tp=$SPAWNED
	wait_for_file "$ready" 20
	slice_runs "$tp" 5 40
	assert_untraced_running "$tp"
	kill -TERM "$tp"
	wait_for_file "$rep" 20
	echo "stepper: $(cat "$rep")" >&2
	jq -e '.ok == true and .steps > 0' "$rep" >/dev/null || fail "steps lost: $(cat "$rep")"
}

# ---- 8 ----

test_engine_8_signal_storm() {
	need_root
	local ready=$TMP/st.ready rep=$TMP/st.report
	spawn "$BIN/sigstorm" target 480 "$ready" "$rep"
	local tp=$SPAWNED
	wait_for_file "$ready" 20
	spawn "$BIN/sigstorm" kill "$tp" 3000 "$TMP/usr1.sent"
	local k1=$SPAWNED
	spawn "$BIN/sigstorm" queue "$tp" 3000 "$TMP/rt.sent"
	local k2=$SPAWNED
	slice_runs "$tp" 6 80 --free-fd # several short stops each
	wait "$k1" "$k2"
	assert_untraced_running "$tp"
	kill -TERM "$tp"
	wait_for_file "$rep" 20
	echo "storm: sent $(cat "$TMP/usr1.sent") SIGUSR1, $(cat "$TMP/rt.sent") SIGRTMIN; got $(cat "$rep")" >&2
	jq -e --argjson k "$k1" '.usr1 > 0 and .usr1_bad == 0 and .usr1_pid == $k' "$rep" >/dev/null ||
		fail "a SIGUSR1 arrived with another sender or si_code: $(cat "$rep")"
	jq -e --argjson n "$(cat "$TMP/rt.sent")" '.rt == $n and .rt_bad == 0' "$rep" >/dev/null ||
		fail "SIGRTMINs lost, reordered or without their value: $(cat "$rep"), sent $(cat "$TMP/rt.sent")"
}

# A SIGTRAP sent to the application at a stop is its own, not the
# engine's (which raises none): delivered like any other signal, none
# dropped. One at a time, each once the last is no longer pending (a
# standard signal is not queued twice), so the count must be exact.
# traps_all_arrived PID REPORT: end the sigstorm target PID; it counted
# exactly the SIGTRAPs the paced sender sent ($TMP/trap.sent)
traps_all_arrived() {
	kill -TERM "$1"
	wait_for_file "$2" 20
	echo "sent $(cat "$TMP/trap.sent") SIGTRAP; got $(cat "$2")" >&2
	jq -e --argjson n "$(cat "$TMP/trap.sent")" '.trap == $n and .trap > 0' "$2" >/dev/null ||
		fail "SIGTRAPs lost: $(cat "$2"), sent $(cat "$TMP/trap.sent")"
}

test_engine_8_sigtrap_sent_kept() {
	need_root
	local ready=$TMP/st.ready rep=$TMP/st.report
	spawn "$BIN/sigstorm" target 480 "$ready" "$rep"
	local tp=$SPAWNED
	wait_for_file "$ready" 20
	spawn "$BIN/sigstorm" trap "$tp" 3000 "$TMP/trap.sent"
	local k=$SPAWNED
	slice_runs "$tp" 6 80 --free-fd # several short stops each
	wait "$k"
	assert_untraced_running "$tp"
	traps_all_arrived "$tp" "$rep"
}

# sockreap SIGKILLed during the stops of a signal storm (cases 3 and 8): a
# signal taken at a stop must not live only in sockreap (the kernel clears
# it when the tracer waits for the stop), or a kill then loses it. The
# paced SIGTRAPs (each sent once the last is no longer pending) must all
# arrive, whatever the kills. Old engine: lost at some kills.
test_engine_3_sigkill_during_signal_storm() {
	need_root
	local ready=$TMP/st.ready rep=$TMP/st.report d sr
	# threads waiting for signals besides the one our calls run in: a
	# signal held at a stop is one of theirs
	spawn "$BIN/sigstorm" target 960 "$ready" "$rep" 3
	local tp=$SPAWNED
	wait_for_file "$ready" 20
	spawn "$BIN/sigstorm" trap "$tp" 8000 "$TMP/trap.sent"
	local k=$SPAWNED
	for d in 0 1 2 3 4 5 6 7 8 9 10 12 14 16 18 20 22 25 28 31 35 40 45 50 60 70 80 90 100 120; do
		cw_inodes "$tp" 30
		"$SOCKREAP_BIN" --pid "$tp" --state close-wait --inode "$INODES" --free-fd --yes --json -q \
			--audit-log "$TMP/audit.log" >/dev/null 2>&1 &
		sr=$!
		kill_when_traced "$tp" "$d" "$sr"
		kill -0 "$tp" 2>/dev/null || fail "killed after $d ms: the target died"
	done
	wait "$k"
	sleep 0.7 # an executor left running restores its thread within 0.5 s
	assert_all_threads_untraced "$tp"
	traps_all_arrived "$tp" "$rep"
}

# ---- 9 ----

test_engine_9_epoll_forever_no_eintr() {
	need_root
	start_blocker blocker --leak 300 --threads 2 --block epollinf --linger
	wait_blocked "$BPID"
	reap --port "$PORT" --state close-wait
	assert_rc 0
	finish_call epoll
	wait_report
	report_is '.eintr == 0'
}

# With a finite timeout the EINTR stays (the time waited would be lost
# in a restart): the call sees it, and then its event.
test_engine_9_epoll_timed_may_eintr() {
	need_root
	start_blocker blocker --leak 300 --threads 2 --block epolltimed --linger
	wait_blocked "$BPID"
	reap --port "$PORT" --state close-wait
	assert_rc 0
	finish_call epoll
	wait_report
	report_is '.ok == true and .eintr >= 1'
}

# The re-entry in a thread our calls do not run in: a helper thread in
# epoll_wait(-1) sees no EINTR either, while the main thread (the
# injection thread) is in read().
test_engine_9_epoll_forever_other_thread() {
	need_root
	start_blocker blocker --leak 300 --threads 2 --block read --epoll-thread
	wait_blocked "$BPID"
	reap --port "$PORT" --state close-wait
	assert_rc 0
	finish_call read
	wait_report
	report_is '.ok == true and .thread_eintr == 0'
}

# ---- nothing of ours stays in the target ----

# A run of many batches reuses one scratch mapping and unmaps it at the
# end: the target's memory map is exactly as before (the executor makes its
# data pages writable, which splits the mapping in /proc/PID/maps; a check
# that missed that leaked one mapping per batch).
test_engine_no_mapping_left() {
	need_root
	start_blocker blocker --leak 1000 --threads 3 --block read
	local before after
	before=$(cat /proc/"$BPID"/maps)
	reap --port "$PORT" --state close-wait -v
	assert_rc 0
	grep -q 'stops' "$ERR" && ! grep -q ' 1 stop,' "$ERR" || fail "not several batches: $(grep stops "$ERR")"
	after=$(cat /proc/"$BPID"/maps)
	[[ $after == "$before" ]] || fail "the target's mappings changed:
$(diff <(echo "$before") <(echo "$after") | head -20)"
	finish_call read
	wait_report
	assert_report_ok read 0
}

# ---- each fd checked right before it is acted on ----

# The application closes the planned sockets and reuses their numbers for
# new ones while the operator reads the plan: each fd is checked (its
# socket's cookie, inside the target, every thread stopped, right before
# the row's first call), every row is skipped as "fd reused", and the new
# sockets stay exactly as they are.
test_engine_fd_reused_before_the_stop() {
	need_root
	need_cmd script
	start_blocker blocker --leak 5 --threads 2 --block read --swap-usr1
	local fd i old=() new=()
	for ((fd = LEAK_FIRST; fd <= LEAK_LAST; fd++)); do old+=("$(fd_link "$BPID" "$fd")"); done
	mkfifo "$TMP/answer"
	exec 7<>"$TMP/answer"
	script -qec "timeout --foreground -k 5 60 $SOCKREAP --port $PORT --state close-wait --json --audit-log $TMP/audit.log" \
		/dev/null <&7 >"$TMP/tty.out" 2>&1 &
	local spid=$!
	for ((i = 0; i < 3000; i++)); do
		grep -q 'Proceed?' "$TMP/tty.out" 2>/dev/null && break
		sleep 0.01
	done
	grep -q 'Proceed?' "$TMP/tty.out" || fail "no prompt: $(cat "$TMP/tty.out")"
	kill -USR1 "$BPID"
	for ((i = 0; i < 1000; i++)); do
		[[ $(fd_link "$BPID" "$LEAK_LAST") != "${old[-1]}" ]] && break
		sleep 0.01
	done
	for ((fd = LEAK_FIRST; fd <= LEAK_LAST; fd++)); do new+=("$(fd_link "$BPID" "$fd")"); done
	[[ ${new[*]} != *"${old[0]}"* && ${new[-1]} != "${old[-1]}" ]] || fail "the blocker did not swap its fds"
	echo y >&7
	wait "$spid"
	exec 7>&-
	grep -q '"result"' "$TMP/audit.log" || fail "no result records: $(cat "$TMP/tty.out")"
	assert_eq "$(jq -s '[.[] | select(.phase == "result" and .result == "skipped" and (.reason | test("fd reused")))] | length' \
		"$TMP/audit.log")" 5 "rows skipped as fd reused"
	assert_eq "$(jq -s '[.[] | select(.phase == "result" and .result == "done")] | length' "$TMP/audit.log")" 0 \
		"rows done"
	local now=()
	for ((fd = LEAK_FIRST; fd <= LEAK_LAST; fd++)); do now+=("$(fd_link "$BPID" "$fd")"); done
	assert_eq "${now[*]}" "${new[*]}" "the fds after sockreap"
	assert_all_threads_untraced "$BPID"
	finish_call read
	wait_report
	assert_report_ok read 0
}

# ---- the target exits between two batches ----

# A poll() whose set holds the first leaked fd: the first batch's
# placeholder hangs it up, the poll returns and the blocker exits, with
# about 2,000 sockets to close on its way out, while sockreap goes on with
# its next batches. The rows not done are skipped because the process
# exited, never blamed on an execve(): a leader still busy exiting is
# neither running on nor a zombie yet, which looked like an exec.
test_engine_exit_between_batches() {
	need_root
	start_blocker blocker --leak 2000 --threads 2 --block pollmany
	wait_blocked "$BPID"
	reap --port "$PORT" --state close-wait --pid "$BPID"
	[[ $RC == 0 || $RC == 3 ]] || fail "exit status $RC: $(cat "$ERR")"
	wait "$BPID" 2>/dev/null
	echo "rows: $(jq -r '.result + " " + (.reason // "")' "$OUT" | sort | uniq -c | sort -rn | head -5)" >&2
	assert_eq "$(json_count '(.reason // "") | test("new program")')" 0 "rows blaming an execve()"
	(($(json_count '.result == "skipped" and ((.reason // "") | test("exited"))') > 0)) ||
		fail "the blocker did not exit while sockreap was acting: the test did not test"
	assert_eq "$(json_count '.result == "done" or (.result == "skipped" and ((.reason // "") | test("exited")))')" 2000 \
		"rows done, or skipped because the process exited"
}

# ---- threads keep running between batches, under a storm of signals ----

# Every signal stops the traced thread it is given to. A thread that had
# stopped so when its interrupt was sent owed that interrupt: resumed at
# the end of a batch it stopped again at once, nobody waited for it, and
# it stayed frozen until the next batch, batch after batch (8 workers, a
# SIGUSR1 every 300 us: 89-93 ms at a stretch, for stops of 3-5 ms; the
# workers' own longest gap without sockreap is 4-6 ms here). A thread that
# has stopped already is not interrupted now, and threads that stop on
# their own between batches are resumed.
test_engine_threads_run_between_batches() {
	need_root
	local ready=$TMP/sw.ready rep=$TMP/sw.report
	spawn "$BIN/sigworkers" 2000 8 "$ready" "$rep"
	local tp=$SPAWNED
	wait_for_file "$ready" 30
	spawn "$BIN/sigstorm" every "$tp" 300 60000 "$TMP/usr1.sent"
	local storm=$SPAWNED
	kill -USR2 "$tp" # the measured window begins
	reap --pid "$tp" --state close-wait -v
	assert_rc 0
	assert_eq "$(json_count '.result == "done"')" 2000 "rows done"
	grep -q 'stops' "$ERR" && ! grep -q ' 1 stop,' "$ERR" || fail "not several batches: $(grep stops "$ERR")"
	kill -TERM "$storm"
	wait "$storm" 2>/dev/null
	assert_untraced_running "$tp"
	kill -TERM "$tp"
	wait_for_file "$rep" 20
	wait "$tp"
	echo "workers: $(cat "$rep"); sockreap: $(grep -o '[0-9]* stops, longest [0-9.]* ms' "$ERR")" >&2
	jq -e '.usr1 > 0' "$rep" >/dev/null || fail "no SIGUSR1 arrived: the test did not test"
	jq -e '.longest_gap_ms < 40' "$rep" >/dev/null ||
		fail "a worker was held far longer than any stop: $(cat "$rep"), $(grep stops "$ERR")"
}
