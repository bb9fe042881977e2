// WebSocket echo against Node's `ws` client, with and without permessage-deflate:
// message types, sizes at every length-encoding boundary, the 16 MiB limit, UTF-8,
// fragmentation, and ping/pong.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { once } from 'node:events';
import zlib from 'node:zlib';

import { startServer, openWs, roundTrip, RawWebSocket, Op, withTimeout } from './helpers.mjs';

const MiB = 1024 * 1024;
const LIMIT = 16 * MiB;  // the binary's default --ws-max-message

function asciiText(n) {
  // Printable ASCII, random so that compression does not hide mistakes.
  const bytes = crypto.randomBytes(n);
  for (let i = 0; i < n; i++) bytes[i] = 0x20 + (bytes[i] % 95);
  return bytes.toString('latin1');
}

const multibyte = 'emoji 😀🎉👩‍👩‍👧‍👦 CJK 中文字符 日本語テキスト 한국어 — accents ñéü ß, math 𝄞 ∑ ≠ ∞, end';

for (const deflate of [false, true]) {
  const label = deflate ? 'echo with permessage-deflate' : 'echo without compression';
  const clientDeflate = deflate ? { threshold: 0 } : false;  // threshold 0: compress every message

  describe(label, () => {
    let server;
    let ws;

    before(async () => {
      server = await startServer(['--ws-echo', '/echo', '--threads', '2', ...(deflate ? ['--ws-deflate'] : [])]);
      ws = await openWs(server.wsUrl(), { perMessageDeflate: clientDeflate, maxPayload: 64 * MiB });
    });

    after(async () => {
      ws?.terminate();
      await server?.stop();
    });

    test(deflate ? 'permessage-deflate is negotiated' : 'no extension is negotiated', () => {
      if (deflate) {
        assert.match(ws.extensions, /^permessage-deflate\b/, `ws.extensions = ${JSON.stringify(ws.extensions)}`);
      } else {
        assert.equal(ws.extensions, '');
      }
    });

    test('text comes back as the same text', async () => {
      const msg = await roundTrip(ws, 'Hello, Switchboard');
      assert.equal(msg.isBinary, false);
      assert.equal(msg.data.toString('utf8'), 'Hello, Switchboard');
    });

    test('binary comes back as the same binary', async () => {
      const payload = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x00]);
      const msg = await roundTrip(ws, payload);
      assert.equal(msg.isBinary, true);
      assert.deepEqual(msg.data, payload);
    });

    test('empty text and empty binary messages echo with their type', async () => {
      const t = await roundTrip(ws, '');
      assert.equal(t.isBinary, false);
      assert.equal(t.data.length, 0);
      const b = await roundTrip(ws, Buffer.alloc(0));
      assert.equal(b.isBinary, true);
      assert.equal(b.data.length, 0);
    });

    test('multi-byte UTF-8 (emoji, CJK) echoes byte for byte', async () => {
      const msg = await roundTrip(ws, multibyte);
      assert.equal(msg.isBinary, false);
      assert.deepEqual(msg.data, Buffer.from(multibyte, 'utf8'));
      const big = multibyte.repeat(5000);  // ~0.5 MB, code points cross every internal boundary
      const msg2 = await roundTrip(ws, big);
      assert.equal(msg2.isBinary, false);
      assert.ok(msg2.data.equals(Buffer.from(big, 'utf8')), 'large multi-byte text differs');
    });

    for (const size of [125, 126, 65535, 65536, MiB, LIMIT]) {
      test(`random binary of ${size} bytes echoes exactly`, async () => {
        const payload = crypto.randomBytes(size);
        const msg = await roundTrip(ws, payload);
        assert.equal(msg.isBinary, true);
        assert.equal(msg.data.length, size);
        assert.ok(msg.data.equals(payload), 'echoed bytes differ');
      });
      test(`text of ${size} bytes echoes exactly`, async () => {
        const text = asciiText(size);
        const msg = await roundTrip(ws, text);
        assert.equal(msg.isBinary, false);
        assert.equal(msg.data.length, size);
        assert.ok(msg.data.equals(Buffer.from(text, 'latin1')), 'echoed text differs');
      });
    }

    test('one byte over 16 MiB closes the connection with 1009', async () => {
      const big = await openWs(server.wsUrl(), { perMessageDeflate: clientDeflate });
      big.send(crypto.randomBytes(LIMIT + 1));
      const { code } = await withTimeout(big.closeEvent, 20_000, 'the close after an oversized message');
      assert.equal(code, 1009);
      // Only that connection pays.
      const msg = await roundTrip(ws, 'still here');
      assert.equal(msg.data.toString(), 'still here');
    });

    test('fragments adding up to one byte over 16 MiB close with 1009', async () => {
      const big = await openWs(server.wsUrl(), { perMessageDeflate: clientDeflate });
      const chunk = crypto.randomBytes(MiB);
      for (let i = 0; i < 16; i++) big.send(chunk, { fin: false });
      big.send(Buffer.alloc(1), { fin: true });
      const { code } = await withTimeout(big.closeEvent, 20_000, 'the close after oversized fragments');
      assert.equal(code, 1009);
    });

    test('invalid UTF-8 in a text message from the ws client closes with 1007', async () => {
      const bad = await openWs(server.wsUrl(), { perMessageDeflate: clientDeflate });
      bad.send(Buffer.from([0x68, 0x69, 0xff, 0x21]), { binary: false });  // `ws` does not check what it sends
      const { code } = await withTimeout(bad.closeEvent, 5000, 'the close after invalid UTF-8');
      assert.equal(code, 1007);
    });

    if (deflate) test('a compressed message that inflates past 16 MiB (a zip bomb) closes with 1009', async () => {
      const bomb = await openWs(server.wsUrl(), { perMessageDeflate: clientDeflate });
      bomb.send(Buffer.alloc(LIMIT + 1));  // zeros: ~16 KB on the wire
      const { code } = await withTimeout(bomb.closeEvent, 20_000, 'the close after the zip bomb');
      assert.equal(code, 1009);
      const msg = await roundTrip(ws, 'still here');
      assert.equal(msg.data.toString(), 'still here');
    });

    test('a fragmented text message echoes as one message', async () => {
      ws.send('Hello, ', { fin: false });
      ws.send('fragmented ', { fin: false });
      ws.send('world', { fin: true });
      const msg = await ws.nextMessage();
      assert.equal(msg.isBinary, false);
      assert.equal(msg.data.toString('utf8'), 'Hello, fragmented world');
    });

    test('a fragmented binary message echoes as one binary message', async () => {
      const a = crypto.randomBytes(100);
      const b = crypto.randomBytes(70000);
      const c = crypto.randomBytes(1);
      ws.send(a, { fin: false });
      ws.send(b, { fin: false });
      ws.send(c, { fin: true });
      const msg = await ws.nextMessage();
      assert.equal(msg.isBinary, true);
      assert.ok(msg.data.equals(Buffer.concat([a, b, c])), 'concatenation differs');
    });

    test('a code point split across fragments is valid UTF-8', async () => {
      const bytes = Buffer.from('a😀b中c', 'utf8');
      // Split inside the emoji (4 bytes at 1..4) and inside the CJK character (3 bytes at 6..8).
      const cuts = [0, 3, 7, bytes.length];
      for (let i = 0; i + 1 < cuts.length; i++) {
        ws.send(bytes.subarray(cuts[i], cuts[i + 1]), { binary: false, fin: i + 2 === cuts.length });
      }
      const msg = await ws.nextMessage();
      assert.equal(msg.isBinary, false);
      assert.deepEqual(msg.data, bytes);
    });

    test('1,000 small fragments echo as their concatenation', async () => {
      const parts = [];
      for (let i = 0; i < 1000; i++) parts.push(`<${i}>`);
      for (let i = 0; i < parts.length; i++) ws.send(parts[i], { fin: i === parts.length - 1 });
      const msg = await ws.nextMessage();
      assert.equal(msg.isBinary, false);
      assert.equal(msg.data.toString('utf8'), parts.join(''));
    });

    test('a ping between fragments is answered and the message still echoes whole', async () => {
      const pong = once(ws, 'pong');
      ws.send('first half, ', { fin: false });
      ws.ping('between');
      ws.send('second half', { fin: true });
      const [data] = await withTimeout(pong, 5000, 'the pong');
      assert.equal(data.toString(), 'between');
      const msg = await ws.nextMessage();
      assert.equal(msg.data.toString(), 'first half, second half');
    });

    test('ws.ping(payload) gets a pong with the same payload', async () => {
      for (const payload of [Buffer.alloc(0), Buffer.from('hello'), crypto.randomBytes(125)]) {
        const pong = once(ws, 'pong');
        ws.ping(payload);
        const [data] = await withTimeout(pong, 5000, 'a pong');
        assert.deepEqual(data, payload);
      }
    });
  });
}

describe('raw client: control frames between fragments', () => {
  let server;
  before(async () => { server = await startServer(['--ws-echo', '/echo']); });
  after(async () => { await server?.stop(); });

  test('a ping interleaved between fragments gets its pong, then the whole message', async () => {
    const raw = await RawWebSocket.connect(server.port);
    try {
      await raw.send({ opcode: Op.text, payload: 'one ', fin: false });
      await raw.send({ opcode: Op.ping, payload: 'p1' });
      await raw.send({ opcode: Op.continuation, payload: 'two ', fin: false });
      await raw.send({ opcode: Op.ping, payload: 'p2' });
      await raw.send({ opcode: Op.continuation, payload: 'three', fin: true });
      const controls = [];
      const msg = await raw.readMessage({ controls });
      assert.equal(msg.opcode, Op.text);
      assert.equal(msg.payload.toString(), 'one two three');
      // The pongs were due before the message was complete.
      assert.deepEqual(controls.map((f) => [f.opcode, f.payload.toString()]),
        [[Op.pong, 'p1'], [Op.pong, 'p2']]);
    } finally {
      raw.destroy();
    }
  });

  test('server frames are unmasked and use no reserved bits without an extension', async () => {
    const raw = await RawWebSocket.connect(server.port);
    try {
      await raw.sendText('x'.repeat(200));
      const f = await raw.readFrame();
      assert.equal(f.masked, false);
      assert.equal(f.rsv1 || f.rsv2 || f.rsv3, false);
      assert.equal(f.opcode, Op.text);
      assert.equal(f.payload.toString(), 'x'.repeat(200));
    } finally {
      raw.destroy();
    }
  });
});

describe('raw client: permessage-deflate on the wire', () => {
  let server;
  before(async () => { server = await startServer(['--ws-echo', '/echo', '--ws-deflate']); });
  after(async () => { await server?.stop(); });

  test('the server answers the offer and compresses its echo (RSV1, raw DEFLATE)', async () => {
    const raw = await RawWebSocket.connect(server.port, '/echo', {
      headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' },
    });
    try {
      assert.match(raw.response.headers['sec-websocket-extensions'] ?? '', /^permessage-deflate\b/);
      const text = 'compress me please, '.repeat(200);
      await raw.sendText(text);  // sent uncompressed (RSV1 clear): allowed
      const f = await raw.readFrame();
      assert.equal(f.opcode, Op.text);
      assert.equal(f.fin, true);
      assert.equal(f.rsv1, true, 'a 4 KB repetitive echo should be compressed');
      assert.ok(f.payload.length < text.length / 4, `compressed to ${f.payload.length} bytes`);
      const inflated = zlib.inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]),
        { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      assert.equal(inflated.toString(), text);
    } finally {
      raw.destroy();
    }
  });

  test('without an offer the server does not compress', async () => {
    const raw = await RawWebSocket.connect(server.port);
    try {
      assert.equal(raw.response.headers['sec-websocket-extensions'], undefined);
      const text = 'compress me please, '.repeat(200);
      await raw.sendText(text);
      const f = await raw.readFrame();
      assert.equal(f.rsv1, false);
      assert.equal(f.payload.toString(), text);
    } finally {
      raw.destroy();
    }
  });
});
