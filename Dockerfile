# Production image. Node 24 runs the TypeScript sources directly (type stripping), so the build
# stage only installs production dependencies; nothing is compiled.
# Build: docker build -t eventstreams .
# Run:   docker run -p 8092:8092 -e KAFKA_BROKERS=kafka1:9092,kafka2:9092 eventstreams
# (The image has no Java, so it has no demo mode: always point it at a Kafka cluster.)
# Probes: liveness GET /_info (answered from memory), readiness GET /_ready (503 while Kafka is
# unreachable or the instance drains on SIGTERM). README "Operations" has the details.

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Source maps and docs of the dependencies are never read at run time.
RUN npm ci --omit=dev --ignore-scripts \
 && find node_modules \( -name '*.map' -o -name '*.md' -o -name '*.d.ts' \) -type f -delete \
 && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production \
    PORT=8092
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY config ./config
COPY public ./public
USER node
EXPOSE 8092
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8092) + '/_info').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM ends every open stream with reconnection advice before the process exits.
STOPSIGNAL SIGTERM
CMD ["node", "src/main.ts"]
