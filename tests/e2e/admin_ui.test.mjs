// The official Socket.IO admin UI (@socket.io/admin-ui's ui/dist, served by the binary at
// /admin/) in Chromium: its connection dialog refuses a wrong password with its
// "Invalid credentials", logs in with the right one, and its Sockets page lists the
// socket of a person chatting on the demo page meanwhile, and its Servers page this server.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';

import { startSwitchboard, launchChromium, openChat, myId, screenshot } from './helpers.mjs';

// "changeit", hashed with bcrypt: the example of the package's README.
const HASH = '$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS';

describe('the admin UI in Chromium', () => {
  let server;
  let browser;
  before(async () => {
    server = await startSwitchboard({ env: { SWITCHBOARD_ADMIN_UI_PASSWORD_HASH: HASH }, flags: ['--admin-ui'] });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('logs in at /admin/ and lists the socket of a chat user', async () => {
    const alice = await openChat(browser, server.url, 'Alice');
    const aliceId = await myId(alice);  // without auth, the user id is the socket id

    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    // The page asks Google Fonts and jsDelivr for fonts and icons: fail those at once.
    await context.route((url) => !url.href.startsWith(server.url), (route) => route.abort());
    const page = await context.newPage();
    const response = await page.goto(`${server.url}admin/`);
    assert.equal(response.status(), 200);

    const origin = server.url.replace(/\/$/, '');
    await page.getByLabel('Server URL').fill(origin);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByText('Invalid credentials').waitFor({ timeout: 20_000 });

    await page.getByLabel('Password').fill('changeit');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByLabel('Server URL').waitFor({ state: 'hidden', timeout: 20_000 });

    await page.goto(`${server.url}admin/#/sockets/`);
    await page.getByText(aliceId).first().waitFor({ timeout: 20_000 });
    await screenshot(page, 'admin-ui-sockets');

    // The server_stats of every 2 s: this server in the Servers page, by its host name.
    await page.goto(`${server.url}admin/#/servers/`);
    await page.getByText(os.hostname()).first().waitFor({ timeout: 20_000 });
    await page.goto(`${server.url}admin/#/`);
    await page.getByText('/notifications').first().waitFor({ timeout: 20_000 });  // the namespaces table
    await screenshot(page, 'admin-ui-dashboard');
    await context.close();
    await alice.context().close();
  });
});
