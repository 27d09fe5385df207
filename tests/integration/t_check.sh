# sockreap --check --pid N (issue 10): a pre-flight answer that touches
# nothing (no attach, no signal: checked under strace), exit 0 when acting
# would work and 4 when not, with the reason; --json says the same.
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

check() { run_sockreap --check --pid "$@"; }

test_check_ok_and_touches_nothing() {
	need_root
	need_cmd strace
	start_blocker blocker --leak 3 --threads 1 --block nanosleep --duration-ms 60000
	OUT=$TMP/out ERR=$TMP/err
	# (LeakSanitizer stops the world with ptrace: impossible under strace)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e signal=none -o "$TMP/trace" \
		-e trace=ptrace,kill,tkill,tgkill,pidfd_send_signal,rt_sigqueueinfo,process_vm_writev,pidfd_getfd \
		"$SOCKREAP" --check --pid "$BPID" --json >"$OUT" 2>"$ERR"
	RC=$?
	cat "$OUT" "$TMP/trace" >&2
	assert_rc 0
	grep -q 'pidfd_getfd(' "$TMP/trace" || fail "the trace saw nothing: it cannot prove anything"
	! grep -v 'pidfd_getfd(\|exited with\|killed by\|+++' "$TMP/trace" | grep -q . ||
		fail "--check made a forbidden call: $(cat "$TMP/trace")"
	local nfds limit
	nfds=$(find "/proc/$BPID/fd" -mindepth 1 | wc -l)
	limit=$(awk '/^Max open files/ {print $4}' "/proc/$BPID/limits")
	jq -e --argjson n "$nfds" --argjson lim "$limit" '
		.would_work == true and .comm == "blocker" and .cap_sys_ptrace == true and .tracer_pid == 0
		and .seccomp == 0 and .pidfd_getfd == "works" and .sock_destroy == "supported"
		and .fds_open == $n and .fd_limit == $lim
		and ([.checks[] | select(.status == "fail")] | length) == 0' "$OUT" >/dev/null ||
		fail "unexpected answer: $(cat "$OUT")"
	assert_leaks_untouched
	assert_all_threads_untraced "$BPID"
	check "$BPID"
	assert_rc 0
	grep -q "^acting on pid $BPID would work" "$OUT" || fail "no verdict line"
	grep -q "SOCK_DESTROY .*private network namespace" "$OUT" || fail "does not say how SOCK_DESTROY was probed"
}

test_check_traced_by_other() {
	need_root
	need_cmd strace
	start_blocker blocker --leak 2 --threads 1 --block nanosleep --duration-ms 60000
	mkdir -p "$TMP/bin"
	cp "$(command -v strace)" "$TMP/bin/$'\e[31mx'"
	spawn "$TMP/bin/$'\e[31mx'" -o /dev/null -p "$BPID"
	local spid=$SPAWNED i
	for ((i = 0; i < 500; i++)); do
		[[ $(tracer_pid "$BPID") == "$spid" ]] && break
		sleep 0.01
	done
	check "$BPID"
	assert_rc 4
	grep -q "FAIL  tracer .*already traced by PID $spid" "$OUT" || fail "the tracer is not named"
	! LC_ALL=C grep -q $'\e' "$OUT" || fail "the tracer's comm reached the terminal raw"
	check "$BPID" --json
	assert_rc 4
	jq -e --argjson t "$spid" '.would_work == false and .tracer_pid == $t' "$OUT" >/dev/null || fail "JSON: $(cat "$OUT")"
	kill "$spid"
}

# Seccomp: attaching suspends the filter, which needs CAP_SYS_ADMIN.
test_check_seccomp_needs_cap_sys_admin() {
	need_root
	need_cmd setpriv
	start_blocker blocker --leak 2 --threads 1 --block nanosleep --duration-ms 60000 --seccomp-kill-close
	local i
	for ((i = 0; i < 500; i++)); do
		[[ $(awk '/^Seccomp:/ {print $2}' "/proc/$BPID/status") == 2 ]] && break
		sleep 0.01
	done
	check "$BPID" --json
	assert_rc 0
	jq -e '.seccomp == 2 and .would_work' "$OUT" >/dev/null || fail "seccomp with CAP_SYS_ADMIN: $(cat "$OUT")"
	OUT=$TMP/out ERR=$TMP/err
	setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "$SOCKREAP" --check --pid "$BPID" >"$OUT" 2>"$ERR"
	RC=$?
	assert_rc 4
	grep -q "FAIL  seccomp .*needs CAP_SYS_ADMIN" "$OUT" || fail "no seccomp refusal: $(cat "$OUT")"
	assert_leaks_untouched
}

test_check_without_ptrace_capability() {
	need_root
	need_cmd setpriv
	start_blocker blocker --leak 2 --threads 1 --block nanosleep --duration-ms 60000
	OUT=$TMP/out ERR=$TMP/err
	setpriv --inh-caps=-sys_ptrace --bounding-set=-sys_ptrace "$SOCKREAP" --check --pid "$BPID" >"$OUT" 2>"$ERR"
	RC=$?
	cat "$OUT" >&2
	assert_rc 4
	grep -q "FAIL  capabilities  CAP_SYS_PTRACE NO" "$OUT" || fail "the missing capability is not named"
	grep -q "FAIL  ptrace .*not permitted" "$OUT" || fail "the attach permission is not checked"
}

# fd headroom: a soft limit at the number of open fds leaves none free.
test_check_fd_headroom() {
	need_root
	need_cmd prlimit
	start_blocker blocker --leak 2 --threads 1 --block nanosleep --duration-ms 60000
	local nfds
	nfds=$(find "/proc/$BPID/fd" -mindepth 1 | wc -l)
	prlimit --pid "$BPID" --nofile="$nfds:$((nfds + 100))"
	check "$BPID" --json
	assert_rc 0
	jq -e --argjson n "$nfds" '.fds_open == $n and .fd_limit == $n and
		([.checks[] | select(.check == "fd headroom" and .status == "warn")] | length) == 1' "$OUT" >/dev/null ||
		fail "headroom: $(cat "$OUT")"
}

test_check_refusals_and_bad_input() {
	need_root
	check 1
	assert_rc 4
	grep -q "FAIL  policy .*PID 1 is never touched" "$OUT" || fail "PID 1 not refused"
	check "$BASHPID"
	assert_rc 4
	grep -q "FAIL  policy .*ancestor" "$OUT" || fail "an ancestor not refused"
	check 2147483647
	assert_rc 1
	run_sockreap --check
	assert_rc 2
	grep -q -- "--check: needs exactly one process" "$ERR" || fail "no message"
	run_sockreap --check --pid 1,2
	assert_rc 2
	run_sockreap --check --pid 5 --port 80
	assert_rc 2
	grep -q -- "--check: takes no socket filters" "$ERR" || fail "no message for a filter"
}

# A zombie leader's fds are found, but ptrace cannot stop it: say so.
test_check_zombie_leader() {
	need_root
	spawn "$BIN/zleader" --leak 2 --ready "$TMP/z.json"
	local zpid=$SPAWNED i
	wait_for_file "$TMP/z.json"
	for ((i = 0; i < 500; i++)); do
		[[ $(proc_state "$zpid") == Z ]] && break
		sleep 0.01
	done
	check "$zpid" --json
	assert_rc 4
	jq -e '.would_work == false and .fds_open > 0 and
		([.checks[] | select(.check == "state" and .status == "fail")] | length) == 1' "$OUT" >/dev/null ||
		fail "zombie leader: $(cat "$OUT")"
}

# Syscall user dispatch: said per kernel (Linux 6.4 reads it per thread),
# and a target that maps Wine's ntdll.so is named as such.
test_check_dispatch() {
	local want=ok wine_want=info
	kernel_at_least 6 4 || { want=info wine_want=fail; }
	start_blocker blocker --leak 1 --threads 1 --block nanosleep --duration-ms 60000
	check "$BPID" --json
	jq -e --arg w "$want" '[.checks[] | select(.check == "dispatch" and .status == $w)] | length == 1' "$OUT" \
		>/dev/null || fail "dispatch: not $want: $(cat "$OUT")"
	cp "$(ldconfig -p | awk '/libdl\.so\.2 .*x86-64|libdl\.so\.2 \(libc6,AArch64/ {print $NF; exit}')" "$TMP/ntdll.so" ||
		fail "no libdl.so.2 to map as ntdll.so"
	BLK=w LD_PRELOAD=$TMP/ntdll.so start_blocker blocker --leak 1 --threads 1 --block nanosleep --duration-ms 60000
	grep -q '/ntdll\.so$' "/proc/$BPID/maps" || fail "the blocker does not map ntdll.so"
	check "$BPID" --json
	jq -e --arg w "$wine_want" '[.checks[] | select(.check == "dispatch" and .status == $w
		and (.detail | test("ntdll.so")))] | length == 1' "$OUT" >/dev/null ||
		fail "dispatch with ntdll.so mapped: not $wine_want: $(cat "$OUT")"
}
