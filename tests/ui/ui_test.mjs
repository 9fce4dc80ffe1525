// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Browser test of podscope's web UI, run by tests/lab/test_ui.sh:
//   node ui_test.mjs AGENT_URL SCREENSHOT USER_DATA_DIR
// Loads the UI from the agent in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core), compares what it draws with the agent's
// /api/v1/snapshot, clicks every edge and reads the edge panel, and writes a
// screenshot. Prints key=value lines for the shell test to check; "diag: ..." lines
// explain. The browser may only talk to 127.0.0.1: every other request is aborted
// and counted.
import { diag, inBrowser, out } from "./browser.mjs";

const [agent, shot, profile] = process.argv.slice(2);
if (!agent || !shot || !profile) {
	console.error("usage: node ui_test.mjs AGENT_URL SCREENSHOT USER_DATA_DIR");
	process.exit(2);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const endId = (e) => (e.pid != null ? "pid:" + e.pid : "addr:" + e.addr);
const edgeId = (e) => `${endId(e.client)}>${endId(e.server)}:${e.server.port}@${e.dialed}`;
async function snapshot() {
	const r = await fetch(agent + "/api/v1/snapshot");
	if (!r.ok) throw new Error(`snapshot: HTTP ${r.status}`);
	return r.json();
}

await inBrowser(profile, { width: 1400, height: 700 }, async (page) => {
	const resp = await page.goto(agent + "/", { waitUntil: "load" });
	out("http_status", resp.status());
	out("title", await page.title());
	await page.waitForSelector("[data-node-id]", { timeout: 10000 });

	// the drawing against a snapshot taken at the same time (retry across refreshes:
	// a process may come or go between the two)
	let snap, drawn;
	for (let i = 0; i < 5; i++) {
		snap = await snapshot();
		await page.waitForTimeout(2300); // one UI refresh after the snapshot
		drawn = await page.evaluate(() => ({
			process: [...document.querySelectorAll('[data-kind="process"]')].map((n) => n.dataset.nodeId).sort(),
			external: [...document.querySelectorAll('[data-kind="external"]')].map((n) => n.dataset.nodeId).sort(),
			edges: [...document.querySelectorAll("[data-edge-id]:not(#edge-panel)")].map((n) => n.dataset.edgeId).sort(),
			pods: [...document.querySelectorAll("[data-pod]")].map((n) => n.dataset.pod).sort(),
			status: document.getElementById("status").textContent,
		}));
		const again = await snapshot();
		if (again.processes.length === snap.processes.length && again.edges.length === snap.edges.length) break;
	}
	const procIds = snap.processes.map((p) => "pid:" + p.pid).sort();
	const extIds = [...new Set(snap.edges.flatMap((e) => [e.client, e.server]).filter((x) => x.pid == null).map(endId))].sort();
	const edgeIds = snap.edges.map(edgeId).sort();
	diag(`status line: ${drawn.status}`);
	const dead = snap.processes.filter((p) => p.alive === false);
	if (dead.length) diag(`snapshot processes not alive: ${dead.map((p) => `${p.pod}:${p.container} ${p.pid}`).join(", ")}`);
	diag(`drawn nodes: ${[...drawn.process, ...drawn.external].join(" ")}`);
	out("snapshot_pods", snap.pods.length);
	out("ui_pod_groups", drawn.pods.length);
	out("snapshot_processes", procIds.length);
	out("ui_process_nodes", drawn.process.length);
	out("process_nodes_match", JSON.stringify(procIds) === JSON.stringify(drawn.process));
	out("snapshot_external_peers", extIds.length);
	out("ui_external_nodes", drawn.external.length);
	out("snapshot_edges", edgeIds.length);
	out("ui_edges", drawn.edges.length);
	out("edge_ids_match", JSON.stringify(edgeIds) === JSON.stringify(drawn.edges));

	// click every edge (on its label, as a user would); the panel shows that edge and its
	// client/server write bytes equal the snapshot's (retry: a refresh may land between)
	let good = 0;
	for (const id of edgeIds) {
		let last = "";
		for (let i = 0; i < 4; i++) {
			await page.locator(`[data-edge-id="${id}"] .lbl`).click({ timeout: 5000 });
			await page.waitForFunction((x) => document.getElementById("edge-panel").dataset.edgeId === x, id, { timeout: 5000 });
			const s = await snapshot();
			await page.waitForTimeout(2300);
			const e = s.edges.find((x) => edgeId(x) === id);
			const shown = await page.evaluate(() => {
				const v = (side) => document.querySelector(`#edge-panel [data-side="${side}"][data-metric="write_bytes"]`)?.textContent ?? "missing";
				return { id: document.getElementById("edge-panel").dataset.edgeId, client: v("client"), server: v("server"),
					title: document.getElementById("edge-title")?.textContent ?? "" };
			});
			const want = (m) => (m ? String(m.write.bytes) : "–");
			const got = (t) => t.replace(/,/g, "");
			last = `${id}: panel ${shown.id === id ? "" : "(other edge!) "}client ${got(shown.client)} server ${got(shown.server)}, snapshot client ${want(e?.client_side)} server ${want(e?.server_side)}`;
			if (e && shown.id === id && got(shown.client) === want(e.client_side) && got(shown.server) === want(e.server_side)) {
				diag(`panel ok: ${shown.title}: write bytes client ${shown.client}, server ${shown.server}`);
				good++;
				last = "";
				break;
			}
		}
		if (last) diag(`panel mismatch: ${last}`);
	}
	out("edge_panels_ok", `${good}/${edgeIds.length}`);

	// the screenshot, with the pod -> pod edge (or else the first) selected
	const pick = snap.edges.find((e) => e.client.pod && e.server.pod && e.client.pod !== e.server.pod) || snap.edges[0];
	if (pick) await page.locator(`[data-edge-id="${edgeId(pick)}"] .lbl`).click({ timeout: 5000 });
	await page.waitForTimeout(300);
	await page.screenshot({ path: shot, fullPage: true });
	out("screenshot", shot);
});
