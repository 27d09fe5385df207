# The audit log (issue 10): never a root write into another file (links,
# FIFOs, foreign or writable files refused, exit 4), only allowed paths
# under sudo, valid UTF-8 JSON whatever the owner is called, whole records
# or none when the disk is full, and refusals recorded too. Targets are
# tests/bin/blocker processes; mounts happen in private mount namespaces.
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

audit_start() {
	need_root
	start_blocker "${1:-blocker}" --leak 10 --threads 1 --block nanosleep --duration-ms 60000
	AUDIT=$TMP/audit.log
}

# assert_whole_records FILE: every line is a JSON object, valid UTF-8, and
# the file ends with a newline (no torn record).
assert_whole_records() {
	local f=$1
	[[ ! -s $f ]] && return 0
	iconv -f UTF-8 -t UTF-8 "$f" >/dev/null || fail "$f is not valid UTF-8"
	[[ $(tail -c 1 "$f" | od -An -c | tr -d ' ') == '\n' ]] || fail "$f ends in a torn record: $(tail -c 200 "$f")"
	jq -e -s 'all(type == "object")' "$f" >/dev/null || fail "$f is not JSON lines"
}

# refused_log PATH WHY: acting with --audit-log PATH is refused (exit 4)
# naming WHY, and nothing is touched; a dry run is refused too.
refused_log() {
	local path=$1 why=$2
	run_sockreap -4 --port "$PORT" --state close-wait --yes --audit-log "$path"
	assert_rc 4
	grep -q "refusing the audit log" "$ERR" || fail "no refusal message"
	grep -qF -- "$why" "$ERR" || fail "the refusal does not say '$why'"
	assert_leaks_untouched
	assert_all_threads_untraced "$BPID"
	run_sockreap -4 --port "$PORT" --state close-wait --dry-run --audit-log "$path"
	assert_rc 4
}

# A symbolic link planted in a world-writable sticky directory (like /tmp)
# pointing at a file root would write to.
test_audit_symlink_refused() {
	audit_start
	mkdir -m 1777 "$TMP/pub"
	echo precious >"$TMP/precious"
	ln -s "$TMP/precious" "$TMP/pub/audit.log"
	refused_log "$TMP/pub/audit.log" "symbolic link"
	[[ $(cat "$TMP/precious") == precious ]] || fail "the link's target was written to"
}

# A FIFO: the open must neither block nor write (no reader, then a reader).
test_audit_fifo_refused_no_hang() {
	audit_start
	mkfifo "$TMP/fifo.log"
	OUT=$TMP/out ERR=$TMP/err
	timeout -k 5 20 "$SOCKREAP" -4 --port "$PORT" --state close-wait --yes --audit-log "$TMP/fifo.log" >"$OUT" 2>"$ERR"
	RC=$?
	[[ $RC -ne 124 ]] || fail "sockreap hung on the FIFO"
	assert_rc 4
	grep -q "FIFO" "$ERR" || fail "the refusal does not name the FIFO: $(cat "$ERR")"
	# with a reader waiting on it as well
	# cat itself, not a timeout(1) around it: teardown kills what spawn
	# tracked, and a killed timeout left its cat blocked on the FIFO
	spawn cat "$TMP/fifo.log"
	refused_log "$TMP/fifo.log" "FIFO"
	assert_leaks_untouched
}

test_audit_foreign_or_writable_refused() {
	audit_start
	mkdir -m 1777 "$TMP/pub"
	install -m 0666 -o 65534 -g 65534 /dev/null "$TMP/pub/other.log"
	refused_log "$TMP/pub/other.log" "belongs to uid 65534"
	install -m 0600 -o 65534 -g 65534 /dev/null "$TMP/pub/theirs.log"
	refused_log "$TMP/pub/theirs.log" "belongs to uid 65534"
	install -m 0666 /dev/null "$TMP/ww.log"
	refused_log "$TMP/ww.log" "world-writable"
	mkdir -m 0777 "$TMP/open"
	refused_log "$TMP/open/audit.log" "is world-writable"
	install -m 0600 /dev/null "$TMP/one.log"
	ln "$TMP/one.log" "$TMP/pub/hardlink.log"
	refused_log "$TMP/pub/hardlink.log" "hard links"
	[[ ! -s $TMP/pub/other.log && ! -s $TMP/one.log ]] || fail "a refused log was written to"
}

# /dev/null stays allowed: scripts and benchmarks discard the log with it.
test_audit_dev_null_allowed() {
	audit_start
	run_sockreap -4 --port "$PORT" --state close-wait --yes --audit-log /dev/null
	assert_rc 0
	assert_only_leaks_closed
}

# Under sudo (SUDO_UID set, or real uid != effective uid) only the default
# log, or a path /etc/sockreap.conf allows, may be named. The configuration
# is put in place with an overlay over /etc in a private mount namespace,
# the default log on a tmpfs over /var/log: the host's files are untouched.
test_audit_under_sudo_only_allowed_paths() {
	audit_start
	need_cmd unshare
	SUDO_UID=1000 SUDO_USER=alice run_sockreap -4 --port "$PORT" --state close-wait --yes --audit-log "$AUDIT"
	assert_rc 4
	grep -q "under sudo only /var/log/sockreap.log or a path allowed in /etc/sockreap.conf" "$ERR" ||
		fail "no explanation of the sudo rule"
	assert_leaks_untouched
	[[ ! -e $AUDIT ]] || fail "the refused log was created"
	mkdir "$TMP/ns"
	cat >"$TMP/ns/run.sh" <<-'EOF'
		set -e
		mount -t tmpfs -o size=4m,mode=0700 tmpfs "$NS"
		mkdir "$NS/up" "$NS/work" "$NS/varlog"
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$NS/up,workdir=$NS/work" /etc
		mount --bind "$NS/varlog" /var/log
		chmod 0755 /var/log
		# a conf another user could write is ignored
		printf 'audit-log-allow = %s\n' "$AUDIT" >/etc/sockreap.conf
		chmod 0666 /etc/sockreap.conf
		rc=0; SUDO_UID=1000 "$SOCKREAP" -4 --port "$PORT" --state close-wait --dry-run -q --audit-log "$AUDIT" 2>"$NS/err1" >/dev/null || rc=$?
		echo "writable-conf $rc $(cat "$NS/err1")"
		chmod 0644 /etc/sockreap.conf
		rc=0; SUDO_UID=1000 "$SOCKREAP" -4 --port "$PORT" --state close-wait --dry-run -q --audit-log "$AUDIT" >/dev/null || rc=$?
		echo "allowed $rc"
		rc=0; SUDO_UID=1000 "$SOCKREAP" -4 --port "$PORT" --state close-wait --dry-run -q --audit-log /dev/null 2>/dev/null >/dev/null || rc=$?
		echo "devnull $rc"
		rc=0; SUDO_UID=1000 "$SOCKREAP" -4 --port "$PORT" --state close-wait --dry-run -q >/dev/null || rc=$?
		echo "default $rc $(grep -c '"phase":"plan"' /var/log/sockreap.log)"
	EOF
	NS=$TMP/ns AUDIT=$AUDIT SOCKREAP=$SOCKREAP PORT=$PORT timeout -k 5 60 unshare -m bash "$TMP/ns/run.sh" >"$TMP/ns.out" 2>&1 ||
		fail "the namespace script failed: $(cat "$TMP/ns.out")"
	cat "$TMP/ns.out" >&2
	grep -q '^writable-conf 4 .*is ignored' "$TMP/ns.out" || fail "a world-writable conf was trusted"
	grep -q '^allowed 0$' "$TMP/ns.out" || fail "a path the conf allows was refused"
	grep -q '^devnull 4$' "$TMP/ns.out" || fail "/dev/null was accepted under sudo without the conf"
	grep -q '^default 0 10$' "$TMP/ns.out" || fail "the default log was refused under sudo"
	[[ $(grep -c '"phase":"plan"' "$AUDIT") -eq 10 ]] || fail "the allowed log has no records"
	[[ ! -e /etc/sockreap.conf ]] || fail "the host's /etc was changed"
	assert_leaks_untouched
}

# An owner whose executable lives under a 300-byte directory and is named
# with bytes that are not UTF-8: records stay valid UTF-8 JSON, exe is
# whole, the raw bytes are kept in exe_hex and comm_hex.
test_audit_utf8_and_long_exe() {
	need_root
	local long dir name
	long=$(printf 'd%.0s' {1..150})
	dir=$TMP/$long/$long
	mkdir -p "$dir"
	name=$'blk\xff\xfe'
	cp "$BIN/blocker" "$dir/$name"
	BIN=$dir audit_start "$name"
	reap_json() { run_sockreap -4 --port "$PORT" --state close-wait --audit-log "$AUDIT" "$@"; }
	reap_json --yes --json
	assert_rc 0
	assert_only_leaks_closed
	assert_whole_records "$AUDIT"
	assert_whole_records "$OUT"
	local rec hex want
	rec=$(grep '"phase":"result"' "$AUDIT" | head -1)
	want=$(printf '%s' "$dir/$name" | od -An -v -tx1 | tr -d ' \n')
	hex=$(jq -r .exe_hex <<<"$rec")
	[[ $hex == "$want" ]] || fail "exe_hex is not the whole path: $hex"
	[[ $(jq -r '.exe | length' <<<"$rec") -gt 300 ]] || fail "exe was cut"
	[[ $(jq -r .comm_hex <<<"$rec") == 626c6bfffe ]] || fail "no comm_hex: $rec"
	[[ $(jq -r .comm <<<"$rec") == $'blk\uFFFD\uFFFD' ]] || fail "comm not with U+FFFD: $(jq -r .comm <<<"$rec")"
}

# The disk is full (a 64 KiB tmpfs filled up): the intents cannot be
# written, so nothing is done, and the log is exactly as it was.
test_audit_disk_full_nothing_done() {
	audit_start
	mkdir "$TMP/full"
	cat >"$TMP/full.sh" <<-'EOF'
		mount -t tmpfs -o size=64k,mode=0755 tmpfs "$D"
		"$SOCKREAP" -4 --port "$PORT" --state close-wait -n -q --audit-log "$D/audit.log" >/dev/null
		dd if=/dev/zero of="$D/fill" bs=4096 2>/dev/null
		sha1sum <"$D/audit.log" >"$T/before"
		rc=0; "$SOCKREAP" -4 --port "$PORT" --state close-wait -y --audit-log "$D/audit.log" >"$T/out" 2>"$T/err" || rc=$?
		echo "$rc" >"$T/rc"
		sha1sum <"$D/audit.log" >"$T/after"
		cp "$D/audit.log" "$T/audit.copy"
	EOF
	D=$TMP/full T=$TMP SOCKREAP=$SOCKREAP PORT=$PORT timeout -k 5 60 unshare -m bash "$TMP/full.sh" ||
		fail "the namespace script failed"
	cat "$TMP/err" >&2
	[[ $(cat "$TMP/rc") == 4 ]] || fail "expected exit 4, got $(cat "$TMP/rc")"
	grep -q "nothing is done unlogged" "$TMP/err" || fail "no message that nothing was done"
	cmp -s "$TMP/before" "$TMP/after" || fail "the log changed"
	assert_whole_records "$TMP/audit.copy"
	assert_leaks_untouched
	assert_all_threads_untraced "$BPID"
}

# Room for the intents but not for the results: the actions were done; say
# exactly that, keep the status they earned (0), never a torn record.
test_audit_disk_full_results_lost() {
	audit_start
	mkdir "$TMP/full"
	cat >"$TMP/full.sh" <<-'EOF'
		set -e
		mount -t tmpfs -o size=128k,mode=0755 tmpfs "$D"
		"$SOCKREAP" -4 --port "$PORT" --state close-wait -n -q --audit-log "$D/audit.log" >/dev/null
		P=$(stat -c %s "$D/audit.log")        # 10 plan records
		I=$((P + 30))                         # 10 intents: "intent", "false"
		dd if=/dev/zero of="$D/fill" bs=4096 2>/dev/null || true
		slack=$(( (4096 - P % 4096) % 4096 ))
		k=$(( (I + 200 - slack + 4095) / 4096 ))
		free=$(( k * 4096 + slack ))
		(( free < 2 * P - 100 )) || { echo "cannot size the free space: P=$P free=$free"; exit 1; }
		truncate -s -$((k * 4096)) "$D/fill"
		rc=0; "$SOCKREAP" -4 --port "$PORT" --state close-wait -y --audit-log "$D/audit.log" >"$T/out" 2>"$T/err" || rc=$?
		echo "$rc" >"$T/rc"
		cp "$D/audit.log" "$T/audit.copy"
	EOF
	D=$TMP/full T=$TMP SOCKREAP=$SOCKREAP PORT=$PORT timeout -k 5 60 unshare -m bash "$TMP/full.sh" ||
		fail "the namespace script failed"
	cat "$TMP/err" >&2
	[[ $(cat "$TMP/rc") == 0 ]] || fail "expected the earned exit 0, got $(cat "$TMP/rc")"
	grep -q "warning: 10 actions done, their result records could not be written" "$TMP/err" ||
		fail "no exact warning about the lost results"
	assert_whole_records "$TMP/audit.copy"
	[[ $(grep -c '"phase":"intent"' "$TMP/audit.copy") -eq 10 ]] || fail "the intents are not all there"
	[[ $(grep -c '"phase":"result"' "$TMP/audit.copy") -eq 0 ]] || fail "a result record appeared"
	grep -q "warning: 10 verify records could not be written" "$TMP/err" ||
		fail "no exact warning about the lost verify records"
	[[ $(grep -c '"phase":"verify"' "$TMP/audit.copy") -eq 0 ]] || fail "a verify record appeared"
	assert_only_leaks_closed
	assert_all_threads_untraced "$BPID"
}

# Declined consent, the refusal without a terminal, and an environment
# refusal (no CAP_SYS_PTRACE) are recorded, one record per row. The target
# runs without CAP_SYS_PTRACE too, so that sockreap without it still sees
# its fds (ptrace read access needs the tracer's capabilities to cover the
# target's).
test_audit_refusals_recorded() {
	need_root
	need_cmd setpriv
	mkdir "$TMP/bin"
	printf '#!/bin/sh\nexec setpriv --inh-caps=-sys_ptrace --bounding-set=-sys_ptrace %q "$@"\n' "$BIN/blocker" \
		>"$TMP/bin/blocker"
	chmod +x "$TMP/bin/blocker"
	BIN=$TMP/bin audit_start blocker
	reap() { run_sockreap -4 --port "$PORT" --state close-wait --audit-log "$AUDIT" "$@"; }
	reap </dev/null
	assert_rc 4
	[[ $(jq -s '[.[] | select(.result == "refused" and (.reason | test("no terminal")))] | length' "$AUDIT") -eq 10 ]] ||
		fail "the no-terminal refusal is not recorded"
	need_cmd script
	printf 'n\n' | script -qec "$SOCKREAP -4 --port $PORT --state close-wait --audit-log $AUDIT" /dev/null >/dev/null 2>&1
	[[ $(jq -s '[.[] | select(.result == "refused" and (.reason | test("not confirmed")))] | length' "$AUDIT") -eq 10 ]] ||
		fail "the declined consent is not recorded"
	OUT=$TMP/out ERR=$TMP/err
	setpriv --inh-caps=-sys_ptrace --bounding-set=-sys_ptrace "$SOCKREAP" -4 --port "$PORT" --state close-wait --yes \
		--audit-log "$AUDIT" >"$OUT" 2>"$ERR"
	RC=$?
	assert_rc 4
	grep -q "no CAP_SYS_PTRACE" "$ERR" || fail "no message about CAP_SYS_PTRACE: $(cat "$ERR")"
	[[ $(jq -s '[.[] | select(.result == "refused" and (.reason | test("CAP_SYS_PTRACE")))] | length' "$AUDIT") -eq 10 ]] ||
		fail "the environment refusal is not recorded"
	! grep -q '"phase":"intent"' "$AUDIT" || fail "an intent was logged"
	assert_leaks_untouched
	assert_whole_records "$AUDIT"
}

# SUDO_USER is recorded, labelled, only when sudo really runs us: our
# parent is a setuid-root program named sudo (here a setuid copy of bash;
# the tests cannot assume sudo is installed). The actor is never SUDO_USER.
test_audit_sudo_user_only_under_sudo() {
	audit_start
	SUDO_USER=mallory "$SOCKREAP" -4 --port "$PORT" --state close-wait -n -q --audit-log "$AUDIT" >/dev/null
	jq -e -s 'all(has("sudo_user") | not) and all(.actor != "mallory")' "$AUDIT" >/dev/null ||
		fail "SUDO_USER trusted without sudo"
	mkdir -p "$TMP/sbin" "$TMP/ns"
	cp /bin/bash "$TMP/sbin/sudo"
	chmod 4755 "$TMP/sbin/sudo"
	cat >"$TMP/ns/run.sh" <<-'EOF'
		mount -t tmpfs -o size=1m,mode=0755 tmpfs /var/log
		SUDO_USER=alice SUDO_UID=1000 "$SUDO" -c '"$SOCKREAP" -4 --port "$PORT" --state close-wait -n -q >/dev/null; exit $?'
		cp /var/log/sockreap.log "$T/sudo.log"
	EOF
	# the binary itself, sudo's child (sockreap-bounded would put timeout(1)
	# between them); the timeout around the script bounds it
	SUDO=$TMP/sbin/sudo T=$TMP SOCKREAP=$SOCKREAP_BIN PORT=$PORT timeout -k 5 60 unshare -m bash "$TMP/ns/run.sh" ||
		fail "the namespace script failed"
	jq -e -s 'length == 10 and all(.sudo_user == "alice" and .sudo_uid == "1000" and .actor != "alice")' \
		"$TMP/sudo.log" >/dev/null || fail "under sudo: $(head -1 "$TMP/sudo.log")"
}
