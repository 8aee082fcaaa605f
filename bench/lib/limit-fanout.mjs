// limit-fanout: the bare-Node ceiling of SSE fan-out that bench/fanout.ts measures next to the
// service (run through bench/lib/limit.ts). Copied unchanged, but for this header, from the
// project's shared tools (`tools/limit-fanout.mjs` of the team's reference library, a sketch kept
// outside the repository) so that the benchmark needs nothing beside the repository.
//
// Physical-limit probe for SSE fan-out in Node on this machine: a bare HTTP server that writes
// one pre-serialized frame buffer per 10 ms tick to N sockets (no Kafka, no parsing, no
// per-client work), and a client process that opens N connections and measures latency.
// usage: node limit-fanout.mjs server PORT | node limit-fanout.mjs client PORT N SECONDS
import http from 'node:http'
import net from 'node:net'

const [mode, portArg, nArg, secsArg] = process.argv.slice(2)
const port = Number(portArg)
if (mode === 'server') {
  const clients = new Set()
  let pending = []
  let seq = 0
  const pad = 'x'.repeat(600)
  http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.write(':ok\n\n')
    clients.add(res)
    req.on('close', () => clients.delete(res))
  }).listen(port, '127.0.0.1')
  let rate = 0
  process.on('message', (m) => { if (m.rate !== undefined) rate = m.rate; if (m.stats) process.send({ cpu: process.cpuUsage(), rss: process.memoryUsage().rss, clients: clients.size, seq }) })
  let acc = 0
  let last = Date.now()
  setInterval(() => {
    const now = Date.now()
    acc += (rate * (now - last)) / 1000
    last = now
    while (acc >= 1) { acc--; const s = seq++; pending.push(`event: message\nid: [{"topic":"t","partition":0,"offset":${s}}]\ndata: {"seq":${s},"sent":${Date.now()},"pad":"${pad}"}\n\n`) }
    if (!pending.length) return
    const buf = Buffer.from(pending.join(''))
    pending = []
    for (const res of clients) res.write(buf)
  }, 10)
} else {
  const N = Number(nArg), SECS = Number(secsArg)
  const { fork } = await import('node:child_process')
  const srv = fork(new URL(import.meta.url).pathname, ['server', String(port)])
  await new Promise((r) => setTimeout(r, 500))
  const lat = []
  let bytes = 0
  const socks = []
  for (let i = 0; i < N; i++) {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET /s HTTP/1.1\r\nHost: x\r\n\r\n`))
    const sample = i % 50 === 0 // parse latency on 2% of sockets; count bytes on the rest
    let tail = ''
    if (sample) s.setEncoding('latin1')
    s.on('data', (d) => {
      bytes += d.length
      if (!sample) return
      const text = tail + d
      let idx = 0
      for (;;) {
        const j = text.indexOf('"sent":', idx)
        if (j < 0 || j + 20 > text.length) break
        lat.push(Date.now() - Number(text.slice(j + 7, j + 20)))
        idx = j + 20
      }
      tail = text.slice(Math.max(idx, text.length - 40))
    })
    s.on('error', () => {})
    socks.push(s)
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 20))
  }
  await new Promise((r) => setTimeout(r, 2000))
  const stats = () => new Promise((r) => { srv.once('message', r); srv.send({ stats: true }) })
  const s0 = await stats()
  srv.send({ rate: 100 })
  lat.length = 0; bytes = 0
  await new Promise((r) => setTimeout(r, SECS * 1000))
  srv.send({ rate: 0 })
  await new Promise((r) => setTimeout(r, 1000))
  const s1 = await stats()
  lat.sort((a, b) => a - b)
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]
  const cpu = (s1.cpu.user + s1.cpu.system - s0.cpu.user - s0.cpu.system) / 1e6
  console.log(JSON.stringify({ clients: s1.clients, eventsPerSec: 100, seconds: SECS, deliveredMiB: +(bytes / 2 ** 20).toFixed(1), expectedMiB: +(N * (s1.seq - s0.seq) * 690 / 2 ** 20).toFixed(1), events: s1.seq - s0.seq, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1], serverCpuSec: +cpu.toFixed(2), serverCpuPct: +(100 * cpu / SECS).toFixed(1), serverRssMiB: Math.round(s1.rss / 2 ** 20) }))
  for (const s of socks) s.destroy()
  srv.kill()
  process.exit(0)
}
