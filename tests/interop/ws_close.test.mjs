// The close handshake: codes the `ws` client sends are echoed; invalid codes, a 1-byte
// payload and a reason that is not UTF-8 fail the connection (RFC 6455 §5.5.1, §7.4).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, openWs, roundTrip, RawWebSocket, Op, closePayload, withTimeout } from './helpers.mjs';

describe('close codes and reasons', () => {
  let server;
  let bystander;  // a well-behaved client connected all along: it must never be disturbed
  let serial = 0;

  before(async () => {
    server = await startServer(['--ws-echo', '/echo', '--threads', '1']);
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

  for (const [code, reason] of [[1000, 'bye'], [4000, 'custom'], [3000, undefined], [1001, 'away'], [4999, '']]) {
    test(`ws client closing with ${code}${reason ? ` "${reason}"` : ''} sees ${code} echoed`, async () => {
      const ws = await openWs(server.wsUrl());
      ws.close(code, reason);
      const ev = await withTimeout(ws.closeEvent, 5000, 'the close event');
      assert.equal(ev.code, code);
      await bystanderEchoes();
    });
  }

  test('raw: a close frame with code and reason gets a close frame with the same code, then TCP close', async () => {
    const raw = await RawWebSocket.connect(server.port);
    try {
      await raw.send({ opcode: Op.close, payload: closePayload(1000, 'bye') });
      const f = await raw.expectClose();
      assert.equal(f.closeCode, 1000);
      assert.equal(f.masked, false);
    } finally {
      raw.destroy();
    }
  });

  test('raw: an empty close frame is answered with a close frame (no code or 1000)', async () => {
    const raw = await RawWebSocket.connect(server.port);
    try {
      await raw.send({ opcode: Op.close });
      const f = await raw.expectClose();
      assert.ok(f.closeCode === undefined || f.closeCode === 1000, `got ${f.closeCode}`);
    } finally {
      raw.destroy();
    }
  });

  test('raw: a 123-byte reason (the most a close frame holds) is accepted', async () => {
    const raw = await RawWebSocket.connect(server.port);
    try {
      await raw.send({ opcode: Op.close, payload: closePayload(1000, 'r'.repeat(123)) });
      const f = await raw.expectClose();
      assert.equal(f.closeCode, 1000);
    } finally {
      raw.destroy();
    }
  });

  test('raw: a close frame between fragments of a message is answered', async () => {
    const raw = await RawWebSocket.connect(server.port);
    try {
      await raw.send({ opcode: Op.text, payload: 'half', fin: false });
      await raw.send({ opcode: Op.close, payload: closePayload(1000) });
      const f = await raw.expectClose();
      assert.equal(f.closeCode, 1000);
    } finally {
      raw.destroy();
    }
  });

  async function expectFailure(payload, code) {
    const raw = await RawWebSocket.connect(server.port);
    try {
      await raw.send({ opcode: Op.close, payload });
      const f = await raw.expectClose();
      assert.equal(f.closeCode, code, `close payload ${payload.toString('hex')}: expected ${code}, got ${f.closeCode}`);
    } finally {
      raw.destroy();
    }
    await bystanderEchoes();
  }

  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000]) {
    test(`raw: invalid close code ${code} → 1002`, async () => {
      await expectFailure(closePayload(code, 'x'), 1002);
    });
  }

  test('raw: a close payload of 1 byte → 1002', async () => {
    await expectFailure(Buffer.from([0x03]), 1002);
  });

  test('raw: a close reason that is not UTF-8 → 1007', async () => {
    await expectFailure(closePayload(1000, Buffer.from([0x61, 0xff, 0x62])), 1007);
  });

  test('raw: a close reason with a truncated code point → 1007', async () => {
    await expectFailure(closePayload(1000, Buffer.from('ok €', 'utf8').subarray(0, 5)), 1007);
  });
});
