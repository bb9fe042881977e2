// The official Engine.IO v4 protocol test suite (socket.io repository,
// docs/engine.io-protocol/v4-test-suite/test-suite.js), test for test, against
// `switchboard --protocol-test-mode`: node:test instead of mocha, the same requests
// and expectations. Run with one loop and with two, so that requests for a session
// also arrive on the loop that does not own it (relayed, or handed over).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './helpers.mjs';
import { PING_INTERVAL, PING_TIMEOUT, sleep, createWebSocket, waitFor } from './protocol_suite.mjs';

for (const threads of ['1', '2']) {
  describe(`Engine.IO protocol (--threads ${threads})`, () => {
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
      const response = await fetch(`${URL}/engine.io/?EIO=4&transport=polling`);
      const content = await response.text();
      return JSON.parse(content.substring(1)).sid;
    }

    describe('handshake', () => {
      describe('HTTP long-polling', () => {
        it('successfully opens a session', async () => {
          const response = await fetch(`${URL}/engine.io/?EIO=4&transport=polling`);
          assert.equal(response.status, 200);
          const content = await response.text();
          assert.ok(content.startsWith('0'));
          const value = JSON.parse(content.substring(1));
          assert.deepEqual(Object.keys(value).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
          assert.equal(typeof value.sid, 'string');
          assert.deepEqual(value.upgrades, ['websocket']);
          assert.equal(value.pingInterval, PING_INTERVAL);
          assert.equal(value.pingTimeout, PING_TIMEOUT);
          assert.equal(value.maxPayload, 1000000);
        });

        it("fails with an invalid 'EIO' query parameter", async () => {
          const response = await fetch(`${URL}/engine.io/?transport=polling`);
          assert.equal(response.status, 400);
          const response2 = await fetch(`${URL}/engine.io/?EIO=abc&transport=polling`);
          assert.equal(response2.status, 400);
        });

        it("fails with an invalid 'transport' query parameter", async () => {
          const response = await fetch(`${URL}/engine.io/?EIO=4`);
          assert.equal(response.status, 400);
          const response2 = await fetch(`${URL}/engine.io/?EIO=4&transport=abc`);
          assert.equal(response2.status, 400);
        });

        it('fails with an invalid request method', async () => {
          const response = await fetch(`${URL}/engine.io/?EIO=4&transport=polling`, { method: 'post' });
          assert.equal(response.status, 400);
          const response2 = await fetch(`${URL}/engine.io/?EIO=4&transport=polling`, { method: 'put' });
          assert.equal(response2.status, 400);
        });
      });

      describe('WebSocket', () => {
        it('successfully opens a session', async () => {
          const socket = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=websocket`);
          const { data } = await waitFor(socket, 'message');
          assert.ok(String(data).startsWith('0'));
          const value = JSON.parse(String(data).substring(1));
          assert.deepEqual(Object.keys(value).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
          assert.equal(typeof value.sid, 'string');
          assert.deepEqual(value.upgrades, []);
          assert.equal(value.pingInterval, PING_INTERVAL);
          assert.equal(value.pingTimeout, PING_TIMEOUT);
          assert.equal(value.maxPayload, 1000000);
          socket.close();
        });

        it("fails with an invalid 'EIO' query parameter", async () => {
          const socket = createWebSocket(`${WS_URL}/engine.io/?transport=websocket`);
          await waitFor(socket, 'close');
          const socket2 = createWebSocket(`${WS_URL}/engine.io/?EIO=abc&transport=websocket`);
          await waitFor(socket2, 'close');
        });

        it("fails with an invalid 'transport' query parameter", async () => {
          const socket = createWebSocket(`${WS_URL}/engine.io/?EIO=4`);
          await waitFor(socket, 'close');
          const socket2 = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=abc`);
          await waitFor(socket2, 'close');
        });
      });
    });

    describe('message', () => {
      describe('HTTP long-polling', () => {
        it('sends and receives a payload containing one plain text packet', async () => {
          const sid = await initLongPollingSession();
          const pushResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`, {
            method: 'post',
            body: '4hello',
          });
          assert.equal(pushResponse.status, 200);
          assert.equal(await pushResponse.text(), 'ok');
          const pollResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
          assert.equal(pollResponse.status, 200);
          assert.equal(await pollResponse.text(), '4hello');
        });

        it('sends and receives a payload containing several plain text packets', async () => {
          const sid = await initLongPollingSession();
          const pushResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`, {
            method: 'post',
            body: '4test1\x1e4test2\x1e4test3',
          });
          assert.equal(pushResponse.status, 200);
          assert.equal(await pushResponse.text(), 'ok');
          const pollResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
          assert.equal(pollResponse.status, 200);
          assert.equal(await pollResponse.text(), '4test1\x1e4test2\x1e4test3');
        });

        it('sends and receives a payload containing plain text and binary packets', async () => {
          const sid = await initLongPollingSession();
          const pushResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`, {
            method: 'post',
            body: '4hello\x1ebAQIDBA==',
          });
          assert.equal(pushResponse.status, 200);
          assert.equal(await pushResponse.text(), 'ok');
          const pollResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
          assert.equal(pollResponse.status, 200);
          assert.equal(await pollResponse.text(), '4hello\x1ebAQIDBA==');
        });

        it('closes the session upon invalid packet format', async () => {
          const sid = await initLongPollingSession();
          try {
            const pushResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`, {
              method: 'post',
              body: 'abc',
            });
            assert.equal(pushResponse.status, 400);
          } catch (e) {
            if (e instanceof assert.AssertionError) throw e;
            // fetch throws when the request is closed abnormally
          }
          const pollResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
          assert.equal(pollResponse.status, 400);
        });

        it('closes the session upon duplicate poll requests', async () => {
          const sid = await initLongPollingSession();
          const pollResponses = await Promise.all([
            fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`),
            sleep(5).then(() => fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}&t=burst`)),
          ]);
          assert.equal(pollResponses[0].status, 200);
          assert.equal(await pollResponses[0].text(), '1');
          assert.equal(pollResponses[1].status, 400);
          const pollResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
          assert.equal(pollResponse.status, 400);
        });

        it('closes the session upon cancelled polling request', async () => {
          const sid = await initLongPollingSession();
          const controller = new AbortController();
          fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`, { signal: controller.signal }).catch(() => {});
          await sleep(5);
          controller.abort();
          const pollResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
          assert.equal(pollResponse.status, 400);
        });
      });

      describe('WebSocket', () => {
        it('sends and receives a plain text packet', async () => {
          const socket = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'open');
          await waitFor(socket, 'message'); // handshake
          socket.send('4hello');
          const { data } = await waitFor(socket, 'message');
          assert.equal(String(data), '4hello');
          socket.close();
        });

        it('sends and receives a binary packet', async () => {
          const socket = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=websocket`);
          socket.binaryType = 'arraybuffer';
          await waitFor(socket, 'message'); // handshake
          socket.send(Uint8Array.from([1, 2, 3, 4]));
          const { data } = await waitFor(socket, 'message');
          assert.deepEqual(new Uint8Array(data), Uint8Array.from([1, 2, 3, 4]));
          socket.close();
        });

        it('closes the session upon invalid packet format', async () => {
          const socket = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'message'); // handshake
          socket.send('abc');
          await waitFor(socket, 'close');
          socket.close();
        });
      });
    });

    describe('heartbeat', () => {
      describe('HTTP long-polling', () => {
        it('sends ping/pong packets', async () => {
          const sid = await initLongPollingSession();
          for (let i = 0; i < 3; i++) {
            const pollResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
            assert.equal(pollResponse.status, 200);
            assert.equal(await pollResponse.text(), '2');
            const pushResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`, {
              method: 'post',
              body: '3',
            });
            assert.equal(pushResponse.status, 200);
          }
        });

        it('closes the session upon ping timeout', async () => {
          const sid = await initLongPollingSession();
          await sleep(PING_INTERVAL + PING_TIMEOUT);
          const pollResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
          assert.equal(pollResponse.status, 400);
        });
      });

      describe('WebSocket', () => {
        it('sends ping/pong packets', async () => {
          const socket = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'message'); // handshake
          for (let i = 0; i < 3; i++) {
            const { data } = await waitFor(socket, 'message');
            assert.equal(String(data), '2');
            socket.send('3');
          }
          socket.close();
        });

        it('closes the session upon ping timeout', async () => {
          const socket = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'close'); // handshake
        });
      });
    });

    describe('close', () => {
      describe('HTTP long-polling', () => {
        it('forcefully closes the session', async () => {
          const sid = await initLongPollingSession();
          const [pollResponse] = await Promise.all([
            fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`),
            fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'post', body: '1' }),
          ]);
          assert.equal(pollResponse.status, 200);
          assert.equal(await pollResponse.text(), '6');
          const pollResponse2 = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
          assert.equal(pollResponse2.status, 400);
        });
      });

      describe('WebSocket', () => {
        it('forcefully closes the session', async () => {
          const socket = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=websocket`);
          await waitFor(socket, 'message'); // handshake
          socket.send('1');
          await waitFor(socket, 'close');
        });
      });
    });

    describe('upgrade', () => {
      it('successfully upgrades from HTTP long-polling to WebSocket', async () => {
        const sid = await initLongPollingSession();
        const socket = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
        await waitFor(socket, 'open');
        socket.send('2probe');
        const probeResponse = await waitFor(socket, 'message');
        assert.equal(String(probeResponse.data), '3probe');
        const pollResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
        assert.equal(pollResponse.status, 200);
        assert.equal(await pollResponse.text(), '6'); // "noop" to cleanly end the long-polling request
        socket.send('5');
        socket.send('4hello');
        const { data } = await waitFor(socket, 'message');
        assert.equal(String(data), '4hello');
        socket.close();
      });

      it('ignores HTTP requests with same sid after upgrade', async () => {
        const sid = await initLongPollingSession();
        const socket = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
        await waitFor(socket, 'open');
        socket.send('2probe');
        await waitFor(socket, 'message'); // "3probe"
        socket.send('5');
        const pollResponse = await fetch(`${URL}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
        assert.equal(pollResponse.status, 400);
        socket.send('4hello');
        const { data } = await waitFor(socket, 'message');
        assert.equal(String(data), '4hello');
        socket.close();
      });

      it('ignores WebSocket connection with same sid after upgrade', async () => {
        const sid = await initLongPollingSession();
        const socket = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
        await waitFor(socket, 'open');
        socket.send('2probe');
        await waitFor(socket, 'message'); // "3probe"
        socket.send('5');
        const socket2 = createWebSocket(`${WS_URL}/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
        await waitFor(socket2, 'close');
        socket.send('4hello');
        const { data } = await waitFor(socket, 'message');
        assert.equal(String(data), '4hello');
        socket.close();
      });
    });
  });
}
