# Container identity (issue 11) from real cgroup files: the test makes
# cgroups shaped like docker's, containerd's under Kubernetes, podman's and
# the kubelet's cgroupfs layout (mkdir under the cgroup v2 hierarchy; PID 1
# here is no systemd, so no systemd-run), moves a blocker into each and
# checks what sockreap says of it in JSON, in the table and in the audit
# log, and that --container and --pod select it. A blocker that is PID 1 of
# its own PID namespace is acted on, with the note that it is the
# container's main process.
source "$(dirname "${BASH_SOURCE[0]}")/inject_lib.sh"

CTR_ID=3f2a9c81e0b14d6c9a7b2e5f8c1d0a4b6e3f7a9c2d5b8e1f4a7c0d3b6e9f2a5c
POD_UID=8f14e45f-ceea-467f-a8f8-23b0a0f1c2d3

# cgroup_root: a writable cgroup v2 hierarchy (CGROOT), or skip loudly.
cgroup_root() {
	need_root
	need_cmd jq
	need_cmd findmnt
	CGROOT=$(findmnt -n -t cgroup2 -o TARGET | head -1)
	[[ -n $CGROOT ]] || skip "no cgroup v2 hierarchy mounted"
	CGBASE=$CGROOT/sr-test-$$
	mkdir "$CGBASE" 2>/dev/null || skip "cannot create cgroups under $CGROOT"
	at_teardown "rmdir_tree '$CGBASE'"
}

# rmdir_tree DIR: remove a cgroup tree deepest first; a killed process
# leaves its cgroup a moment after it was reaped, so retry briefly.
rmdir_tree() {
	local i d
	for ((i = 0; i < 200; i++)); do
		while read -r d; do rmdir "$d" 2>/dev/null; done < <(find "$1" -depth -type d 2>/dev/null)
		[[ -d $1 ]] || return 0
		sleep 0.02
	done
	echo "could not remove cgroup $1" >&2
}

# into_cgroup REL PID: make CGBASE/REL and move PID into it.
into_cgroup() {
	mkdir -p "$CGBASE/$1" || fail "mkdir $CGBASE/$1"
	echo "$2" >"$CGBASE/$1/cgroup.procs" || fail "cannot move $2 into $1"
	grep -q "^0::.*/$1\$" "/proc/$2/cgroup" || fail "pid $2 not in $1: $(cat "/proc/$2/cgroup")"
}

ctr_blocker() {
	BLK=c start_blocker blocker --leak 3 --block nanosleep --duration-ms 120000
}

# ctr_json FILTER: rows of the blocker whose .container satisfies FILTER
ctr_rows() {
	json_count ".pid == $BPID and ($1)"
}

test_container_docker() {
	cgroup_root
	ctr_blocker
	into_cgroup "system.slice/docker-$CTR_ID.scope" "$BPID"
	run_sockreap --pid "$BPID" --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 0
	local all
	all=$(json_count "true")
	[[ $all -ge 5 ]] || fail "expected the blocker's sockets, got $all rows"
	assert_eq "$(ctr_rows ".container.runtime == \"docker\" and .container.id == \"$CTR_ID\" and
		(.container.cgroup | endswith(\"/system.slice/docker-$CTR_ID.scope\"))")" "$all" "rows with the docker identity"
	assert_eq "$(jq -s "[.[] | select(.phase == \"plan\" and .container.id == \"$CTR_ID\")] | length" "$TMP/audit.log")" \
		"$all" "audit records with the container"

	run_sockreap --pid "$BPID" --dry-run --audit-log "$TMP/audit.log"
	head -1 "$OUT" | grep -q CONTAINER || fail "no CONTAINER column in the table"
	assert_eq "$(grep -c "docker:${CTR_ID:0:12} " "$OUT")" "$all" "table rows showing docker:${CTR_ID:0:12}"

	# --container: a prefix of the id, with or without the runtime
	for sel in "${CTR_ID:0:6}" "docker:${CTR_ID:0:10}"; do
		run_sockreap --container "$sel" --dry-run --json --audit-log "$TMP/audit.log"
		assert_rc 0
		assert_eq "$(json_count ".pid == $BPID")" "$all" "rows selected by --container $sel"
		assert_eq "$(json_count ".container.id != \"$CTR_ID\"")" 0 "rows of other containers for --container $sel"
	done
	run_sockreap --container "podman:${CTR_ID:0:10}" --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 1
}

test_container_kubernetes_containerd() {
	cgroup_root
	export POD_NAME=web-0 POD_NAMESPACE=shop
	ctr_blocker
	unset POD_NAME POD_NAMESPACE
	local u=${POD_UID//-/_}
	into_cgroup "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod$u.slice/cri-containerd-$CTR_ID.scope" "$BPID"
	run_sockreap --pid "$BPID" --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 0
	local all
	all=$(json_count "true")
	assert_eq "$(ctr_rows ".container.runtime == \"containerd\" and .container.id == \"$CTR_ID\" and
		.container.pod_uid == \"$POD_UID\" and .container.pod_name == \"web-0\" and .container.pod_namespace == \"shop\"")" \
		"$all" "rows with the pod identity"
	for sel in web-0 shop/web-0 "${POD_UID:0:8}"; do
		run_sockreap --pod "$sel" --dry-run --json --audit-log "$TMP/audit.log"
		assert_rc 0
		assert_eq "$(json_count ".pid == $BPID")" "$all" "rows selected by --pod $sel"
		assert_eq "$(json_count ".container.pod_uid != \"$POD_UID\"")" 0 "other pods' rows for --pod $sel"
	done
	run_sockreap --pod other/web-0 --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 1
	run_sockreap --pod web-0 --container "${CTR_ID:0:8}" --state close-wait --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 0
	assert_eq "$(json_count ".pid == $BPID and .state == \"CLOSE-WAIT\"")" 3 "CLOSE-WAIT rows of the pod's container"
}

test_container_kubernetes_cgroupfs_and_podman() {
	cgroup_root
	export KUBERNETES_SERVICE_HOST=10.0.0.1 HOSTNAME=api-7
	ctr_blocker
	unset KUBERNETES_SERVICE_HOST
	local k8s=$BPID
	into_cgroup "kubepods/burstable/pod$POD_UID/$CTR_ID" "$k8s"
	BLK=p start_blocker blocker --leak 2 --block nanosleep --duration-ms 120000
	local pod=$BPID id2=${CTR_ID:32}${CTR_ID:0:32}
	into_cgroup "user.slice/user-1000.slice/user@1000.service/user.slice/libpod-$id2.scope/container" "$pod"

	run_sockreap --pid "$k8s,$pod" --dry-run --json --audit-log "$TMP/audit.log"
	assert_rc 0
	BPID=$k8s
	[[ $(ctr_rows "true") -ge 5 ]] || fail "no rows of the kubepods blocker"
	assert_eq "$(ctr_rows ".container.runtime != \"cri\" or .container.id != \"$CTR_ID\" or
		.container.pod_uid != \"$POD_UID\" or .container.pod_name != \"api-7\"")" 0 "kubepods cgroupfs identity"
	BPID=$pod
	[[ $(ctr_rows "true") -ge 4 ]] || fail "no rows of the podman blocker"
	assert_eq "$(ctr_rows ".container.runtime != \"podman\" or .container.id != \"$id2\" or .container.pod_uid != null")" \
		0 "podman identity"
}

# PID 1 of its own PID namespace (NSpid ... 1), in a docker-shaped cgroup:
# acted on, and the plan says it is the container's main process.
test_container_pid1_acted_on_with_note() {
	cgroup_root
	need_cmd unshare
	local ready=$TMP/c1.ready.json i kid
	spawn unshare --pid --fork "$BIN/blocker" --leak 3 --block nanosleep --duration-ms 120000 \
		--ready "$ready" --report "$TMP/c1.report.json" --fifo "$TMP/c1.fifo"
	local outer=$SPAWNED
	wait_for_file "$ready"
	BPID=$(awk '{print $1}' "/proc/$outer/task/$outer/children")
	[[ -n $BPID ]] || fail "no child of unshare"
	track_pid "$BPID"
	for kid in $(cat "/proc/$BPID/task/"*/children 2>/dev/null); do track_pid "$kid"; done
	assert_eq "$(jq .pid "$ready")" 1 "the blocker's own pid"
	grep -q "^NSpid:.*[[:space:]]1\$" "/proc/$BPID/status" || fail "blocker is not PID 1 of a PID namespace"
	into_cgroup "system.slice/docker-$CTR_ID.scope" "$BPID"
	LEAK_FIRST=$(jq .leak_first "$ready") LEAK_LAST=$(jq .leak_last "$ready")

	local before=()
	for ((i = LEAK_FIRST; i <= LEAK_LAST; i++)); do
		before[i]=$(fd_link "$BPID" "$i")
	done
	run_sockreap --pid "$BPID" --state close-wait --yes --json --audit-log "$TMP/audit.log"
	assert_rc 0
	assert_eq "$(json_count ".pid == $BPID and .result == \"done\" and .nspid == 1 and
		(.note // \"\" | test(\"container's main process\"))")" 3 "container PID 1 rows done with the note"
	for ((i = LEAK_FIRST; i <= LEAK_LAST; i++)); do
		# the default close keeps the number with a placeholder of its own
		[[ ${before[i]} == socket:* ]] || continue
		[[ $(fd_link "$BPID" "$i") == socket:* && $(fd_link "$BPID" "$i") != "${before[i]}" ]] ||
			fail "fd $i of the container's PID 1: ${before[i]} before, $(fd_link "$BPID" "$i") now (expected a placeholder)"
	done
	assert_all_threads_untraced "$BPID"
}
