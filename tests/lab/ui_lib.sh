# shellcheck shell=bash
# Shared by the headless-Chromium tests (test_ui.sh, test_ui_flows.sh). Source
# after tests/integration/lib.sh, with ROOT and LAB set.
UI=$ROOT/tests/ui
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

# ui_require: node, npm, chromium and playwright-core (npm ci in tests/ui when
# missing); otherwise one not-ok line and exit 1.
ui_require() {
	local missing=
	command -v node >/dev/null || missing="$missing node"
	command -v npm >/dev/null || missing="$missing npm"
	[ -x "$CHROMIUM" ] || missing="$missing chromium"
	if [ -n "$missing" ]; then
		not_ok "browser test tools installed (missing:$missing; Debian packages nodejs npm chromium)"
		finish
		exit 1
	fi
	if [ ! -d "$UI/node_modules/playwright-core" ]; then
		diag "npm ci in tests/ui"
		(cd "$UI" && npm ci --no-audit --no-fund --loglevel=error) >/dev/null 2>&1 ||
			{ not_ok "npm ci in tests/ui (playwright-core)"; finish; exit 1; }
	fi
}

# The browser the test drives: every process started with this profile.
browser_pids() { pgrep -f -- "--user-data-dir=$PROFILE" || true; }

# ui_cleanup (trap on EXIT): the node driver (NODE_PID), the browser, the
# agent (AGENT_PID), the lab and TMP.
ui_cleanup() {
	[ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
	local p
	for p in $(browser_pids); do kill -KILL "$p" 2>/dev/null; done
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	"$LAB" down >/dev/null 2>&1
	rm -rf "$TMP"
}
