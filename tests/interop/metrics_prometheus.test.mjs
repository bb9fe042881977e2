// GET /metrics after real traffic: the text parses as Prometheus exposition format
// (HELP and TYPE before each family's samples, counters named *_total, label values
// escaped), and the numbers moved exactly as the traffic says — connections by
// transport, sockets and rooms by namespace, events in/out by name, bytes, rate-limit
// drops, handshake failures by reason, loop lag, a slow consumer's disconnect — with the
// official socket.io-client.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startServer, chatClientsClosedAfterEach, connected, connectError, httpExchange, withTimeout, signJwt, WebSocket,
} from './helpers.mjs';

const openClient = chatClientsClosedAfterEach();

function client(server, nsp, opts = {}) {
  return openClient(server.url(nsp), opts);
}

/**
 * Parses the exposition text strictly; returns { samples: Map('name{a="x",b="y"}' → number),
 * types: Map(name → type) }. Label sets are keyed with labels sorted by name.
 */
export function parseProm(text) {
  const types = new Map();
  const helps = new Map();
  const samples = new Map();
  assert.ok(text.endsWith('\n'), 'the text ends with a line feed');
  let family = null;
  for (const line of text.slice(0, -1).split('\n')) {
    let m;
    if ((m = line.match(/^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/))) {
      assert.ok(!helps.has(m[1]), `one HELP for ${m[1]}`);
      helps.set(m[1], m[2]);
      family = m[1];
      continue;
    }
    if ((m = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/))) {
      assert.ok(!types.has(m[1]), `one TYPE for ${m[1]}`);
      assert.equal(m[1], family, 'TYPE follows its HELP');
      if (m[2] === 'counter') assert.match(m[1], /_total$/, 'a counter is named *_total');
      types.set(m[1], m[2]);
      continue;
    }
    assert.ok(!line.startsWith('#'), `no other comments: ${line}`);
    m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    const [, name, , labelText = '', value] = m;
    assert.equal(name, family, `sample ${name} inside its family`);
    assert.ok(types.has(name), `TYPE before the samples of ${name}`);
    const labels = [];
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(,|$)/gy;
    let consumed = 0;
    let lm;
    while (consumed < labelText.length && (lm = labelRe.exec(labelText))) {
      labels.push([lm[1], lm[2]]);
      consumed = labelRe.lastIndex;
    }
    assert.equal(consumed, labelText.length, `labels parse: ${labelText}`);
    labels.sort((a, b) => a[0].localeCompare(b[0]));
    const key = labels.length ? `${name}{${labels.map(([k, v]) => `${k}="${v}"`).join(',')}}` : name;
    assert.ok(!samples.has(key), `one sample for ${key}`);
    const number = value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : Number(value);
    assert.ok(!Number.isNaN(number) || value === 'NaN', `a number: ${value}`);
    samples.set(key, number);
  }
  return { samples, types };
}

async function scrape(server, headers = {}) {
  const res = await fetch(server.url('/metrics'), { headers });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return parseProm(await res.text());
}

/** value(after) - value(before) for every key of `expected`, compared exactly. */
function assertMoved(before, after, expected) {
  const moved = {};
  for (const key of Object.keys(expected)) {
    assert.ok(after.samples.has(key), `${key} is exposed`);
    moved[key] = after.samples.get(key) - (before.samples.get(key) ?? 0);
  }
  assert.deepEqual(moved, expected);
}

const ev = (dir, name) => `switchboard_events_${dir}_total{event="${name}"}`;
const conn = (t) => `switchboard_connections{transport="${t}"}`;

describe('/metrics', () => {
  let server;
  before(async () => { server = await startServer(['--threads', '2']); });
  after(async () => { await server?.stop(); });

  it('exposes every family with HELP and TYPE', async () => {
    const { types, samples } = await scrape(server);
    assert.deepEqual(Object.fromEntries(types), {
      switchboard_connections: 'gauge',
      switchboard_socketio_sockets: 'gauge',
      switchboard_rooms: 'gauge',
      switchboard_events_in_total: 'counter',
      switchboard_events_out_total: 'counter',
      switchboard_bytes_in_total: 'counter',
      switchboard_bytes_out_total: 'counter',
      switchboard_dropped_total: 'counter',
      switchboard_slow_consumer_disconnects_total: 'counter',
      switchboard_handshake_failures_total: 'counter',
      switchboard_event_loop_lag_seconds: 'gauge',
    });
    for (const nsp of ['/', '/chat', '/notifications', '/dashboard']) {
      assert.equal(samples.get(`switchboard_socketio_sockets{namespace="${nsp}"}`), 0, nsp);
    }
    for (const loop of ['0', '1']) {
      const lag = samples.get(`switchboard_event_loop_lag_seconds{loop="${loop}"}`);
      assert.ok(lag >= 0 && lag < 1, `loop ${loop} lag ${lag}`);
    }
    assert.equal(samples.get('switchboard_event_loop_lag_seconds{loop="2"}'), undefined, 'one gauge per loop');
  });

  it('counts connections, sockets, rooms, events and bytes exactly', async () => {
    const before = await scrape(server);
    const alice = client(server, '/', { transports: ['websocket'] });
    const bob = client(server, '/', { transports: ['websocket'] });
    const carol = client(server, '/chat', { transports: ['polling'] });
    await Promise.all([connected(alice), connected(bob), connected(carol)]);

    assert.deepEqual(await alice.request('join-room', 'metrics'), { success: true });
    assert.deepEqual(await bob.request('join-room', 'metrics'), { success: true });
    await alice.next('user-joined');
    const message = { id: 'm1', userId: alice.id, username: 'Alice', text: 'hello', timestamp: Date.now() };
    assert.deepEqual(await alice.request('send-message', { roomId: 'metrics', message }), { success: true });
    await Promise.all([alice.next('new-message'), bob.next('new-message')]);
    alice.emit('typing', { roomId: 'metrics', username: 'Alice' });
    await bob.next('user-typing');
    alice.emit('not-in-the-contract', 1);
    alice.emit('also-not', 2);
    // An HTTP API publish into the room: one "other" event per member.
    const res = await fetch(server.url('/api/publish'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ room: 'metrics', event: 'ticker', data: { price: 1 } }),
    });
    assert.equal(res.status, 200);
    await Promise.all([alice.next('ticker'), bob.next('ticker')]);
    // The two "other" events went before the publish on alice's connection, but were
    // read on the server's loop: wait until they are counted.
    let after;
    await withTimeout((async () => {
      for (;;) {
        after = await scrape(server);
        if (after.samples.get(ev('in', 'other')) - (before.samples.get(ev('in', 'other')) ?? 0) >= 2) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    })(), 5000, 'the custom events to be counted');

    assertMoved(before, after, {
      [conn('websocket')]: 2,
      [conn('polling')]: 1,
      [conn('native_ws')]: 0,
      [conn('sse')]: 0,
      'switchboard_socketio_sockets{namespace="/"}': 2,
      'switchboard_socketio_sockets{namespace="/chat"}': 1,
      'switchboard_socketio_sockets{namespace="/notifications"}': 0,
      'switchboard_rooms{kind="chat",namespace="/"}': 1,
      'switchboard_rooms{kind="user",namespace="/"}': 2,
      'switchboard_rooms{kind="other",namespace="/"}': 2,
      'switchboard_rooms{kind="user",namespace="/chat"}': 1,
      'switchboard_rooms{kind="chat",namespace="/chat"}': 0,
      [ev('in', 'join-room')]: 2,
      [ev('in', 'send-message')]: 1,
      [ev('in', 'typing')]: 1,
      [ev('in', 'other')]: 2,
      [ev('in', 'new-message')]: 0,
      [ev('out', 'user-joined')]: 1,
      [ev('out', 'new-message')]: 2,
      [ev('out', 'user-typing')]: 1,
      [ev('out', 'other')]: 2,
      [ev('out', 'join-room')]: 0,
      'switchboard_dropped_total{reason="rate_limited"}': 0,
      'switchboard_dropped_total{reason="volatile"}': 0,
    });
    for (const key of ['switchboard_bytes_in_total', 'switchboard_bytes_out_total']) {
      assert.ok(after.samples.get(key) > before.samples.get(key) + 200, `${key} moved`);
    }

    // Gone again: the gauges come back down.
    for (const s of [alice, bob, carol]) s.disconnect();
    await withTimeout((async () => {
      for (;;) {
        const now = await scrape(server);
        if (now.samples.get(conn('websocket')) === before.samples.get(conn('websocket')) &&
            now.samples.get(conn('polling')) === before.samples.get(conn('polling')) &&
            now.samples.get('switchboard_rooms{kind="chat",namespace="/"}') === 0 &&
            now.samples.get('switchboard_socketio_sockets{namespace="/"}') === 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })(), 10_000, 'the connection, socket and room gauges to come back down');
  });

  it('moves an upgraded session from polling to websocket', async () => {
    const before = await scrape(server);
    const upgrader = client(server, '/', { transports: ['polling', 'websocket'] });
    await connected(upgrader);
    await withTimeout(new Promise((resolve) => {
      if (upgrader.io.engine.transport.name === 'websocket') resolve();
      else upgrader.io.engine.once('upgrade', resolve);
    }), 5000, 'the upgrade');
    // The server counts the upgrade when the client's upgrade packet arrives, which
    // the client's 'upgrade' event does not wait for.
    let after;
    await withTimeout((async () => {
      for (;;) {
        after = await scrape(server);
        if (after.samples.get(conn('websocket')) - before.samples.get(conn('websocket')) === 1) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    })(), 5000, 'the upgraded session to count as websocket');
    assertMoved(before, after, { [conn('websocket')]: 1, [conn('polling')]: 0 });
    upgrader.disconnect();
    await withTimeout((async () => {
      for (;;) {
        const now = await scrape(server);
        if (now.samples.get(conn('websocket')) === before.samples.get(conn('websocket'))) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    })(), 5000, 'the websocket gauge to come back down');
  });

  it('counts native WebSocket feed and SSE connections while they are open', async () => {
    const before = await scrape(server);
    const ws = new WebSocket(server.wsUrl('/ws'));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const controller = new AbortController();
    const sse = await fetch(server.url('/sse?room=lobby'), { signal: controller.signal });
    assert.equal(sse.status, 200);
    const during = await scrape(server);
    assertMoved(before, during, { [conn('native_ws')]: 1, [conn('sse')]: 1 });
    ws.close();
    controller.abort();
    await withTimeout((async () => {
      for (;;) {
        const now = await scrape(server);
        if (now.samples.get(conn('native_ws')) === 0 && now.samples.get(conn('sse')) === 0) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    })(), 5000, 'the native_ws and sse gauges to come back to 0');
  });

  it('counts Engine.IO refusals by reason', async () => {
    const before = await scrape(server);
    const get = (target) => httpExchange(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal((await get('/socket.io/?EIO=4&transport=carrier-pigeon')).responses[0].status, 400);
    assert.equal((await get('/socket.io/?EIO=4&transport=polling&sid=nope')).responses[0].status, 400);
    assert.equal((await get('/socket.io/?EIO=4&transport=polling&sid=nope')).responses[0].status, 400);
    assert.equal((await get('/socket.io/?EIO=3&transport=polling')).responses[0].status, 400);
    const after = await scrape(server);
    const fail = (reason) => `switchboard_handshake_failures_total{reason="${reason}"}`;
    assertMoved(before, after, {
      [fail('unknown_transport')]: 1,
      [fail('unknown_sid')]: 2,
      [fail('unsupported_protocol_version')]: 1,
      [fail('bad_request')]: 0,
      [fail('forbidden')]: 0,
      [fail('authentication_error')]: 0,
      [fail('ws_upgrade_required')]: 0,
    });
  });

  it('counts native WebSocket handshake refusals by reason', async () => {
    const before = await scrape(server);
    const get = (head) => httpExchange(server.port, `GET /ws HTTP/1.1\r\nHost: x\r\n${head}Connection: close\r\n\r\n`);
    assert.equal((await get('')).responses[0].status, 426);
    const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\n';
    assert.equal((await get(`${upgrade}Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n`)).responses[0].status, 400);
    const after = await scrape(server);
    const fail = (reason) => `switchboard_handshake_failures_total{reason="${reason}"}`;
    assertMoved(before, after, {
      [fail('ws_upgrade_required')]: 1,
      [fail('ws_bad_request')]: 1,
      [fail('ws_forbidden_origin')]: 0,
      [fail('ws_rejected')]: 0,
      [fail('bad_request')]: 0,
    });
  });
});

describe('/metrics: rate limits and auth', () => {
  let server;
  const secret = 'metrics-secret';
  before(async () => {
    server = await startServer(['--threads', '2', '--rate-limit-burst', '3', '--rate-limit-per-second', '1',
      '--jwt-secret', secret]);
  });
  after(async () => { await server?.stop(); });

  it('counts events dropped by the rate limit, and refused tokens', async () => {
    const token = (id) => signJwt({ id, exp: Math.floor(Date.now() / 1000) + 600 }, secret);
    const before = await scrape(server);

    const refused = client(server, '/', { auth: {} });
    const error = await connectError(refused);
    assert.equal(error.message, 'Authentication error');
    const forged = client(server, '/chat', { auth: { token: token('x').slice(0, -3) + 'AAA' } });
    assert.equal((await connectError(forged)).message, 'Authentication error');

    const alice = client(server, '/', { auth: { token: token('alice') } });
    const bob = client(server, '/', { auth: { token: token('bob') } });
    await Promise.all([connected(alice), connected(bob)]);
    await alice.request('join-room', 'busy');
    await bob.request('join-room', 'busy');
    // Five events in the bucket's burst of 3 (1 left after the joins): the typing events
    // bob gets are the admitted ones, the rest were dropped.
    const sent = 10;
    for (let i = 0; i < sent; i++) alice.emit('typing', { roomId: 'busy', username: 'A' });
    await alice.next('rate-limited');
    // A marker after the burst, once a token is back: everything before it is settled.
    await new Promise((r) => setTimeout(r, 1100));
    assert.deepEqual(await alice.request('leave-room', 'busy'), { success: true });
    const admitted = bob.received('user-typing').length;
    assert.ok(admitted >= 1 && admitted < sent, `admitted ${admitted}`);

    const after = await scrape(server);
    assertMoved(before, after, {
      'switchboard_handshake_failures_total{reason="authentication_error"}': 2,
      'switchboard_dropped_total{reason="rate_limited"}': sent - admitted,
      [ev('in', 'typing')]: sent,
      [ev('out', 'user-typing')]: admitted,
      [ev('in', 'join-room')]: 2,
      [ev('in', 'leave-room')]: 1,
    });
    assert.ok(after.samples.get(ev('out', 'rate-limited')) - (before.samples.get(ev('out', 'rate-limited')) ?? 0) >= 1);
  });
});

// The chat offers no way to emit a volatile event from outside (the HTTP API's emits
// are ordinary broadcasts), so volatile drops stay covered by the unit tests; a slow
// consumer is what a client that stops reading becomes.
describe('/metrics: a slow consumer', () => {
  let server;
  // Big publishes reach the 16 MiB send-queue limit of a Socket.IO WebSocket
  // connection (ws::Behavior::max_backpressure) in a few requests.
  const payload = 'x'.repeat(4 << 20);
  before(async () => { server = await startServer(['--threads', '2', '--api-max-body', '5M']); });
  after(async () => { await server?.stop(); });

  const publish = async (event) => {
    const res = await fetch(server.url('/api/publish'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ room: 'flood', event, data: payload }),
    });
    assert.equal(res.status, 200);
  };

  it('a Socket.IO client that stops reading is disconnected and counted; the others keep receiving', async () => {
    const before = await scrape(server);
    const slow = client(server, '/');
    const reader = client(server, '/');
    await Promise.all([connected(slow), connected(reader)]);
    assert.deepEqual(await slow.request('join-room', 'flood'), { success: true });
    assert.deepEqual(await reader.request('join-room', 'flood'), { success: true });
    const slowGone = new Promise((resolve) => slow.once('disconnect', resolve));

    // The slow client's TCP socket stops reading: the kernel's buffers fill, then the
    // server's queue for it grows until it passes the limit.
    const tcp = slow.io.engine.transport.ws._socket;
    tcp.pause();
    let publishes = 0;
    let now = before;
    const moved = (key, s = now) => s.samples.get(key) - (before.samples.get(key) ?? 0);
    while (moved('switchboard_slow_consumer_disconnects_total') === 0) {
      // 48 MiB without a disconnect: the limit is not working.
      assert.ok(publishes < 12, `still connected after ${publishes} publishes of 4 MiB`);
      await publish('flood');
      publishes += 1;
      // The reader got it: the server has queued it for the slow client too.
      const [data] = await reader.next('flood', 20_000);
      assert.equal(data.length, payload.length);
      now = await scrape(server);
    }
    assert.ok(publishes >= 4, `the limit is 16 MiB, passed after ${publishes} publishes of 4 MiB`);
    assert.equal(moved('switchboard_slow_consumer_disconnects_total'), 1, 'only the slow client');

    // The server closed it: its socket and its connection are gone from the gauges.
    await withTimeout((async () => {
      for (;;) {
        now = await scrape(server);
        if (now.samples.get('switchboard_socketio_sockets{namespace="/"}') === 1 &&
            moved(conn('websocket')) === 1) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    })(), 5000, 'the slow client to leave the gauges');
    // Once it reads again, the client learns its transport is gone.
    tcp.resume();
    const reason = await withTimeout(slowGone, 10_000, 'the slow client to see its disconnect');
    assert.match(reason, /^transport (close|error)$/);

    // The reader was never held up, and still gets what follows.
    assert.equal(reader.received('flood').length, publishes);
    await publish('after');
    assert.equal((await reader.next('after', 20_000))[0].length, payload.length);
    const after = await scrape(server);
    assert.equal(moved('switchboard_slow_consumer_disconnects_total', after), 1);
    assert.equal(moved('switchboard_dropped_total{reason="volatile"}', after), 0);
  });
});

describe('/metrics: volatile publishes', () => {
  let server;
  const fill = 'x'.repeat(4 << 20);
  before(async () => { server = await startServer(['--threads', '2', '--api-max-body', '5M']); });
  after(async () => { await server?.stop(); });

  const publish = async (body) => fetch(server.url('/api/publish'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ room: 'ticker', ...body }),
  });

  it('"volatile" must be a boolean', async () => {
    const res = await publish({ event: 'tick', data: 1, volatile: 'yes' });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).field, 'volatile');
  });

  it('a volatile publish skips a client that cannot take it now, is counted, and reaches the others', async () => {
    const before = await scrape(server);
    const slow = client(server, '/');
    const reader = client(server, '/');
    await Promise.all([connected(slow), connected(reader)]);
    assert.deepEqual(await slow.request('join-room', 'ticker'), { success: true });
    assert.deepEqual(await reader.request('join-room', 'ticker'), { success: true });

    // The slow client stops reading; 12 MiB of ordinary publishes fill the kernel's
    // buffers (a few MiB on loopback) and leave MiBs queued for it — far above the
    // 64 KiB high-water mark, below the 16 MiB slow-consumer limit.
    const tcp = slow.io.engine.transport.ws._socket;
    tcp.pause();
    for (let i = 0; i < 3; i += 1) {
      assert.equal((await publish({ event: 'fill', data: fill })).status, 200);
      assert.equal((await reader.next('fill', 20_000))[0].length, fill.length);
    }
    for (let i = 0; i < 5; i += 1) {
      assert.equal((await publish({ event: 'tick', data: i, volatile: true })).status, 200);
      assert.deepEqual(await reader.next('tick', 5000), [i]);
    }
    const during = await scrape(server);
    const moved = (key, s) => s.samples.get(key) - (before.samples.get(key) ?? 0);
    assert.equal(moved('switchboard_dropped_total{reason="volatile"}', during), 5, 'the slow client missed each tick');

    // Reading again, it gets everything that was not volatile, and the ticks after.
    tcp.resume();
    await withTimeout((async () => {
      while (slow.received('fill').length < 3) await new Promise((r) => setTimeout(r, 20));
    })(), 20_000, 'the slow client to read its backlog');
    await withTimeout((async () => {
      for (let i = 0; ; i += 1) {
        assert.equal((await publish({ event: 'tick', data: 'after', volatile: true })).status, 200);
        if (slow.received('tick').length > 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })(), 10_000, 'a volatile tick to reach the drained client');
    assert.ok(slow.received('tick').every(([data]) => data === 'after'), 'none of the dropped ticks arrived late');
    assert.ok(slow.connected);
  });
});

describe('/metrics modes', () => {
  it('metrics = "api-key" needs the key; "off" answers 404', async () => {
    process.env.SWITCHBOARD_API_KEY = 'k1';
    let guarded;
    try {
      guarded = await startServer(['--metrics', 'api-key']);
    } finally {
      delete process.env.SWITCHBOARD_API_KEY;
    }
    try {
      assert.equal((await fetch(guarded.url('/metrics'))).status, 401);
      assert.equal((await fetch(guarded.url('/metrics'), { headers: { Authorization: 'Bearer k2' } })).status, 401);
      const before = await scrape(guarded, { Authorization: 'Bearer k1' });
      // The /ws feed refuses an upgrade without the key: a ws_rejected handshake.
      const ws = new WebSocket(guarded.wsUrl('/ws'));
      ws.on('error', () => {});
      const status = await new Promise((resolve) => ws.once('unexpected-response', (req, res) => resolve(res.statusCode)));
      ws.terminate();
      assert.equal(status, 401);
      const after = await scrape(guarded, { Authorization: 'Bearer k1' });
      assertMoved(before, after, { 'switchboard_handshake_failures_total{reason="ws_rejected"}': 1 });
    } finally {
      await guarded.stop();
    }
    const off = await startServer(['--metrics', 'off']);
    try {
      assert.equal((await fetch(off.url('/metrics'))).status, 404);
    } finally {
      await off.stop();
    }
  });
});
