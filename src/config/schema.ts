import type { JsonSchema } from './from-schema.ts';

/**
 * The configuration file's JSON Schema: Ajv validates files against it, types.ts derives the
 * configuration's TypeScript types from it and the reference in docs/configuration.md is generated from it.
 */
export const configSchema = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://github.com/eventstreams/eventstreams/config.schema.json",
  "title": "eventstreams configuration file",
  "description": "YAML (or JSON) configuration of the eventstreams service. Keys follow Wikimedia EventStreams' names, so an existing EventStreams `conf:` section (or a whole service-runner file with `services: [{name, conf}]`) loads unchanged. Unknown top-level keys are reported as warnings and ignored; a known key with a wrong type is an error.",
  "type": "object",
  "additionalProperties": true,
  "properties": {
    "name": {
      "description": "Service name reported by `/_info` and `/_info/name`.",
      "type": "string",
      "minLength": 1,
      "default": "eventstreams"
    },
    "version": {
      "description": "Service version reported by `/_info`. Defaults to the version in package.json.",
      "type": "string"
    },
    "description": {
      "description": "Service description reported by `/_info`. Defaults to the description in package.json.",
      "type": "string"
    },
    "home": {
      "description": "Home page URL reported by `/_info`, where `/_info/home` redirects (301) and the OpenAPI document's `externalDocs` point. Empty or absent: package.json `homepage`, else `/?doc` (this service's API documentation).",
      "type": "string"
    },
    "port": {
      "description": "TCP port the HTTP server listens on; 0 picks a free port. Environment: `PORT`.",
      "type": "integer",
      "minimum": 0,
      "maximum": 65535,
      "default": 8092
    },
    "listen_address": {
      "description": "Address the HTTP server binds to, e.g. `0.0.0.0`, `127.0.0.1` or `::`. Default `0.0.0.0`. Environment: `LISTEN_ADDRESS`.",
      "type": "string",
      "minLength": 1
    },
    "interface": {
      "description": "service-runner's name for `listen_address`; used only when `listen_address` is not set.",
      "type": "string",
      "minLength": 1
    },
    "log_level": {
      "description": "Minimum level of log lines written (pino levels). Environment: `LOG_LEVEL`.",
      "enum": [
        "fatal",
        "error",
        "warn",
        "info",
        "debug",
        "trace",
        "silent"
      ],
      "default": "info"
    },
    "kafka": {
      "description": "Kafka connection. Besides the keys below, any librdkafka setting (e.g. `queued.max.messages.kbytes`, `statistics.interval.ms`) is accepted and ignored, so an EventStreams `kafka:` section loads unchanged.",
      "type": "object",
      "default": {},
      "additionalProperties": true,
      "properties": {
        "brokers": {
          "description": "Bootstrap brokers as `host:port`: a list or a comma-separated string. Empty (the default) means demo mode: an embedded local Kafka is started. Environment: `KAFKA_BROKERS` (comma list; set but empty means none).",
          "$ref": "#/$defs/brokerList"
        },
        "metadata.broker.list": {
          "description": "librdkafka's name for the broker list (comma-separated string or list); used when `brokers` is not set.",
          "$ref": "#/$defs/brokerList"
        },
        "client_id": {
          "description": "Kafka client id sent to the brokers. Default `eventstreams`.",
          "type": "string",
          "minLength": 1
        },
        "client.id": {
          "description": "librdkafka's name for `client_id`; used when `client_id` is not set.",
          "type": "string",
          "minLength": 1
        },
        "fetch_max_wait_ms": {
          "description": "Longest time one fetch waits on the broker for new data, in milliseconds. Default 500.",
          "type": "integer",
          "minimum": 0
        },
        "fetch.wait.max.ms": {
          "description": "librdkafka's name for `fetch_max_wait_ms`; used when `fetch_max_wait_ms` is not set.",
          "type": "integer",
          "minimum": 0
        },
        "fetch_max_bytes_per_partition": {
          "description": "Upper bound on the bytes one fetch returns per partition. Default 1048576 (1 MiB); must exceed the largest message.",
          "type": "integer",
          "minimum": 1
        },
        "fetch.message.max.bytes": {
          "description": "librdkafka's name for `fetch_max_bytes_per_partition`; used when that is not set.",
          "type": "integer",
          "minimum": 1
        },
        "request_timeout_ms": {
          "description": "Connect and request timeout towards the brokers, in milliseconds. Default 30000.",
          "type": "integer",
          "minimum": 1
        },
        "socket.timeout.ms": {
          "description": "librdkafka's name for `request_timeout_ms`; used when `request_timeout_ms` is not set.",
          "type": "integer",
          "minimum": 1
        },
        "security.protocol": {
          "description": "librdkafka's transport security: `ssl` connects with TLS (server verified against `ssl.ca.location` or the system CAs); `sasl_ssl` adds SASL authentication over TLS, `sasl_plaintext` over plain TCP (`sasl.*` keys).",
          "enum": [
            "plaintext",
            "ssl",
            "sasl_plaintext",
            "sasl_ssl",
            "PLAINTEXT",
            "SSL",
            "SASL_PLAINTEXT",
            "SASL_SSL"
          ]
        },
        "ssl.ca.location": {
          "description": "PEM file of the CA certificates that sign the brokers' certificates (TLS only). Relative to the config file.",
          "type": "string",
          "minLength": 1
        },
        "ssl.certificate.location": {
          "description": "PEM client certificate for mutual TLS. Relative to the config file.",
          "type": "string",
          "minLength": 1
        },
        "ssl.key.location": {
          "description": "PEM private key of `ssl.certificate.location`. Relative to the config file.",
          "type": "string",
          "minLength": 1
        },
        "sasl.mechanisms": {
          "description": "SASL mechanism with `security.protocol` `sasl_ssl` or `sasl_plaintext` (required there).",
          "enum": ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
        },
        "sasl.mechanism": {
          "description": "librdkafka's other name for `sasl.mechanisms`; used when that is not set.",
          "enum": ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
        },
        "sasl.username": {
          "description": "SASL user name (required with SASL). Environment: `KAFKA_SASL_USERNAME`.",
          "type": "string",
          "minLength": 1
        },
        "sasl.password": {
          "description": "SASL password (required with SASL). Prefer the environment variable `KAFKA_SASL_PASSWORD` to keep it out of the file.",
          "type": "string",
          "minLength": 1
        }
      }
    },
    "stream_config_uri": {
      "description": "Where the stream catalogue is read: a file path (relative to the config file), a `file://` URL or an http(s) URL such as MediaWiki's `api.php?action=streamconfigs&format=json`. JSON or YAML. Environment: `STREAM_CONFIG_URI` (relative to the working directory).",
      "type": "string",
      "minLength": 1
    },
    "stream_config_uri_options": {
      "description": "Options for fetching `stream_config_uri`. Other keys are accepted and ignored.",
      "type": "object",
      "additionalProperties": true,
      "properties": {
        "headers": {
          "description": "HTTP request headers sent with an http(s) `stream_config_uri`, e.g. `{Host: meta.wikimedia.org}`.",
          "type": "object",
          "additionalProperties": {
            "type": "string",
            "description": "Header value."
          }
        }
      }
    },
    "stream_config_object_path": {
      "description": "Dotted path of the object keyed by stream name inside the fetched document, e.g. `streams` for MediaWiki's streamconfigs API. Unset: the whole document.",
      "type": "string"
    },
    "stream_config_defaults": {
      "description": "Stream settings keyed by stream name, merged UNDER the fetched settings of that stream (e.g. `stream_aliases`, `description`). Objects merge deeply; lists and values replace.",
      "$ref": "#/$defs/streamSettingsMap",
      "default": {}
    },
    "stream_config_overrides": {
      "description": "Stream settings keyed by stream name, merged OVER the fetched settings of that stream (e.g. per-datacentre `topics`). Objects merge deeply; lists and values replace.",
      "$ref": "#/$defs/streamSettingsMap",
      "default": {}
    },
    "stream_config_ttl": {
      "description": "Seconds between reloads of `stream_config_uri`; 0 loads it once at start. A failed reload keeps the previous catalogue.",
      "type": "number",
      "minimum": 0,
      "default": 0
    },
    "allowed_streams": {
      "description": "When set, only these stream names are served; every other stream of the catalogue is hidden.",
      "type": "array",
      "items": {
        "type": "string",
        "minLength": 1,
        "description": "A stream name (not an alias)."
      }
    },
    "streams": {
      "description": "Streams declared inline, keyed by stream name; merged over the fetched catalogue (inline settings win). Enough on its own when there is no `stream_config_uri`.",
      "$ref": "#/$defs/streamSettingsMap",
      "default": {}
    },
    "schema_base_uris": {
      "description": "Where event JSON schemas are looked up, tried in order: directories (relative to the config file) or http(s) base URLs. A `$schema` URI such as `/mediawiki/recentchange/1.0.0` is appended to each base.",
      "type": "array",
      "items": {
        "type": "string",
        "minLength": 1,
        "description": "A directory path or an http(s) base URL."
      },
      "default": []
    },
    "drop_canary_events": {
      "description": "Drop canary (monitoring) events, those with `meta.domain == \"canary\"`, before they reach clients. A stream may override this with its own `drop_canary_events`.",
      "type": "boolean",
      "default": true
    },
    "max_event_bytes": {
      "description": "Largest Kafka message value served as an event, in bytes; a larger one is skipped (logged, counted in `eventstreams_skipped_messages_total{reason=\"too_large\"}`) and the stream goes on with the next event. Messages that are not JSON objects or have a null value are skipped the same way.",
      "type": "integer",
      "minimum": 1,
      "default": 4194304
    },
    "heartbeat_interval": {
      "description": "Milliseconds of silence after which a comment line is sent to keep idle connections and client read timeouts alive (an id-only block instead when filtered-out events moved the client's id, so it resumes past them); 0 disables heartbeats. Environment: `HEARTBEAT_INTERVAL`.",
      "type": "integer",
      "minimum": 0,
      "default": 15000
    },
    "client_ip_connection_limit": {
      "description": "Maximum concurrent stream connections per client (an IPv4 address, or the IPv6 network of `client_ip_ipv6_prefix` bits); excess requests get 429. The default 16 is what Wikimedia's deployment allows one address across its 8 processes of a datacentre (2 each): enough for a browser with several tabs or a bot per stream, while one address can hold only a sliver of a process's thousands of connections. 0 = unlimited. Environment: `CLIENT_IP_CONNECTION_LIMIT`.",
      "type": "integer",
      "minimum": 0,
      "default": 16
    },
    "client_ip_ipv6_prefix": {
      "description": "IPv6 clients are counted per network of this many leading bits: providers give one customer a whole /64 (or more), so counting per address would let one client open unlimited streams.",
      "type": "integer",
      "minimum": 1,
      "maximum": 128,
      "default": 64
    },
    "trusted_proxies": {
      "description": "Proxies whose `client_ip_header` (and `X-Request-ID`) are believed: CIDRs (`10.0.0.0/8`), addresses, or `loopback`, `linklocal`, `uniquelocal`. A request from any other peer is counted and logged under its socket address whatever headers it sends. With `x-forwarded-for`, the client is the right-most address that is not a trusted proxy (what the client wrote to the left is ignored).",
      "type": "array",
      "items": { "type": "string", "minLength": 1, "description": "One proxy: `10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`, `loopback`, `linklocal` or `uniquelocal`." },
      "default": ["loopback"]
    },
    "client_ip_header": {
      "description": "Request header carrying the real client IP, set by a proxy listed in `trusted_proxies` (e.g. `x-client-ip`, `x-forwarded-for`); from any other peer it is ignored, and a value that is not an IP address falls back to the socket's address. Unset: the socket's remote address.",
      "type": "string",
      "minLength": 1
    },
    "log_client_ip": {
      "description": "How much of a client's IP address the log lines of its streams carry: `full`, `truncated` (IPv4 to its /24, e.g. `198.51.100.0`, IPv6 to its /48, e.g. `2001:db8:1::`; anything that is not an IP is logged as `invalid`) or `none` (no `clientIp` field). Connection limits always use the full address.",
      "enum": ["full", "truncated", "none"],
      "default": "truncated"
    },
    "fanout": {
      "description": "How Kafka reads are shared between connections.",
      "type": "object",
      "additionalProperties": false,
      "default": {},
      "properties": {
        "mode": {
          "description": "`shared`: each topic-partition with clients is read from Kafka once and fanned out to all of them. `per_connection`: every connection reads Kafka itself, as EventStreams does (kept for comparison benchmarks).",
          "enum": [
            "shared",
            "per_connection"
          ],
          "default": "shared"
        },
        "cache_bytes_per_partition": {
          "description": "Bytes of recent events kept in memory per partition followed, so reconnecting clients resume without touching Kafka. An event counts as its frame plus about 300 bytes (what it holds after a full GC), so the memory held stays within 10 % of this.",
          "type": "integer",
          "minimum": 0,
          "default": 33554432
        },
        "idle_reader_ttl_ms": {
          "description": "How long a partition's shared reader (and its cache) outlives its last client, so quick reconnects hit the cache.",
          "type": "integer",
          "minimum": 0,
          "default": 30000
        },
        "client_backlog_bytes": {
          "description": "Bytes that may queue for one client that reads slower than events arrive (about 12 s of recentchange at the default); past this it gets an `event: error` and is disconnected, and resumes with its id. Bounds memory when clients or the whole service fall behind.",
          "type": "integer",
          "minimum": 65536,
          "default": 2097152
        },
        "client_stall_ms": {
          "description": "How long a client may keep a catch-up reader or a cache replay waiting while its queue stays above a quarter of `client_backlog_bytes` (it stopped reading); past this it gets an `event: error` and is disconnected, and resumes with its id, so the clients sharing that reader go on. 0 = never.",
          "type": "integer",
          "minimum": 0,
          "default": 30000
        },
        "catch_up_share_window": {
          "description": "A client resuming this many offsets or fewer ahead of a running catch-up reader of the same partition shares it instead of starting another.",
          "type": "integer",
          "minimum": 0,
          "default": 10000
        },
        "catch_up_fetch_bytes": {
          "description": "Upper bound on the bytes one fetch of a catch-up reader returns (a client resuming from older than the cache, read from Kafka for it). Larger fetches replay faster (fewer round trips to wait for); a reader holds two at a time (the one it delivers, the next one), and delivers them in slices paced by its clients, so they do not count against a client's backlog. Default 4194304 (4 MiB).",
          "type": "integer",
          "minimum": 65536,
          "default": 4194304
        },
        "max_catch_up_readers": {
          "description": "Most catch-up readers the process runs at once. Each holds a Kafka connection and up to two fetches (`catch_up_fetch_bytes` each), so this bounds what clients resuming from old positions cost: 64 × 8 MiB = 512 MiB and 64 connections by default, whoever asks. A client that needs a reader past it (and shares none within `catch_up_share_window`) waits, its response already open, until one ends. One client address (`client_ip_connection_limit` streams of a few partitions each) should not be able to take them all: the default leaves room beside 16 streams of 2 partitions.",
          "type": "integer",
          "minimum": 1,
          "default": 64
        },
        "replay_lookahead_bytes": {
          "description": "A connection that replays several partitions (`since`, `Last-Event-ID`; both data centres' topics) gets their history merged by event time (the Kafka timestamp, which `since` and ids use): each partition's reader runs ahead of the others by at most this many bytes of events, held per partition and connection until their turn (plus one catch-up slice, 256 KiB). A partition that reached the live tail holds its new events until the others catch up with them, and past this many bytes sends its oldest without waiting. 0 = no merging: each partition's history as it is read, in runs. Only with `mode: shared`.",
          "type": "integer",
          "minimum": 0,
          "default": 262144
        },
        "replay_order_wait_ms": {
          "description": "How long a replay in time order waits for a partition that is behind and delivers nothing (its reader is slow, or held up by a client sharing it) while another partition's lookahead is full; then it goes on without that partition until it delivers again (its events may then come out of time order). Bounds how long partitions, and the clients sharing their readers, wait for each other. 0 = never wait.",
          "type": "integer",
          "minimum": 0,
          "default": 1000
        },
        "cohorts": {
          "description": "Serve the clients of one group (same streams, filter and format) that have been sent exactly the same bytes as one cohort: its events are queued once and each pass over its members writes every member what it lacks in one write, so the work per event does not grow with the clients. A member whose socket holds `client_backlog_bytes` is disconnected as too slow, as it would be alone; a member that needs something of its own (its end, a lost position) leaves with a copy of the cohort's position and goes on by itself, and joins again once it is in step (right after a heartbeat of its own, which moves no position). Only with `mode: shared`; false = every client follows the feeds by itself (for comparison).",
          "type": "boolean",
          "default": true
        },
        "total_backlog_bytes": {
          "description": "Bytes that may queue for all clients together, counting what each queues beyond 64 KiB (below that a queue holds the events of the current write, frames shared by every client in step). Past this, clients that are behind are disconnected first (they resume with their id), and new streams are refused with 503 and `Retry-After` from 75 % of it: an overloaded process keeps serving the clients it has instead of running out of memory.",
          "type": "integer",
          "minimum": 1048576,
          "default": 268435456
        },
        "max_event_loop_lag_ms": {
          "description": "Event-loop delay (the longest in the last second, sampled every 20 ms) above which new streams are refused with 503 and `Retry-After`, so a saturated process is not pushed further. A pause that long (a stopped or descheduled process) also refuses them, for about a second after it.",
          "type": "integer",
          "minimum": 10,
          "default": 1000
        }
      }
    },
    "connections": {
      "description": "Lifetime of stream connections.",
      "type": "object",
      "additionalProperties": false,
      "default": {},
      "properties": {
        "max_duration": {
          "description": "Seconds after which a stream is ended with `retry:` advice and a clean close (clients resume with their id); 0 = unlimited. Keep it below any proxy's own cut-off.",
          "type": "integer",
          "minimum": 0,
          "default": 900
        },
        "max_duration_jitter": {
          "description": "Fraction of `max_duration` taken off at random per connection, so clients do not all reconnect at once.",
          "type": "number",
          "minimum": 0,
          "maximum": 1,
          "default": 0.1
        },
        "reconnect_delay_ms": {
          "description": "The `retry:` advice sent when the server ends a stream (maximum duration, shutdown) or tells an event-stream client to come back (Kafka unavailable); a random extra of up to the same amount spreads reconnects.",
          "type": "integer",
          "minimum": 0,
          "default": 1000
        },
        "shutdown_drain_ms": {
          "description": "On SIGTERM, open streams are ended gradually over this many milliseconds rather than all at once.",
          "type": "integer",
          "minimum": 0,
          "default": 10000
        },
        "max_streams": {
          "description": "Most streams the process serves at once; past it new streams get 503 `overloaded` (or retry advice) until one ends. Everything a client makes the process keep (its queue, filter, index entries, per-client count) exists once per stream, so this bounds it all, whatever the number of client addresses. The default is the fan-out target of one process on 2 cores. 0 = unlimited. Environment: `MAX_STREAMS`.",
          "type": "integer",
          "minimum": 0,
          "default": 10000
        },
        "max_connections": {
          "description": "Most connections the process keeps open, of every kind: streams, other requests, idle keep-alive connections, requests still arriving. Past it a new connection is closed at once, unanswered (counted in `eventstreams_dropped_connections_total`): a client can hold connections without opening a stream, and each holds a file descriptor and memory. At least `max_streams` (every stream holds one); keep it below the process's file-descriptor limit (`ulimit -n`), which Kafka connections and files share. 0 = unlimited. Environment: `MAX_CONNECTIONS`.",
          "type": "integer",
          "minimum": 0,
          "default": 15000
        },
        "accept_sockets": {
          "description": "Listening sockets on the port (SO_REUSEPORT; the kernel spreads new connections among them). Node accepts one connection per socket per turn of its event loop, and a loop busy with thousands of streams turns every 10-20 ms: one socket then accepts 50-100 connections a second, and a reconnect storm waits in the kernel's queue for minutes. Each socket queues up to 4,096 connections. 1 = one plain socket (no SO_REUSEPORT).",
          "type": "integer",
          "minimum": 1,
          "maximum": 64,
          "default": 16
        }
      }
    },
    "filters": {
      "description": "Bounds on server-side filters (`?wiki=...&title=Talk:*&fields=...`). Every filter and projection gets a cost when it is checked: its worst-case work per event (clauses and their paths, `*` patterns and their pieces, date-time comparisons, `fields` paths) plus the memory it holds (exact values cost only memory: one set lookup per event whatever their number). One unit is about 10 ns of work per event (measured 0.1-5 ns per unit in isolation, 8-11 with the costliest filters in the running service) or 256 bytes. Each distinct filter is evaluated once per event however many streams share it, so the costs of the distinct filters of open streams add up to the process's filter work per event.",
      "type": "object",
      "additionalProperties": false,
      "default": {},
      "properties": {
        "max_cost": {
          "description": "Largest cost of one request's filter and projection; a costlier one is refused with 400 `invalid_filter` naming its cost, the limit and what to reduce. The default admits about 500 prefix patterns (`Talk:*`) or 225 patterns of six `*`, 1,000 exact titles, 32 date-time comparisons or a 20-path `fields` list, each at most about 9 µs of filter work per event (bench/results/filter-cost.md); the 4,000 `*` an 8 KB query can hold cost about 15,000. Environment: `FILTERS_MAX_COST`.",
          "type": "integer",
          "minimum": 1,
          "default": 2000
        },
        "max_total_cost": {
          "description": "Largest sum of the costs of the distinct filters of open streams (a filter shared by several streams counts once); a new distinct filter that does not fit is refused with 503 `filter_budget_exhausted` and `Retry-After`, while filters already live and unfiltered streams are still accepted. Filters costing more than 1/400 of it (250 by default; any projection) may spend only three quarters of it, so a few costly ones cannot lock out ordinary filters. The default bounds filter work to about 1 ms per event and filter memory to about 25 MiB: with 37 of the costliest filters running (all the budget admits), an unfiltered client's latency stayed within run-to-run noise (p50/p99 1-2/5-9 ms against 1/6) and the process still handled 1,850-2,100 events/s (bench/results/filter-cost.md); twice the budget moved the median by 2 ms and left 650-850 events/s (`--max-total-cost 200000`, at ed57d15). Environment: `FILTERS_MAX_TOTAL_COST`.",
          "type": "integer",
          "minimum": 1,
          "default": 100000
        }
      }
    },
    "compression": {
      "description": "Compressed streams. A client's `Accept-Encoding` picks the coding (its q-values first, then the order of `codings`); clients that ask for none (curl without `--compressed`) get identity. Compression is done once per write batch for every connection in the same state, not per connection: gzip and deflate connections of one stream, filter and format share one deflate history of the last 32 KiB they were all sent, so each batch is compressed once against it (a new connection gets history-free segments of the same batches until its window matches); zstd connections of a group share one streaming compressor, whose frames a new connection enters at the next frame's start. Every write is flushed, so a client decodes each event as soon as its bytes arrive; a clean end (maximum duration, shutdown, a too slow client) carries the coding's trailer.",
      "type": "object",
      "additionalProperties": false,
      "default": {},
      "properties": {
        "codings": {
          "description": "Content codings offered, in the server's order of preference; empty = identity only. `deflate` is the zlib format (RFC 1950), as HTTP defines it; `zstd` connections of a group share one compressor (`max_shared_zstd_streams`). Environment: `COMPRESSION_CODINGS` (comma-separated; empty = none).",
          "type": "array",
          "items": {
            "description": "A content coding.",
            "type": "string",
            "enum": [
              "gzip",
              "deflate",
              "zstd"
            ]
          },
          "default": [
            "gzip",
            "deflate",
            "zstd"
          ]
        },
        "deflate_level": {
          "description": "zlib compression level of gzip and deflate streams (1 fastest to 9 smallest).",
          "type": "integer",
          "minimum": 1,
          "maximum": 9,
          "default": 6
        },
        "zstd_level": {
          "description": "zstd compression level of zstd streams (1 fastest to 19 smallest).",
          "type": "integer",
          "minimum": 1,
          "maximum": 19,
          "default": 3
        },
        "max_shared_histories": {
          "description": "Most deflate histories kept at once (one per group of gzip/deflate connections with the same streams, filter and format; at most 32 KiB each, so 32 MiB by default). Connections of further groups get history-free segments: still compressed once per batch, about twice the bytes.",
          "type": "integer",
          "minimum": 0,
          "default": 1000
        },
        "max_shared_zstd_streams": {
          "description": "Most zstd compressors kept at once (one per group of zstd connections with the same streams, filter and format; about 1 MiB each with its 32 KiB window, so 16 MiB by default). The group's batches are compressed once into frames of 256 KiB that every connection in step shares; a connection that joins mid-frame gets a frame of its own per write until the next one starts. Connections of further groups always get a frame per write: still compressed once per batch, about twice the bytes.",
          "type": "integer",
          "minimum": 0,
          "default": 16
        },
        "identity_user_agents": {
          "description": "`User-Agent` prefixes that always get identity, whatever their `Accept-Encoding` says: clients known to read the body raw. Python's `sseclient` (the client of Wikimedia's own examples) sends the `Accept-Encoding: gzip, deflate` of `requests` but reads the socket itself, so it would get no events at all; `requests-sse` sends the same headers and decodes, and stays uncompressed with it unless it sets a `User-Agent` of its own (pywikibot does). With any prefix set, streams answer `Vary: user-agent` too.",
          "type": "array",
          "items": {
            "description": "A `User-Agent` prefix, compared case-sensitively.",
            "type": "string",
            "minLength": 1,
            "maxLength": 256
          },
          "maxItems": 100,
          "default": [
            "python-requests/"
          ]
        }
      }
    },
    "stream_ui_enabled": {
      "description": "Serve the web UI at `/v2/ui`.",
      "type": "boolean",
      "default": true
    },
    "mediawiki_redacted_pages": {
      "description": "User fields are removed from events about these pages, as in EventStreams: page titles keyed by wiki domain (`meta.domain`), e.g. `ru.wikipedia.org: [Title, ...]`. Titles match after trimming, spaces to `_` and lower-casing. recentchange loses `user`; page_change has `performer` emptied and `revision.editor`, `prior_state.revision.editor` removed; other events lose `performer`. Reloaded from the config file on SIGHUP without a restart; each redacted event is logged.",
      "type": "object",
      "additionalProperties": {
        "type": "array",
        "items": {
          "type": [
            "string",
            "number"
          ],
          "description": "A page title (YAML may parse numeric titles as numbers)."
        },
        "description": "Page titles of one wiki."
      },
      "default": {}
    },
    "sanitize": {
      "description": "Retroactive suppression: the service follows revision visibility changes and removes the hidden parts (user, comment, content) of every event it serves about those revisions, also when replaying events written before the suppression.",
      "type": "object",
      "additionalProperties": false,
      "default": {},
      "properties": {
        "visibility_streams": {
          "description": "Streams (names from the catalogue) whose events announce visibility changes: `mediawiki.revision-visibility-change` events and page_change events of kind `visibility_change`. Read from their earliest retained event at start (so the index survives restarts and is the same on every instance), then live. Their retention must be at least that of the streams served. Page_change visibility changes are also learnt from any page_change event the service reads for a client.",
          "type": "array",
          "items": { "type": "string", "minLength": 1, "description": "A stream name." },
          "default": ["mediawiki.revision-visibility-change"]
        },
        "max_suppressed_revisions": {
          "description": "Revisions with hidden parts kept in memory (about 100 bytes each); past it the oldest are dropped and `eventstreams_suppression_index_evicted` counts them.",
          "type": "integer",
          "minimum": 1,
          "default": 5000000
        },
        "replay_wait_ms": {
          "description": "How long a request that replays history (`since` or `Last-Event-ID`) waits, after a start, for the suppression index to be rebuilt before it is answered 503 with `Retry-After`.",
          "type": "integer",
          "minimum": 0,
          "default": 15000
        }
      }
    }
  },
  "$defs": {
    "brokerList": {
      "description": "Kafka brokers: a list or a comma-separated string.",
      "type": [
        "array",
        "string"
      ],
      "items": {
        "type": "string",
        "minLength": 1,
        "description": "One broker as `host:port`."
      }
    },
    "streamSettingsMap": {
      "description": "Stream settings keyed by stream name.",
      "type": "object",
      "additionalProperties": {
        "$ref": "#/$defs/streamSettings",
        "description": "Settings of the stream named by the key."
      }
    },
    "streamSettings": {
      "description": "Settings of one stream, in MediaWiki EventStreamConfig's vocabulary. Other keys are accepted and ignored.",
      "type": "object",
      "additionalProperties": true,
      "properties": {
        "topics": {
          "description": "Kafka topics read for this stream, in order. When unset: each of `topic_prefixes` + the stream name.",
          "type": "array",
          "items": {
            "type": "string",
            "minLength": 1,
            "description": "A Kafka topic name."
          }
        },
        "topic_prefixes": {
          "description": "Prefixes (e.g. `eqiad.`, `codfw.`) that make the topics when `topics` is unset.",
          "type": "array",
          "items": {
            "type": "string",
            "description": "A topic prefix, usually ending in a dot."
          }
        },
        "topics_allowed": {
          "description": "Topics a client may name in `Last-Event-ID` for this stream, in addition to `topics` (e.g. the other datacentre's topic).",
          "type": "array",
          "items": {
            "type": "string",
            "minLength": 1,
            "description": "A Kafka topic name."
          }
        },
        "stream_aliases": {
          "description": "Other names this stream answers to, e.g. `recentchange` for `mediawiki.recentchange`.",
          "type": "array",
          "items": {
            "type": "string",
            "minLength": 1,
            "description": "An alias."
          }
        },
        "description": {
          "description": "Human description shown in the API documentation and UI.",
          "type": "string"
        },
        "schema_title": {
          "description": "Title of the events' JSON schema without version, e.g. `mediawiki/recentchange`; the latest version found is shown.",
          "type": "string"
        },
        "$schema": {
          "description": "Exact schema URI of the events, e.g. `/mediawiki/recentchange/1.0.0`; wins over `schema_title`.",
          "type": "string"
        },
        "drop_canary_events": {
          "description": "Overrides the global `drop_canary_events` for this stream.",
          "type": "boolean"
        },
        "remove_fields": {
          "description": "Fields never served on this stream: dotted paths, `*` for every key of an object (lists are crossed element by element), e.g. `performer.user_id`, `revision.content_slots.*.content_body`.",
          "type": "array",
          "items": {
            "type": "string",
            "pattern": "^(\\*|[A-Za-z0-9_$@-]+)(\\.(\\*|[A-Za-z0-9_$@-]+))*$",
            "description": "A dotted field path."
          }
        },
        "canary_events_enabled": {
          "description": "MediaWiki's flag that canary events are produced into this stream (informational).",
          "type": "boolean"
        },
        "destination_event_service": {
          "description": "MediaWiki's name of the event intake service that produces the stream, e.g. `eventgate-main` (informational).",
          "type": "string"
        }
      }
    }
  }
} as const satisfies JsonSchema;
