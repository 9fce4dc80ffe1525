// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Browser test of the packet waterfall, run by tests/lab/test_ui_flows.sh:
//   node flows_test.mjs AGENT_URL SCREENSHOT USER_DATA_DIR
// The agent traces a pod (--trace-pod). Loads the UI in headless Chromium, checks
// that #flows lists the flows of /api/v1/flows, clicks the newest loadgen -> reviews
// flow and compares the waterfall's rows with that flow of the API: one
// data-packet-row per packet, one data-hop-row per hop, in the same order. Prints
// key=value lines; "diag: ..." lines explain. Only 127.0.0.1 may be contacted.
import { diag, inBrowser, out } from "./browser.mjs";

const [agent, shot, profile] = process.argv.slice(2);
if (!agent || !shot || !profile) {
	console.error("usage: node flows_test.mjs AGENT_URL SCREENSHOT USER_DATA_DIR");
	process.exit(2);
}
const flowId = (f) => `${f.client}>${f.server}@${f.packets.length ? f.packets[0].hops[0]?.ts_ns : 0}`;

await inBrowser(profile, { width: 1400, height: 900 }, async (page) => {
	const resp = await page.goto(agent + "/", { waitUntil: "load" });
	out("http_status", resp.status());
	await page.waitForSelector("#flow-list [data-flow-id]", { timeout: 10000 });
	const r = await fetch(agent + "/api/v1/flows");
	const doc = await r.json();
	await page.waitForTimeout(2300); // one refresh after the API read
	const listed = await page.evaluate(() => [...document.querySelectorAll("#flow-list [data-flow-id]")].map((n) => n.dataset.flowId));
	const apiIds = doc.flows.map(flowId);
	out("api_flows", apiIds.length);
	out("ui_flows", listed.length);
	out("flow_ids_match", JSON.stringify([...apiIds].sort()) === JSON.stringify([...listed].sort()));
	// the newest request through the chain (with its SYN), else the newest flow
	const cand = doc.flows.filter((f) => f.server === "198.18.0.11:9080" && f.packets.some((p) => p.flags === "SYN"));
	const f = cand.length ? cand[cand.length - 1] : doc.flows[doc.flows.length - 1];
	const id = flowId(f);
	diag(`picked ${id}: ${f.packets.length} packets`);
	await page.locator(`#flow-list [data-flow-id="${id}"]`).click({ timeout: 5000 });
	await page.waitForFunction((x) => document.getElementById("waterfall-box").dataset.flowId === x, id, { timeout: 5000 });
	const wantHops = f.packets.flatMap((p) => p.hops.map((h) => h.point));
	const got = await page.evaluate(() => ({
		packets: document.querySelectorAll("#waterfall [data-packet-row]").length,
		hops: [...document.querySelectorAll("#waterfall [data-hop-row]")].map((n) => n.dataset.point),
		bars: document.querySelectorAll("#waterfall [data-hop-row] .bar").length,
	}));
	out("api_packets", f.packets.length);
	out("ui_packet_rows", got.packets);
	out("api_hops", wantHops.length);
	out("ui_hop_rows", got.hops.length);
	out("hop_rows_match", JSON.stringify(wantHops) === JSON.stringify(got.hops));
	out("hop_bars", got.bars);
	await page.locator("#flows").scrollIntoViewIfNeeded();
	await page.screenshot({ path: shot, fullPage: true });
	out("screenshot", shot);
});
