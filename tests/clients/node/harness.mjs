// Minimal test runner shared by the node suites: named tests, a time limit on every test
// and on every awaited event, and the `NAME: N passed, M failed` closing line run.sh reads.
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';

export { assert };
export const HOST = process.env.CLIENTS_HOST ?? '127.0.0.1';
export const PORT = Number(process.env.CLIENTS_PORT);
const CTL = process.env.CLIENTS_CTL;
const TEST_TIMEOUT_MS = 60_000;
export const WAIT_MS = 5_000;

if (!PORT || !CTL) {
  console.error('CLIENTS_PORT and CLIENTS_CTL must be set (run through tests/clients/run.sh)');
  process.exit(2);
}

/** server.sh start|stop|restart NAME ... -> its stdout (the port for start/restart). */
export function ctl(...args) {
  return execFileSync(CTL, args, { encoding: 'utf8', timeout: 30_000 }).trim();
}

/** Resolve with p, or reject after ms with a message naming what was awaited. */
export function within(p, what, ms = WAIT_MS) {
  let t;
  const timer = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

/** A queue of events: push() from listeners, await next() with a timeout. */
export class Inbox {
  constructor() { this.items = []; this.waiters = []; }
  push(item) {
    const w = this.waiters.shift();
    if (w) w(item); else this.items.push(item);
  }
  next(what = 'a message', ms = WAIT_MS) {
    if (this.items.length) return Promise.resolve(this.items.shift());
    return within(new Promise((resolve) => this.waiters.push(resolve)), what, ms);
  }
  get size() { return this.items.length; }
}

/** Bounded poll for a condition that has no event (e.g. NUMSUB after a reconnect). */
export async function until(what, fn, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const tests = [];
export function test(name, fn) { tests.push({ name, fn }); }

export async function run(suite) {
  const only = process.argv.slice(2);
  let passed = 0, failed = 0;
  console.log(`${suite} against ${HOST}:${PORT}`);
  for (const { name, fn } of tests) {
    if (only.length && !only.some((o) => name.includes(o))) continue;
    const cleanups = [];
    const t0 = Date.now();
    try {
      await within(fn((c) => { cleanups.push(c); return c; }), `test ${name}`, TEST_TIMEOUT_MS);
      passed++;
      console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(2)}s)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e?.stack ?? e}`);
    }
    // Every client a test registered is closed, also when the test failed.
    for (const c of cleanups.reverse()) {
      try { await within(Promise.resolve(c()), `cleanup of ${name}`, WAIT_MS); } catch (e) {
        console.log(`     cleanup of ${name}: ${e.message}`);
      }
    }
  }
  console.log(`${suite}: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
