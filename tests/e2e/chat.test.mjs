// The demo chat in a real browser: the `switchboard` binary, started with its defaults
// (web/ at /, the official client at /socket.io/socket.io.js), and two pages in Debian's
// Chromium driven by playwright-core. Alice runs the default transports (polling, then
// the upgrade to websocket); Bob is forced to polling. They join the same room and each
// sees the other's messages, typing indicator and presence; a refused message is shown
// as such; a direct message reaches only its addressee; and when the server goes away
// both pages say "reconnecting…" and come back by themselves when it returns.
//
// Screenshots go to SB_E2E_ARTIFACTS (CTest: <build>/e2e-artifacts).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const HOST = '127.0.0.1';
const artifacts = process.env.SB_E2E_ARTIFACTS || path.join(os.tmpdir(), 'switchboard-e2e-artifacts');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

function loadPlaywright() {
  try {
    return createRequire(path.join(repoRoot, 'package.json'))('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is not installed: run \`npm ci\` at ${repoRoot} (${e.message})`);
  }
}

// ---------------------------------------------------------------------------------
// The server, started as a person would start it (only host and port given)

const servers = new Set();
process.on('exit', () => {
  for (const child of servers) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
});

/** Starts the binary on `port` (0: a free one); resolves once it logs where to open the demo. */
async function startSwitchboard(port = 0) {
  const bin = process.env.SWITCHBOARD_BIN;
  assert.ok(bin, 'SWITCHBOARD_BIN is not set (CTest sets it to the built switchboard)');
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-e2e-run-'));
  // Run from a temporary directory: the binary must find web/ and the client bundle by
  // itself, not through the working directory.
  const child = spawn(path.resolve(bin), ['--host', HOST, '--port', String(port)], {
    cwd, stdio: ['ignore', 'pipe', 'pipe'],
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

// ---------------------------------------------------------------------------------
// Pages

const pageErrors = [];

async function openChat(browser, baseUrl, name, query = '') {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${name} console: ${m.text()}`); });
  const response = await page.goto(`${baseUrl}${query}`);
  assert.equal(response.status(), 200);
  await page.fill('#username', name);
  await page.click('#enter');
  await page.waitForSelector('#chat:not([hidden])');
  await waitForStatus(page, /^connected/);
  return page;
}

function waitForStatus(page, pattern, timeout = 20_000) {
  return page.waitForFunction(
    ([source, flags]) => new RegExp(source, flags).test(document.getElementById('status').textContent),
    [pattern.source, pattern.flags], { timeout });
}

const myId = (page) => page.evaluate(() => window.switchboardDemo.state.me.id);
const status = (page) => page.textContent('#status');
const roomTexts = (page, room) =>
  page.$$eval(`ol[data-conversation="room:${room}"] li.message:not(.system):not(.failed) .text`, (nodes) => nodes.map((n) => n.textContent));

/** Waits until the online list holds exactly `ids` (in any order). */
async function waitForOnline(page, ids) {
  const want = [...ids].sort();
  await page.waitForFunction((expected) => {
    const shown = [...document.querySelectorAll('#online li')].map((li) => li.dataset.userId).sort();
    return JSON.stringify(shown) === JSON.stringify(expected);
  }, want, { timeout: 20_000 }).catch(async (e) => {
    const shown = await page.$$eval('#online li', (lis) => lis.map((li) => li.dataset.userId));
    throw new Error(`online list ${JSON.stringify(shown)}, expected ${JSON.stringify(want)}: ${e.message}`);
  });
}

async function screenshot(page, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

// ---------------------------------------------------------------------------------

describe('the demo chat in Chromium', () => {
  let server;
  let browser;
  let alice;
  let bob;
  let aliceId;
  let bobId;

  before(async () => {
    assert.ok(fs.existsSync(chromiumPath),
      `${chromiumPath} is missing: install Debian's chromium package (scripts/test does), or set CHROMIUM`);
    const { chromium } = loadPlaywright();
    server = await startSwitchboard();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      // As root Chromium needs --no-sandbox; the network flags keep it off every host but
      // the loopback server under test.
      args: [
        ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
        '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-quic', '--no-first-run', '--disable-default-apps',
      ],
    });
    alice = await openChat(browser, server.url, 'alice');
    bob = await openChat(browser, server.url, 'bob', '?transport=polling');
    aliceId = await myId(alice);
    bobId = await myId(bob);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('serves the page and the official client bundle, and says where to open it', async () => {
    assert.match(server.log(), /browser client: \/socket\.io\/socket\.io\.js is socket\.io-client 4\.\d+\.\d+/);
    assert.equal(await alice.evaluate(() => typeof io === 'function' && typeof io.Manager === 'function'), true);
    // What the browser got (gzip undone) is the npm package's file, byte for byte.
    const served = await alice.evaluate(async () => {
      const res = await fetch('/socket.io/socket.io.js');
      return { status: res.status, type: res.headers.get('content-type'), etag: res.headers.get('etag'),
               text: await res.text() };
    });
    const dist = path.join(repoRoot, 'node_modules', 'socket.io-client', 'dist');
    const { version } = JSON.parse(fs.readFileSync(path.join(dist, '..', 'package.json'), 'utf8'));
    assert.equal(served.status, 200);
    assert.equal(served.type, 'application/javascript; charset=utf-8');
    assert.equal(served.etag, `"${version}"`);
    assert.ok(served.text === fs.readFileSync(path.join(dist, 'socket.io.js'), 'utf8'), 'socket.io.js differs from the package\'s');
  });

  it('one page upgrades to websocket, the other stays on polling', async () => {
    await waitForStatus(alice, /^connected \(websocket\)$/);
    assert.equal(await alice.evaluate(() => window.switchboardDemo.socket.io.engine.transport.name), 'websocket');
    assert.equal(await status(bob), 'connected (polling)');
    assert.equal(await bob.evaluate(() => window.switchboardDemo.socket.io.engine.transport.name), 'polling');
  });

  it('both join the default room and see each other online', async () => {
    assert.notEqual(aliceId, bobId);
    for (const page of [alice, bob]) {
      assert.equal(await page.textContent('#conversation-title'), '# general');
      assert.equal(await page.getAttribute('#rooms li.active', 'data-room'), 'general');
      await waitForOnline(page, [aliceId, bobId]);
    }
    assert.equal(await alice.textContent(`#online li.me[data-user-id="${aliceId}"] .name`), 'alice');
    assert.equal(await alice.textContent('#online-count'), '2');
  });

  it('a typing indicator shows on the other page only', async () => {
    await alice.type('#message', 'hel');
    await bob.waitForFunction(() => document.getElementById('typing').textContent === 'alice is typing…');
    assert.ok(await bob.isVisible('#typing'));
    assert.equal(await alice.textContent('#typing'), '', 'the typist never sees herself typing');
    await screenshot(bob, 'bob-sees-alice-typing');
  });

  it('messages reach both pages, sender included, with the sender\'s name', async () => {
    await alice.fill('#message', 'hello bob, from a websocket');
    await alice.click('#send');
    await bob.waitForSelector('ol[data-conversation="room:general"] li.message .text >> text="hello bob, from a websocket"');
    const line = bob.locator('ol[data-conversation="room:general"] li.message', { hasText: 'hello bob' });
    assert.equal(await line.locator('.who').textContent(), 'alice');
    // The sender's copy turns from "sending…" to delivered once the ack and the echo come.
    await alice.waitForSelector('ol[data-conversation="room:general"] li.message.mine.delivered .text >> text="hello bob, from a websocket"');
    // A new message from alice ends her typing indicator on bob's page.
    assert.equal(await bob.textContent('#typing'), '');

    await bob.type('#message', 'hi alice');
    await alice.waitForFunction(() => document.getElementById('typing').textContent === 'bob is typing…');
    await bob.click('#send');
    await alice.waitForSelector('ol[data-conversation="room:general"] li.message .text >> text="hi alice"');
    assert.deepEqual(await roomTexts(alice, 'general'), ['hello bob, from a websocket', 'hi alice']);
    await bob.waitForSelector('ol[data-conversation="room:general"] li.message.mine.delivered .text >> text="hi alice"');
    assert.deepEqual(await roomTexts(bob, 'general'), ['hello bob, from a websocket', 'hi alice']);
    // Having heard from bob, alice's online list shows his name.
    await alice.waitForFunction((id) =>
      document.querySelector(`#online li[data-user-id="${id}"] .name`)?.textContent === 'bob', bobId);
    await screenshot(alice, 'alice-chat');
    await screenshot(bob, 'bob-chat-polling');
  });

  it('a message the server refuses is shown as not sent, and nobody receives it', async () => {
    const tooLong = 'x'.repeat(10_001);
    await alice.fill('#message', tooLong);
    await alice.click('#send');
    const failed = alice.locator('ol[data-conversation="room:general"] li.message.failed');
    await failed.waitFor();
    assert.match(await failed.locator('.state').textContent(), /^not sent: .*10000 characters/);
    // The connection stays up and the next message goes through.
    await alice.fill('#message', 'still here');
    await alice.click('#send');
    await bob.waitForSelector('ol[data-conversation="room:general"] li.message .text >> text="still here"');
    assert.deepEqual(await roomTexts(bob, 'general'), ['hello bob, from a websocket', 'hi alice', 'still here']);
  });

  it('a direct message reaches its addressee only', async () => {
    await alice.click(`#online li[data-user-id="${bobId}"]`);
    assert.equal(await alice.textContent('#conversation-title'), 'Direct messages with bob');
    await alice.fill('#message', 'psst, bob');
    await alice.click('#send');
    await alice.waitForSelector(`ol[data-conversation="dm:${bobId}"] li.message.delivered .text >> text="psst, bob"`);
    await bob.waitForSelector(`#directs li[data-user-id="${aliceId}"] .unread`);
    await bob.click(`#directs li[data-user-id="${aliceId}"]`);
    await bob.waitForSelector(`ol[data-conversation="dm:${aliceId}"] li.message .text >> text="psst, bob"`);
    assert.equal(await bob.textContent(`ol[data-conversation="dm:${aliceId}"] li.message .who`), 'alice');
    assert.deepEqual(await roomTexts(bob, 'general'), ['hello bob, from a websocket', 'hi alice', 'still here'],
      'the direct message is not in the room');
    await screenshot(bob, 'bob-direct-message');
  });

  it('rooms are separate: a message in a room alice is not in stays away from her', async () => {
    await bob.fill('#room-name', 'random');
    await bob.click('#join-form button');
    assert.equal(await bob.textContent('#conversation-title'), '# random');
    await bob.fill('#message', 'only for random');
    await bob.click('#send');
    await bob.waitForSelector('ol[data-conversation="room:random"] li.message.delivered .text >> text="only for random"');
    // Alice then speaks in general; once bob has that, anything for random would have come before it.
    await alice.click('#rooms li[data-room="general"]');
    await alice.fill('#message', 'after random');
    await alice.click('#send');
    // (bob is looking at random: general's list is there, hidden)
    await bob.waitForSelector('ol[data-conversation="room:general"] li.message .text >> text="after random"',
      { state: 'attached' });
    assert.equal(await bob.textContent('#rooms li[data-room="general"] .unread'), '1');
    assert.equal(await alice.$('ol[data-conversation="room:random"]'), null);
    assert.deepEqual(await roomTexts(alice, 'general'),
      ['hello bob, from a websocket', 'hi alice', 'still here', 'after random']);
    // Leaving: bob leaves random, alice's page is unaffected, bob's list shows general alone.
    await bob.click('#rooms li[data-room="random"] .leave');
    assert.deepEqual(await bob.$$eval('#rooms li', (lis) => lis.map((li) => li.dataset.room)), ['general']);
    assert.equal(await bob.textContent('#conversation-title'), '# general');
  });

  it('shows "reconnecting…" while the server is away and comes back by itself', async () => {
    const { port } = server;
    await server.stop();
    server = null;
    for (const page of [alice, bob]) {
      await waitForStatus(page, /^reconnecting…/);
      assert.ok(await page.$('#online.stale'), 'the online list is shown as stale while disconnected');
    }
    await screenshot(alice, 'alice-reconnecting');
    server = await startSwitchboard(port);
    await waitForStatus(alice, /^connected/, 30_000);
    await waitForStatus(bob, /^connected \(polling\)$/, 30_000);
    // Without auth a user is its socket id, and a reconnection without recovery is a new
    // socket: the pages announce their new ids and re-join their rooms.
    const [alice2, bob2] = [await myId(alice), await myId(bob)];
    assert.notEqual(alice2, aliceId);
    for (const page of [alice, bob]) {
      await waitForOnline(page, [alice2, bob2]);
      assert.equal(await page.$('#online.stale'), null);
    }
    await bob.fill('#message', 'back again');
    await bob.click('#send');
    await alice.waitForSelector('ol[data-conversation="room:general"] li.message .text >> text="back again"');
    await screenshot(alice, 'alice-after-reconnect');
  });

  it('raised no errors in either page', () => {
    // A failed reconnection attempt logs nothing to the console in socket.io-client; any
    // script error or console error here is the page's.
    assert.deepEqual(pageErrors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource|WebSocket connection to .* failed/.test(e)), []);
  });
});
