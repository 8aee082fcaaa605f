/**
 * One stream's settings as written in config or served by MediaWiki's `action=streamconfigs`
 * (snake_case, EventStreams' vocabulary). Unknown keys are kept but ignored.
 */
export interface StreamSettings {
  topics?: string[];
  topic_prefixes?: string[];
  stream_aliases?: string[];
  description?: string;
  schema_title?: string;
  $schema?: string;
  /** Per-stream opt-out of the server-side canary drop: `false` keeps canary events. */
  drop_canary_events?: boolean;
  /** Dotted paths (with `*`) removed from every event of the stream. */
  remove_fields?: string[];
  [key: string]: unknown;
}
