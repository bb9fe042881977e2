// What the two official protocol test suites (eio_protocol.test.mjs and
// sio_protocol.test.mjs) share: the test mode's heartbeat and the suites' WebSocket
// wrapper, whose waits each take the next event (events are buffered until waited
// for, so none is lost between two waits).

import { WebSocket } from './helpers.mjs';

export const PING_INTERVAL = 300;
export const PING_TIMEOUT = 200;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function createWebSocket(url) {
  const socket = new WebSocket(url);
  socket._eventBuffer = {};
  socket._pendingPromises = {};
  for (const eventType of ['open', 'close', 'message']) {
    socket._eventBuffer[eventType] = [];
    socket._pendingPromises[eventType] = [];
    socket.addEventListener(eventType, (event) => {
      if (socket._pendingPromises[eventType].length) {
        socket._pendingPromises[eventType].shift()(event);
      } else {
        socket._eventBuffer[eventType].push(event);
      }
    });
  }
  socket.on('error', () => {});
  return socket;
}

export function waitFor(socket, eventType) {
  if (socket._eventBuffer[eventType].length) return Promise.resolve(socket._eventBuffer[eventType].shift());
  return new Promise((resolve) => socket._pendingPromises[eventType].push(resolve));
}
