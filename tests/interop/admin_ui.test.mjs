// @socket.io/admin-ui against the switchboard binary: the official socket.io-client
// connects to /admin the way the UI does (App.vue's tryConnect: auth {username,
// password}, later {sessionId}; polling then websocket), and what it is sent and what it
// may ask is checked against real chat clients acting meanwhile. The facts come from the
// package's dist/index.js (npm @socket.io/admin-ui 0.5.1).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, chatClientsClosedAfterEach, connected, connectError, repoRoot, withTimeout } from './helpers.mjs';

// "changeit", hashed with bcrypt: the example of the package's README.
const HASH = '$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS';
const PASSWORD = 'changeit';
const ALL_FEATURES = ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT', 'AGGREGATED_EVENTS',
  'ALL_EVENTS'];

const openClient = chatClientsClosedAfterEach();

function client(server, nsp, opts = {}) {
  return openClient(server.url(nsp), opts);
}

// As the UI connects: both transports, credentials, no reconnection.
function admin(server, auth = { username: 'admin', password: PASSWORD }, opts = {}) {
  return client(server, '/admin', { transports: ['polling', 'websocket'], withCredentials: true, auth, ...opts });
}

/** Resolves to the args of the first `event` (received so far or later) that `pred` accepts. */
function eventWhere(socket, event, pred = () => true, ms = 5000) {
  return withTimeout(new Promise((resolve) => {
    const look = () => {
      const found = socket.received(event).find((args) => pred(...args));
      if (!found) return false;
      socket.offAny(onAny);
      resolve(found);
      return true;
    };
    const onAny = () => { look(); };
    if (!look()) socket.onAny(onAny);
  }), ms, `"${event}" matching on ${socket.nsp}`);
}

const isDate = (value) => typeof value === 'string' && !Number.isNaN(Date.parse(value));

describe('admin UI (development mode, basic auth, 2 loops)', () => {
  let server;
  before(async () => {
    // The hash from the environment, as an operator keeps it out of files and argv.
    process.env.SWITCHBOARD_ADMIN_UI_PASSWORD_HASH = HASH;
    try {
      server = await startServer(['--threads', '2', '--admin-ui']);
    } finally {
      delete process.env.SWITCHBOARD_ADMIN_UI_PASSWORD_HASH;
    }
  });
  after(async () => { await server?.stop(); });

  it('refuses bad credentials with the UI\'s "invalid credentials"', async () => {
    for (const auth of [{ username: 'admin', password: 'wrong' }, { username: 'root', password: PASSWORD }, {},
      { username: 'admin', password: 42 }, { sessionId: 'made-up' }]) {
      const error = await connectError(admin(server, auth));
      assert.equal(error.message, 'invalid credentials', JSON.stringify(auth));
    }
  });

  it('good credentials: session, config, and all_sockets listing the chat clients with their rooms', async () => {
    const alice = client(server, '/', { transports: ['polling'] });
    const bob = client(server, '/chat');
    await Promise.all([connected(alice), connected(bob)]);
    await alice.request('join-room', 'lobby');

    const ui = admin(server);
    await connected(ui);
    const [session] = await ui.next('session');
    assert.equal(typeof session, 'string');
    assert.ok(session.length >= 16);
    const [config] = await ui.next('config');
    assert.deepEqual(config.supportedFeatures, ALL_FEATURES);
    const [all] = await ui.next('all_sockets');
    const a = all.find((s) => s.id === alice.id);
    const b = all.find((s) => s.id === bob.id);
    assert.ok(a && b, `both chat clients listed: ${JSON.stringify(all.map((s) => [s.nsp, s.id]))}`);
    assert.ok(all.some((s) => s.id === ui.id && s.nsp === '/admin'), 'the admin socket itself, as Node lists it');
    assert.equal(a.nsp, '/');
    assert.equal(b.nsp, '/chat');
    assert.equal(a.transport, 'polling');
    assert.equal(b.transport, 'websocket');
    assert.equal(a.clientId, alice.io.engine.id.slice(0, 12));
    assert.ok(a.rooms.includes(alice.id));
    assert.ok(a.rooms.some((r) => r !== alice.id && r.includes('lobby')), `the chat room in ${a.rooms}`);
    assert.equal(typeof a.data, 'object');
    const hs = a.handshake;
    assert.equal(hs.address, '127.0.0.1');
    assert.equal(hs.query.EIO, '4');
    assert.equal(hs.query.transport, 'polling');
    assert.equal(typeof hs.headers, 'object');
    assert.equal(typeof hs.issued, 'number');
    assert.equal(hs.secure, false);
    assert.match(hs.url, /^\/socket\.io\/\?/);
    assert.equal(hs.auth, undefined, 'auth is left out (it may hold passwords and tokens)');
    const mine = all.find((s) => s.id === ui.id);
    assert.equal(mine.handshake.auth, undefined, 'the admin\'s own password is not echoed');

    // The session id replaces the password, as the UI uses it when it reconnects.
    const again = admin(server, { sessionId: session });
    await connected(again);
    const [config2] = await again.next('config');
    assert.deepEqual(config2.supportedFeatures, ALL_FEATURES);
    assert.equal(again.received('session').length, 0, 'no new session for a session login');
  });

  it('reports sockets, rooms and events live as real clients act', async () => {
    const ui = admin(server);
    await connected(ui);
    await ui.next('all_sockets');

    const carol = client(server, '/', { transports: ['polling', 'websocket'] });
    await connected(carol);
    const [connectedSocket, at] = await eventWhere(ui, 'socket_connected', (s) => s.id === carol.id);
    assert.equal(connectedSocket.nsp, '/');
    assert.equal(connectedSocket.transport, 'polling', 'the client starts on polling');
    assert.equal(connectedSocket.clientId, carol.io.engine.id.slice(0, 12));
    assert.ok(connectedSocket.rooms.includes(carol.id));
    assert.ok(isDate(at), `a date: ${at}`);
    // The upgrade to WebSocket.
    const [updated] = await eventWhere(ui, 'socket_updated', (s) => s.id === carol.id);
    assert.deepEqual(updated, { id: carol.id, nsp: '/', transport: 'websocket' });

    await carol.request('join-room', 'garden');
    const [nsp, room, id, when] = await eventWhere(ui, 'room_joined',
      (n, r, i) => i === carol.id && r.includes('garden'));
    assert.equal(nsp, '/');
    assert.ok(isDate(when));
    assert.ok(room.includes('garden'));

    const message = { id: 'm1', userId: carol.id, username: 'Carol', text: 'hello admin', timestamp: 1 };
    await carol.request('send-message', { roomId: 'garden', message });
    const [rnsp, rid, rargs, rwhen] = await eventWhere(ui, 'event_received', (n, i, args) => i === carol.id &&
      args[0] === 'send-message');
    assert.equal(rnsp, '/');
    assert.equal(rid, carol.id);
    assert.deepEqual(rargs, ['send-message', { roomId: 'garden', message }]);
    assert.ok(isDate(rwhen));

    await carol.request('leave-room', 'garden');
    await eventWhere(ui, 'room_left', (n, r, i) => i === carol.id && r === room);

    // An event the server emits to this one socket (not a broadcast): the rate limit's.
    for (let i = 0; i < 150; i++) carol.emit('typing', { roomId: 'garden', username: 'Carol' });
    await carol.next('rate-limited');
    const [snsp, sid, sargs] = await eventWhere(ui, 'event_sent', (n, i, args) => i === carol.id &&
      args[0] === 'rate-limited');
    assert.equal(snsp, '/');
    assert.equal(sid, carol.id);
    assert.equal(sargs.length, 2, `the event and its payload: ${JSON.stringify(sargs)}`);

    const carolId = carol.id;  // the client forgets it on disconnect
    carol.disconnect();
    const [dnsp, did, reason, dwhen] = await eventWhere(ui, 'socket_disconnected', (n, i) => i === carolId);
    assert.equal(dnsp, '/');
    assert.equal(did, carolId);
    assert.equal(reason, 'client namespace disconnect');
    assert.ok(isDate(dwhen));
    // Its own room goes too, so that the UI drops it.
    await eventWhere(ui, 'room_left', (n, r, i) => i === carolId && r === carolId);
  });

  it('acts on real clients: emit, join, leave and _disconnect', async () => {
    const ui = admin(server);
    const dave = client(server, '/');
    const erin = client(server, '/', { transports: ['polling'] });
    await Promise.all([connected(ui), connected(dave), connected(erin)]);

    // emit to one socket (its own room as the filter), then to the whole namespace.
    ui.emit('emit', '/', dave.id, 'notice', { from: 'admin' }, 2);
    assert.deepEqual(await dave.next('notice'), [{ from: 'admin' }, 2]);
    ui.emit('emit', '/', undefined, 'to-all', 'x');
    assert.deepEqual(await dave.next('to-all'), ['x']);
    assert.deepEqual(await erin.next('to-all'), ['x']);

    // join: dave joins the chat's room "vip" (room:vip); a publish into it reaches him and not erin.
    ui.emit('join', '/', 'room:vip', dave.id);
    await eventWhere(ui, 'room_joined', (n, r, i) => r === 'room:vip' && i === dave.id);
    const publish = (event) => fetch(server.url('/api/publish'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ room: 'vip', event, data: { n: 1 } }),
    });
    assert.equal((await publish('vip-news')).status, 200);
    assert.deepEqual(await dave.next('vip-news'), [{ n: 1 }]);
    // Every socket of the namespace (MJOIN): erin too, on the other transport.
    ui.emit('join', '/', 'everyone');
    await eventWhere(ui, 'room_joined', (n, r, i) => r === 'everyone' && i === erin.id);

    ui.emit('leave', '/', 'room:vip', dave.id);
    await eventWhere(ui, 'room_left', (n, r, i) => r === 'room:vip' && i === dave.id);
    assert.equal(erin.received('vip-news').length, 0);

    // _disconnect: the client is told, as by Node's disconnectSockets().
    const daveId = dave.id;
    const gone = new Promise((resolve) => dave.once('disconnect', resolve));
    ui.emit('_disconnect', '/', false, daveId);
    assert.equal(await withTimeout(gone, 5000, 'dave\'s disconnect'), 'io server disconnect');
    await eventWhere(ui, 'socket_disconnected', (n, i, r) => i === daveId && r === 'server namespace disconnect');
    assert.ok(erin.connected, 'only the target');

    // A namespace that does not exist is not made by the UI.
    ui.emit('join', '/nope', 'room');
    ui.emit('emit', '/nope', undefined, 'x');
    await erin.request('join-room', 'after');  // a round trip: the server is fine
  });

  it('emits server_stats every 2 seconds, in the UI\'s shape', async () => {
    const ui = admin(server);
    const polling = client(server, '/', { transports: ['polling'] });
    await Promise.all([connected(ui), connected(polling)]);
    const [stats] = await ui.next('server_stats', 5000);
    assert.equal(stats.pid, server.pid);
    assert.equal(typeof stats.serverId, 'string');
    assert.equal(stats.serverId, stats.hostname, 'the host name by default');
    assert.equal(typeof stats.uptime, 'number');
    assert.ok(stats.clientsCount >= 2, `clientsCount ${stats.clientsCount}`);
    assert.ok(stats.pollingClientsCount >= 1, `pollingClientsCount ${stats.pollingClientsCount}`);
    const names = stats.namespaces.map((n) => n.name);
    for (const name of ['/', '/chat', '/notifications', '/admin']) assert.ok(names.includes(name), name);
    assert.ok(stats.namespaces.find((n) => n.name === '/').socketsCount >= 1);
    assert.ok(Array.isArray(stats.aggregatedEvents));
    // The connections just made show up as rawConnection, the traffic as bytes.
    let seen = [...stats.aggregatedEvents];
    for (let i = 0; i < 3 && !seen.some((e) => e.type === 'rawConnection'); i++) {
      seen = seen.concat((await ui.next('server_stats', 5000))[0].aggregatedEvents);
    }
    const raw = seen.find((e) => e.type === 'rawConnection');
    assert.ok(raw && raw.count >= 1, JSON.stringify(seen));
    assert.equal(raw.timestamp % 1000, 0, 'counted per second');
    assert.ok(seen.some((e) => e.type === 'bytesIn' && e.count > 0));
    assert.ok(seen.some((e) => e.type === 'bytesOut' && e.count > 0));
  });

  it('serves the UI\'s files at /admin/', async () => {
    const dist = path.join(repoRoot, 'node_modules/@socket.io/admin-ui/ui/dist');
    const redirect = await fetch(server.url('/admin'), { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/admin/');
    const page = await fetch(server.url('/admin/'));
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.equal(html, fs.readFileSync(path.join(dist, 'index.html'), 'utf8'));
    const script = html.match(/src="(js\/app\.[0-9a-f]+\.js)"/)[1];
    const js = await fetch(server.url(`/admin/${script}`));
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /javascript/);
  });
});

describe('admin UI, read-only and production mode', () => {
  let server;
  before(async () => {
    server = await startServer(['--admin-ui', '--admin-ui-password-hash', HASH, '--admin-ui-username', 'ops',
      '--admin-ui-readonly', '--admin-ui-mode', 'production', '--admin-ui-server-id', 'node-a']);
  });
  after(async () => { await server?.stop(); });

  it('offers no commands and ignores them; no per-socket details; server_stats only', async () => {
    assert.equal((await connectError(admin(server))).message, 'invalid credentials', 'the user name is ops');
    const ui = admin(server, { username: 'ops', password: PASSWORD });
    const frank = client(server, '/');
    await Promise.all([connected(ui), connected(frank)]);
    const [config] = await ui.next('config');
    assert.deepEqual(config.supportedFeatures, ['AGGREGATED_EVENTS']);
    ui.emit('_disconnect', '/', false, frank.id);
    ui.emit('emit', '/', frank.id, 'notice', 1);
    const [stats] = await ui.next('server_stats', 5000);
    assert.equal(stats.serverId, 'node-a');
    assert.equal(stats.namespaces.find((n) => n.name === '/').socketsCount, 1);
    await frank.request('join-room', 'still-here');
    assert.ok(frank.connected);
    assert.equal(frank.received('notice').length, 0);
    for (const event of ['all_sockets', 'socket_connected', 'room_joined', 'event_received']) {
      assert.equal(ui.received(event).length, 0, event);
    }
  });
});

describe('admin UI configuration', () => {
  const bin = () => process.env.SWITCHBOARD_BIN;

  it('refuses to start with admin-ui on and no password, naming the way out', () => {
    const env = { ...process.env };
    delete env.SWITCHBOARD_ADMIN_UI_PASSWORD_HASH;
    const run = spawnSync(bin(), ['--port', '0', '--admin-ui'], { env, encoding: 'utf8', timeout: 10_000 });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /admin-ui is on but no password is set/);
    assert.match(run.stderr, /admin-ui-auth = false/);
    const bad = spawnSync(bin(), ['--port', '0', '--admin-ui', '--admin-ui-password-hash', 'changeit'],
      { env, encoding: 'utf8', timeout: 10_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /bcrypt hash/);
  });

  it('admin-ui-auth = false opens it without credentials', async () => {
    const server = await startServer(['--admin-ui', '--admin-ui-auth=false']);
    try {
      const ui = admin(server, {});
      await connected(ui);
      const [config] = await ui.next('config');
      assert.deepEqual(config.supportedFeatures, ALL_FEATURES);
      assert.equal(ui.received('session').length, 0);
    } finally {
      openClient.closeAll();
      await server.stop();
    }
  });

  it('admin-ui-origin: the UI hosted elsewhere (admin.socket.io) may poll, with credentials', async () => {
    const server = await startServer(['--admin-ui', '--admin-ui-auth=false', '--admin-ui-origin',
      'https://admin.socket.io']);
    try {
      const handshake = (origin) => fetch(server.url('/socket.io/?EIO=4&transport=polling'), { headers: { origin } });
      const allowed = await handshake('https://admin.socket.io');
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://admin.socket.io');
      assert.equal(allowed.headers.get('access-control-allow-credentials'), 'true');
      const other = await handshake('https://elsewhere.example');
      assert.equal(other.headers.get('access-control-allow-origin'), null);
    } finally {
      await server.stop();
    }
    const bad = spawnSync(process.env.SWITCHBOARD_BIN, ['--port', '0', '--admin-ui', '--admin-ui-auth=false',
      '--admin-ui-origin', 'https://admin.socket.io/'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /an origin: scheme and host/);
  });

  it('off by default: /admin is no namespace and /admin/ serves nothing', async () => {
    const server = await startServer([]);
    try {
      const error = await connectError(admin(server));
      assert.equal(error.message, 'Invalid namespace');
      assert.equal((await fetch(server.url('/admin/'))).status, 404);
    } finally {
      openClient.closeAll();
      await server.stop();
    }
  });
});
