#!/usr/bin/env node
// The Node peer of Switchboard's Socket.IO benchmarks: npm `socket.io` with its default
// settings (path /socket.io/, polling and websocket with upgrades, pingInterval 25 s,
// pingTimeout 20 s, maxHttpBufferSize 1e6, no permessage-deflate, connectTimeout 45 s),
// serving what examples/echo_server.cpp serves on Switchboard:
//
//   - "echo" is emitted back to the sender with the same arguments (a Buffer argument
//     comes back as binary);
//   - a connection whose handshake query has room=1 joins room "room";
//   - "pub" is emitted to room "room" of namespace "/" as "msg", with the same arguments.
//
//   node bench/node/sio-echo-server.js --port 3000 [--host 127.0.0.1]
//
// Prints "listening on PORT" to stdout once the port is open.
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');

function parseArgs(argv) {
  const options = { port: 3000, host: '127.0.0.1' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--port') options.port = Number(value());
    else if (arg === '--host') options.host = value();
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: sio-echo-server.js [--port N] [--host 127.0.0.1]');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error('--port must be 0..65535');
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));

// A plain HTTP server in front, as in a typical deployment: socket.io takes /socket.io/
// and every other path gets this listener's 404.
const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
const io = new Server(server);  // the defaults, on purpose

io.on('connection', (socket) => {
  if (socket.handshake.query.room === '1') socket.join('room');
  socket.on('echo', (...args) => {
    socket.emit('echo', ...args);
  });
  socket.on('pub', (...args) => {
    io.to('room').emit('msg', ...args);
  });
});

server.listen(options.port, options.host, () => {
  console.log(`listening on ${server.address().port}`);
});

const stop = () => {
  io.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
