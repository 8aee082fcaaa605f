import { derivedMeta } from './envelope.ts';
import { type JsonObject, compact, numberAt, objectAt, stringAt } from './json.ts';
import { actorOf, legacyPage, legacyPerformer, legacyRevision } from './legacy-fields.ts';

export const REVISION_CREATE_STREAM = 'mediawiki.revision-create';
export const PAGE_CREATE_STREAM = 'mediawiki.page-create';
const SCHEMA = '/mediawiki/revision/create/2.0.0';

/**
 * revision-create for every new revision (edits and creations) and page-create for a page's
 * first revision, which is the same event in another stream, as MediaWiki sends them.
 */
export function revisionCreateEvents(pageChange: JsonObject): { stream: string; event: JsonObject }[] {
  const kind = pageChange['page_change_kind'];
  if (kind !== 'edit' && kind !== 'create') return [];
  const revision = objectAt(pageChange, 'revision');
  const main = objectAt(objectAt(revision, 'content_slots'), 'main');
  const actor = actorOf(pageChange);
  const build = (stream: string): JsonObject =>
    compact({
      $schema: SCHEMA,
      meta: derivedMeta(pageChange, stream, stringAt(objectAt(pageChange, 'meta'), 'uri')),
      ...legacyPage(pageChange),
      ...legacyRevision(pageChange),
      performer: actor ? legacyPerformer(actor) : undefined,
      comment: stringAt(revision, 'comment'),
      rev_content_changed: true,
      rev_slots:
        numberAt(main, 'content_size') === undefined
          ? undefined
          : {
              main: compact({
                rev_slot_content_model: stringAt(main, 'content_model') ?? 'wikitext',
                rev_slot_sha1: stringAt(main, 'content_sha1') ?? '',
                rev_slot_size: numberAt(main, 'content_size') ?? 0,
                rev_slot_origin_rev_id: numberAt(main, 'origin_rev_id'),
              }),
            },
      dt: stringAt(pageChange, 'dt') ?? '',
    });
  const events = [{ stream: REVISION_CREATE_STREAM, event: build(REVISION_CREATE_STREAM) }];
  if (kind === 'create') events.push({ stream: PAGE_CREATE_STREAM, event: build(PAGE_CREATE_STREAM) });
  return events;
}
