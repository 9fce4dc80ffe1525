#!/usr/bin/env bash
# The podscope demo on the pod lab: bring the lab up, show what the kernel
# offers, drive a short bounded load through the two-sidecar chain, show the
# pods as a node would list them, and tear everything down (also on Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")"
LAB=lab/podscope-lab
PODSCOPE=build/podscope

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: error: run as root (the lab creates namespaces; podscope loads BPF)" >&2
	exit 1
fi

TMPDIR_DEMO=$(mktemp -d)
cleanup() {
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$TMPDIR_DEMO"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "podscope doctor: what this kernel offers"
"$PODSCOPE" doctor | sed -n '/^Hooks/,/^$/p;/^Verdict/p'

step "lab up: bridge psl0, pods loadgen / reviews / ratings, sidecars as UID 1337"
"$LAB" up

step "lab status"
"$LAB" status

step "podscope pods: the same node as podscope resolves it (names from the lab's PodList, processes from the kernel)"
"$LAB" status --json >"$TMPDIR_DEMO/pods.json"
"$PODSCOPE" pods --pods-file "$TMPDIR_DEMO/pods.json"

step "load + podscope watch: wrk from the loadgen pod through loadgen -> reviews sidecar -> reviews app -> reviews sidecar (outbound) -> ratings sidecar -> ratings app"
"$PODSCOPE" watch --pods-file "$TMPDIR_DEMO/pods.json" --pod default/reviews --pod default/ratings \
	--duration 8s >"$TMPDIR_DEMO/watch.txt" &
watch_pid=$!
sleep 1.5 # attach
"$LAB" load --duration 5s --connections 8
wait "$watch_pid"
step "what podscope measured on each edge (client and server side of every hop), and per HTTP request what each sidecar added"
cat "$TMPDIR_DEMO/watch.txt"

step "podscope trace: one request's packets into the reviews pod, hop by hop (first flow)"
"$PODSCOPE" trace --pods-file "$TMPDIR_DEMO/pods.json" --pod default/reviews --duration 3s \
	--show-packets 3 >"$TMPDIR_DEMO/trace.txt" &
trace_pid=$!
sleep 1.5 # attach
nsenter --net=/run/netns/psl-loadgen curl -s -o /dev/null http://198.18.0.11:9080/
wait "$trace_pid"
sed -n '/ flows, /,$p' "$TMPDIR_DEMO/trace.txt" | head -40

step "the pods as a Kubernetes PodList (lab status --json)"
"$LAB" status --json | jq -c '.items[] | {pod: "\(.metadata.namespace)/\(.metadata.name)", ip: .status.podIP, containers: [.spec.containers[].name]}'

step "lab down"
"$LAB" down
trap - EXIT INT TERM
echo "demo: done, nothing left behind"
