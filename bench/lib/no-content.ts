/**
 * The decision bench's floor: a plain node:http server that reads each request to its end and
 * answers 204, in its own process so its CPU is counted apart. Whatever the gateway spends
 * beyond this is the decision itself. Sends its port to the parent over IPC.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(204);
    res.end();
  });
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});

process.on('SIGTERM', () => process.exit(0));
