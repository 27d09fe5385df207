# Real runtimes and servers after a reap (issue 9): node (libuv), python
# asyncio, the JVM, Go, nginx, redis and postgres hold objects for their
# fds and later read, resume, time out, finalize or close those numbers.
# Each test leaks CLOSE_WAIT sockets (or, where a server cleans those up by
# itself, idle ESTABLISHED ones), reaps them, then makes the program reuse
# and touch the old numbers (new connections in waves, idle timers, GC,
# paused streams resuming), and checks:
#   - the program never aborts (alive, no crash or loop error in its log);
#   - every new connection is served and never cut (N of N requests answered,
#     a last request on each after the old objects were cleaned up);
#   - no ghost session remains (redis CLIENT LIST, pg_stat_activity);
#   - the old socket is gone from ss (by inode);
#   - the fd number still holds a socket other than the old one (the
#     placeholder) until the program closes it itself.
# The reuse-safe default (and --reset) must pass all of it; a plain
# close(fd) fails each of those tests (each test's comment says how). The
# --free-fd test documents the hazard instead: it records, without failing,
# what the program did to the reused numbers. Checks are soft (rt_bad): a
# test goes on to the end and reports every broken promise.
#
# RT_REAPER=gdb runs the same scenarios with tests/runtimes/placeholder-gdb.sh
# (the replacement done by hand, for developers; sockreap still plans the
# rows with --dry-run) instead of sockreap's action.
RT=$ROOT/tests/runtimes
RT_PY=/usr/bin/python3
[[ -x $RT_PY ]] || RT_PY=python3
RT_REAPER=${RT_REAPER:-sockreap}
RT_FAILS=()
RT_CLEANUP=()

# --- soft checks: a test records every broken promise, then fails once ----

rt_bad() {
	RT_FAILS+=("$*")
	echo "CHECK FAILED: $*" >&2
}
rt_finish() {
	local f
	[[ ${#RT_FAILS[@]} -eq 0 ]] && return 0
	for f in "${RT_FAILS[@]}"; do echo "  - $f" >&2; done
	fail "${#RT_FAILS[@]} check(s) failed: ${RT_FAILS[0]}"
}

# rt_teardown: run the test's own cleanups (stop servers cleanly), then
# lib_teardown kills every spawned PID.
rt_teardown() {
	local c
	for c in "${RT_CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1; done
	lib_teardown
}
rt_init() {
	need_root
	trap rt_teardown EXIT
}

# rt_step WHAT: a timestamped line in the test's log.
rt_step() { printf '== %s %s\n' "${EPOCHREALTIME}" "$*" >&2; }

rt_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "needs $c (scripts/install-deps installs it)"
	done
}

# rt_poll SECONDS CMD...: run CMD every 20 ms until it succeeds; 1 on timeout.
rt_poll() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.02
	done
}

rt_alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && $st != Z && $st != X ]]
}

# rt_wait_file FILE SECONDS PID: FILE non-empty, or fail early if PID died.
rt_wait_file() {
	local end=$((SECONDS + $2))
	until [[ -s $1 ]]; do
		if [[ -n ${3:-} ]] && ! rt_alive "$3"; then
			[[ -s $1 ]] && break # wrote it, then exited
			[[ $3 == "${RT_PID:-}" ]] && tail -5 "$RT_LOG" >&2
			fail "pid $3 exited before writing $1"
		fi
		((SECONDS < end)) || fail "timed out waiting for $1"
		sleep 0.02
	done
}

# rt_log_has REGEX [FILE]: the program's log matches (extended regex).
rt_log_has() { grep -Eq -- "$1" "${2:-$RT_LOG}"; }
rt_log_count() { grep -Ec -- "$1" "${2:-$RT_LOG}"; }

# rt_wait_log REGEX SECONDS [MIN-COUNT]: wait until the log of $RT_PID
# matches MIN-COUNT (default 1) times; 1 on timeout or once RT_PID is dead.
rt_wait_log() {
	local end=$((SECONDS + $2))
	until [[ $(rt_log_count "$1") -ge ${3:-1} ]]; do
		[[ -z ${RT_PID:-} ]] || rt_alive "$RT_PID" || return 1
		((SECONDS < end)) || return 1
		sleep 0.02
	done
}

# rt_ctl NAME: a FIFO for a program's stdin ($RT_CTL_PATH), our end open
# read-write as $RT_CTL (so neither side ever blocks opening it).
rt_ctl() {
	RT_CTL_PATH=$TMP/$1.ctl
	mkfifo "$RT_CTL_PATH"
	exec {RT_CTL}<>"$RT_CTL_PATH"
}
rt_send() { echo "$1" >&"$RT_CTL"; }
# rt_spawn_ctl LOG CMD...: spawn CMD with stdin from the FIFO, stdout and
# stderr to LOG, without our end of the FIFO.
_rt_exec_ctl() {
	local log=$1
	shift
	exec {RT_CTL}>&- <"$RT_CTL_PATH" >"$log" 2>&1
	exec "$@"
}
rt_spawn_ctl() { spawn _rt_exec_ctl "$@"; }

# rt_check_program PID NAME [ERROR-REGEX]: alive, and no crash in its log.
rt_check_program() {
	local pid=$1 name=$2 re=${3:-} st
	if ! rt_alive "$pid"; then
		[[ " ${RT_DEAD:-} " == *" $pid "* ]] && return 0
		RT_DEAD+=" $pid"
		wait "$pid" 2>/dev/null
		st=$?
		rt_bad "$name (pid $pid) died: exit status $st$( ((st > 128)) && echo " (signal $((st - 128)))")"
	fi
	if [[ -n $re ]] && rt_log_has "$re"; then
		rt_bad "$name logged errors: $(grep -E -- "$re" "$RT_LOG" | head -3 | tr '\n' '|')"
	fi
	if rt_log_has 'core dumped|Aborted|SIGABRT|Assertion .* failed'; then
		rt_bad "$name log shows an abort: $(grep -E 'core dumped|Aborted|SIGABRT|Assertion' "$RT_LOG" | head -2)"
	fi
}

# --- leaking, reaping, checking the fds ------------------------------------

# rt_ss_state_count PORT STATE: sockets in STATE with local port PORT.
rt_ss_state_count() {
	ss -Htan state "$2" "( sport = :$1 )" | wc -l
}

# rt_reap MODE PID[,PID] FILTER...: act on the sockets of those processes
# matching FILTER with MODE = default | reset | free-fd; sets REAP_PIDS
# REAP_FDS REAP_INOS (parallel arrays, one entry per row acted on) and
# REAP_N. Under RT_REAPER=gdb the rows come from a dry run and
# placeholder-gdb.sh does the action, one process at a time.
rt_reap() {
	local mode=$1 pid=$2 json rc modearg=()
	shift 2
	case $mode in
	reset) modearg=(--reset) ;;
	free-fd) modearg=(--free-fd) ;;
	esac
	json=$TMP/reap.$RANDOM.json
	rt_step "reap $mode $pid $*"
	if [[ $RT_REAPER == gdb ]]; then
		timeout -k 5 60 "$SOCKREAP" --pid "$pid" "$@" --dry-run --json \
			--audit-log "$TMP/audit.log" >"$json" 2>"$json.err"
		rc=$?
		[[ $rc -eq 0 ]] || { cat "$json.err" >&2; fail "sockreap --dry-run exited $rc"; }
		mapfile -t REAP_FDS < <(jq -r 'select(.result == "planned") | .fd' "$json")
		[[ ${#REAP_FDS[@]} -gt 0 ]] || fail "the dry run planned nothing: $(cat "$json" "$json.err")"
		mapfile -t REAP_INOS < <(jq -r 'select(.result == "planned") | .inode' "$json")
		mapfile -t REAP_PIDS < <(jq -r 'select(.result == "planned") | .pid' "$json")
		local gmode=() p
		[[ $mode == reset ]] && gmode=(--reset)
		[[ $mode == free-fd ]] && gmode=(--free-fd)
		for p in $(printf '%s\n' "${REAP_PIDS[@]}" | sort -u); do
			local fds
			fds=$(jq -r --argjson p "$p" 'select(.result == "planned" and .pid == $p) | .fd' "$json")
			echo "+ placeholder-gdb.sh ${gmode[*]} $p" $fds >&2
			# shellcheck disable=SC2086
			timeout -k 5 150 bash "$RT/placeholder-gdb.sh" "${gmode[@]}" "$p" $fds >&2 ||
				fail "placeholder-gdb.sh failed"
		done
	else
		timeout -k 5 60 "$SOCKREAP" --pid "$pid" "$@" "${modearg[@]}" --yes --json \
			--audit-log "$TMP/audit.log" >"$json" 2>"$json.err"
		rc=$?
		echo "+ sockreap --pid $pid $* ${modearg[*]} -> $rc" >&2
		sed 's/^/  stdout: /' "$json" | head -30 >&2
		sed 's/^/  stderr: /' "$json.err" | head -10 >&2
		[[ $rc -eq 0 ]] || rt_bad "sockreap exited $rc"
		if [[ $mode == free-fd ]]; then
			local wrong
			wrong=$(jq -r 'select(.action != "free-fd") | .action' "$json" | sort -u | tr '\n' ' ')
			[[ -z $wrong ]] || rt_bad "--free-fd rows with action: $wrong"
		fi
		mapfile -t REAP_FDS < <(jq -r 'select(.result == "done") | .fd' "$json")
		mapfile -t REAP_INOS < <(jq -r 'select(.result == "done") | .inode' "$json")
		mapfile -t REAP_PIDS < <(jq -r 'select(.result == "done") | .pid' "$json")
		local notdone
		notdone=$(jq -c 'select(.result != "done") | {fd, state, result, reason}' "$json")
		[[ -z $notdone ]] || rt_bad "rows not done: $notdone"
	fi
	REAP_N=${#REAP_FDS[@]}
	rt_step "reaped"
	echo "reaped $REAP_N fds of $pid: ${REAP_FDS[*]} (inodes ${REAP_INOS[*]})" >&2
}

# rt_expect_reaped N: exactly N sockets were acted on.
rt_expect_reaped() {
	[[ $REAP_N -eq $1 ]] || rt_bad "expected $1 sockets acted on, got $REAP_N"
}

# rt_check_placeholders strict|loose: right after the reap, each reaped fd
# number holds a socket other than the old one (its inode in PH_INOS[i], or
# empty). strict: the program has no reason to have closed it yet, so the
# number must still be taken; loose: the program's own loop may already
# have woken on the placeholder and closed it (nginx, redis, postgres, a
# back-pressured stream that got EPIPE).
rt_check_placeholders() {
	local i fd pid link kept=0
	PH_INOS=()
	for i in "${!REAP_FDS[@]}"; do
		fd=${REAP_FDS[i]} pid=${REAP_PIDS[i]}
		link=$(fd_link "$pid" "$fd")
		PH_INOS[i]=""
		if [[ -z $link ]]; then
			[[ $1 == strict ]] && rt_bad "fd $fd of $pid was freed: the number is free for reuse"
			continue
		fi
		if [[ $link == "socket:[${REAP_INOS[i]}]" ]]; then
			rt_bad "fd $fd of $pid still holds the old socket ${REAP_INOS[i]}"
		elif [[ $link =~ ^socket:\[([0-9]+)\]$ ]]; then
			PH_INOS[i]=${BASH_REMATCH[1]}
			kept=$((kept + 1))
		else
			rt_bad "fd $fd of $pid is now $link, not a socket"
		fi
	done
	echo "placeholders in place right after the reap: $kept of $REAP_N (${PH_INOS[*]})" >&2
}

# rt_check_fds_freed: --free-fd: every reaped number is free right after.
rt_check_fds_freed() {
	local i link
	for i in "${!REAP_FDS[@]}"; do
		link=$(fd_link "${REAP_PIDS[i]}" "${REAP_FDS[i]}")
		[[ -z $link ]] || rt_bad "--free-fd left fd ${REAP_FDS[i]} of ${REAP_PIDS[i]} as $link"
	done
}

# rt_mark: what each reaped number holds now, right before the program is
# made to clean up its old objects (a placeholder; after a plain close,
# whichever new connection got the number).
rt_mark() {
	local i
	MARK_LINKS=()
	for i in "${!REAP_FDS[@]}"; do
		MARK_LINKS[i]=$(fd_link "${REAP_PIDS[i]}" "${REAP_FDS[i]}")
	done
}

# rt_check_closed_by_app SECONDS: the program closes, by itself, what each
# number held at rt_mark (the placeholder: its old object's close or
# finalizer only touches that; after a plain close it would be the new
# connection's socket), within SECONDS. The number may be taken again by a
# later connection. Waiting for this also makes the program's stale closes
# happen before the wave's last requests.
rt_check_closed_by_app() {
	local i left
	_rt_marks_left() {
		left=0
		for i in "${!REAP_FDS[@]}"; do
			[[ -n ${MARK_LINKS[i]} ]] || continue
			[[ $(fd_link "${REAP_PIDS[i]}" "${REAP_FDS[i]}") == "${MARK_LINKS[i]}" ]] && left=$((left + 1))
		done
		[[ $left -eq 0 ]]
	}
	rt_poll "$1" _rt_marks_left ||
		rt_bad "$left reaped fd number(s) still hold what they held before the program cleaned up, after $1 s"
}

# rt_check_placeholders_remain: the program has not closed them (yet).
rt_check_placeholders_remain() {
	local i
	for i in "${!REAP_FDS[@]}"; do
		[[ -n ${PH_INOS[i]} ]] || continue
		[[ $(fd_link "${REAP_PIDS[i]}" "${REAP_FDS[i]}") == "socket:[${PH_INOS[i]}]" ]] ||
			rt_bad "fd ${REAP_FDS[i]}: the placeholder went before the program closed its object"
	done
}

# rt_check_gone_from_ss SECONDS: no socket with a reaped inode is left.
rt_check_gone_from_ss() {
	local ino left
	_rt_ss_left() {
		local dump
		dump=$(ss -Htane)
		left=""
		for ino in "${REAP_INOS[@]}"; do
			grep -q " ino:$ino " <<<"$dump " && left+="$ino "
		done
		[[ -z $left ]]
	}
	rt_poll "$1" _rt_ss_left || rt_bad "old sockets still in ss after $1 s: inodes $left"
}

# --- clients ----------------------------------------------------------------

# rt_leak PORT N [ARGS...]: N connections to PORT that the client closes
# (--hold: half-closes and keeps); waits for the client's ready file.
rt_leak() {
	local port=$1 n=$2 f=$TMP/leak.$RANDOM.json
	shift 2
	spawn "$RT_PY" "$RT/rtclient.py" leak --port "$port" --n "$n" --ready "$f" "$@"
	rt_wait_file "$f" 30 "$SPAWNED"
	LEAK_PORTS=$(jq -r '.ports[]' "$f" | tr '\n' ' ')
}

# rt_wave_start NAME PORT N WAVES [ARGS...]: start a wave client (see
# rtclient.py); returns once its first wave, the one that stays, had its
# first requests answered (or not: WAVE_READY).
rt_wave_start() {
	local name=$1 port=$2 n=$3 waves=$4
	shift 4
	WAVE_READY=$TMP/$name.ready WAVE_REPORT=$TMP/$name.report WAVE_GO=$TMP/$name.go
	spawn "$RT_PY" "$RT/rtclient.py" wave --port "$port" --n "$n" --waves "$waves" \
		--ready "$WAVE_READY" --report "$WAVE_REPORT" --go "$WAVE_GO" "$@"
	WAVE_PID=$SPAWNED
	rt_step "wave $name started"
	rt_wait_file "$WAVE_READY" 90 "$WAVE_PID"
	echo "wave $name started: $(cat "$WAVE_READY")" >&2
}

# rt_wave_finish: let the first (kept) wave send its last requests; check
# that every connection of every wave was served and none was cut.
rt_wave_finish() {
	rt_step "wave go"
	touch "$WAVE_GO"
	rt_wait_file "$WAVE_REPORT" 90 "$WAVE_PID"
	echo "wave report: $(cat "$WAVE_REPORT")" >&2
	local total first last lastn
	read -r total first lastn last < <(jq -r '"\(.total) \(.served_first) \(.kept_served_first) \(.served_kept)"' "$WAVE_REPORT")
	[[ $first == "$total" ]] || rt_bad "new connections served: $first of $total ($(jq -c '[.failures[] | select(.phase == "first")] | .[:3]' "$WAVE_REPORT"))"
	[[ $last == "$lastn" ]] || rt_bad "new connections cut later: $((lastn - last)) of $lastn ($(jq -c '[.failures[] | select(.phase != "first")] | .[:3]' "$WAVE_REPORT"))"
}

# rt_idle_start PROTO PORT N: N connections with one request each, then
# idle; their ends (eof/reset/data/open) go to IDLE_REPORT.
rt_idle_start() {
	IDLE_READY=$TMP/idle.ready IDLE_REPORT=$TMP/idle.report
	spawn "$RT_PY" "$RT/rtclient.py" idle --proto "$1" --port "$2" --n "$3" \
		--ready "$IDLE_READY" --report "$IDLE_REPORT"
	IDLE_PID=$SPAWNED
	rt_wait_file "$IDLE_READY" 30 "$IDLE_PID"
	rt_step "idle clients ready"
	IDLE_PORTS=$(jq -r '.ports[]' "$IDLE_READY" | tr '\n' ' ')
}

# rt_check_idle_ends WANT SECONDS: every idle connection ended with WANT.
rt_check_idle_ends() {
	local want=$1 n
	n=$(jq '.ports | length' "$IDLE_READY")
	_rt_idle_ended() {
		[[ $(jq --arg w "$want" '[.ends[] | select(. == $w)] | length' "$IDLE_REPORT" 2>/dev/null) == "$n" ]]
	}
	rt_poll "$2" _rt_idle_ended ||
		rt_bad "idle clients did not all see $want: $(jq -c .ends "$IDLE_REPORT")"
}

# --- node (libuv) -------------------------------------------------------------

rt_node_start() {
	rt_need node
	rt_ctl node
	RT_LOG=$TMP/node.log
	rt_spawn_ctl "$RT_LOG" node --expose-gc "$RT/server.js" --ready "$TMP/node.ready"
	NODE_PID=$SPAWNED RT_PID=$SPAWNED
	rt_wait_file "$TMP/node.ready" 30 "$NODE_PID"
	read -r NODE_SERVE NODE_BP NODE_HO < <(jq -r '"\(.serve) \(.bp) \(.halfopen)"' "$TMP/node.ready")
}

# Back-pressured streams: node wrote 8 MiB that the client never reads and
# paused reading (its buffer is full, so libuv stopped reading); the client
# half-closed. libuv still watches each fd for POLLOUT. When the streams
# resume, libuv re-arms the fd with EPOLL_CTL_MOD: on a number whose epoll
# registration vanished with a plain close(), that fails and libuv aborts.
# Later connections are served (a reused number's events would go to the
# old stream's watcher).
test_rt_node_backpressure_resume() {
	rt_init
	rt_node_start
	rt_leak "$NODE_BP" 4 --hold --send-bytes 65536
	rt_poll 20 eval '[[ $(rt_ss_state_count "$NODE_BP" close-wait) -eq 4 ]]' || fail "no 4 CLOSE_WAIT sockets on $NODE_BP"
	rt_wait_log 'bp paused' 20 4 || fail "node did not pause 4 streams"
	rt_reap default "$NODE_PID" --state close-wait
	rt_expect_reaped 4
	rt_check_placeholders loose
	rt_check_gone_from_ss 20
	rt_mark
	rt_send resume
	rt_wait_log 'ack resume' 20 || rt_bad "node did not answer resume"
	rt_send gc
	rt_wait_log 'ack gc' 20 || rt_bad "node did not answer gc"
	rt_check_program "$NODE_PID" node
	if rt_alive "$NODE_PID"; then
		rt_wave_start wave "$NODE_SERVE" 12 2
		rt_check_closed_by_app 20
		rt_wave_finish
	fi
	rt_check_program "$NODE_PID" node
	rt_finish
}

# Half-open sockets (allowHalfOpen): node read the FIN and keeps each socket
# until its idle sweep destroys it, which closes the fd and removes it from
# epoll. After new connections took the numbers, that cuts them.
test_rt_node_idle_timeout() {
	rt_init
	rt_node_start
	rt_leak "$NODE_HO" 4
	rt_wait_log 'halfopen ended' 20 4 || fail "node did not see 4 FINs"
	rt_reap default "$NODE_PID" --state close-wait
	rt_expect_reaped 4
	rt_check_placeholders strict
	rt_check_gone_from_ss 20
	rt_wave_start wave "$NODE_SERVE" 12 2
	rt_check_placeholders_remain
	rt_mark
	rt_send sweep
	rt_wait_log 'ack sweep destroyed 4' 20 || rt_bad "node's idle sweep did not destroy the 4 old sockets"
	rt_check_closed_by_app 20
	rt_wave_finish
	rt_check_program "$NODE_PID" node
	rt_finish
}

# --- python asyncio ---------------------------------------------------------------

rt_python_start() {
	rt_need "$RT_PY"
	rt_ctl python
	RT_LOG=$TMP/python.log
	rt_spawn_ctl "$RT_LOG" "$RT_PY" -X dev "$RT/server.py" --ready "$TMP/python.ready"
	PY_PID=$SPAWNED RT_PID=$SPAWNED
	rt_wait_file "$TMP/python.ready" 30 "$PY_PID"
	read -r PY_SERVE PY_BP PY_HO < <(jq -r '"\(.serve) \(.bp) \(.halfopen)"' "$TMP/python.ready")
}
RT_PY_ERRORS='LOOP-EXCEPTION|Traceback|Fatal Python error'

# Back-pressured transports: asyncio keeps a writer on each fd in its
# selector (8 MiB queued, the client never reads, then half-closes). A plain
# close() drops the kernel's epoll entry but not the selector's key: a new
# connection that gets the number fails in _add_reader (EPOLL_CTL_MOD:
# ENOENT) and is never served. The reuse-safe close keeps the number and
# re-registers the placeholder: the writer gets EPIPE and asyncio closes it.
test_rt_python_backpressure() {
	rt_init
	rt_python_start
	rt_leak "$PY_BP" 4 --hold
	rt_wait_log 'bp eof fd' 20 4 || fail "asyncio did not see 4 FINs"
	rt_reap default "$PY_PID" --state close-wait
	rt_expect_reaped 4
	rt_check_placeholders loose
	rt_check_gone_from_ss 20
	# The re-added writer finds the placeholder writable: EPIPE, asyncio
	# closes the transport (and the placeholder) itself.
	rt_mark
	rt_check_closed_by_app 20
	rt_wave_start wave "$PY_SERVE" 12 2
	rt_send gc
	rt_wait_log 'ack gc' 20 || rt_bad "python did not answer gc"
	rt_wave_finish
	rt_check_program "$PY_PID" python "$RT_PY_ERRORS"
	rt_finish
}

# Half-open transports the program has forgotten: only a transport/protocol
# cycle holds them; gc.collect() runs their __del__, which closes the fd
# number. After new connections took the numbers, that cuts them.
test_rt_python_gc() {
	rt_init
	rt_python_start
	rt_leak "$PY_HO" 4
	rt_wait_log 'halfopen eof fd' 20 4 || fail "asyncio did not see 4 FINs"
	rt_reap default "$PY_PID" --state close-wait
	rt_expect_reaped 4
	rt_check_placeholders strict
	rt_check_gone_from_ss 20
	rt_wave_start wave "$PY_SERVE" 12 2
	rt_check_placeholders_remain
	rt_mark
	rt_send drop
	rt_wait_log 'ack drop 4' 20 || rt_bad "python did not drop its 4 half-open connections"
	rt_check_closed_by_app 20
	rt_wave_finish
	rt_check_program "$PY_PID" python "$RT_PY_ERRORS"
	rt_finish
}

# --- the JVM ----------------------------------------------------------------------

# Sockets a thread-per-connection server dropped without closing: once the
# GC finds them, the JDK's Cleaner closes their fd numbers. After new
# connections took the numbers, that cuts them ("Bad file descriptor" in the
# threads serving them).
test_rt_jvm_cleaner() {
	rt_init
	rt_need javac java
	mkdir -p "$TMP/java"
	timeout -k 5 120 javac -d "$TMP/java" "$RT/Server.java" || fail "javac failed"
	rt_ctl java
	RT_LOG=$TMP/java.log
	rt_spawn_ctl "$RT_LOG" java -Xmx64m -Xss512k -XX:+UseSerialGC -XX:-UsePerfData \
		-cp "$TMP/java" Server --ready "$TMP/java.ready"
	RT_PID=$SPAWNED
	rt_wait_file "$TMP/java.ready" 60 "$RT_PID"
	local serve leakp
	read -r serve leakp < <(jq -r '"\(.serve) \(.leak)"' "$TMP/java.ready")
	# Warm up the serving path (classes loaded, their jars' fds opened)
	# before any fd number is freed.
	rt_wave_start warm "$serve" 2 1
	rt_wave_finish
	rt_leak "$leakp" 4
	rt_wait_log 'leak eof count 4' 30 || fail "the JVM did not see 4 FINs"
	rt_reap default "$RT_PID" --state close-wait
	rt_expect_reaped 4
	rt_check_placeholders strict
	rt_check_gone_from_ss 20
	rt_wave_start wave "$serve" 12 2
	rt_check_placeholders_remain
	rt_mark
	rt_send gc
	rt_wait_log 'ack gc cleared 4 of 4' 30 || rt_bad "the JVM's GC did not collect the 4 leaked Sockets"
	rt_check_closed_by_app 30
	rt_wave_finish
	rt_check_program "$RT_PID" java 'ERROR|hs_err|SIGSEGV'
	rt_finish
}

# --- Go ---------------------------------------------------------------------------

# Conns kept after EOF: the program later closes half of them itself and
# forgets the rest (netFD's finalizer closes those). Close() removes the fd
# from epoll and closes the number: after new connections took the numbers,
# that cuts them.
test_rt_go_close_and_finalizer() {
	rt_init
	rt_need go
	mkdir -p "$TMP/go"
	GOCACHE=$TMP/go/cache GOPATH=$TMP/go/path timeout -k 5 240 \
		go build -o "$TMP/go/server" "$RT/server.go" || fail "go build failed"
	rt_ctl go
	RT_LOG=$TMP/go.log
	rt_spawn_ctl "$RT_LOG" "$TMP/go/server" --ready "$TMP/go.ready"
	RT_PID=$SPAWNED
	rt_wait_file "$TMP/go.ready" 30 "$RT_PID"
	local serve leakp
	read -r serve leakp < <(jq -r '"\(.serve) \(.leak)"' "$TMP/go.ready")
	rt_leak "$leakp" 4
	rt_wait_log 'leak eof count 4' 30 || fail "the Go program did not see 4 FINs"
	rt_reap default "$RT_PID" --state close-wait
	rt_expect_reaped 4
	rt_check_placeholders strict
	rt_check_gone_from_ss 20
	rt_wave_start wave "$serve" 12 2
	rt_check_placeholders_remain
	rt_mark
	rt_send close-old
	rt_wait_log 'ack close-old 2' 20 || rt_bad "the Go program did not close 2 old conns"
	rt_send gc
	rt_wait_log 'ack gc dropped 2' 20 || rt_bad "the Go program did not drop 2 old conns"
	rt_check_closed_by_app 30
	rt_wave_finish
	rt_check_program "$RT_PID" go 'ERROR|panic|fatal error'
	rt_finish
}

# --- servers: nginx, redis, postgres ------------------------------------------------

# rt_csv WORD...: the words joined with commas.
rt_csv() { local IFS=,; echo "$*"; }

# rt_free_port: a loopback port nobody listens on now (bound to 0, closed).
rt_free_port() {
	"$RT_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_rt_http_ok() { curl -s -m 2 -o /dev/null "http://127.0.0.1:$1/"; }
_rt_one_child() {
	local kids
	kids=$(ps -o pid= --ppid "$1" | tr -d ' ')
	[[ $(wc -w <<<"$kids") -eq 1 ]] && RT_CHILD=$kids
}

# Idle keep-alive connections reset by --reset: each client must read
# ECONNRESET. nginx keeps a keep-alive timer for each; after a plain close
# and reuse, those timers close numbers that new clients now have. The new
# clients stay busy past the old timers' deadline (requests every 200 ms).
# The timeout (10 s) leaves a loaded machine time to reap before nginx
# would close the idle connections by itself.
test_rt_nginx_keepalive_reset() {
	rt_init
	rt_need nginx curl
	local dir=$TMP/nginx port keepalive=10 try worker until
	mkdir -p "$dir"
	for try in 1 2 3; do
		port=$(rt_free_port)
		sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@KEEPALIVE@|${keepalive}s|g" \
			"$RT/nginx.conf.in" >"$dir/nginx.conf"
		spawn nginx -p "$dir" -c "$dir/nginx.conf"
		RT_PID=$SPAWNED
		rt_poll 20 eval '_rt_http_ok "$port" || ! rt_alive "$RT_PID"'
		rt_alive "$RT_PID" && break
		echo "nginx did not start on port $port: $(tail -2 "$dir/error.log")" >&2
	done
	rt_alive "$RT_PID" || fail "nginx did not start"
	RT_LOG=$dir/error.log
	rt_poll 20 _rt_one_child "$RT_PID" || fail "nginx has no single worker"
	worker=$RT_CHILD
	track_pid "$worker"
	rt_idle_start http "$port" 10
	until=$(jq -r ".time + $keepalive + 1.5" "$IDLE_READY")
	rt_reap reset "$worker" --state established --sport "$port" --dport "$(rt_csv $IDLE_PORTS)"
	# New clients at once: they must hold the numbers before the old
	# connections' keep-alive timers run out.
	rt_wave_start wave "$port" 30 2 --proto http --active-until "$until" --interval 200
	rt_expect_reaped 10
	rt_check_idle_ends reset 20
	rt_check_placeholders loose
	rt_check_gone_from_ss 20
	rt_wave_finish
	RT_PID=$worker
	rt_check_program "$worker" "nginx worker" 'Bad file descriptor|\[alert\]|\[crit\]|\[emerg\]|exited on signal'
	rt_finish
}

_rt_redis_ping() { [[ $(timeout 5 redis-cli -p "$1" ping 2>/dev/null) == PONG ]]; }

# rt_redis_client_list: CLIENT LIST over our own connection ($RT_REDIS,
# opened before the reap, so it is served whatever happens to new ones).
rt_redis_client_list() {
	local hdr n data
	printf 'CLIENT LIST\r\n' >&"$RT_REDIS"
	read -r -t 5 -u "$RT_REDIS" hdr || return 1
	hdr=${hdr%$'\r'}
	[[ $hdr == '$'* ]] || return 1
	n=${hdr#\$}
	read -r -t 5 -N $((n + 2)) -u "$RT_REDIS" data || return 1
	printf '%s' "$data"
}

# Idle clients closed by the default action: redis must see EOF, free each
# client, and serve every new one. After a plain close redis keeps the
# clients (ghosts) and its event loop still thinks it watches their numbers:
# new clients that get them are accepted but never served.
test_rt_redis_idle_clients() {
	rt_init
	rt_need redis-server redis-cli
	local dir=$TMP/redis port try ghosts dups list
	mkdir -p "$dir"
	RT_LOG=$dir/redis.log
	for try in 1 2 3; do
		port=$(rt_free_port)
		spawn redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
			--dir "$dir" --logfile "$RT_LOG" --daemonize no --protected-mode no
		RT_PID=$SPAWNED
		rt_poll 20 eval '_rt_redis_ping "$port" || ! rt_alive "$RT_PID"'
		rt_alive "$RT_PID" && break
	done
	rt_alive "$RT_PID" || fail "redis-server did not start: $(tail -3 "$RT_LOG")"
	exec {RT_REDIS}<>"/dev/tcp/127.0.0.1/$port"
	rt_idle_start redis "$port" 10
	list=$(rt_redis_client_list) || fail "CLIENT LIST failed"
	[[ $(grep -c '^id=' <<<"$list") -eq 11 ]] || fail "expected 11 clients, CLIENT LIST: $list"
	rt_reap default "$RT_PID" --state established --sport "$port" --dport "$(rt_csv $IDLE_PORTS)"
	rt_expect_reaped 10
	rt_check_idle_ends eof 20
	rt_check_placeholders loose
	rt_check_gone_from_ss 20
	_rt_no_ghosts() {
		local p
		list=$(rt_redis_client_list) || { ghosts="(CLIENT LIST failed)"; return 1; }
		ghosts=""
		for p in $IDLE_PORTS; do
			grep -q " addr=127.0.0.1:$p " <<<"$list" && ghosts+="$p "
		done
		[[ -z $ghosts ]]
	}
	rt_poll 20 _rt_no_ghosts || rt_bad "ghost clients in CLIENT LIST 20 s after the reap: client ports $ghosts"
	rt_wave_start wave "$port" 20 2 --proto redis
	list=$(rt_redis_client_list) || rt_bad "CLIENT LIST failed after the wave"
	dups=$(grep -o ' fd=[0-9]*' <<<"$list" | sort | uniq -d | tr '\n' ' ')
	[[ -z $dups ]] || rt_bad "duplicate fds in CLIENT LIST:$dups"
	rt_wave_finish
	rt_check_program "$RT_PID" redis 'Error registering fd|ASSERTION|crashed by signal'
	rt_finish
}

rt_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
rt_psql() { timeout 10 psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atq -c "$1"; }

# Idle backends whose client sockets the default action closes: each backend
# must wake (its WaitEventSet's epoll entry is re-registered on the
# placeholder), read EOF and exit. After a plain close the backend's epoll
# entry is gone with the socket: a backend whose wait is not interrupted
# waits for ever (a ghost session in pg_stat_activity until someone
# terminates it); one whose wait ended with EINTR reads the freed number:
# "could not receive data from client: Bad file descriptor" (what today's
# engine causes), or whichever file got the number meanwhile.
test_rt_postgres_idle_backends() {
	rt_init
	local bin
	bin=$(rt_pg_bin)
	[[ -n $bin && -x $bin/postgres && -x $bin/initdb ]] || skip "needs postgresql (scripts/install-deps installs it)"
	rt_need psql runuser
	id postgres >/dev/null 2>&1 || skip "needs the postgres user (the postgresql package creates it)"
	local dir=$TMP/pg try pids left
	chmod 711 "$TMP"
	mkdir -p "$dir"
	chown postgres: "$dir"
	(cd "$dir" && timeout -k 5 120 runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust \
		-U postgres --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1) ||
		fail "initdb failed: $(tail -5 "$dir/initdb.log")"
	RT_LOG=$dir/pg.log
	for try in 1 2 3; do
		PG_PORT=$(rt_free_port)
		(cd "$dir" && exec runuser -u postgres -- "$bin/postgres" -D "$dir/data" -h 127.0.0.1 \
			-p "$PG_PORT" -k "$dir" -c fsync=off -c shared_buffers=16MB -c max_connections=50 \
			-c log_connections=on -c log_disconnections=on) >>"$RT_LOG" 2>&1 &
		track_pid $!
		RT_CLEANUP+=("timeout -k 5 20 runuser -u postgres -- '$bin/pg_ctl' -D '$dir/data' stop -m immediate -t 10")
		rt_poll 30 eval 'rt_psql "select 1" >/dev/null 2>&1 || ! kill -0 $! 2>/dev/null'
		rt_psql "select 1" >/dev/null 2>&1 && break
	done
	rt_psql "select 1" >/dev/null 2>&1 || fail "postgres did not start: $(tail -5 "$RT_LOG")"
	RT_PID=$(head -1 "$dir/data/postmaster.pid")
	track_pid "$RT_PID"
	rt_idle_start pg "$PG_PORT" 5
	local ports_sql
	ports_sql=$(tr ' ' ',' <<<"${IDLE_PORTS% }")
	pids=$(rt_psql "select string_agg(pid::text, ',') from pg_stat_activity where client_port in ($ports_sql)")
	[[ $(tr ',' '\n' <<<"$pids" | wc -l) -eq 5 ]] || fail "expected 5 backends for the idle clients, got '$pids'"
	rt_reap default "$pids" --state established --sport "$PG_PORT" --dport "$(rt_csv $IDLE_PORTS)"
	rt_expect_reaped 5
	rt_check_idle_ends eof 20
	rt_check_placeholders loose
	rt_check_gone_from_ss 20
	_rt_no_backends() {
		left=$(rt_psql "select count(*) from pg_stat_activity where client_port in ($ports_sql)")
		[[ $left == 0 ]]
	}
	rt_poll 20 _rt_no_backends || rt_bad "$left ghost backend(s) in pg_stat_activity 20 s after the reap (pids $pids)"
	local p
	for p in ${pids//,/ }; do
		rt_poll 10 eval '! [[ -d /proc/$p ]]' || rt_bad "backend $p still running"
	done
	rt_wave_start wave "$PG_PORT" 10 2 --proto pg
	rt_wave_finish
	# A backend that reads a number it no longer has says so: after a
	# plain close, its woken wait reads the freed fd (EBADF).
	rt_check_program "$RT_PID" postgres 'Bad file descriptor|PANIC|terminated by signal|was terminated'
	rt_finish
}

# --- the number-freeing close -------------------------------------------------------

# rt_note TEXT: a documented observation, not a failure (in the test's log,
# and appended to $RT_NOTES if set).
rt_note() {
	echo "NOTE: $*" >&2
	[[ -z ${RT_NOTES:-} ]] || echo "$*" >>"$RT_NOTES"
}

# --free-fd on node's half-open sockets, where the hazard is expected: the
# numbers must be free right after (that is what the option is for), node's
# idle sweep must still run; whether the sweep then closed new clients that
# got the numbers is recorded, not judged.
test_rt_free_fd_documents_hazard() {
	rt_init
	rt_node_start
	rt_leak "$NODE_HO" 4
	rt_wait_log 'halfopen ended' 20 4 || fail "node did not see 4 FINs"
	rt_reap free-fd "$NODE_PID" --state close-wait
	rt_expect_reaped 4
	rt_check_fds_freed
	rt_check_gone_from_ss 20
	rt_wave_start wave "$NODE_SERVE" 12 1
	local i reused=0 cut
	for i in "${!REAP_FDS[@]}"; do
		[[ $(fd_link "${REAP_PIDS[i]}" "${REAP_FDS[i]}") == socket:* ]] && reused=$((reused + 1))
	done
	rt_send sweep
	rt_wait_log 'ack sweep destroyed 4' 20 || rt_bad "node's idle sweep did not destroy the 4 old sockets"
	touch "$WAVE_GO"
	rt_wait_file "$WAVE_REPORT" 90 "$WAVE_PID"
	cut=$(jq '.kept_served_first - .served_kept' "$WAVE_REPORT")
	rt_note "--free-fd on node: $reused of 4 freed numbers went to new connections; node's stale idle sweep then cut $cut of 12 new clients"
	rt_check_program "$NODE_PID" node
	rt_finish
}
