// Protocol violations from a raw client (RFC 6455 §5): each gets a close frame with the
// right code and then the TCP connection closes; a well-behaved client connected at the
// same time (on the same event loop) is not disturbed.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { startServer, openWs, roundTrip, RawWebSocket, Op, encodeFrame } from './helpers.mjs';

describe('protocol violations', () => {
  let server;
  let bystander;
  let serial = 0;

  before(async () => {
    // One thread: the violator and the bystander share an event loop. Deflate is offered
    // but only negotiated by the clients that ask for it.
    server = await startServer(['--ws-echo', '/echo', '--ws-deflate', '--threads', '1']);
    bystander = await openWs(server.wsUrl());
  });
  after(async () => {
    bystander?.terminate();
    await server?.stop();
  });

  async function bystanderEchoes() {
    const text = `bystander ${++serial}`;
    const msg = await roundTrip(bystander, text);
    assert.equal(msg.data.toString(), text, 'the bystander client was disturbed');
  }

  // Sends `frames` (frame descriptions or raw Buffers) in one write, expects a close frame
  // with `code`, then the TCP close; then checks the bystander.
  async function expectViolation(frames, code, { headers } = {}) {
    const raw = await RawWebSocket.connect(server.port, '/echo', { headers });
    try {
      await raw.send(Buffer.concat(frames.map((f) => (Buffer.isBuffer(f) ? f : encodeFrame(f)))));
      const close = await raw.expectClose();
      assert.equal(close.closeCode, code, `expected close code ${code}, got ${close.closeCode} "${close.closeReason}"`);
    } finally {
      raw.destroy();
    }
    await bystanderEchoes();
  }

  test('an unmasked client frame → 1002', async () => {
    await expectViolation([{ opcode: Op.text, payload: 'hello', mask: false }], 1002);
  });

  test('an unmasked ping → 1002', async () => {
    await expectViolation([{ opcode: Op.ping, payload: 'p', mask: false }], 1002);
  });

  for (const rsv of ['rsv1', 'rsv2', 'rsv3']) {
    test(`${rsv.toUpperCase()} set without a negotiated extension → 1002`, async () => {
      await expectViolation([{ opcode: Op.text, payload: 'hello', [rsv]: true }], 1002);
    });
  }

  test('RSV2 set with permessage-deflate negotiated → 1002', async () => {
    await expectViolation([{ opcode: Op.text, payload: 'hello', rsv2: true }], 1002,
      { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } });
  });

  test('RSV1 on a control frame with permessage-deflate negotiated → 1002', async () => {
    await expectViolation([{ opcode: Op.ping, payload: 'p', rsv1: true }], 1002,
      { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } });
  });

  test('RSV1 on a continuation frame with permessage-deflate negotiated → 1002', async () => {
    await expectViolation([
      { opcode: Op.text, payload: 'a', fin: false },
      { opcode: Op.continuation, payload: 'b', rsv1: true },
    ], 1002, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } });
  });

  for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    test(`reserved opcode ${opcode} → 1002`, async () => {
      await expectViolation([{ opcode, payload: 'x' }], 1002);
    });
  }

  test('a ping with a 126-byte payload → 1002', async () => {
    await expectViolation([{ opcode: Op.ping, payload: Buffer.alloc(126, 0x61) }], 1002);
  });

  test('a close frame with a 126-byte payload → 1002', async () => {
    const payload = Buffer.alloc(126, 0x61);
    payload.writeUInt16BE(1000, 0);
    await expectViolation([{ opcode: Op.close, payload }], 1002);
  });

  test('a fragmented ping (FIN clear) → 1002', async () => {
    await expectViolation([{ opcode: Op.ping, payload: 'p', fin: false }], 1002);
  });

  test('a continuation frame without a message start → 1002', async () => {
    await expectViolation([{ opcode: Op.continuation, payload: 'orphan' }], 1002);
  });

  test('a new text frame inside a fragmented message → 1002', async () => {
    await expectViolation([
      { opcode: Op.text, payload: 'start', fin: false },
      { opcode: Op.text, payload: 'again' },
    ], 1002);
  });

  test('a new binary frame inside a fragmented message → 1002', async () => {
    await expectViolation([
      { opcode: Op.binary, payload: 'start', fin: false },
      { opcode: Op.binary, payload: 'again', fin: false },
    ], 1002);
  });

  test('a 64-bit length with the most significant bit set → 1002', async () => {
    // §5.2: "the most significant bit MUST be 0".
    const header = Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]);
    await expectViolation([header], 1002);
  });

  for (const [name, bytes] of [
    ['a 0xFF byte', [0x61, 0xff, 0x62]],
    ['an overlong NUL (C0 80)', [0xc0, 0x80]],
    ['a UTF-16 surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
    ['a lone continuation byte', [0x61, 0x80]],
    ['a code point cut at the end of the message', [0x61, 0xe2, 0x82]],
  ]) {
    test(`invalid UTF-8 in a text message (${name}) → 1007`, async () => {
      await expectViolation([{ opcode: Op.text, payload: Buffer.from(bytes) }], 1007);
    });
  }

  test('invalid UTF-8 split over fragments → 1007', async () => {
    await expectViolation([
      { opcode: Op.text, payload: Buffer.from([0x61, 0xf0, 0x9f]), fin: false },
      { opcode: Op.continuation, payload: Buffer.from([0x41]) },
    ], 1007);
  });

  test('fail-fast: an invalid first fragment gets 1007 before the second fragment is sent', async () => {
    const raw = await RawWebSocket.connect(server.port);
    try {
      await raw.send({ opcode: Op.text, payload: Buffer.from([0x68, 0x69, 0xc0, 0xaf]), fin: false });
      // The message is not over; only a validator that fails fast answers now.
      const close = await raw.expectClose({ timeout: 3000 });
      assert.equal(close.closeCode, 1007);
    } finally {
      raw.destroy();
    }
    await bystanderEchoes();
  });

  test('fail-fast: a frame header declaring more than the message limit → 1009 without the payload', async () => {
    const raw = await RawWebSocket.connect(server.port);
    try {
      // A 1 GiB binary frame announced; only the header and a few bytes are sent.
      const header = Buffer.alloc(14);
      header[0] = 0x82;
      header[1] = 0xff;
      header.writeBigUInt64BE(1n << 30n, 2);
      crypto.randomBytes(4).copy(header, 10);
      await raw.send(Buffer.concat([header, Buffer.alloc(16)]));
      const close = await raw.expectClose({ timeout: 3000 });
      assert.equal(close.closeCode, 1009);
    } finally {
      raw.destroy();
    }
    await bystanderEchoes();
  });

  test('binary data that is not UTF-8 is fine (no validation of binary)', async () => {
    const raw = await RawWebSocket.connect(server.port);
    try {
      const payload = Buffer.from([0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80]);
      await raw.send({ opcode: Op.binary, payload });
      const msg = await raw.readMessage();
      assert.equal(msg.opcode, Op.binary);
      assert.deepEqual(msg.payload, payload);
    } finally {
      raw.destroy();
    }
  });

  test('the bystander is still open after all of the above', async () => {
    assert.equal(bystander.readyState, bystander.OPEN);
    await bystanderEchoes();
  });
});
