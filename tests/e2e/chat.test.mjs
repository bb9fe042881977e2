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
import fs from 'node:fs';
import path from 'node:path';

import {
  repoRoot, startSwitchboard, launchChromium, openChat, waitForStatus, waitForOnline, myId, status, roomTexts,
  screenshot, pageErrors,
} from './helpers.mjs';

describe('the demo chat in Chromium', () => {
  let server;
  let browser;
  let alice;
  let bob;
  let aliceId;
  let bobId;

  before(async () => {
    server = await startSwitchboard();
    browser = await launchChromium();
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
    server = await startSwitchboard({ port });
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
    // Chromium itself logs each refused reconnection attempt (the server was away); any
    // other script or console error is the page's.
    assert.deepEqual(pageErrors.filter((e) => !/net::ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(e)), []);
  });
});
