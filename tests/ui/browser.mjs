// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// What the browser tests share: key=value output, and a headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core) that may only talk to
// 127.0.0.1: every other request is aborted and counted.
import { chromium } from "playwright-core";

export const out = (k, v) => console.log(`${k}=${v}`);
export const diag = (s) => console.log(`diag: ${s}`);

// inBrowser(PROFILE, VIEWPORT, BODY): open a page in a fresh profile, run
// `await BODY(page)`, then print exception=1 if it threw, page_errors and
// blocked_requests, and close the browser.
export async function inBrowser(profile, viewport, body) {
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
		headless: true,
		args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
		viewport,
		timeout: 30000,
	});
	let blocked = 0;
	const errors = [];
	try {
		await ctx.route("**/*", (route) => {
			const u = new URL(route.request().url());
			if (u.hostname === "127.0.0.1") return route.continue();
			blocked++;
			diag(`blocked request to ${u.href}`);
			return route.abort();
		});
		const page = ctx.pages()[0] || (await ctx.newPage());
		page.on("pageerror", (e) => errors.push(e.message));
		page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
		await body(page);
	} catch (e) {
		diag(`error: ${e.stack || e}`);
		out("exception", 1);
	} finally {
		out("page_errors", errors.length);
		for (const e of errors) diag(`page error: ${e}`);
		out("blocked_requests", blocked);
		await ctx.close();
	}
}
