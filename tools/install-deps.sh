#!/usr/bin/env bash
# Install every build, test and demo dependency of podscope from Debian's
# packages. Idempotent. `--if-missing` returns at once when everything is
# already installed (what `make test` and `make demo` use); otherwise it runs
# `apt-get update` first, then installs what is missing.
set -euo pipefail

PACKAGES=(
	# build
	make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
	libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev libyaml-dev
	# tests and format
	libcmocka-dev clang-format jq openssl python3 prometheus chromium nodejs
	libclang-rt-dev # clang's libFuzzer runtime, for `make fuzz`
	# (npm comes with the machine's Node.js; Debian's npm package conflicts with it)
	# the pod lab and its load
	iproute2 iptables util-linux procps psmisc curl nginx-light haproxy wrk iperf3
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ "${1:-}" == "--if-missing" ] && [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: error: must run as root to apt-get install: ${missing[*]:-(nothing)}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get update"
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	# Do not let package scripts start daemons (nginx, haproxy) on the node:
	# the lab starts its own, inside its namespaces.
	policy=/usr/sbin/policy-rc.d
	created_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
		created_policy=1
	fi
	rc=0
	apt-get install -y -qq --no-install-recommends "${missing[@]}" || rc=$?
	[ "$created_policy" -eq 1 ] && rm -f "$policy"
	[ "$rc" -eq 0 ] || exit "$rc"
fi
echo "install-deps: all ${#PACKAGES[@]} packages present"
