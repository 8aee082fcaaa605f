/**
 * limit-replay: the ceiling of a replay on this machine, run by bench/replay.ts in the same
 * invocation and on the same bytes as the service. A bare reader fetches the same topic range from
 * the same broker with the same client library (@platformatic/kafka, group-less fetches by offset,
 * the same bytes per partition per fetch, the next fetch requested while the current one is
 * written) and writes each record as `data: <value>\n\n`, one buffer per fetch, to one TCP socket
 * (waiting for drain, as a server must); a client process reads the socket and counts bytes. No
 * decoding, no meta splice, no sanitization, no ids, no HTTP: what is left is Kafka, the library's
 * record decoding, one copy and the socket.
 *
 *   node bench/lib/limit-replay.ts <broker host:port> <topic> <from offset> <events> <bytes per partition per fetch>
 *
 * Prints one JSON line: events, bytes, seconds (from the client's connect to the last byte),
 * events/s, MB/s, the reader's CPU seconds and its fetch count. `client <port> <bytes>` is the
 * forked reading side.
 */
import { fork } from 'node:child_process';
import net from 'node:net';
import { Consumer } from '@platformatic/kafka';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'client') {
  // The reading side: counts bytes until the server ends the connection.
  const port = Number(args[0]);
  let bytes = 0;
  let connectedAt = 0;
  const socket = net.connect(port, '127.0.0.1', () => {
    connectedAt = performance.now();
    socket.write('go\n');
  });
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  socket.on('end', () => {
    const ms = performance.now() - connectedAt;
    process.send?.({ bytes, ms, cpu: process.cpuUsage() }, () => process.exit(0));
  });
  socket.on('error', (error) => {
    process.send?.({ error: error.message }, () => process.exit(1));
  });
} else {
  const [broker, topic, fromArg, eventsArg, maxBytesArg] = [mode, ...args];
  if (broker === undefined || topic === undefined) throw new Error('usage: limit-replay.ts <broker> <topic> <from> <events> <max bytes per partition>');
  const from = Number(fromArg);
  const events = Number(eventsArg);
  const maxBytes = Number(maxBytesArg);
  const end = from + events;
  const consumer = new Consumer({ clientId: 'eventstreams-bench-limit-replay', groupId: 'eventstreams-groupless', bootstrapBrokers: [broker], maxWaitTime: 500, minBytes: 1 });
  const metadata = await consumer.metadata({ topics: [topic] });
  const info = metadata.topics.get(topic);
  const leader = info?.partitions[0]?.leader;
  if (info === undefined || leader === undefined) throw new Error(`no leader for ${topic}/0`);
  let fetches = 0;
  const fetch = (offset: number) => {
    fetches++;
    return consumer.fetch({
      node: leader,
      topics: [{ topicId: info.id, partitions: [{ partition: 0, fetchOffset: BigInt(offset), currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: maxBytes }] }],
      maxWaitTime: 500,
      minBytes: 1,
    });
  };
  const DATA = Buffer.from('data: ');
  const END = Buffer.from('\n\n');

  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const client = fork(new URL(import.meta.url).pathname, ['client', String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const report = new Promise<{ bytes?: number; ms?: number; error?: string }>((resolve) => client.once('message', resolve));

  const socket = await new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  // The client says go once connected: the clock starts on its side at its connect.
  await new Promise((resolve) => socket.once('data', resolve));
  const cpu0 = process.cpuUsage();
  let written = 0;
  let sent = 0;
  let offset = from;
  let next = fetch(offset);
  while (offset < end) {
    const response = await next;
    const parts: Buffer[] = [];
    let last = offset;
    for (const partition of response.responses[0]?.partitions ?? []) {
      for (const batch of partition.records ?? []) {
        const first = Number(batch.firstOffset);
        last = Math.max(last, first + batch.lastOffsetDelta + 1);
        for (const record of batch.records) {
          const at = first + record.offsetDelta;
          if (at < offset || at >= end || record.value === null) continue;
          parts.push(DATA, record.value, END);
          sent++;
        }
      }
    }
    offset = last;
    // The next fetch goes out while this one is written.
    if (offset < end) next = fetch(offset);
    const chunk = Buffer.concat(parts);
    written += chunk.length;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  socket.end();
  const cpu = process.cpuUsage(cpu0);
  const result = await report;
  await consumer.close(true);
  server.close();
  const seconds = (result.ms ?? 0) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      events: sent,
      bytes: written,
      received: result.bytes ?? null,
      error: result.error ?? null,
      seconds,
      eventsPerSec: seconds > 0 ? Math.round(sent / seconds) : null,
      mbPerSec: seconds > 0 ? Math.round((written / 1e6 / seconds) * 10) / 10 : null,
      readerCpuSec: (cpu.user + cpu.system) / 1e6,
      fetches,
    })}\n`,
  );
  process.exit(0);
}
