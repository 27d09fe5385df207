# The injection engine's matrix (issue 3): sockreap closes the CLOSE_WAIT
# fds of a blocker whose main thread sits in CALL, for every CALL x
# {single-threaded, multi-threaded} x {dynamic, static}. Each case asserts
# that exactly the CLOSE_WAIT fds are gone, the LISTEN and ESTABLISHED fds
# remain, the JSON says done for each, the target is neither traced nor
# stopped, and the blocked call then finishes with its correct result.
#
# Beyond the issue's seven calls, pause, sigsuspend and pilock cover the two
# restart rules the others do not reach: read/accept give -ERESTARTSYS,
# nanosleep/poll/futex -ERESTART_RESTARTBLOCK, pause and sigsuspend
# -ERESTARTNOHAND and FUTEX_LOCK_PI -ERESTARTNOINTR; epoll_wait gives EINTR
# (allowed, signal(7)).
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

INJECT_CALLS="read accept epoll nanosleep poll futex busy pause sigsuspend pilock"
INJECT_MS=2500
INJECT_LEAK=20

# inject_case BIN THREADS CALL [BLOCKER-ARGS...]
inject_case() {
	local bin=$1 threads=$2 call=$3 targs
	shift 3
	need_root
	if [[ $threads == st ]]; then
		targs=(--threads 0 --no-heartbeat) # really one thread (pilock adds its lock owner)
	else
		targs=(--threads 8)
	fi
	# Keep the process (and its fd table) after its call ends until the
	# FIFO says so: a timed call may end while the assertions run on a
	# loaded machine, and epoll_wait may end with EINTR during the stop.
	targs+=(--linger)
	targs+=("$@")
	# A busy loop holds a CPU the whole time: on a loaded 2-CPU machine
	# sockreap may need seconds to get its share, so it gets longer.
	local ms=$INJECT_MS
	[[ $call != busy ]] || ms=$((2 * INJECT_MS))
	start_blocker "$bin" --leak "$INJECT_LEAK" --block "$call" --duration-ms "$ms" "${targs[@]}"
	[[ $call == busy ]] || wait_blocked "$BPID"
	# Into the call: a timed call restarted from scratch would overrun.
	sleep 0.5

	run_sockreap --port "$PORT" --state close-wait --yes --json --audit-log "$TMP/audit.log"
	assert_rc 0
	[[ ! -s $REPORT || $call == epoll ]] || fail "the call ended before it was completed: $(cat "$REPORT")"
	assert_all_threads_untraced "$BPID"
	assert_sigmasks_unchanged
	assert_only_leaks_closed
	assert_json_closed "$BPID"
	assert_eq "$(close_wait_count "$PORT")" 0 "CLOSE-WAIT sockets left on port $PORT"

	finish_call "$call"
	wait_for_file "$REPORT" 20
	echo bye 1<>"$FIFO" # let it exit
	wait_report
	assert_report_ok "$call" "$ms"
}

# One named test function per case, so failures are reported one by one:
# test_inject_CALL_{st,mt}_{dyn,static}.
for _bin in blocker blocker-static; do
	for _thr in st mt; do
		for _call in $INJECT_CALLS; do
			_kind=dyn
			[[ $_bin == blocker-static ]] && _kind=static
			eval "test_inject_${_call}_${_thr}_${_kind}() { inject_case $_bin $_thr $_call; }"
		done
	done
done
unset _bin _thr _call _kind

# The same over IPv6 (::1).
test_inject_read_mt_dyn_v6() { inject_case blocker mt read --v6; }
test_inject_nanosleep_st_static_v6() { inject_case blocker-static st nanosleep --v6; }
