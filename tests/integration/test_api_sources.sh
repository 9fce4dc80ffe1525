#!/usr/bin/env bash
# The API sources against loopback stand-ins: a Kubernetes API server over
# HTTPS on 127.0.0.1 (own CA, server and client certificates made here with
# openssl; bearer-token and client-certificate auth; the node field
# selector asserted) and a Docker Engine API on a unix socket, both serving
# tests/fixtures. Driven through tests/tools/apiprobe, built here against
# build/libpodscope.a. Network: 127.0.0.1 and unix sockets only.
set -u
. "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1

FIX=$ROOT/tests/fixtures
OUT=${OUTPUT:-$ROOT/build}
TMP=$(mktemp -d /tmp/podscope-apitest.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- build the probe ----------------------------------------------------------

# PODSCOPE_SAN=1: build the probe with ASan/UBSan against libpodscope-san.a,
# so every request path below is also checked for leaks and overflows.
PROBE=$TMP/apiprobe
LIB=$OUT/libpodscope.a
PROBE_CFLAGS="-g -O2"
if [ "${PODSCOPE_SAN:-0}" == 1 ]; then
	LIB=$OUT/libpodscope-san.a
	PROBE_CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
	export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
# shellcheck disable=SC2046,SC2086 # word splitting of flags is intended
if ! make -s "$LIB" >/dev/null ||
	! ${CC:-cc} $PROBE_CFLAGS -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -iquote src \
		$(pkg-config --cflags jansson libcurl) tests/tools/apiprobe.c "$LIB" \
		$(pkg-config --libs libbpf jansson libcurl libmicrohttpd yaml-0.1) -lelf -lz \
		-lpthread -o "$PROBE"; then
	not_ok "build tests/tools/apiprobe"
	finish
	exit 1
fi
ok "build tests/tools/apiprobe"

# --- certificates -------------------------------------------------------------

ssl() { openssl "$@" >/dev/null 2>&1; }
newcert() { # name subject [ext]: key + cert signed by $TMP/ca
	ssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$TMP/$1.key" -subj "$2" -out "$TMP/$1.csr" &&
		ssl x509 -req -in "$TMP/$1.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" \
			-CAcreateserial -days 1 -out "$TMP/$1.crt" -extfile <(printf '%s\n' "$3")
}
ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-keyout "$TMP/ca.key" -out "$TMP/ca.crt" -subj "/CN=podscope-test-ca" &&
	newcert server "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1" &&
	newcert client "/CN=podscope-test" "extendedKeyUsage=clientAuth" &&
	newcert stranger "/CN=someone-else" "extendedKeyUsage=clientAuth" &&
	ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-keyout "$TMP/other-ca.key" -out "$TMP/other-ca.crt" -subj "/CN=other-ca"
check "openssl made CA, server and client certificates" test -s "$TMP/client.crt"

# --- servers ------------------------------------------------------------------

echo "s3cr3t-token" >"$TMP/valid_token"
python3 tests/integration/api_server.py k8s --port-file "$TMP/port" \
	--cert "$TMP/server.crt" --key "$TMP/server.key" --client-ca "$TMP/ca.crt" \
	--token-file "$TMP/valid_token" --node node-a --podlist "$FIX/podlist.json" &
PIDS+=($!)
python3 tests/integration/api_server.py docker --socket "$TMP/docker.sock" \
	--docker-list "$FIX/docker_list.json" --docker-inspect "$FIX/docker_inspect.json" \
	--docker-inspect "$FIX/docker_inspect_exited.json" &
PIDS+=($!)
for _ in $(seq 100); do
	[ -s "$TMP/port" ] && [ -S "$TMP/docker.sock" ] && break
	sleep 0.1
done
PORT=$(cat "$TMP/port" 2>/dev/null)
check "both servers up" test -n "$PORT" -a -S "$TMP/docker.sock"

# --- helpers ------------------------------------------------------------------

# run ARGS...: runs the probe with ARGS (or, when ARGS start with "env", ARGS
# as a command); sets RC, STDOUT, STDERR, ERRLINES.
run() {
	if [ "$1" == env ]; then
		"$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	else
		"$PROBE" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	fi
	RC=$?
	STDOUT=$(cat "$TMP/out")
	STDERR=$(cat "$TMP/err")
	ERRLINES=$(wc -l <"$TMP/err")
}

# expect_fail DESC GREP ARGS...: non-zero exit, exactly one stderr line matching GREP.
expect_fail() {
	local desc=$1 pat=$2
	shift 2
	run "$@"
	if [ "$RC" -ne 0 ] && [ "$ERRLINES" -eq 1 ] && grep -q -- "$pat" "$TMP/err" &&
		[ -z "$STDOUT" ]; then
		ok "$desc"
	else
		not_ok "$desc (rc=$RC, stderr: $STDERR)"
	fi
}

b64() { base64 -w0 <"$1"; }

# kubeconfig NAME CLUSTER-FIELDS USER-FIELDS: a kubeconfig in $TMP/kube whose
# current context uses cluster {server: <test server>, CLUSTER-FIELDS} and
# user {USER-FIELDS} (flow-style YAML fields, comma-separated); prints its path.
kubeconfig() {
	local cluster="server: \"https://127.0.0.1:$PORT\""
	[ -n "$2" ] && cluster="$cluster, $2"
	mkdir -p "$TMP/kube"
	cat >"$TMP/kube/$1" <<-EOF
		apiVersion: v1
		kind: Config
		current-context: test
		contexts:
		- name: other
		  context: {cluster: nowhere, user: nobody}
		- name: test
		  context:
		    cluster: loopback
		    user: me
		clusters:
		- name: nowhere
		  cluster: {server: "https://192.0.2.1:6443"}
		- name: loopback
		  cluster: {$cluster}
		users:
		- name: nobody
		  user: {token: nope}
		- name: me
		  user: {$3}
	EOF
	echo "$TMP/kube/$1"
}

PODS_NODE_A='[["bookinfo","ratings-v1-5b7d8f9c4-abcde","0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","10.244.0.12","Running"],["shop","web-0","7d2e4f60-1a3b-4c5d-9e8f-0a1b2c3d4e5f","fd00:10:244::1f","Running"],["default","batch-job-x7k2p","c0ffee00-0000-4000-8000-000000000001","","Pending"]]'
CTRS_NODE_A='[["ratings","containerd","9a2c1e5f3b7d40e8a6c4b2d0f1e3a5c7b9d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9"],["istio-proxy","containerd","2b6f0cc904d137be2e1730235f5664094b831186c8d5d9c6fde02f0f5e1a5e27"],["web","cri-o","4c1d8e2f6a0b3c5d7e9f1a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d"],["linkerd-proxy","docker","e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],["worker","",""]]'

check_pods() { # DESC: STDOUT holds node-a's pods
	check_eq "$1: pods" "$PODS_NODE_A" \
		"$(jq -c '[.[] | [.namespace, .name, .uid, .ip, .phase]]' <<<"$STDOUT")"
	check_eq "$1: containers" "$CTRS_NODE_A" \
		"$(jq -c '[.[].containers[] | [.name, .runtime, .id]]' <<<"$STDOUT")"
}

# --- Kubernetes API: kubeconfig ---------------------------------------------------

# relative paths resolve against the kubeconfig's directory
cp "$TMP/ca.crt" "$TMP/kube-ca.crt"
mkdir -p "$TMP/kube/tokens" && cp "$TMP/valid_token" "$TMP/kube/tokens/t"
KC=$(kubeconfig token.yaml "certificate-authority: ../kube-ca.crt" "token: s3cr3t-token")
run k8s --kubeconfig "$KC" --node node-a
check_eq "token + CA file: exit 0" 0 "$RC"
check_pods "token + CA file"

KC=$(kubeconfig tokenfile.yaml "certificate-authority: ../kube-ca.crt" "tokenFile: tokens/t")
run k8s --kubeconfig "$KC" --node node-a
check_eq "tokenFile (relative): 3 pods" 3 "$(jq length <<<"$STDOUT")"

KC=$(kubeconfig data.yaml "certificate-authority-data: $(b64 "$TMP/ca.crt")" \
	"client-certificate-data: $(b64 "$TMP/client.crt"), client-key-data: $(b64 "$TMP/client.key")")
run k8s --kubeconfig "$KC" --node node-a
check_eq "client cert + CA as *-data: exit 0" 0 "$RC"
check_pods "client cert + CA as *-data"

cp "$TMP/client.crt" "$TMP/client.key" "$TMP/kube/"
KC=$(kubeconfig certfile.yaml "certificate-authority: $TMP/ca.crt" \
	"client-certificate: client.crt, client-key: ./client.key")
run k8s --kubeconfig "$KC" --node node-a
check_eq "client cert files (relative): 3 pods" 3 "$(jq length <<<"$STDOUT")"

KC=$(kubeconfig insecure.yaml "insecure-skip-tls-verify: true" "token: s3cr3t-token")
run k8s --kubeconfig "$KC" --node node-a
check_eq "insecure-skip-tls-verify: 3 pods" 3 "$(jq length <<<"$STDOUT")"

KC=$(kubeconfig token.yaml "certificate-authority: ../kube-ca.crt" "token: s3cr3t-token")
run k8s --kubeconfig "$KC" --node node-b
check_eq "another node: empty list" "[]" "$STDOUT"
check_eq "another node: exit 0" 0 "$RC"

# node names are URL-encoded: the server sees the exact selector
run k8s --kubeconfig "$KC" --node "node a&x=1"
check_eq "odd node name survives encoding: empty list" "[]" "$STDOUT"

expect_fail "no field selector: 400 with the server's message" \
	"HTTP 400: test server: fieldSelector=spec.nodeName=<node> required" \
	k8s --kubeconfig "$KC"

expect_fail "403 Status message is shown" \
	'HTTP 403: pods is forbidden: User "system:serviceaccount:default:podscope"' \
	k8s --kubeconfig "$KC" --node forbidden-node

expect_fail "garbage JSON body: one line" "bad response: invalid JSON" \
	k8s --kubeconfig "$KC" --node garbage-node

expect_fail "HTML error page: status, no body dump" "HTTP 502$" \
	k8s --kubeconfig "$KC" --node html-node

KC=$(kubeconfig wrongtoken.yaml "certificate-authority: ../kube-ca.crt" "token: wrong")
expect_fail "wrong token: 401 Unauthorized" "HTTP 401: Unauthorized" \
	k8s --kubeconfig "$KC" --node node-a
check "wrong token: the token is not printed" bash -c "! grep -q wrong '$TMP/err'"

KC=$(kubeconfig stranger.yaml "certificate-authority: ../kube-ca.crt" \
	"client-certificate: $TMP/stranger.crt, client-key: $TMP/stranger.key")
expect_fail "unknown client certificate: 401" "HTTP 401" k8s --kubeconfig "$KC" --node node-a

KC=$(kubeconfig otherca.yaml "certificate-authority: $TMP/other-ca.crt" "token: s3cr3t-token")
expect_fail "server cert from another CA: TLS error" "k8s: GET https://127.0.0.1:$PORT/" \
	k8s --kubeconfig "$KC" --node node-a

KC=$(kubeconfig noca.yaml "" "token: s3cr3t-token")
expect_fail "no CA given: system bundle does not trust the test CA" "certificate" \
	k8s --kubeconfig "$KC" --node node-a

KC=$(kubeconfig missingca.yaml "certificate-authority: missing/ca.crt" "token: x")
expect_fail "missing CA file: named in the error" \
	"certificate-authority $TMP/kube/missing/ca.crt: No such file" k8s --kubeconfig "$KC"

expect_fail "unreadable kubeconfig" "kubeconfig $TMP/nope: No such file or directory" \
	k8s --kubeconfig "$TMP/nope"
printf '\x00\x01garbage: [\n' >"$TMP/garbage.yaml"
expect_fail "garbage kubeconfig" "kubeconfig $TMP/garbage.yaml: invalid YAML" \
	k8s --kubeconfig "$TMP/garbage.yaml"

# --- Kubernetes API: in-cluster, token rotation -------------------------------------

SA=$TMP/sa
mkdir -p "$SA"
cp "$TMP/ca.crt" "$SA/ca.crt"
echo s3cr3t-token >"$SA/token"
echo podscope >"$SA/namespace"
KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$PORT PODSCOPE_SA_DIR=$SA \
	run k8s --in-cluster --node node-a
check_eq "in-cluster: exit 0" 0 "$RC"
check_pods "in-cluster"

# The server's token changes, then the file: the second list must use the new one.
mkfifo "$TMP/ctl"
KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$PORT \
	"$PROBE" k8s --in-cluster --sa-dir "$SA" --node node-a --repeat 2 \
	<"$TMP/ctl" >"$TMP/rot.out" 2>"$TMP/rot.err" &
probe=$!
exec 3>"$TMP/ctl"
for _ in $(seq 50); do
	[ "$(wc -l <"$TMP/rot.out")" -ge 1 ] && break
	sleep 0.1
done
echo rotated-token-2 >"$TMP/valid_token"
echo rotated-token-2 >"$SA/token"
echo next >&3
exec 3>&-
wait "$probe"
check_eq "in-cluster token rotation: both lists succeed" "0 2" \
	"$? $(wc -l <"$TMP/rot.out")"
check_eq "in-cluster token rotation: quiet" "" "$(cat "$TMP/rot.err")"
echo s3cr3t-token >"$TMP/valid_token"

expect_fail "in-cluster, stale token: 401" "HTTP 401" \
	env KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$PORT" \
	"$PROBE" k8s --in-cluster --sa-dir "$SA" --node node-a
expect_fail "not in a cluster" "KUBERNETES_SERVICE_HOST is not set" \
	env -u KUBERNETES_SERVICE_HOST "$PROBE" k8s --in-cluster --sa-dir "$SA"
expect_fail "in-cluster, no service account" "in-cluster: certificate-authority" \
	env KUBERNETES_SERVICE_HOST=127.0.0.1 "$PROBE" k8s --in-cluster --sa-dir "$TMP/none"

# --- Docker Engine API ----------------------------------------------------------

run docker --socket "$TMP/docker.sock" inspect 2b6f0cc904d1
check_eq "docker inspect (short id): exit 0" 0 "$RC"
check_eq "docker inspect: pid, state, labels" \
	'[4321,true,"running","2b6f0cc904d137be2e1730235f5664094b831186c8d5d9c6fde02f0f5e1a5e27","bookinfo","ratings-v1-5b7d8f9c4-abcde","0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","istio-proxy"]' \
	"$(jq -c '[.pid, .running, .state, .id, .pod_namespace, .pod_name, .pod_uid, .container_name]' <<<"$STDOUT")"

run docker --socket "$TMP/docker.sock" inspect e90e34656806a8e06d0d7d4c4e2f4d3f0b3a9a1c2d8e7f6a5b4c3d2e1f0a9b8c
check_eq "docker inspect exited: pid 0, not running" '[0,false,"elated_franklin"]' \
	"$(jq -c '[.pid, .running, .name]' <<<"$STDOUT")"

run docker --socket "$TMP/docker.sock" list
check_eq "docker list: ids and states" \
	'[["2b6f0cc904d1","running","istio-proxy"],["9a2c1e5f3b7d","running","ratings"],["e90e34656806","exited",""]]' \
	"$(jq -c '[.[] | [.id[:12], .state, .container_name]]' <<<"$STDOUT")"

expect_fail "docker: unknown container: 404 message" \
	"HTTP 404: No such container: 0123456789ab" \
	docker --socket "$TMP/docker.sock" inspect 0123456789ab
expect_fail "docker: garbage body" "bad response: invalid JSON" \
	docker --socket "$TMP/docker.sock" inspect badbadbad
expect_fail "docker: no socket" "docker socket $TMP/absent.sock: No such file or directory" \
	docker --socket "$TMP/absent.sock" list
expect_fail "docker: bad id refused" 'bad container id' \
	docker --socket "$TMP/docker.sock" inspect '../../info'

# --- servers down ---------------------------------------------------------------

for p in "${PIDS[@]}"; do
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
done
PIDS=()
KC=$(kubeconfig token.yaml "certificate-authority: ../kube-ca.crt" "token: s3cr3t-token")
expect_fail "API server down: one line" "k8s: GET https://127.0.0.1:$PORT/.*ailed to connect" \
	k8s --kubeconfig "$KC" --node node-a
# the unix socket file stays behind with nobody listening
expect_fail "docker engine down: one line" "docker $TMP/docker.sock: list containers: " \
	docker --socket "$TMP/docker.sock" list

# --- PodList file --------------------------------------------------------------------

run pods-file "$FIX/podlist.json"
check_pods "pods-file"
expect_fail "pods-file: Status object refused" 'kind "Status" is neither Pod nor PodList' \
	pods-file "$FIX/status_401.json"

finish
