// The memory floor of an SSE connection in Node, for bench/memory.ts: a bare `http` server (no
// Kafka, no framework, nothing per client but Node's own socket, request and response and a Set
// entry) that answers any GET with `:ok` and writes one recorded-size event frame to every open
// response RATE times a second, as the service does on a quiet stream. `/metrics` gives
// `eventstreams_connected_clients` so the benchmark samples it like the service.
// usage: node [--inspect=127.0.0.1:0] bench/lib/bare-sse.mjs RATE FRAME_BYTES
// Prints one JSON line `{"serving":"http://127.0.0.1:PORT"}` on stdout once it listens.
import http from 'node:http';

const rate = Number(process.argv[2] ?? 10);
const frameBytes = Number(process.argv[3] ?? 1600);
const clients = new Set();
let seq = 0;

const server = http.createServer((req, res) => {
  if (req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`eventstreams_connected_clients ${clients.size}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(':ok\n\n');
  clients.add(res);
  res.once('close', () => clients.delete(res));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ serving: `http://127.0.0.1:${server.address().port}` })}\n`);
});

if (rate > 0) {
  setInterval(() => {
    const s = seq++;
    const head = `event: message\nid: [{"topic":"t","partition":0,"offset":${s}}]\ndata: {"seq":${s},"pad":"`;
    const frame = Buffer.from(`${head}${'x'.repeat(Math.max(0, frameBytes - head.length - 4))}"}\n\n`);
    for (const res of clients) res.write(frame);
  }, 1000 / rate);
}
process.on('SIGTERM', () => process.exit(0));
