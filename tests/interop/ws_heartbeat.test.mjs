// Server heartbeat with --ws-idle-timeout 2: a silent peer is pinged at ~1 s and dropped
// at ~2 s; a peer that sends data is never pinged; a peer that answers pings stays.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';

import { startServer, openWs, RawWebSocket, Op } from './helpers.mjs';

describe('heartbeat (--ws-idle-timeout 2)', { concurrency: true }, () => {
  let server;
  before(async () => {
    server = await startServer(['--ws-echo', '/echo', '--ws-idle-timeout', '2', '--threads', '1']);
  });
  after(async () => { await server?.stop(); });

  test('a silent raw client is pinged after ~1 s and disconnected by ~2 s', async () => {
    const raw = await RawWebSocket.connect(server.port);
    const t0 = Date.now();
    try {
      const ping = await raw.readFrame({ timeout: 3000 });
      const pingedAt = Date.now() - t0;
      assert.equal(ping.opcode, Op.ping, `expected a ping, got opcode ${ping.opcode}`);
      assert.ok(pingedAt >= 800 && pingedAt <= 1700, `pinged after ${pingedAt} ms, expected ~1000`);
      // No pong: the server must give up on us at the idle timeout.
      await raw.conn.waitEnded(3000, 'the server to drop a silent client');
      const droppedAt = Date.now() - t0;
      assert.ok(droppedAt >= 1800 && droppedAt <= 2800, `dropped after ${droppedAt} ms, expected ~2000`);
      // Whatever came before the TCP close is at most a close frame.
      const rest = [];
      for (;;) {
        const f = await raw.readFrame({ timeout: 10 }).catch(() => null);
        if (!f) break;
        rest.push(f.opcode);
      }
      assert.ok(rest.every((op) => op === Op.close), `unexpected frames before the drop: ${rest}`);
    } finally {
      raw.destroy();
    }
  });

  test('a client sending data every 200 ms is never pinged and stays connected past 3 s', async () => {
    const raw = await RawWebSocket.connect(server.port);
    const t0 = Date.now();
    const controls = [];
    try {
      for (let i = 0; Date.now() - t0 < 3300; i++) {
        const sent = Date.now();
        await raw.sendText(`tick ${i}`);
        const msg = await raw.readMessage({ controls, timeout: 2000 });
        assert.equal(msg.payload.toString(), `tick ${i}`);
        await delay(Math.max(0, 200 - (Date.now() - sent)));  // the pace of the client, not a sync
      }
      assert.deepEqual(controls.map((f) => f.opcode), [], 'the server sent control frames to a busy client');
      assert.equal(raw.conn.ended, false, 'the busy client was disconnected');
      await raw.sendText('still here');
      const msg = await raw.readMessage({ controls });
      assert.equal(msg.payload.toString(), 'still here');
    } finally {
      raw.destroy();
    }
  });

  test('a ws client that only answers pings stays connected past 3 s', async () => {
    const ws = await openWs(server.wsUrl());  // `ws` answers pings with pongs by itself
    try {
      let closed = false;
      ws.closeEvent.then(() => { closed = true; });
      await delay(3500);  // the behaviour under test is what happens over this time
      assert.equal(closed, false, 'a client answering pings was dropped');
      assert.ok(ws.pings.length >= 1, `expected heartbeat pings, got ${ws.pings.length}`);
      ws.send('alive');
      const msg = await ws.nextMessage();
      assert.equal(msg.data.toString(), 'alive');
    } finally {
      ws.terminate();
    }
  });
});
