// End-to-end in a real browser (issue 12): Debian's headless Chromium, driven by
// playwright-core, loads respub's demo page; the page subscribes over WebSocket,
// redis-cli publishes, the page shows the message. Also EventSource (/sse) from the
// page, and a page of another origin being refused. A screenshot of the demo page is
// saved under target/browser/ and its path printed.
//
// Usage: node demo.test.mjs [--bin path/to/respub]
// Last line: "browser: N passed, M failed"; exit status 1 on any failure.
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const argv = process.argv.slice(2);
const bin = argv.includes("--bin") ? resolve(argv[argv.indexOf("--bin") + 1]) : `${root}/target/release/respub`;
const shotDir = `${root}/target/browser`;

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function waitHttp(url, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {}
    if (Date.now() > end) throw new Error(`${url} not up within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function redisCli(port, ...args) {
  return execFileSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8", timeout: 5000 }).trim();
}

const port = await freePort();
const admin = await freePort();
const server = spawn(
  bin,
  ["--port", String(port), "--bind", "127.0.0.1", "--admin-port", String(admin), "--admin-bind", "127.0.0.1", "--http-demo", "yes", "--loglevel", "warning"],
  { stdio: ["ignore", "inherit", "inherit"] },
);
server.on("error", (e) => console.log(`respub did not start: ${e.message}`));
const base = `http://127.0.0.1:${admin}`;
let browser;
try {
  await waitHttp(`${base}/healthz`, 10000);
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  const page = await browser.newPage();

  await check("demo page subscribes over WebSocket and shows a message published by redis-cli", async () => {
    await page.goto(`${base}/?channel=browser-demo`);
    await page.waitForFunction(() => document.getElementById("status").textContent === "subscribed to browser-demo", null, { timeout: 10000 });
    const receivers = redisCli(port, "PUBLISH", "browser-demo", "hello from redis-cli");
    if (receivers !== "1") throw new Error(`PUBLISH reached ${receivers} subscribers, expected 1`);
    await page.waitForFunction(() => [...document.querySelectorAll("#messages li")].some((li) => li.textContent.includes("hello from redis-cli")), null, { timeout: 10000 });
    const shown = await page.textContent("#messages li");
    if (shown !== "browser-demohello from redis-cli") throw new Error(`page shows ${JSON.stringify(shown)}`);
    mkdirSync(shotDir, { recursive: true });
    const shot = `${shotDir}/demo.png`;
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);
  });

  await check("EventSource on /sse receives confirmations and messages", async () => {
    await page.evaluate(() => {
      window.sse = [];
      const es = new EventSource("/sse?channel=sse-demo&pattern=sse.*");
      es.onmessage = (ev) => window.sse.push(JSON.parse(ev.data));
    });
    await page.waitForFunction(() => window.sse.length >= 2, null, { timeout: 10000 });
    const receivers = redisCli(port, "PUBLISH", "sse.x", "via pattern");
    if (receivers !== "1") throw new Error(`PUBLISH reached ${receivers}`);
    await page.waitForFunction(() => window.sse.some((m) => m.type === "pmessage"), null, { timeout: 10000 });
    const got = await page.evaluate(() => window.sse);
    const want = [
      { type: "subscribe", channel: "sse-demo", count: 1 },
      { type: "psubscribe", pattern: "sse.*", count: 2 },
      { type: "pmessage", pattern: "sse.*", channel: "sse.x", data: "via pattern" },
    ];
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`got ${JSON.stringify(got)}`);
  });

  await check("PUBSUB NUMSUB counts the page's subscriptions", async () => {
    const out = redisCli(port, "PUBSUB", "NUMSUB", "browser-demo", "sse-demo");
    if (out.replace(/\s+/g, " ") !== "browser-demo 1 sse-demo 1") throw new Error(`NUMSUB: ${out}`);
  });

  await check("a page of another origin is refused (default: same origin only)", async () => {
    const other = await browser.newPage();
    await other.goto("about:blank");
    const outcome = await other.evaluate(
      (url) =>
        new Promise((res) => {
          const ws = new WebSocket(url);
          ws.onopen = () => res("open");
          ws.onclose = (ev) => res(`closed ${ev.code}`);
        }),
      `ws://127.0.0.1:${admin}/ws`,
    );
    if (outcome !== "closed 1006") throw new Error(`cross-origin websocket: ${outcome}`);
    const out = redisCli(port, "PUBSUB", "NUMSUB", "browser-demo");
    if (out.replace(/\s+/g, " ") !== "browser-demo 1") throw new Error(`NUMSUB after refusal: ${out}`);
    await other.close();
  });
} catch (e) {
  failed++;
  console.log(`FAIL setup: ${e && e.stack ? e.stack : e}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  }
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
