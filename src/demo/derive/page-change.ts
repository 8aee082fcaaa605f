import { derivedMeta, toSeconds } from './envelope.ts';
import { type Json, type JsonObject, compact, numberAt, objectAt, stringAt } from './json.ts';
import { stableInt, stableSha1 } from './synthetic.ts';
import { dbKey, mainContent, pageIdOf, userOf } from './wiki.ts';

export const PAGE_CHANGE_STREAM = 'mediawiki.page_change.v1';
export const PAGE_CHANGE_SCHEMA = '/mediawiki/page/change/1.3.0';

/** Revision ids invented for log events that create revisions (uploads, moves) start here. */
const SYNTHETIC_REV_MIN = 2_000_000_000;

/**
 * The mediawiki/page/change event MediaWiki emits for the same change as a recentchange event:
 * edits, new pages, uploads (which create the file page), deletions and moves; undefined for the
 * rest (categorization, blocks, thanks, patrol, abuse filter hits...). Wiki, page, revision ids,
 * user, comment and time are the recentchange event's; what it does not carry (page and user ids,
 * hashes, the ids of revisions a log entry created) is synthesized, stable per page and user.
 */
export function pageChangeFromRecentchange(rc: JsonObject): JsonObject | undefined {
  const kind = kindOf(rc);
  if (kind === undefined) return undefined;
  const wikiId = stringAt(rc, 'wiki') ?? '';
  const title = stringAt(rc, 'title') ?? '';
  const namespace = numberAt(rc, 'namespace') ?? 0;
  const dt = toSeconds(new Date((numberAt(rc, 'timestamp') ?? 0) * 1000).toISOString());
  const user = userOf(stringAt(rc, 'user') ?? '', rc['bot'] === true);
  const comment = stringAt(rc, 'comment') ?? '';
  const logId = numberAt(rc, 'log_id') ?? 0;
  const revisionPair = objectAt(rc, 'revision');
  const length = objectAt(rc, 'length');
  const page: JsonObject = { page_id: pageIdOf(wikiId, title), page_title: dbKey(title), namespace_id: namespace, is_redirect: false };

  const revId = numberAt(revisionPair, 'new') ?? stableInt(`${wikiId}|log-rev|${logId}`, SYNTHETIC_REV_MIN, 2 ** 31);
  const parentId = numberAt(revisionPair, 'old');
  const size = numberAt(length, 'new') ?? Buffer.byteLength(comment) + stableInt(`${wikiId}|${revId}|size`, 100, 2_000);
  let revision = revisionOf({ wikiId, namespace, revId, parentId, dt, size, comment, user, minor: rc['minor'] === true, mediainfo: hasMediaInfoEdit(wikiId, namespace, comment) });
  const event: JsonObject = {
    $schema: PAGE_CHANGE_SCHEMA,
    meta: derivedMeta(rc, PAGE_CHANGE_STREAM, stringAt(rc, 'title_url')),
    changelog_kind: kind === 'create' ? 'insert' : kind === 'delete' ? 'delete' : 'update',
    page_change_kind: kind,
    dt,
    wiki_id: wikiId,
    page,
    performer: user,
  };
  if (kind === 'edit' && parentId !== undefined && parentId > 0) {
    event['prior_state'] = { revision: compact({ rev_id: parentId, rev_size: numberAt(length, 'old') }) };
  }
  // The page's head revision before a deletion or move: an older one, by someone else.
  const priorHead = stableInt(`${wikiId}|last-rev|${dbKey(title)}`, 1, SYNTHETIC_REV_MIN);
  if (kind === 'delete') {
    const headDt = toSeconds(new Date(Date.parse(dt) - stableInt(`${priorHead}|age`, 3_600, 3 * 365 * 86_400) * 1000).toISOString());
    revision = revisionOf({ wikiId, namespace, revId: priorHead, parentId: undefined, dt: headDt, size, comment: '', user: undefined, minor: false, mediainfo: false });
    event['comment'] = comment;
  }
  if (kind === 'move') {
    // The new title is in the same namespace: the usual move, and all a log entry's target tells.
    event['page'] = { ...page, page_title: dbKey(logParam(rc, 'target') ?? title) };
    event['prior_state'] = { page: { page_title: dbKey(title), namespace_id: namespace }, revision: { rev_id: priorHead } };
    revision['rev_parent_id'] = priorHead;
    if (logParam(rc, 'noredir') === '0') {
      event['created_redirect_page'] = { page_id: pageIdOf(wikiId, `${title}#redirect-${logId}`), page_title: dbKey(title), namespace_id: namespace, is_redirect: true };
    }
    event['comment'] = comment;
  }
  event['revision'] = revision;
  return event;
}

type Kind = 'create' | 'edit' | 'delete' | 'move';

function kindOf(rc: JsonObject): Kind | undefined {
  const type = rc['type'];
  if (type === 'edit') return 'edit';
  if (type === 'new') return 'create';
  if (type !== 'log') return undefined;
  const action = `${String(rc['log_type'])}/${String(rc['log_action'])}`;
  // An upload creates the file description page; its creation is only in the log, not in recentchange.
  if (action === 'upload/upload') return 'create';
  if (action === 'delete/delete') return 'delete';
  if (action === 'move/move' || action === 'move/move_redir') return 'move';
  return undefined;
}

function logParam(rc: JsonObject, key: string): string | undefined {
  const params = rc['log_params'];
  return typeof params === 'object' && params !== null && !Array.isArray(params) ? stringAt(params, key) : undefined;
}

/** Commons file pages keep structured data in a mediainfo slot; Wikibase edit summaries show it changed. */
function hasMediaInfoEdit(wikiId: string, namespace: number, comment: string): boolean {
  return wikiId === 'commonswiki' && namespace === 6 && /^\/\* wb/.test(comment);
}

interface RevisionFacts {
  wikiId: string;
  namespace: number;
  revId: number;
  parentId: number | undefined;
  dt: string;
  size: number;
  comment: string;
  user: JsonObject | undefined;
  minor: boolean;
  mediainfo: boolean;
}

function revisionOf(r: RevisionFacts): JsonObject {
  const content = mainContent(r.wikiId, r.namespace);
  const slots: Record<string, Json> = {
    main: {
      slot_role: 'main',
      content_model: content.model,
      content_sha1: stableSha1(`${r.wikiId}|${r.revId}|main`),
      content_size: r.size,
      content_format: content.format,
      origin_rev_id: r.revId,
    },
  };
  if (r.mediainfo) {
    slots['mediainfo'] = {
      slot_role: 'mediainfo',
      content_model: 'wikibase-mediainfo',
      content_sha1: stableSha1(`${r.wikiId}|${r.revId}|mediainfo`),
      content_size: stableInt(`${r.wikiId}|${r.revId}|mediainfo`, 200, 6_000),
      content_format: 'application/json',
      origin_rev_id: r.revId,
    };
  }
  return compact({
    rev_id: r.revId,
    rev_parent_id: r.parentId !== undefined && r.parentId > 0 ? r.parentId : undefined,
    rev_dt: r.dt,
    is_minor_edit: r.minor,
    rev_sha1: stableSha1(`${r.wikiId}|${r.revId}`),
    rev_size: r.size,
    comment: r.comment,
    editor: r.user,
    is_content_visible: true,
    is_editor_visible: true,
    is_comment_visible: true,
    content_slots: slots,
  });
}
