// Graceful shutdown: SIGTERM closes every WebSocket with 1001 and the process exits 0
// within 6 s, even with a client that never answers the close frame.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, openWs, RawWebSocket, RawConnection, Op, encodeFrame, closePayload, withTimeout }
  from './helpers.mjs';

describe('graceful shutdown', () => {
  let server;
  after(async () => { await server?.stop(); });

  test('SIGTERM: every WebSocket gets close 1001, the process exits 0 within 6 s', async () => {
    server = await startServer(['--ws-echo', '/echo', '--threads', '2']);
    const clients = await Promise.all(Array.from({ length: 10 }, () => openWs(server.wsUrl())));
    // A raw client that answers the close frame, and one that never does.
    const polite = await RawWebSocket.connect(server.port);
    const deaf = await RawWebSocket.connect(server.port);
    // An idle keep-alive HTTP connection.
    const http = await RawConnection.connect(server.port);
    await http.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal((await http.readResponse()).status, 200);
    // Every WebSocket is up and echoing before the signal.
    for (const ws of clients) {
      ws.send('before');
      assert.equal((await ws.nextMessage()).data.toString(), 'before');
    }

    const t0 = Date.now();
    process.kill(server.pid, 'SIGTERM');

    const politeClose = (async () => {
      let f;
      do f = await polite.readFrame({ timeout: 6000 }); while (f.opcode !== Op.close);
      await polite.send(encodeFrame({ opcode: Op.close, payload: closePayload(f.closeCode ?? 1000) }));
      await polite.conn.waitEnded(6000, 'the TCP close after the close handshake');
      return f.closeCode;
    })();
    const deafClose = (async () => {
      let f;
      do f = await deaf.readFrame({ timeout: 6000 }); while (f.opcode !== Op.close);
      return f.closeCode;
    })();

    const codes = await withTimeout(Promise.all(clients.map((ws) => ws.closeEvent)), 6000, 'the clients to close');
    assert.deepEqual(codes.map((c) => c.code), clients.map(() => 1001));
    assert.equal(await politeClose, 1001);
    assert.equal(await deafClose, 1001);
    await http.waitEnded(6000, 'the idle HTTP connection to close');

    const { code, signal } = await withTimeout(server.exited, Math.max(0, 6000 - (Date.now() - t0)),
      'the process to exit within 6 s of SIGTERM');
    assert.equal(signal, null, `killed by ${signal}`);
    assert.equal(code, 0, `exit status ${code}; log:\n${server.log()}`);
    assert.ok(Date.now() - t0 <= 6000);
    polite.destroy();
    deaf.destroy();
    http.destroy();
  });
});
