// GET /sse?room=R[&nsp=N] read with Node's fetch while socket.io-client members talk in
// the room and the HTTP API publishes into it: the headers, `id:`/`event:`/`data:`
// events in order, only the room's (and namespace-wide) events, heartbeats, the
// namespace parameter, and the errors (400, 401, 404).

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, chatClient, connected, withTimeout } from './helpers.mjs';

const sockets = new Set();
const streams = new Set();
afterEach(() => {
  for (const s of sockets) s.disconnect();
  sockets.clear();
  for (const s of streams) s.close();
  streams.clear();
});

/** An SSE stream read with fetch: `next()` resolves to the next event or comment. */
async function openStream(url, headers = {}) {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const stream = {
    res,
    items: [],  // { comment } or { id, event, data }
    waiters: [],
    close: () => controller.abort(),
    async next(filter = (item) => !item.comment, ms = 5000) {
      return withTimeout(new Promise((resolve) => {
        const look = () => {
          const at = stream.items.findIndex(filter);
          if (at < 0) return false;
          const [item] = stream.items.splice(at, 1);
          resolve(item);
          return true;
        };
        if (!look()) stream.waiters.push(look);
      }), ms, `an SSE item from ${url}`);
    },
  };
  streams.add(stream);
  if (res.status !== 200) return stream;
  (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const item of parseBlock(block)) stream.items.push(item);
          stream.waiters = stream.waiters.filter((w) => !w());
        }
      }
    } catch { /* aborted */ }
  })();
  return stream;
}

function parseBlock(block) {
  const items = [];
  const event = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) { items.push({ comment: line.slice(1).trim() }); continue; }
    const colon = line.indexOf(':');
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
    else event[field] = value;
  }
  if (event.data !== undefined) items.push({ ...event, data: JSON.parse(event.data) });
  else if (event.retry !== undefined) items.push({ comment: `retry ${event.retry}` });
  return items;
}

async function member(server, nsp, room) {
  const socket = chatClient(server.url(nsp), { transports: ['websocket'] });
  sockets.add(socket);
  await connected(socket);
  if (room) assert.deepEqual(await socket.request('join-room', room), { success: true });
  return socket;
}

function publish(server, body, key) {
  return fetch(server.url('/api/publish'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
}

describe('/sse without an API key', () => {
  let server;
  before(async () => { server = await startServer(['--threads', '2', '--sse-heartbeat', '1']); });
  after(async () => { await server?.stop(); });

  it('streams the room: headers, socket.io messages, typing, HTTP publishes, in order with ids', async () => {
    const sse = await openStream(server.url('/sse?room=lobby'));
    assert.equal(sse.res.status, 200);
    assert.match(sse.res.headers.get('content-type'), /^text\/event-stream/);
    assert.equal(sse.res.headers.get('cache-control'), 'no-cache');
    assert.equal(sse.res.headers.get('x-accel-buffering'), 'no');
    assert.match((await sse.next((i) => i.comment)).comment, /following \/ lobby/);

    // A follower is like a member of the room: it sees every join, the first one too.
    const alice = await member(server, '/', 'lobby');
    const aliceJoined = await sse.next();
    assert.equal(aliceJoined.event, 'user-joined');
    assert.equal(aliceJoined.data.userId, alice.id);
    const bob = await member(server, '/', 'lobby');
    const joined = await sse.next();
    assert.equal(joined.event, 'user-joined');
    assert.equal(joined.data.userId, bob.id);

    const message = { id: 'm1', userId: alice.id, username: 'Alice', text: 'line one\nline two ✓', timestamp: 1 };
    assert.deepEqual(await alice.request('send-message', { roomId: 'lobby', message }), { success: true });
    const [sent] = await bob.next('new-message');
    const got = await sse.next();
    assert.equal(got.event, 'new-message');
    assert.deepEqual(got.data, sent, 'what a member of the room gets');

    alice.emit('typing', { roomId: 'lobby', username: 'Alice' });
    const typing = await sse.next();
    assert.equal(typing.event, 'user-typing');
    assert.deepEqual(typing.data, { userId: alice.id, username: 'Alice' });

    // Another room's publish never shows; this room's does, after it.
    assert.equal((await publish(server, { room: 'elsewhere', event: 'ticker', data: { n: 0 } })).status, 200);
    assert.equal((await publish(server, { room: 'lobby', event: 'ticker', data: { n: 1 } })).status, 200);
    const ticker = await sse.next();
    assert.equal(ticker.event, 'ticker');
    assert.deepEqual(ticker.data, { n: 1 });

    // A namespace-wide broadcast reaches every room's followers, as it reaches members.
    const res = await fetch(server.url('/api/broadcast'), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ event: 'notice', data: 'all' }),
    });
    assert.equal(res.status, 200);
    const notice = await sse.next();
    assert.equal(notice.event, 'notice');
    assert.equal(notice.data, 'all');

    const ids = [aliceJoined, joined, got, typing, ticker, notice].map((e) => Number(e.id));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `ids increase: ${ids}`);
    assert.ok(sse.items.filter((i) => !i.comment).length === 0, `nothing else: ${JSON.stringify(sse.items)}`);
  });

  it('sends a heartbeat comment', async () => {
    const sse = await openStream(server.url('/sse?room=quiet'));
    const beat = await sse.next((i) => i.comment === 'heartbeat', 3000);
    assert.equal(beat.comment, 'heartbeat');
  });

  it('follows the namespace it names, and only it', async () => {
    const chat = await openStream(server.url('/sse?room=news&nsp=%2Fchat'));
    const root = await openStream(server.url('/sse?room=news'));
    await chat.next((i) => i.comment?.startsWith('following'));
    await root.next((i) => i.comment?.startsWith('following'));
    assert.equal((await publish(server, { room: 'news', event: 'headline', data: 'chat only', nsp: '/chat' })).status, 200);
    assert.equal((await publish(server, { room: 'news', event: 'headline', data: 'root only' })).status, 200);
    assert.equal((await chat.next()).data, 'chat only');
    assert.equal((await root.next()).data, 'root only');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(chat.items.filter((i) => !i.comment).length, 0);
    assert.equal(root.items.filter((i) => !i.comment).length, 0);
  });

  it('a user room follows direct messages to that user', async () => {
    const bob = await member(server, '/');
    const sse = await openStream(server.url(`/sse?room=${encodeURIComponent(`user:${bob.id}`)}`));
    await sse.next((i) => i.comment?.startsWith('following'));
    const alice = await member(server, '/');
    alice.emit('direct-message', { to: bob.id, text: 'psst' });
    const dm = await sse.next();
    assert.equal(dm.event, 'direct-message');
    assert.equal(dm.data.text, 'psst');
    assert.equal(dm.data.from, alice.id);
  });

  it('replays what a stream missed after its Last-Event-ID', async () => {
    const first = await openStream(server.url('/sse?room=replay'));
    await first.next((i) => i.comment?.startsWith('following'));
    for (const n of [1, 2]) assert.equal((await publish(server, { room: 'replay', event: 'n', data: n })).status, 200);
    const one = await first.next();
    const two = await first.next();
    assert.deepEqual([one.data, two.data], [1, 2]);
    first.close();
    // While it is away: events for its room and for another.
    assert.equal((await publish(server, { room: 'replay', event: 'n', data: 3 })).status, 200);
    assert.equal((await publish(server, { room: 'not-this-one', event: 'n', data: 'x' })).status, 200);
    assert.equal((await publish(server, { room: 'replay', event: 'n', data: 4 })).status, 200);
    // Back with the id of the last event it saw (what EventSource sends).
    const back = await openStream(server.url('/sse?room=replay'), { 'Last-Event-ID': one.id });
    assert.equal((await back.next()).data, 2);
    assert.equal((await back.next()).data, 3);
    assert.equal((await back.next()).data, 4);
    assert.equal((await publish(server, { room: 'replay', event: 'n', data: 5 })).status, 200);
    const five = await back.next();
    assert.equal(five.data, 5);
    assert.ok(Number(five.id) > Number(two.id));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(back.items.filter((i) => !i.comment).length, 0, 'each event once');
    // Without the header: only what comes from now on.
    const fresh = await openStream(server.url('/sse?room=replay'));
    await fresh.next((i) => i.comment?.startsWith('following'));
    assert.equal((await publish(server, { room: 'replay', event: 'n', data: 6 })).status, 200);
    assert.equal((await fresh.next()).data, 6);
  });

  it('answers 400 without a room and 404 for an unknown namespace', async () => {
    const none = await fetch(server.url('/sse'));
    assert.equal(none.status, 400);
    assert.equal((await none.json()).field, 'room');
    const bad = await fetch(server.url('/sse?room=x&nsp=%2Fnope'));
    assert.equal(bad.status, 404);
    assert.equal((await bad.json()).field, 'nsp');
  });
});

describe('/sse with an API key', () => {
  let server;
  before(async () => {
    process.env.SWITCHBOARD_API_KEY = 'sse-key';
    try {
      server = await startServer([]);
    } finally {
      delete process.env.SWITCHBOARD_API_KEY;
    }
  });
  after(async () => { await server?.stop(); });

  it('needs the key, as a Bearer header or ?key=', async () => {
    assert.equal((await fetch(server.url('/sse?room=r'))).status, 401);
    assert.equal((await fetch(server.url('/sse?room=r&key=wrong'))).status, 401);
    const byQuery = await openStream(server.url('/sse?room=r&key=sse-key'));
    assert.equal(byQuery.res.status, 200);
    const byHeader = await openStream(server.url('/sse?room=r'), { Authorization: 'Bearer sse-key' });
    assert.equal(byHeader.res.status, 200);
    await byHeader.next((i) => i.comment?.startsWith('following'));
    assert.equal((await publish(server, { room: 'r', event: 'e', data: [1, 2] }, 'sse-key')).status, 200);
    assert.deepEqual((await byHeader.next()).data, [1, 2]);
    assert.deepEqual((await byQuery.next()).data, [1, 2]);
  });
});
