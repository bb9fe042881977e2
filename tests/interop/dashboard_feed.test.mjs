// The live dashboard's feed with socket.io-client: namespace /dashboard emits `stats`
// every second, and the numbers reflect the chat traffic (connections, sockets, rooms,
// events in/out and their rates); with an API key the namespace needs it in auth. The
// page's files are served from web/ by --static.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { startServer, chatClientsClosedAfterEach, connected, connectError, repoRoot, withTimeout } from './helpers.mjs';

const openClient = chatClientsClosedAfterEach();

function client(server, nsp, opts = {}) {
  return openClient(server.url(nsp), { transports: ['websocket'], ...opts });
}

/** Resolves to the first `stats` (from now on) that `pred` accepts. */
function statsWhere(dashboard, pred, ms = 6000) {
  return withTimeout(new Promise((resolve) => {
    const look = (stats) => {
      if (!pred(stats)) return;
      dashboard.off('stats', look);
      resolve(stats);
    };
    dashboard.on('stats', look);
  }), ms, 'a matching stats event');
}

describe('/dashboard', () => {
  let server;
  before(async () => { server = await startServer(['--threads', '2', '--static', path.join(repoRoot, 'web')]); });
  after(async () => { await server?.stop(); });

  it('emits stats at once and every second, reflecting the traffic', async () => {
    const dashboard = client(server, '/dashboard');
    await connected(dashboard);
    const [first] = await dashboard.next('stats', 2000);  // on connect
    assert.equal(first.connections.websocket, 1, 'the dashboard itself');
    assert.equal(first.sockets['/dashboard'], 1);
    assert.equal(first.sockets['/'], 0);
    assert.equal(first.roomCount, 0);
    for (const key of ['eventsIn', 'eventsOut', 'eventsInPerSecond', 'eventsOutPerSecond', 'bytesIn', 'bytesOut']) {
      assert.equal(typeof first[key], 'number', key);
    }
    assert.equal(first.lagMs.length, 2, 'one lag per loop');
    const t0 = Date.now();
    const [second] = await dashboard.next('stats', 2500);
    assert.ok(Date.now() - t0 < 2000);

    const alice = client(server, '/');
    const bob = client(server, '/', { transports: ['polling'] });
    await Promise.all([connected(alice), connected(bob)]);
    await alice.request('join-room', 'dash');
    await bob.request('join-room', 'dash');
    const sends = 20;
    for (let i = 0; i < sends; i++) {
      const message = { id: `m${i}`, userId: alice.id, username: 'A', text: `n${i}`, timestamp: i };
      await alice.request('send-message', { roomId: 'dash', message });
    }
    // 2 joins + 20 sends in; 1 user-joined + 40 new-message out.
    const stats = await statsWhere(dashboard, (s) => s.eventsIn >= second.eventsIn + 22 && s.eventsOut >= second.eventsOut + 41);
    assert.equal(stats.eventsIn - second.eventsIn, 22);
    assert.equal(stats.eventsOut - second.eventsOut, 41, 'the dashboard\'s own stats are not counted');
    assert.equal(stats.connections.websocket, 2);
    assert.equal(stats.connections.polling, 1);
    assert.equal(stats.connections.total, 3);
    assert.equal(stats.sockets['/'], 2);
    assert.equal(stats.rooms['/'], 1);
    assert.equal(stats.roomCount, 1);
    assert.ok(stats.bytesIn > second.bytesIn && stats.bytesOut > second.bytesOut);
    // The rates: some second saw the burst (it may straddle two ticks).
    let peakIn = stats.eventsInPerSecond;
    let peakOut = stats.eventsOutPerSecond;
    if (peakIn < 10) {
      const next = (await dashboard.next('stats', 2500))[0];
      peakIn = Math.max(peakIn, next.eventsInPerSecond);
      peakOut = Math.max(peakOut, next.eventsOutPerSecond);
    }
    assert.ok(peakIn > 0 && peakOut > 0, `rates ${peakIn} ${peakOut}`);
    // Quiet again: the rates fall to 0.
    const quiet = await statsWhere(dashboard, (s) => s.eventsInPerSecond === 0 && s.eventsOutPerSecond === 0, 4000);
    assert.equal(quiet.eventsIn, stats.eventsIn);
  });

  it('serves the page, its script, and the page loads socket.io-client from the server', async () => {
    const html = await fetch(server.url('/dashboard.html'));
    assert.equal(html.status, 200);
    const text = await html.text();
    assert.match(text, /<script src="\/socket.io\/socket.io.js"><\/script>/);
    assert.match(text, /<canvas id="chart"/);
    const js = await fetch(server.url('/dashboard.js'));
    assert.equal(js.status, 200);
    assert.match(await js.text(), /socket\.on\('stats', show\)/);
  });
});

describe('/dashboard with an API key', () => {
  let server;
  before(async () => {
    process.env.SWITCHBOARD_API_KEY = 'dash-key';
    try {
      server = await startServer([]);
    } finally {
      delete process.env.SWITCHBOARD_API_KEY;
    }
  });
  after(async () => { await server?.stop(); });

  it('needs auth.apiKey', async () => {
    assert.equal((await connectError(client(server, '/dashboard'))).message, 'Authentication error');
    assert.equal((await connectError(client(server, '/dashboard', { auth: { apiKey: 'nope' } }))).message,
      'Authentication error');
    const ok = client(server, '/dashboard', { auth: { apiKey: 'dash-key' } });
    await connected(ok);
    const [stats] = await ok.next('stats', 2000);
    assert.equal(stats.sockets['/dashboard'], 1);
  });
});
