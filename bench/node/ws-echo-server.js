#!/usr/bin/env node
// The Node peer that Switchboard's WebSocket benchmarks compare against: the `ws`
// package (npm) echoing every message back, text as text and binary as binary.
// Default settings of ws, except permessage-deflate, which is off here (it is off
// in sb-loadgen's handshake too, so no extension would be negotiated anyway).
//
//   node bench/node/ws-echo-server.js --port 8080 [--path /echo] [--host 127.0.0.1]
//
// Prints "listening on PORT" to stdout once the port is open.
'use strict';

const http = require('node:http');
const { WebSocketServer } = require('ws');

function parseArgs(argv) {
  const options = { port: 8080, path: '/echo', host: '127.0.0.1' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--port') options.port = Number(value());
    else if (arg === '--path') options.path = value();
    else if (arg === '--host') options.host = value();
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: ws-echo-server.js [--port N] [--path /echo] [--host 127.0.0.1]');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error('--port must be 0..65535');
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));

// A plain HTTP server in front, so other paths get a 404 and the backlog is Node's
// default (511), as in a typical deployment.
const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
const wss = new WebSocketServer({
  server,
  path: options.path,
  perMessageDeflate: false,
  clientTracking: false,
});

wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    socket.send(data, { binary: isBinary });
  });
  socket.on('error', () => {});  // a reset by the peer: nothing to do but forget it
});

server.listen(options.port, options.host, () => {
  console.log(`listening on ${server.address().port}`);
});

const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 500).unref();
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
