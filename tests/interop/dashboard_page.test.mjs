// web/dashboard.html in Debian's Chromium (headless, driven by playwright-core): the page
// connects to /dashboard, shows the live numbers and draws the chart while
// socket.io-client members chat. The page loads the official client bundle from the
// server itself (/socket.io/socket.io.js). A screenshot is saved under
// build/test-artifacts/.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

import { startServer, chatClient, connected, repoRoot, withTimeout } from './helpers.mjs';

const require = createRequire(path.join(repoRoot, 'package.json'));
const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

describe('dashboard page in Chromium', () => {
  let server;
  let browser;
  before(async () => {
    assert.ok(chromiumPath, 'Chromium is installed (apt-get install chromium)');
    server = await startServer(['--threads', '2', '--static', path.join(repoRoot, 'web')]);
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows connections, rooms and rates live, and draws the chart', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(server.url('/dashboard.html'));
    await page.waitForFunction(() => document.getElementById('status').textContent === 'live', null, { timeout: 10_000 });
    assert.equal(await page.isVisible('#key-form'), false, 'no API key asked for: the server has none');
    // The page itself is one websocket connection.
    await page.waitForFunction(() => document.getElementById('connections').textContent === '1', null, { timeout: 5000 });

    const members = [];
    for (let i = 0; i < 3; i++) {
      const s = chatClient(server.url('/'), { transports: ['websocket'] });
      members.push(s);
      await connected(s);
      await s.request('join-room', 'page');
    }
    const stop = Date.now() + 3000;
    let n = 0;
    while (Date.now() < stop) {
      const message = { id: `m${n}`, userId: members[0].id, username: 'A', text: `t${n}`, timestamp: n };
      await members[n % 3].request('send-message', { roomId: 'page', message });
      n++;
      await new Promise((r) => setTimeout(r, 20));
    }
    await page.waitForFunction(() => document.getElementById('connections').textContent === '4', null, { timeout: 5000 });
    await page.waitForFunction(() => document.getElementById('rooms').textContent === '1', null, { timeout: 5000 });
    const rateIn = Number(await page.textContent('#rate-in'));
    const rateOut = Number(await page.textContent('#rate-out'));
    assert.ok(rateIn > 0 && rateOut > rateIn, `rates shown: ${rateIn} in, ${rateOut} out`);
    const namespaces = await page.textContent('#namespaces');
    assert.match(namespaces, /\/3 sockets · 1 rooms/);
    // Something was drawn in the line colours.
    const drawn = await page.evaluate(() => {
      const c = document.getElementById('chart');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let coloured = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] > 200 && d[i + 1] > 150 && d[i + 2] < 120) coloured++;
      return coloured;
    });
    assert.ok(drawn > 20, `the events-out line is drawn (${drawn} pixels)`);
    const dir = path.join(repoRoot, 'build', 'test-artifacts');
    fs.mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, 'dashboard.png') });
    for (const s of members) s.disconnect();
    await withTimeout(page.close(), 5000, 'the page to close');
    assert.deepEqual(errors, []);
  });

  it('asks for the API key when the server has one, then goes live', async () => {
    process.env.SWITCHBOARD_API_KEY = 'page-key';
    let keyed;
    try {
      keyed = await startServer(['--static', path.join(repoRoot, 'web')]);
    } finally {
      delete process.env.SWITCHBOARD_API_KEY;
    }
    try {
      const page = await browser.newPage();
      await page.goto(keyed.url('/dashboard.html'));
      await page.waitForSelector('#key-form', { state: 'visible', timeout: 10_000 });
      assert.match(await page.textContent('#status'), /API key/);
      await page.fill('#key', 'page-key');
      await page.click('#key-form button');
      await page.waitForFunction(() => document.getElementById('status').textContent === 'live', null, { timeout: 10_000 });
      assert.equal(await page.isVisible('#key-form'), false);
      await page.waitForFunction(() => document.getElementById('connections').textContent === '1', null, { timeout: 5000 });
      await page.close();
    } finally {
      await keyed.stop();
    }
  });
});
