// The demo chat with token auth on (JWT_SECRET): a page that enters a valid token is
// the token's user (its id in the online list, direct messages addressed to it), and a
// page with a bad or missing token is refused with "Authentication error", shown on the
// page, without retrying.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSwitchboard, launchChromium, openPage, signIn, waitForStatus, waitForOnline, myId, screenshot, pageErrors,
  signJwt,
} from './helpers.mjs';

const SECRET = 'e2e-demo-secret';
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

describe('the demo chat with JWT auth', () => {
  let server;
  let browser;

  before(async () => {
    server = await startSwitchboard({ env: { JWT_SECRET: SECRET } });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a valid token makes the page its user; direct messages go by that id', async () => {
    assert.match(server.log(), /auth on, HS256 tokens/);
    const carol = await openPage(browser, server.url, 'carol');
    await signIn(carol, 'carol', signJwt({ id: 'u-carol', name: 'Carol', exp: inAnHour() }, SECRET));
    const dave = await openPage(browser, `${server.url}?transport=polling`, 'dave');
    await signIn(dave, 'dave', signJwt({ sub: 'u-dave', exp: inAnHour() }, SECRET));
    assert.equal(await myId(carol), 'u-carol');
    assert.equal(await myId(dave), 'u-dave', 'without an id claim the user is the sub');
    for (const page of [carol, dave]) await waitForOnline(page, ['u-carol', 'u-dave']);

    await carol.click('#online li[data-user-id="u-dave"]');
    await carol.fill('#message', 'a note for dave');
    await carol.click('#send');
    await dave.waitForSelector('#directs li[data-user-id="u-carol"] .unread');
    await dave.click('#directs li[data-user-id="u-carol"]');
    await dave.waitForSelector('ol[data-conversation="dm:u-carol"] li.message .text >> text="a note for dave"');
    await screenshot(dave, 'auth-dave-direct-message');
  });

  for (const [what, token] of [
    ['a token signed with another secret', signJwt({ id: 'u-mallory', exp: inAnHour() }, 'not-the-secret')],
    ['an expired token', signJwt({ id: 'u-late', exp: Math.floor(Date.now() / 1000) - 60 }, SECRET)],
    ['no token', ''],
  ]) {
    it(`${what} is refused with "Authentication error", shown on the page`, async () => {
      const page = await openPage(browser, server.url, what);
      await page.fill('#username', 'mallory');
      if (token) await page.fill('#token', token);
      await page.click('#enter');
      await waitForStatus(page, /^refused: Authentication error$/);
      assert.equal(await page.textContent('#login-error'), 'The server refused the connection: Authentication error');
      assert.ok(await page.isVisible('#login'));
      assert.ok(await page.isHidden('#chat'));
      assert.equal(await page.isEnabled('#enter'), true, 'the user can try another token');
      // No retry on its own: the client stays closed.
      assert.equal(await page.evaluate(() => window.switchboardDemo.socket.active), false);
      if (!token) await screenshot(page, 'auth-refused');
      await page.context().close();
    });
  }

  it('raised no errors in any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
