// The official Socket.IO v5 protocol test suite (socket.io repository,
// docs/socket.io-protocol/v5-test-suite/test-suite.js), test for test, against
// `switchboard --protocol-test-mode` (/socket.io/): node:test instead of mocha, the same
// requests and expectations. Its Engine.IO part is the Engine.IO suite again on the
// /socket.io/ path. Run with one loop and with two.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './helpers.mjs';
import { PING_INTERVAL, PING_TIMEOUT, sleep, createWebSocket, waitFor } from './protocol_suite.mjs';

// The next `count` messages that are not Engine.IO pings.
async function waitForPackets(socket, count) {
  const packets = [];
  while (packets.length < count) {
    const { data } = await waitFor(socket, 'message');
    if (data === '2') continue;
    packets.push(data);
  }
  return packets;
}

const text = (data) => (typeof data === 'string' ? data : Buffer.from(data).toString());

for (const threads of ['1', '2']) {
  describe(`Socket.IO protocol test suite (--threads ${threads})`, () => {
    let server;
    let URL;
    let WS_URL;

    before(async () => {
      server = await startServer(['--protocol-test-mode', '--threads', threads]);
      URL = `http://127.0.0.1:${server.port}`;
      WS_URL = URL.replace('http', 'ws');
    });
    after(async () => { await server?.stop(); });

    async function initLongPollingSession() {
      const response = await fetch(`${URL}/socket.io/?EIO=4&transport=polling`);
      const content = await response.text();
      return JSON.parse(content.substring(1)).sid;
    }

    async function initSocketIOConnection() {
      const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
      socket.binaryType = 'arraybuffer';
      await waitFor(socket, 'message'); // Engine.IO handshake
      socket.send('40');
      await waitFor(socket, 'message'); // Socket.IO handshake
      await waitFor(socket, 'message'); // "auth" packet
      return socket;
    }

    describe('Engine.IO protocol', () => {
      describe('handshake', () => {
        it('should successfully open a session (polling)', async () => {
          const response = await fetch(`${URL}/socket.io/?EIO=4&transport=polling`);
          assert.equal(response.status, 200);
          const content = await response.text();
          assert.ok(content.startsWith('0'));
          const value = JSON.parse(content.substring(1));
          assert.deepEqual(Object.keys(value).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
          assert.deepEqual(value.upgrades, ['websocket']);
          assert.equal(value.pingInterval, PING_INTERVAL);
          assert.equal(value.pingTimeout, PING_TIMEOUT);
          assert.equal(value.maxPayload, 1000000);
        });

        it("should fail with an invalid 'EIO' query parameter", async () => {
          assert.equal((await fetch(`${URL}/socket.io/?transport=polling`)).status, 400);
          assert.equal((await fetch(`${URL}/socket.io/?EIO=abc&transport=polling`)).status, 400);
        });

        it("should fail with an invalid 'transport' query parameter", async () => {
          assert.equal((await fetch(`${URL}/socket.io/?EIO=4`)).status, 400);
          assert.equal((await fetch(`${URL}/socket.io/?EIO=4&transport=abc`)).status, 400);
        });

        it('should fail with an invalid request method', async () => {
          assert.equal((await fetch(`${URL}/socket.io/?EIO=4&transport=polling`, { method: 'post' })).status, 400);
          assert.equal((await fetch(`${URL}/socket.io/?EIO=4&transport=polling`, { method: 'put' })).status, 400);
        });

        it('should successfully open a session (WebSocket)', async () => {
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
          const { data } = await waitFor(socket, 'message');
          assert.ok(text(data).startsWith('0'));
          const value = JSON.parse(text(data).substring(1));
          assert.deepEqual(value.upgrades, []);
          assert.equal(value.pingInterval, PING_INTERVAL);
          socket.close();
        });

        it('should fail with an invalid query (WebSocket)', async () => {
          await waitFor(createWebSocket(`${WS_URL}/socket.io/?transport=websocket`), 'close');
          await waitFor(createWebSocket(`${WS_URL}/socket.io/?EIO=abc&transport=websocket`), 'close');
          await waitFor(createWebSocket(`${WS_URL}/socket.io/?EIO=4`), 'close');
          await waitFor(createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=abc`), 'close');
        });
      });

      describe('heartbeat', () => {
        it('should send ping/pong packets (polling)', async () => {
          const sid = await initLongPollingSession();
          for (let i = 0; i < 3; i++) {
            const pollResponse = await fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
            assert.equal(pollResponse.status, 200);
            assert.equal(await pollResponse.text(), '2');
            const pushResponse = await fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'post', body: '3' });
            assert.equal(pushResponse.status, 200);
          }
        });

        it('should close the session upon ping timeout (polling)', async () => {
          const sid = await initLongPollingSession();
          await sleep(PING_INTERVAL + PING_TIMEOUT);
          const pollResponse = await fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
          assert.equal(pollResponse.status, 400);
        });

        it('should send ping/pong packets (WebSocket)', async () => {
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'message'); // handshake
          for (let i = 0; i < 3; i++) {
            const { data } = await waitFor(socket, 'message');
            assert.equal(text(data), '2');
            socket.send('3');
          }
          socket.close();
        });

        it('should close the session upon ping timeout (WebSocket)', async () => {
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'close');
        });
      });

      describe('close', () => {
        it('should forcefully close the session (polling)', async () => {
          const sid = await initLongPollingSession();
          const [pollResponse] = await Promise.all([
            fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`),
            fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'post', body: '1' }),
          ]);
          assert.equal(pollResponse.status, 200);
          assert.equal(await pollResponse.text(), '6');
          assert.equal((await fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`)).status, 400);
        });

        it('should forcefully close the session (WebSocket)', async () => {
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'message'); // handshake
          socket.send('1');
          await waitFor(socket, 'close');
        });
      });

      describe('upgrade', () => {
        it('should successfully upgrade from HTTP long-polling to WebSocket', async () => {
          const sid = await initLongPollingSession();
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
          await waitFor(socket, 'open');
          socket.send('2probe');
          const probeResponse = await waitFor(socket, 'message');
          assert.equal(text(probeResponse.data), '3probe');
          socket.send('5');
          socket.close();
        });

        it('should ignore HTTP requests with same sid after upgrade', async () => {
          const sid = await initLongPollingSession();
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
          await waitFor(socket, 'open');
          socket.send('2probe');
          socket.send('5');
          const pollResponse = await fetch(`${URL}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
          assert.equal(pollResponse.status, 400);
          socket.close();
        });

        it('should ignore WebSocket connection with same sid after upgrade', async () => {
          const sid = await initLongPollingSession();
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
          await waitFor(socket, 'open');
          socket.send('2probe');
          socket.send('5');
          const socket2 = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
          await waitFor(socket2, 'close');
          socket.close();
        });
      });
    });

    describe('Socket.IO protocol', () => {
      describe('connect', () => {
        it('should allow connection to the main namespace', async () => {
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'message'); // Engine.IO handshake
          socket.send('40');
          const { data } = await waitFor(socket, 'message');
          assert.ok(text(data).startsWith('40'));
          const handshake = JSON.parse(text(data).substring(2));
          assert.deepEqual(Object.keys(handshake), ['sid']);
          assert.equal(typeof handshake.sid, 'string');
          const authPacket = await waitFor(socket, 'message');
          assert.equal(text(authPacket.data), '42["auth",{}]');
          socket.close();
        });

        it('should allow connection to the main namespace with a payload', async () => {
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'message');
          socket.send('40{"token":"123"}');
          const { data } = await waitFor(socket, 'message');
          assert.ok(text(data).startsWith('40'));
          assert.deepEqual(Object.keys(JSON.parse(text(data).substring(2))), ['sid']);
          const authPacket = await waitFor(socket, 'message');
          assert.equal(text(authPacket.data), '42["auth",{"token":"123"}]');
          socket.close();
        });

        it('should allow connection to a custom namespace', async () => {
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'message');
          socket.send('40/custom,');
          const { data } = await waitFor(socket, 'message');
          assert.ok(text(data).startsWith('40/custom,'));
          assert.deepEqual(Object.keys(JSON.parse(text(data).substring(10))), ['sid']);
          const authPacket = await waitFor(socket, 'message');
          assert.equal(text(authPacket.data), '42/custom,["auth",{}]');
          socket.close();
        });

        it('should allow connection to a custom namespace with a payload', async () => {
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'message');
          socket.send('40/custom,{"token":"abc"}');
          const { data } = await waitFor(socket, 'message');
          assert.ok(text(data).startsWith('40/custom,'));
          const authPacket = await waitFor(socket, 'message');
          assert.equal(text(authPacket.data), '42/custom,["auth",{"token":"abc"}]');
          socket.close();
        });

        it('should disallow connection to an unknown namespace', async () => {
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'message');
          socket.send('40/random');
          const { data } = await waitFor(socket, 'message');
          assert.equal(text(data), '44/random,{"message":"Invalid namespace"}');
          socket.close();
        });

        it('should disallow connection with an invalid handshake', async () => {
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'message');
          socket.send('4abc');
          await waitFor(socket, 'close');
        });

        it('should close the connection if no handshake is received', async () => {
          const socket = createWebSocket(`${WS_URL}/socket.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'close');
        });
      });

      describe('disconnect', () => {
        it('should disconnect from the main namespace', async () => {
          const socket = await initSocketIOConnection();
          socket.send('41');
          const { data } = await waitFor(socket, 'message');
          assert.equal(text(data), '2');
          socket.close();
        });

        it('should connect then disconnect from a custom namespace', async () => {
          const socket = await initSocketIOConnection();
          await waitFor(socket, 'message'); // ping
          socket.send('40/custom');
          await waitFor(socket, 'message'); // Socket.IO handshake
          await waitFor(socket, 'message'); // auth packet
          socket.send('41/custom');
          socket.send('42["message","message to main namespace"]');
          const [data] = await waitForPackets(socket, 1);
          assert.equal(text(data), '42["message-back","message to main namespace"]');
          socket.close();
        });
      });

      describe('message', () => {
        it('should send a plain-text packet', async () => {
          const socket = await initSocketIOConnection();
          socket.send('42["message",1,"2",{"3":[true]}]');
          const [data] = await waitForPackets(socket, 1);
          assert.equal(text(data), '42["message-back",1,"2",{"3":[true]}]');
          socket.close();
        });

        it('should send a packet with binary attachments', async () => {
          const socket = await initSocketIOConnection();
          socket.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
          socket.send(Uint8Array.from([1, 2, 3]));
          socket.send(Uint8Array.from([4, 5, 6]));
          const packets = await waitForPackets(socket, 3);
          assert.equal(text(packets[0]), '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
          assert.deepEqual(new Uint8Array(packets[1]), Uint8Array.from([1, 2, 3]));
          assert.deepEqual(new Uint8Array(packets[2]), Uint8Array.from([4, 5, 6]));
          socket.close();
        });

        it('should send a plain-text packet with an ack', async () => {
          const socket = await initSocketIOConnection();
          socket.send('42456["message-with-ack",1,"2",{"3":[false]}]');
          const [data] = await waitForPackets(socket, 1);
          assert.equal(text(data), '43456[1,"2",{"3":[false]}]');
          socket.close();
        });

        it('should send a packet with binary attachments and an ack', async () => {
          const socket = await initSocketIOConnection();
          socket.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
          socket.send(Uint8Array.from([1, 2, 3]));
          socket.send(Uint8Array.from([4, 5, 6]));
          const packets = await waitForPackets(socket, 3);
          assert.equal(text(packets[0]), '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
          assert.deepEqual(new Uint8Array(packets[1]), Uint8Array.from([1, 2, 3]));
          assert.deepEqual(new Uint8Array(packets[2]), Uint8Array.from([4, 5, 6]));
          socket.close();
        });

        it('should close the connection upon invalid format (unknown packet type)', async () => {
          const socket = await initSocketIOConnection();
          socket.send('4abc');
          await waitFor(socket, 'close');
        });

        it('should close the connection upon invalid format (invalid payload format)', async () => {
          const socket = await initSocketIOConnection();
          socket.send('42{}');
          await waitFor(socket, 'close');
        });

        it('should close the connection upon invalid format (invalid ack id)', async () => {
          const socket = await initSocketIOConnection();
          socket.send('42abc["message-with-ack",1,"2",{"3":[false]}]');
          await waitFor(socket, 'close');
        });
      });
    });
  });
}
