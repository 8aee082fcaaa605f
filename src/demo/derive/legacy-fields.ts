import { type JsonObject, compact, numberAt, objectAt, stringAt } from './json.ts';
import { mainContent } from './wiki.ts';

/**
 * Fields of the older per-action schemas (mediawiki/revision/*, mediawiki/page/*) built from a
 * mediawiki/page/change event, which carries everything they say in another shape.
 */

/** database, page_id, page_title, page_namespace, page_is_redirect. */
export function legacyPage(pageChange: JsonObject): JsonObject {
  const page = objectAt(pageChange, 'page');
  return {
    database: stringAt(pageChange, 'wiki_id') ?? '',
    page_id: numberAt(page, 'page_id') ?? 0,
    page_title: stringAt(page, 'page_title') ?? '',
    page_namespace: numberAt(page, 'namespace_id') ?? 0,
    page_is_redirect: page['is_redirect'] === true,
  };
}

/** The `performer` object of the older schemas, from a page/change user. */
export function legacyPerformer(user: JsonObject): JsonObject {
  return compact({
    user_text: stringAt(user, 'user_text') ?? '',
    user_groups: Array.isArray(user['groups']) ? user['groups'] : ['*'],
    user_is_bot: user['is_bot'] === true,
    user_id: numberAt(user, 'user_id'),
    user_registration_dt: stringAt(user, 'registration_dt'),
    user_edit_count: numberAt(user, 'edit_count'),
  });
}

/** rev_* fields of the older revision schemas. */
export function legacyRevision(pageChange: JsonObject): JsonObject {
  const revision = objectAt(pageChange, 'revision');
  const page = objectAt(pageChange, 'page');
  const content = mainContent(stringAt(pageChange, 'wiki_id') ?? '', numberAt(page, 'namespace_id') ?? 0);
  return compact({
    rev_id: numberAt(revision, 'rev_id') ?? 0,
    rev_parent_id: numberAt(revision, 'rev_parent_id'),
    rev_timestamp: stringAt(revision, 'rev_dt') ?? stringAt(pageChange, 'dt') ?? '',
    rev_sha1: stringAt(revision, 'rev_sha1'),
    rev_len: numberAt(revision, 'rev_size'),
    rev_minor_edit: revision['is_minor_edit'] === true,
    rev_content_model: content.model,
    rev_content_format: content.format,
  });
}

/** The page/change `performer`, else the revision's editor (events about a revision). */
export function actorOf(pageChange: JsonObject): JsonObject | undefined {
  const performer = pageChange['performer'] ?? objectAt(pageChange, 'revision')['editor'];
  return typeof performer === 'object' && performer !== null && !Array.isArray(performer) ? performer : undefined;
}
