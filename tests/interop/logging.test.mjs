// The server's log as a log pipeline reads it: with --log-format json every line is a
// JSON object (time, level, logger, message, and the ids of what it is about); a
// Socket.IO connection's lines carry its Engine.IO sid and socket id, HTTP requests a
// request id (the client's X-Request-Id when it sends one, echoed by /api/), and a
// token in a query string never reaches the log. With the default text format the ids
// are shown in brackets.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, chatClient, connected, signJwt, nowSeconds, RawConnection } from './helpers.mjs';

const SECRET = 'logging-test-secret';
const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'critical']);
const RFC3339_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function entries(server) {
  return server.log().split('\n').filter((line) => line.length > 0).map((line) => {
    try {
      return JSON.parse(line);
    } catch (e) {
      assert.fail(`a log line is not JSON (${e.message}): ${line}`);
    }
  });
}

describe('--log-format json --log-level debug', () => {
  let server;
  before(async () => {
    server = await startServer(['--log-format', 'json', '--log-level', 'debug', '--threads', '2',
      '--jwt-secret', SECRET]);
  });
  after(async () => { await server?.stop(); });

  it('every line is one JSON object with time, level, logger and message', async () => {
    const lines = entries(server);
    assert.ok(lines.length > 0);
    for (const entry of lines) {
      assert.match(entry.time, RFC3339_UTC_MS, JSON.stringify(entry));
      assert.ok(LEVELS.has(entry.level), JSON.stringify(entry));
      assert.equal(entry.logger, 'switchboard');
      assert.equal(typeof entry.message, 'string');
    }
    assert.ok(lines.some((e) => e.level === 'info' && /^listening on /.test(e.message)));
  });

  it("a connection's lines carry its sid, socket id and namespace; the token in its query never appears",
    async () => {
      const token = signJwt({ id: 'ann', name: 'Ann', exp: nowSeconds() + 600 }, SECRET);
      const socket = chatClient(server.url('/chat'), {
        transports: ['polling'], auth: { token }, query: { token, room: 'secret-room-name' },
      });
      await connected(socket);
      const sid = socket.io.engine.id;
      const socketId = socket.id;
      assert.deepEqual(await socket.request('join-room', 'lobby'), { success: true });
      // A refused event is logged (debug) with the socket's ids.
      assert.equal((await socket.request('send-message', { roomId: 'lobby' })).success, false);
      socket.disconnect();
      await server.waitForOutput(new RegExp(`"message":"disconnected \\([^"]*\\)".*"socket":"${socketId}"`));
      await server.waitForOutput(new RegExp(`"message":"session closed: [^"]*".*"sid":"${sid}"`));

      const lines = entries(server);
      const mine = lines.filter((e) => e.socket === socketId);
      const messages = mine.map((e) => e.message);
      assert.ok(messages.includes('connected as user ann'), messages.join(' | '));
      assert.ok(messages.some((m) => m.startsWith('send-message refused: ')), messages.join(' | '));
      assert.ok(messages.some((m) => m.startsWith('disconnected (')), messages.join(' | '));
      for (const e of mine) {
        assert.equal(e.sid, sid);
        assert.equal(e.nsp, '/chat');
        assert.equal(e.component, 'chat');
      }
      assert.ok(lines.some((e) => e.sid === sid && e.component === 'eio' && e.message.startsWith('session closed')));

      // The polling requests' access lines: a request id and the peer each, the
      // Engine.IO parameters kept and every other query value redacted.
      const access = lines.filter((e) => e.component === 'http' && e.message.includes(`sid=${sid}`));
      assert.ok(access.length >= 2, `access lines for the session: ${access.length}`);
      for (const e of access) {
        assert.match(e.message, /^(GET|POST) \/socket\.io\/\?\S*EIO=4&transport=polling\S* 200 \d+ bytes [\d.]+ ms$/);
        assert.match(e.message, /[?&]token=\*&room=\*&/);
        assert.match(e.conn, /^127\.0\.0\.1:\d+$/);
        assert.ok(['GET', 'POST'].includes(e.method));
        assert.equal(e.status, 200);
        assert.ok(Number.isInteger(e.bytes) && e.bytes > 0);
        assert.equal(typeof e.duration_ms, 'number');
        assert.ok(e.target.startsWith('/socket.io/?') && !e.target.includes(token));
        assert.equal(typeof e.req, 'string');
        assert.ok(e.req.length > 0);
      }
      assert.equal(new Set(access.map((e) => e.req)).size, access.length, 'request ids are unique');

      const whole = server.log();
      assert.ok(!whole.includes(token), 'the token is in the log');
      assert.ok(!whole.includes(token.split('.')[2]), "the token's signature is in the log");
      assert.ok(!whole.includes('secret-room-name'), 'a query value is in the log');
    });

  it("HTTP API requests: the client's X-Request-Id (sanitized) is the req field and is echoed", async () => {
    const publish = (headers) => fetch(server.url('/api/publish'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ room: 'r', event: 'e', data: 1 }),
    });
    const given = await publish({ 'X-Request-Id': 'trace-42.abc' });
    assert.equal(given.status, 200);
    assert.equal(given.headers.get('x-request-id'), 'trace-42.abc');
    const odd = await publish({ 'X-Request-Id': 'a"b<c>\\d e' + 'x'.repeat(100) });
    assert.equal(odd.headers.get('x-request-id'), 'abcde' + 'x'.repeat(59));
    const made = await publish({});
    const madeId = made.headers.get('x-request-id');
    assert.match(madeId, /^[A-Za-z0-9_-]+-\d+-[0-9a-f]+$/);

    await server.waitForOutput(new RegExp(`"req":"${madeId}"`));
    const lines = entries(server);
    for (const id of ['trace-42.abc', madeId]) {
      const forId = lines.filter((e) => e.req === id);
      assert.ok(forId.some((e) => e.component === 'api' && e.message === 'publish e to room r' && e.nsp === '/'),
        JSON.stringify(forId));
      assert.ok(forId.some((e) => e.component === 'http' && /^POST \/api\/publish 200 \d+ bytes/.test(e.message)),
        JSON.stringify(forId));
    }
  });

  it('a message with quotes, backslashes and bytes that are not UTF-8 stays one JSON line', async () => {
    // The target goes into the access line as sent (the parser takes these bytes).
    const conn = await RawConnection.connect(server.port);
    await conn.write(Buffer.concat([Buffer.from('GET /odd"\\'), Buffer.from([0xff, 0xfe]),
      Buffer.from('?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]));
    await conn.closed;
    const [line] = await server.waitForOutput(/\{[^\n]*odd[^\n]*\}\n/);
    const entry = JSON.parse(line);
    assert.match(entry.message, /^GET \/odd"\\\ufffd\ufffd\?q=\* \d{3} /);
    entries(server);  // every line still parses
  });
});

describe('the default text format', () => {
  let server;
  before(async () => { server = await startServer(['--log-level', 'debug', '--threads', '1']); });
  after(async () => { await server?.stop(); });

  it('shows the ids in brackets after the level', async () => {
    const socket = chatClient(server.url('/'));
    await connected(socket);
    const sid = socket.io.engine.id;
    const id = socket.id;
    socket.disconnect();
    await server.waitForOutput(new RegExp(`debug \\[chat sid=${sid} socket=${id} nsp=/\\] disconnected \\(`));
    const res = await fetch(server.url('/healthz'), { headers: { 'X-Request-Id': 'text-1' } });
    assert.equal(res.status, 200);
    await server.waitForOutput(/debug \[http conn=127\.0\.0\.1:\d+ req=text-1\] GET \/healthz 200 \d+ bytes/);
  });
});

describe('the default level (info)', () => {
  let server;
  before(async () => { server = await startServer(['--log-format', 'json']); });
  after(async () => { await server?.stop(); });

  it('writes no access lines', async () => {
    const socket = chatClient(server.url('/'), { transports: ['polling'] });
    await connected(socket);
    socket.disconnect();
    await fetch(server.url('/healthz'));
    const lines = entries(server);
    assert.ok(lines.every((e) => e.level !== 'debug'), JSON.stringify(lines.filter((e) => e.level === 'debug')));
  });
});
