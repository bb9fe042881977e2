// The native WebSocket feed at /ws (DESIGN.md) with npm `ws`: subscribe / unsubscribe,
// {"room", "event", "data"} frames for what namespace "/"'s rooms get (socket.io-client
// messages, HTTP API publishes), publish where enabled (reaching socket.io-client
// members), errors that leave the connection up, and the API key on the upgrade.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, chatClient, connected, withTimeout, WebSocket } from './helpers.mjs';

const open = new Set();
afterEach(() => {
  for (const s of open) (s.disconnect ? s.disconnect() : s.close());
  open.clear();
});

/** A `ws` client with an inbox of parsed frames: `next(filter)` takes the first match. */
async function feed(url) {
  const ws = new WebSocket(url);
  open.add(ws);
  const inbox = [];
  let waiters = [];
  ws.on('message', (data, binary) => {
    assert.equal(binary, false, 'text frames');
    inbox.push(JSON.parse(data.toString()));
    waiters = waiters.filter((w) => !w());
  });
  await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 5000, 'open');
  ws.inbox = inbox;
  ws.next = (filter = () => true, ms = 5000) => withTimeout(new Promise((resolve) => {
    const look = () => {
      const at = inbox.findIndex(filter);
      if (at < 0) return false;
      resolve(inbox.splice(at, 1)[0]);
      return true;
    };
    if (!look()) waiters.push(look);
  }), ms, `a frame on ${url}`);
  ws.sendJson = (value) => ws.send(JSON.stringify(value));
  return ws;
}

async function member(server, room) {
  const socket = chatClient(server.url('/'), { transports: ['websocket'] });
  open.add(socket);
  await connected(socket);
  if (room) assert.deepEqual(await socket.request('join-room', room), { success: true });
  return socket;
}

function publish(server, body) {
  return fetch(server.url('/api/publish'), {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
}

describe('/ws feed', () => {
  let server;
  before(async () => { server = await startServer(['--threads', '2']); });
  after(async () => { await server?.stop(); });

  it('subscribe, receive the room\'s events, unsubscribe', async () => {
    const ws = await feed(server.wsUrl('/ws'));
    ws.sendJson({ subscribe: 'lobby' });
    assert.deepEqual(await ws.next(), { subscribed: 'lobby' });

    assert.equal((await publish(server, { room: 'lobby', event: 'ticker', data: { price: 42 } })).status, 200);
    assert.deepEqual(await ws.next(), { room: 'lobby', event: 'ticker', data: { price: 42 } });

    const alice = await member(server, 'lobby');
    const joined = await ws.next();
    assert.deepEqual([joined.room, joined.event, joined.data.userId], ['lobby', 'user-joined', alice.id]);
    const message = { id: 'm', userId: alice.id, username: 'Alice', text: 'hi', timestamp: 5 };
    assert.deepEqual(await alice.request('send-message', { roomId: 'lobby', message }), { success: true });
    const [seen] = await alice.next('new-message');
    assert.deepEqual(await ws.next((f) => f.event === 'new-message'), { room: 'lobby', event: 'new-message', data: seen });

    ws.sendJson({ unsubscribe: 'lobby' });
    assert.deepEqual(await ws.next(), { unsubscribed: 'lobby' });
    ws.sendJson({ subscribe: 'other' });
    assert.deepEqual(await ws.next(), { subscribed: 'other' });
    // Published in this order on one loop: if the first came, it would come first.
    assert.equal((await publish(server, { room: 'lobby', event: 'ticker', data: 1 })).status, 200);
    assert.equal((await publish(server, { room: 'other', event: 'ticker', data: 2 })).status, 200);
    assert.deepEqual(await ws.next(), { room: 'other', event: 'ticker', data: 2 });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(ws.inbox, [], 'nothing from the room left');
  });

  it('one frame per subscribed room for a namespace-wide broadcast', async () => {
    const ws = await feed(server.wsUrl('/ws'));
    ws.sendJson({ subscribe: 'a' });
    ws.sendJson({ subscribe: 'b' });
    ws.sendJson({ subscribe: 'a' });  // twice: still one subscription
    await ws.next((f) => f.subscribed === 'a');
    await ws.next((f) => f.subscribed === 'b');
    await ws.next((f) => f.subscribed === 'a');
    const res = await fetch(server.url('/api/broadcast'), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ event: 'all', data: null }),
    });
    assert.equal(res.status, 200);
    const frames = [await ws.next(), await ws.next()];
    assert.deepEqual(frames.map((f) => f.room).sort(), ['a', 'b']);
    for (const f of frames) assert.deepEqual([f.event, f.data], ['all', null]);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(ws.inbox, []);
  });

  it('answers bad frames with an error and stays up; publishing is off by default', async () => {
    const ws = await feed(server.wsUrl('/ws'));
    ws.send('not json');
    assert.match((await ws.next()).error, /JSON object/);
    ws.sendJson({ subscribe: 7 });
    assert.match((await ws.next()).error, /subscribe/);
    ws.sendJson({ hello: 'x' });
    assert.match((await ws.next()).error, /subscribe, unsubscribe or publish/);
    ws.sendJson({ publish: 'lobby', event: 'x', data: 1 });
    assert.match((await ws.next()).error, /not enabled/);
    ws.sendJson({ subscribe: 'still-up' });
    assert.deepEqual(await ws.next(), { subscribed: 'still-up' });
  });
});

describe('/ws feed with ws-publish and an API key', () => {
  let server;
  before(async () => {
    process.env.SWITCHBOARD_API_KEY = 'feed-key';
    try {
      server = await startServer(['--threads', '2', '--ws-publish']);
    } finally {
      delete process.env.SWITCHBOARD_API_KEY;
    }
  });
  after(async () => { await server?.stop(); });

  it('refuses an upgrade without the key', async () => {
    const ws = new WebSocket(server.wsUrl('/ws'));
    ws.on('error', () => {});  // terminate() below, before an open that never comes
    const status = await withTimeout(new Promise((resolve) => {
      ws.once('unexpected-response', (req, res) => resolve(res.statusCode));
      ws.once('open', () => resolve('open'));
    }), 5000, 'the refusal');
    ws.terminate();
    assert.equal(status, 401);
  });

  it('publishes into a room: socket.io-client members and subscribers get it', async () => {
    const ws = await feed(server.wsUrl('/ws?key=feed-key'));
    ws.sendJson({ subscribe: 'desk' });
    await ws.next((f) => f.subscribed === 'desk');
    const bob = await member(server, 'desk');
    assert.equal((await ws.next()).event, 'user-joined');
    ws.sendJson({ publish: 'desk', event: 'quote', data: { q: 'hello' } });
    assert.deepEqual(await bob.next('quote'), [{ q: 'hello' }]);
    assert.deepEqual(await ws.next(), { room: 'desk', event: 'quote', data: { q: 'hello' } });
    ws.sendJson({ publish: 'desk', event: 'connect', data: 1 });
    assert.match((await ws.next()).error, /reserved/);
    ws.sendJson({ publish: 'desk' });
    assert.match((await ws.next()).error, /event name/);
  });
});
