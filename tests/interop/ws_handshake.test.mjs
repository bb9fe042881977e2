// The opening handshake (RFC 6455 §4.2) from a raw client.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { startServer, RawConnection, RawWebSocket, Op, encodeFrame, HOST } from './helpers.mjs';

const sampleKey = 'dGhlIHNhbXBsZSBub25jZQ==';  // RFC 6455 §1.3
const sampleAccept = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

describe('WebSocket handshake', () => {
  let server;
  before(async () => { server = await startServer(['--ws-echo', '/echo']); });
  after(async () => { await server?.stop(); });

  // A request to /echo with the usual handshake headers, minus/plus/overridden by `headers`
  // (a null value drops the header).
  function request(headers = {}, { method = 'GET', version = 'HTTP/1.1', path = '/echo' } = {}) {
    const all = {
      Host: `${HOST}:${server.port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'),
      'Sec-WebSocket-Version': '13',
      ...headers,
    };
    let text = `${method} ${path} ${version}\r\n`;
    for (const [k, v] of Object.entries(all)) if (v !== null) text += `${k}: ${v}\r\n`;
    return `${text}\r\n`;
  }

  async function exchange(text) {
    const conn = await RawConnection.connect(server.port);
    try {
      await conn.write(text);
      return await conn.readResponse({ head: true });
    } finally {
      conn.destroy();
    }
  }

  test('the RFC 6455 §1.3 sample key gets the sample accept value', async () => {
    const res = await exchange(request({ 'Sec-WebSocket-Key': sampleKey }));
    assert.equal(res.status, 101);
    assert.equal(res.headers['sec-websocket-accept'], sampleAccept);
    assert.match(res.headers.upgrade ?? '', /^websocket$/i);
    assert.match(res.headers.connection ?? '', /\bupgrade\b/i);
  });

  test('header tokens are matched case-insensitively and in lists (Connection: keep-alive, Upgrade)', async () => {
    const res = await exchange(request({ Upgrade: 'WebSocket', Connection: 'keep-alive, Upgrade' }));
    assert.equal(res.status, 101);
  });

  test('missing Upgrade → 426', async () => {
    const res = await exchange(request({ Upgrade: null }));
    assert.equal(res.status, 426);
  });

  test('a plain GET of the WebSocket path → 426', async () => {
    const res = await exchange(`GET /echo HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(res.status, 426);
  });

  test('Sec-WebSocket-Version: 8 → 426 with Sec-WebSocket-Version: 13', async () => {
    const res = await exchange(request({ 'Sec-WebSocket-Version': '8' }));
    assert.equal(res.status, 426);
    assert.equal(res.headers['sec-websocket-version'], '13');
  });

  for (const [name, key] of [
    ['not base64', 'not a key!'],
    ['base64 of 15 bytes', crypto.randomBytes(15).toString('base64')],
    ['base64 of 17 bytes', crypto.randomBytes(17).toString('base64')],
    ['empty', ''],
  ]) {
    test(`bad Sec-WebSocket-Key (${name}) → 400`, async () => {
      const res = await exchange(request({ 'Sec-WebSocket-Key': key }));
      assert.equal(res.status, 400);
    });
  }

  test('missing Sec-WebSocket-Key → 400', async () => {
    const res = await exchange(request({ 'Sec-WebSocket-Key': null }));
    assert.equal(res.status, 400);
  });

  test('missing Connection: Upgrade → 400', async () => {
    const res = await exchange(request({ Connection: null }));
    assert.equal(res.status, 400);
  });

  test('Connection: keep-alive without Upgrade → 400', async () => {
    const res = await exchange(request({ Connection: 'keep-alive' }));
    assert.equal(res.status, 400);
  });

  test('POST upgrade → 405 or 400', async () => {
    const res = await exchange(request({ 'Content-Length': '0' }, { method: 'POST' }));
    assert.ok(res.status === 405 || res.status === 400, `got ${res.status}`);
  });

  test('an offered subprotocol the route does not speak is not echoed back', async () => {
    const res = await exchange(request({ 'Sec-WebSocket-Protocol': 'chat, superchat' }));
    assert.equal(res.status, 101);
    assert.equal(res.headers['sec-websocket-protocol'], undefined);
  });

  test('an extension the server does not offer is not accepted', async () => {
    const res = await exchange(request({ 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' }));
    assert.equal(res.status, 101);
    assert.equal(res.headers['sec-websocket-extensions'], undefined);
  });

  test('a frame in the same TCP write as the handshake request is processed', async () => {
    const frames = Buffer.concat([
      encodeFrame({ opcode: Op.text, payload: 'early bird' }),
      encodeFrame({ opcode: Op.ping, payload: 'early ping' }),
    ]);
    const raw = await RawWebSocket.connect(server.port, '/echo', { firstFrames: frames });
    try {
      const controls = [];
      const msg = await raw.readMessage({ controls });
      assert.equal(msg.opcode, Op.text);
      assert.equal(msg.payload.toString(), 'early bird');
      const f = controls.length ? controls[0] : await raw.readFrame();
      assert.equal(f.opcode, Op.pong);
      assert.equal(f.payload.toString(), 'early ping');
    } finally {
      raw.destroy();
    }
  });

  test('the handshake request split byte by byte still upgrades', async () => {
    const conn = await RawConnection.connect(server.port);
    try {
      const text = Buffer.from(request({ 'Sec-WebSocket-Key': sampleKey }), 'latin1');
      for (let i = 0; i < text.length; i++) await conn.write(text.subarray(i, i + 1));
      const res = await conn.readResponse({ head: true });
      assert.equal(res.status, 101);
      assert.equal(res.headers['sec-websocket-accept'], sampleAccept);
    } finally {
      conn.destroy();
    }
  });
});
