// The HTTP publish API with node's fetch: POST /api/publish {room, event, data, nsp?} and
// POST /api/broadcast {event, data, nsp?} reach connected socket.io-client sockets; bad
// requests get JSON errors with the right status (400 naming the field, 401, 404, 413 —
// the last found by the HTTP layer, answered in JSON too, and readable by fetch).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, chatClientsClosedAfterEach, connected, httpExchange } from './helpers.mjs';

const KEY = 'test-api-key';
const openClient = chatClientsClosedAfterEach();

async function member(server, nsp, room) {
  const socket = openClient(server.url(nsp), { transports: ['websocket'] });
  await connected(socket);
  if (room) await socket.request('join-room', room);
  return socket;
}

function post(server, path, body, { key = KEY, headers = {} } = {}) {
  return fetch(server.url(path), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function expectError(response, status, field) {
  assert.equal(response.status, status);
  assert.match(response.headers.get('content-type'), /application\/json/);
  const body = await response.json();
  assert.equal(typeof body.error, 'string');
  if (field) {
    assert.equal(body.field, field, body.error);
    assert.match(body.error, new RegExp(field));
  }
  return body;
}

describe('with an API key (SWITCHBOARD_API_KEY)', () => {
  let server;
  before(async () => {
    process.env.SWITCHBOARD_API_KEY = KEY;
    try {
      server = await startServer(['--threads', '2', '--api-max-body', '4K']);
    } finally {
      delete process.env.SWITCHBOARD_API_KEY;
    }
  });
  after(async () => { await server?.stop(); });

  it('publish reaches the room of "/", and only it', async () => {
    const inRoom = await member(server, '/', 'news');
    const outside = await member(server, '/', 'other');
    const otherNsp = await member(server, '/chat', 'news');
    const response = await post(server, '/api/publish', { room: 'news', event: 'headline', data: { title: 'hi', n: [1, 2] } });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { success: true });
    assert.deepEqual(await inRoom.next('headline'), [{ title: 'hi', n: [1, 2] }]);
    // A second publish to /chat's room proves the first reached neither of the others.
    assert.equal((await post(server, '/api/publish', { room: 'news', event: 'headline', data: 2, nsp: '/chat' })).status, 200);
    assert.deepEqual(await otherNsp.next('headline'), [2]);
    assert.equal(outside.received('headline').length, 0);
    assert.equal(otherNsp.received('headline').length, 1);
  });

  it('publish to user:<id> reaches that user\'s sockets', async () => {
    const target = await member(server, '/notifications');
    const response = await post(server, '/api/publish', { room: `user:${target.id}`, event: 'notice', data: 'for you', nsp: '/notifications' });
    assert.equal(response.status, 200);
    assert.deepEqual(await target.next('notice'), ['for you']);
  });

  it('broadcast reaches every socket of the namespace', async () => {
    const a = await member(server, '/', 'x');
    const b = await member(server, '/');
    const c = await member(server, '/chat');
    assert.equal((await post(server, '/api/broadcast', { event: 'all', data: null })).status, 200);
    assert.deepEqual(await a.next('all'), [null]);
    assert.deepEqual(await b.next('all'), [null]);
    assert.equal((await post(server, '/api/broadcast', { event: 'all', data: 'chat', nsp: '/chat' })).status, 200);
    assert.deepEqual(await c.next('all'), ['chat']);
    assert.equal(c.received('all').length, 1);
  });

  it('401 without the key or with a wrong one', async () => {
    await expectError(await post(server, '/api/publish', { room: 'r', event: 'e', data: 1 }, { key: null }), 401);
    await expectError(await post(server, '/api/publish', { room: 'r', event: 'e', data: 1 }, { key: 'wrong' }), 401);
    await expectError(await post(server, '/api/broadcast', { event: 'e' }, { key: `${KEY}x` }), 401);
    await expectError(await post(server, '/api/broadcast', { event: 'e' }, { key: null, headers: { Authorization: KEY } }), 401);
  });

  it('400 naming the field at fault', async () => {
    await expectError(await post(server, '/api/publish', 'not json'), 400);
    await expectError(await post(server, '/api/publish', '[1,2]'), 400);
    await expectError(await post(server, '/api/publish', { event: 'e', data: 1 }), 400, 'room');
    await expectError(await post(server, '/api/publish', { room: '', event: 'e' }), 400, 'room');
    await expectError(await post(server, '/api/publish', { room: 5, event: 'e' }), 400, 'room');
    await expectError(await post(server, '/api/publish', { room: 'r', data: 1 }), 400, 'event');
    await expectError(await post(server, '/api/publish', { room: 'r', event: ['e'] }), 400, 'event');
    await expectError(await post(server, '/api/publish', { room: 'r', event: 'connect' }), 400, 'event');
    await expectError(await post(server, '/api/publish', { room: 'r', event: 'e', nsp: 7 }), 400, 'nsp');
    await expectError(await post(server, '/api/broadcast', { data: 1 }), 400, 'event');
    await expectError(await post(server, '/api/broadcast', { event: 'disconnect' }), 400, 'event');
  });

  it('404 for an unknown namespace', async () => {
    await expectError(await post(server, '/api/publish', { room: 'r', event: 'e', nsp: '/nope' }), 404, 'nsp');
    await expectError(await post(server, '/api/broadcast', { event: 'e', nsp: 'chat' }), 404, 'nsp');
  });

  it('413 in JSON for a body over --api-max-body, before its handler runs', async () => {
    const big = JSON.stringify({ room: 'r', event: 'e', data: 'x'.repeat(5000) });
    const raw = await httpExchange(server.port,
      `POST /api/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\n` +
      `X-Request-Id: too-big-1\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
    assert.equal(raw.responses[0].status, 413);
    assert.equal(raw.responses[0].headers['content-type'], 'application/json');
    assert.equal(raw.responses[0].headers['x-request-id'], 'too-big-1');
    assert.equal(raw.responses[0].headers.connection, 'close');
    assert.match(JSON.parse(raw.responses[0].body.toString()).error, /larger than the limit of 4096 bytes/);
    assert.ok(raw.closed, 'the server closes the connection after a refused body');
    // Just under the limit is fine.
    const fits = JSON.stringify({ room: 'r', event: 'e', data: 'x'.repeat(4000) });
    assert.equal((await post(server, '/api/publish', fits)).status, 200);
  });

  it('fetch gets the 413 even while it is still sending a large body, and the next request works', async () => {
    const watcher = await member(server, '/', 'after-413');
    // 8 MiB: far more than the kernel buffers, so the answer comes while fetch is
    // still writing. The server half-closes and reads on, so fetch sees the response
    // rather than a reset ("fetch failed").
    for (const key of [KEY, null]) {
      const response = await post(server, '/api/publish', { room: 'r', event: 'e', data: 'x'.repeat(8 << 20) }, { key });
      // Even without the key: the body's size is refused before anything reads it.
      const body = await expectError(response, 413);
      assert.match(body.error, /limit/);
      assert.equal(response.headers.get('connection'), 'close');
    }
    // A body of unknown length (chunked) passes the limit only as it arrives.
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode('y'.repeat(1024)));
        controller.close();
      },
    });
    const streamed = await fetch(server.url('/api/broadcast'), {
      method: 'POST', body: chunks, duplex: 'half',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
    });
    await expectError(streamed, 413);
    // fetch's pool opens a fresh connection for the next request.
    assert.equal((await post(server, '/api/publish', { room: 'after-413', event: 'still', data: 1 })).status, 200);
    assert.deepEqual(await watcher.next('still'), [1]);
  });

  it('a client that asks "Expect: 100-continue" gets the 413 instead and sends no body', async () => {
    const { request } = await import('node:http');
    const result = await new Promise((resolve, reject) => {
      const req = request({
        host: '127.0.0.1', port: server.port, path: '/api/publish', method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Length': 1 << 20, Expect: '100-continue', Authorization: `Bearer ${KEY}` },
      });
      let continued = false;
      req.on('continue', () => { continued = true; req.end('x'.repeat(1 << 20)); });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], text, continued }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    assert.equal(result.status, 413);
    assert.equal(result.continued, false, 'no 100 Continue for a body that will be refused');
    assert.equal(result.type, 'application/json');
    assert.match(JSON.parse(result.text).error, /limit/);
  });
});

describe('without an API key', () => {
  let server;
  before(async () => { server = await startServer([]); });
  after(async () => { await server?.stop(); });

  it('the API is open', async () => {
    const socket = await member(server, '/', 'open');
    const response = await post(server, '/api/publish', { room: 'open', event: 'e', data: 'free' }, { key: null });
    assert.equal(response.status, 200);
    assert.deepEqual(await socket.next('e'), ['free']);
  });
});
