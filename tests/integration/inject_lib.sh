# Helpers shared by t_inject*.sh and t_engine*.sh (sourced by them; run.sh
# only picks up t_*.sh): start tests/bin/blocker, read its ready file, and
# check what sockreap left behind in it.

# when_traced PID CMD...: wait until PID has a tracer, then run CMD with
# $TRACER set to the tracer's PID. Shell builtins only, so it reacts within
# a fraction of sockreap's stop. Gives up after 20 s or when PID is gone.
when_traced() {
	local pid=$1 k v end=$((SECONDS + 20))
	shift
	while ((SECONDS < end)); do
		v=0
		while read -r k v; do
			[[ $k == TracerPid: ]] && break
		done 2>/dev/null <"/proc/$pid/status" || return 1
		if [[ $v != 0 ]]; then
			TRACER=$v
			"$@"
			return
		fi
	done
	return 1
}

# after_ms MS CMD...: run CMD MS milliseconds from now (no fork for the wait:
# a read with a timeout on a FIFO nobody writes).
after_ms() {
	local ms=$1
	shift
	[[ -p $TMP/never ]] || mkfifo "$TMP/never"
	((ms == 0)) || read -r -t "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))" <>"$TMP/never"
	"$@"
}

# start_blocker BIN ARGS...: spawn tests/bin/BIN (blocker or blocker-static)
# with its ready, report and FIFO files in $TMP (prefix $BLK, default "b",
# so a test can run several), wait until it is ready and set BPID PORT
# LISTEN_FD ESTAB_FD LEAK_FIRST LEAK_LAST FIFO PEER_PID SHARE_PID and
# FDS_BEFORE (its fd table). Its peer (and sharer) child is tracked too.
start_blocker() {
	local bin=$1 p=${BLK:-b}
	shift
	READY=$TMP/$p.ready.json REPORT=$TMP/$p.report.json
	rm -f "$READY" "$REPORT"
	spawn "$BIN/$bin" --ready "$READY" --report "$REPORT" --fifo "$TMP/$p.fifo" "$@"
	BPID=$SPAWNED
	local i
	for ((i = 0; i < 3000; i++)); do
		[[ -s $READY ]] && break
		kill -0 "$BPID" 2>/dev/null || fail "$bin exited before it was ready"
		sleep 0.01
	done
	[[ -s $READY ]] || fail "$bin not ready after 30 s"
	eval "$(jq -r '@sh "PORT=\(.port) LISTEN_FD=\(.listen_fd) ESTAB_FD=\(.estab_fd) LEAK_FIRST=\(.leak_first) LEAK_LAST=\(.leak_last) FIFO=\(.fifo) PEER_PID=\(.peer_pid) SHARE_PID=\(.share_pid) RPID=\(.pid)"' "$READY")"
	track_pid "$PEER_PID"
	[[ $SHARE_PID == 0 ]] || track_pid "$SHARE_PID"
	[[ $RPID == "$BPID" ]] || fail "ready file names pid $RPID, spawned $BPID"
	FDS_BEFORE=$(fd_table "$BPID")
	SIGMASKS_BEFORE=$(sigmasks "$BPID")
	echo "blocker $bin pid $BPID port $PORT listen $LISTEN_FD leaks $LEAK_FIRST-$LEAK_LAST estab $ESTAB_FD" >&2
}

# fd_table PID: "FD LINK" lines, sorted by fd. The blocker's report file is
# open from the start as NAME.tmp.PID and renamed when written: strip that.
fd_table() {
	find "/proc/$1/fd" -mindepth 1 -printf '%f %l\n' 2>/dev/null |
		sed 's/\.tmp\.[0-9]*$//' | sort -n
}

# sigmasks PID: the blocked-signal mask of each thread of PID.
sigmasks() {
	grep -H '^SigBlk' /proc/"$1"/task/*/status 2>/dev/null
}

# assert_sigmasks_unchanged: the engine blocks the target's signals while it
# runs calls in it; every thread's mask must be back as it was.
# wait_sigmasks_restored SECONDS: until every thread's mask is as before,
# at most SECONDS (an executor left by a killed sockreap restores its
# thread once its own wait times out, 0.5 s after its calls).
wait_sigmasks_restored() {
	local end=$((SECONDS + $1))
	while ((SECONDS <= end)); do
		[[ $(sigmasks "$BPID") == "$SIGMASKS_BEFORE" ]] && return 0
		sleep 0.01
	done
	return 1
}
assert_sigmasks_unchanged() {
	local now
	now=$(sigmasks "$BPID")
	[[ $now == "$SIGMASKS_BEFORE" ]] || fail "signal masks changed:
$(diff <(echo "$SIGMASKS_BEFORE") <(echo "$now"))"
}

# fd_table_without A B [TABLE]: TABLE (default $FDS_BEFORE) without the
# sockets among fds A..B.
fd_table_without() {
	awk -v a="$1" -v b="$2" '$1 < a || $1 > b || $2 !~ /^socket:/' <<<"${3:-$FDS_BEFORE}"
}

# assert_fds PID EXPECTED: the fd table of PID is exactly EXPECTED.
assert_fds() {
	local now
	now=$(fd_table "$1")
	[[ $now == "$2" ]] || fail "fd table of $1 differs from the expected one:
$(diff <(echo "$2") <(echo "$now"))"
}

# assert_only_leaks_closed: exactly the CLOSE_WAIT sockets are gone from
# the blocker, every other fd (LISTEN, ESTABLISHED, FIFO, ...) unchanged.
# With the default close each leaked fd number now holds a placeholder (a
# socket, never the old one, each a different one); with REAP_MODE=free
# (--free-fd) the numbers are free.
assert_only_leaks_closed() {
	if [[ ${REAP_MODE:-replace} == free ]]; then
		assert_fds "$BPID" "$(fd_table_without "$LEAK_FIRST" "$LEAK_LAST")"
	else
		assert_leaks_replaced "$BPID"
	fi
	[[ -n $(fd_link "$BPID" "$LISTEN_FD") && -n $(fd_link "$BPID" "$ESTAB_FD") ]] ||
		fail "LISTEN or ESTABLISHED fd gone"
}

# assert_leaks_replaced PID: the fd table is as before, but every leaked
# socket fd links to a new socket of its own (the placeholder).
assert_leaks_replaced() {
	local now expect
	now=$(fd_table "$1")
	expect=$(fd_table_without "$LEAK_FIRST" "$LEAK_LAST")
	[[ $(awk -v a="$LEAK_FIRST" -v b="$LEAK_LAST" '$1 < a || $1 > b || $2 !~ /^socket:/' <<<"$now") == "$expect" ]] ||
		fail "fds other than the leaked ones changed:
$(diff <(echo "$expect") <(echo "$now"))"
	local old_links new_links
	old_links=$(awk -v a="$LEAK_FIRST" -v b="$LEAK_LAST" '$1 >= a && $1 <= b && $2 ~ /^socket:/' <<<"$FDS_BEFORE")
	new_links=$(awk -v a="$LEAK_FIRST" -v b="$LEAK_LAST" '$1 >= a && $1 <= b && $2 ~ /^socket:/' <<<"$now")
	[[ $(cut -d' ' -f1 <<<"$old_links") == "$(cut -d' ' -f1 <<<"$new_links")" ]] ||
		fail "leaked fd numbers not all kept: before $(cut -d' ' -f1 <<<"$old_links" | tr '\n' ' '), now $(cut -d' ' -f1 <<<"$new_links" | tr '\n' ' ')"
	[[ -z $(comm -12 <(cut -d' ' -f2 <<<"$old_links" | sort) <(cut -d' ' -f2 <<<"$new_links" | sort)) ]] ||
		fail "some leaked fds still hold their old socket"
	[[ $(cut -d' ' -f2 <<<"$new_links" | sort | uniq -d) == "" ]] || fail "placeholders shared between fds"
}

# assert_leaks_untouched: the blocker's fd table is as it was when ready.
assert_leaks_untouched() {
	assert_fds "$BPID" "$FDS_BEFORE"
}

# close_wait_count PORT: CLOSE-WAIT sockets the kernel still has on PORT.
close_wait_count() {
	ss -Htan state close-wait "( sport = :$1 )" | wc -l
}

# assert_all_threads_untraced PID: no thread of PID is traced or stopped
# (the engine seizes every thread, so check every one).
assert_all_threads_untraced() {
	local t st tp
	for t in /proc/"$1"/task/*; do
		tp=$(awk '/^TracerPid:/ {print $2}' "$t/status" 2>/dev/null) || continue
		st=$(awk '/^State:/ {print $2}' "$t/status" 2>/dev/null)
		[[ -z $tp || $tp == 0 ]] || fail "thread ${t##*/} of $1 still traced by $tp"
		[[ $st != t && $st != T ]] || fail "thread ${t##*/} of $1 left stopped (state $st)"
	done
}

# wait_blocked PID: wait until PID's main thread sits in a system call.
wait_blocked() {
	local i s
	for ((i = 0; i < 500; i++)); do
		read -r s _ <"/proc/$1/syscall" 2>/dev/null
		[[ -n $s && $s != running ]] && return 0
		sleep 0.01
	done
	fail "pid $1 never blocked in a system call"
}

# json_count FILTER: how many JSON lines of $OUT match the jq FILTER.
json_count() {
	jq -s "[.[] | select($1)] | length" "$OUT"
}

# assert_json_closed PID: $OUT has one "close"/"done" line for each leaked
# fd of PID, and nothing else.
assert_json_closed() {
	local n=$((LEAK_LAST - LEAK_FIRST + 1)) got all
	all=$(jq -s length "$OUT")
	got=$(jq -s --argjson pid "$1" --argjson a "$LEAK_FIRST" --argjson b "$LEAK_LAST" \
		'[.[] | select(.pid == $pid and .fd >= $a and .fd <= $b and .state == "CLOSE-WAIT"
		  and .action == "close" and .result == "done")] | map(.fd) | unique | length' "$OUT")
	[[ $all == "$n" && $got == "$n" ]] ||
		fail "expected $n JSON lines, each close/done for fds $LEAK_FIRST-$LEAK_LAST; got $all lines, $got right"
}

# finish_call CALL: make the blocked call complete (timed calls just run out).
finish_call() {
	case $1 in
	read | epoll | none | select | pselect | pollmany | epollinf | epolltimed) echo go 1<>"$FIFO" ;;
	accept) exec {conn}<>"/dev/tcp/127.0.0.1/$PORT" && exec {conn}>&- ;;
	pause | sigsuspend) kill -USR2 "$BPID" ;;
	esac
}

# wait_report [SECONDS]: wait until the blocker wrote its report and exited;
# BRC is its exit status. Prints the report.
wait_report() {
	wait_for_file "$REPORT" "${1:-20}"
	wait "$BPID"
	BRC=$?
	echo "report: $(cat "$REPORT") (exit $BRC)" >&2
}

# report_is JQ-EXPR: fail unless the report satisfies the expression.
report_is() {
	jq -e "$1" "$REPORT" >/dev/null || fail "report does not satisfy '$1': $(cat "$REPORT")"
}

# assert_report_ok CALL MS: the blocked call finished as it would have
# without sockreap: its right result and its full duration (timed calls
# restarted from scratch would take >= MS + the 500 ms the tests wait
# before running sockreap, hence the upper bound).
assert_report_ok() {
	local call=$1 ms=$2 timed=".elapsed_ms >= $2 and .elapsed_ms < $2 + 400"
	report_is '.ok == true'
	[[ $BRC == 0 ]] || fail "blocker exited $BRC"
	case $call in
	read) report_is '.ret == 3' ;;
	accept) report_is '.ret >= 0' ;;
	epoll) report_is '.ret == 1 or .errno == 4' ;;
	nanosleep | poll) report_is ".ret == 0 and $timed" ;;
	futex | pilock) report_is ".ret == -1 and .errno == 110 and $timed" ;;
	busy) report_is ".elapsed_ms >= $ms" ;;
	pause | sigsuspend) report_is '.ret == -1 and .errno == 4 and .sigusr2 == 1' ;;
	*) fail "no expectation for call $call" ;;
	esac
	# A loose sanity bound; the stall target itself is measured by scripts/bench.
	report_is '.max_stall_ms == null or .max_stall_ms < 1000'
}
