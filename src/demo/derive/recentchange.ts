import { derivedMeta } from './envelope.ts';
import { type JsonObject, compact, numberAt, objectAt, stringAt } from './json.ts';
import { stableInt } from './synthetic.ts';
import { displayTitle } from './wiki.ts';

export const RECENTCHANGE_STREAM = 'mediawiki.recentchange';

/** The log entry a page/change kind writes: [log_type, log_action]. Suppressions are not in recent changes. */
const LOG_ACTIONS: Record<string, [string, string]> = {
  delete: ['delete', 'delete'],
  undelete: ['delete', 'restore'],
  move: ['move', 'move'],
  visibility_change: ['delete', 'revision'],
};

/**
 * The recentchange event of the change a page/change event describes (the opposite direction of
 * pageChangeFromRecentchange, for recorded page/change events): an edit, a new page or a log
 * entry, with the same wiki, page, revision ids, user, comment and time; recent-change and log
 * ids are synthesized. Suppressions (hidden deletions) are not public, so they yield nothing.
 */
export function recentchangeFromPageChange(pageChange: JsonObject): JsonObject | undefined {
  const kind = String(pageChange['page_change_kind']);
  const revision = objectAt(pageChange, 'revision');
  const performer = objectAt(pageChange, 'performer');
  const user = stringAt(performer, 'user_text');
  if (user === undefined) return undefined; // hidden performer: a suppression
  const wikiId = stringAt(pageChange, 'wiki_id') ?? '';
  const page = objectAt(pageChange, 'page');
  const meta = objectAt(pageChange, 'meta');
  const domain = stringAt(meta, 'domain') ?? '';
  const server = `https://${domain}`;
  const revId = numberAt(revision, 'rev_id') ?? 0;
  const parentId = numberAt(revision, 'rev_parent_id');
  const rcid = stableInt(`${wikiId}|rcid|${stringAt(meta, 'id') ?? ''}`, 1, 2 ** 31);
  const title = displayTitle(stringAt(page, 'page_title') ?? '');
  const comment = (kind === 'edit' || kind === 'create' ? stringAt(revision, 'comment') : stringAt(pageChange, 'comment')) ?? '';
  const base = compact({
    $schema: '/mediawiki/recentchange/1.0.0',
    meta: derivedMeta(pageChange, RECENTCHANGE_STREAM, stringAt(meta, 'uri')),
    id: rcid,
    namespace: numberAt(page, 'namespace_id') ?? 0,
    title,
    title_url: stringAt(meta, 'uri'),
    comment,
    timestamp: Math.floor(Date.parse(stringAt(pageChange, 'dt') ?? '') / 1000),
    user,
    bot: performer['is_bot'] === true,
  });
  const site = { server_url: server, server_name: domain, server_script_path: '/w', wiki: wikiId };
  if (kind === 'edit' || kind === 'create') {
    const prior = objectAt(objectAt(pageChange, 'prior_state'), 'revision');
    const query = kind === 'edit' ? `diff=${revId}&oldid=${parentId ?? 0}` : `oldid=${revId}`;
    return {
      ...base,
      type: kind === 'edit' ? 'edit' : 'new',
      notify_url: `${server}/w/index.php?${query}&rcid=${rcid}`,
      minor: revision['is_minor_edit'] === true,
      length: compact({ old: kind === 'edit' ? (numberAt(prior, 'rev_size') ?? null) : null, new: numberAt(revision, 'rev_size') }),
      revision: compact({ old: kind === 'edit' ? (parentId ?? null) : null, new: revId }),
      ...site,
    };
  }
  const action = LOG_ACTIONS[kind];
  if (action === undefined || (kind === 'delete' && revision['is_content_visible'] === false)) return undefined;
  const target = objectAt(pageChange, 'prior_state');
  const params: JsonObject =
    kind === 'move'
      ? { target: title, noredir: pageChange['created_redirect_page'] === undefined ? '1' : '0' }
      : kind === 'visibility_change'
        ? { type: 'revision', ids: [revId] }
        : {};
  return {
    ...base,
    // A move's log entry is about the old title.
    ...(kind === 'move' ? { title: displayTitle(stringAt(objectAt(target, 'page'), 'page_title') ?? title) } : {}),
    type: 'log',
    log_id: stableInt(`${wikiId}|log|${stringAt(meta, 'id') ?? ''}`, 1, 2 ** 31),
    log_type: action[0],
    log_action: action[1],
    log_params: params,
    log_action_comment: comment,
    ...site,
  };
}
