// Shared by the browser tests: start the `switchboard` binary as a person would (only
// host and port given, from another folder), launch Debian's Chromium through
// playwright-core, and drive the demo page (web/) in it.
//
// The binary comes from SWITCHBOARD_BIN; Chromium from CHROMIUM (default
// /usr/bin/chromium); screenshots go to SB_E2E_ARTIFACTS (CTest: <build>/e2e-artifacts).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HOST = '127.0.0.1';
const artifacts = process.env.SB_E2E_ARTIFACTS || path.join(os.tmpdir(), 'switchboard-e2e-artifacts');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// ---------------------------------------------------------------------------------
// The server

const servers = new Set();
process.on('exit', () => {
  for (const child of servers) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
});

/**
 * Starts the binary on `port` (0: a free one) with `env` added to the environment and
 * `flags` after the address, from a temporary folder: it must find web/ and the client
 * bundle by itself. Resolves once it logs where to open the demo: { url, port, log(), stop() }.
 */
export async function startSwitchboard({ port = 0, env = {}, flags = [] } = {}) {
  const bin = process.env.SWITCHBOARD_BIN;
  assert.ok(bin, 'SWITCHBOARD_BIN is not set (CTest sets it to the built switchboard)');
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-e2e-run-'));
  const clean = { ...process.env };
  delete clean.JWT_SECRET;
  delete clean.SWITCHBOARD_API_KEY;
  const child = spawn(path.resolve(bin), ['--host', HOST, '--port', String(port), ...flags], {
    cwd, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  servers.add(child);
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    servers.delete(child);
    resolve({ code, signal });
  }));
  const opened = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "open http://..." line after 20 s:\n${output}`)), 20_000);
    const look = (chunk) => {
      output += chunk.toString('utf8');
      const m = output.replace(/\x1b\[[0-9;]*m/g, '').match(/open (http:\/\/127\.0\.0\.1:(\d+)\/) in a browser/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], port: Number(m[2]) });
      }
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`switchboard exited (code ${code}, signal ${signal}) before it was ready:\n${output}`));
    });
  });
  return {
    ...opened,
    log: () => output,
    /** SIGTERM by PID; throws if it did not exit 0 or printed a sanitizer report. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
      const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(timeout);
      fs.rmSync(cwd, { recursive: true, force: true });
      assert.doesNotMatch(output, /Sanitizer|runtime error:/, `the server printed a sanitizer report:\n${output}`);
      assert.equal(result.code, 0, `switchboard exited with ${result.code} (signal ${result.signal}):\n${output}`);
    },
  };
}

/** An HS256 JWT (RFC 7519) with these claims. */
export function signJwt(claims, secret) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const data = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${data}.${crypto.createHmac('sha256', secret).update(data).digest('base64url')}`;
}

// ---------------------------------------------------------------------------------
// The browser

/** Debian's Chromium, headless, kept off every host but the loopback server. */
export async function launchChromium() {
  assert.ok(fs.existsSync(chromiumPath),
    `${chromiumPath} is missing: install Debian's chromium package (scripts/test does), or set CHROMIUM`);
  let playwright;
  try {
    playwright = createRequire(path.join(repoRoot, 'package.json'))('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is not installed: run \`npm ci\` at ${repoRoot} (${e.message})`);
  }
  return playwright.chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // As root Chromium needs --no-sandbox; the rest keeps it from calling out (this
    // machine's network is closed, and a test talks to 127.0.0.1 only).
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic', '--no-first-run', '--disable-default-apps',
    ],
  });
}

/** Script errors and console errors of every page opened here, "<name>: <message>". */
export const pageErrors = [];

/** A page of its own (a fresh context: no shared storage) on the demo; not yet signed in. */
export async function openPage(browser, url, name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${name} console: ${m.text()}`); });
  const response = await page.goto(url);
  assert.equal(response.status(), 200);
  return page;
}

/** Fills in the name (and token) and enters; resolves once the chat shows and is connected. */
export async function signIn(page, name, token = '') {
  await page.fill('#username', name);
  if (token) await page.fill('#token', token);
  await page.click('#enter');
  await page.waitForSelector('#chat:not([hidden])');
  await waitForStatus(page, /^connected/);
}

export async function openChat(browser, baseUrl, name, query = '') {
  const page = await openPage(browser, `${baseUrl}${query}`, name);
  await signIn(page, name);
  return page;
}

export function waitForStatus(page, pattern, timeout = 20_000) {
  return page.waitForFunction(
    ([source, flags]) => new RegExp(source, flags).test(document.getElementById('status').textContent),
    [pattern.source, pattern.flags], { timeout });
}

export const myId = (page) => page.evaluate(() => window.switchboardDemo.state.me.id);
export const status = (page) => page.textContent('#status');
/** The texts of a room's messages, in order (not the system lines, not the refused ones). */
export const roomTexts = (page, room) =>
  page.$$eval(`ol[data-conversation="room:${room}"] li.message:not(.system):not(.failed) .text`,
    (nodes) => nodes.map((n) => n.textContent));

/** Waits until the online list holds exactly `ids` (in any order). */
export async function waitForOnline(page, ids) {
  const want = [...ids].sort();
  await page.waitForFunction((expected) => {
    const shown = [...document.querySelectorAll('#online li')].map((li) => li.dataset.userId).sort();
    return JSON.stringify(shown) === JSON.stringify(expected);
  }, want, { timeout: 20_000 }).catch(async (e) => {
    const shown = await page.$$eval('#online li', (lis) => lis.map((li) => li.dataset.userId));
    throw new Error(`online list ${JSON.stringify(shown)}, expected ${JSON.stringify(want)}: ${e.message}`);
  });
}

export async function screenshot(page, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}
