import { derivedMeta } from './envelope.ts';
import { type JsonObject, compact, numberAt, objectAt, stringAt } from './json.ts';
import { actorOf, legacyPage, legacyPerformer, legacyRevision } from './legacy-fields.ts';

export const PAGE_DELETE_STREAM = 'mediawiki.page-delete';
export const PAGE_UNDELETE_STREAM = 'mediawiki.page-undelete';
export const PAGE_MOVE_STREAM = 'mediawiki.page-move';
export const VISIBILITY_CHANGE_STREAM = 'mediawiki.revision-visibility-change';

/**
 * The per-action event of a page deletion, undeletion, move or revision visibility change, from
 * its mediawiki/page/change event. Suppressions (a delete that hides the revision) go to the
 * non-public page-suppress stream in production, so they yield nothing here.
 */
export function pageLogEvents(pageChange: JsonObject): { stream: string; event: JsonObject }[] {
  const revision = objectAt(pageChange, 'revision');
  const actor = actorOf(pageChange);
  const base = (stream: string, schema: string): JsonObject =>
    compact({
      $schema: schema,
      meta: derivedMeta(pageChange, stream, stringAt(objectAt(pageChange, 'meta'), 'uri')),
      ...legacyPage(pageChange),
      rev_id: numberAt(revision, 'rev_id') ?? 0,
      performer: actor ? legacyPerformer(actor) : undefined,
    });
  // The older schemas want a non-empty comment or none.
  const comment = stringAt(pageChange, 'comment') || undefined;
  switch (pageChange['page_change_kind']) {
    case 'delete': {
      if (revision['is_content_visible'] === false || actor === undefined) return [];
      const event = { ...base(PAGE_DELETE_STREAM, '/mediawiki/page/delete/1.0.0'), ...compact({ comment, rev_count: numberAt(objectAt(pageChange, 'page'), 'revision_count') }) };
      return [{ stream: PAGE_DELETE_STREAM, event }];
    }
    case 'undelete':
      return [{ stream: PAGE_UNDELETE_STREAM, event: { ...base(PAGE_UNDELETE_STREAM, '/mediawiki/page/undelete/1.0.0'), ...compact({ comment }) } }];
    case 'move': {
      const prior = objectAt(pageChange, 'prior_state');
      const priorPage = objectAt(prior, 'page');
      const redirect = objectAt(pageChange, 'created_redirect_page');
      const event: JsonObject = {
        ...base(PAGE_MOVE_STREAM, '/mediawiki/page/move/1.0.0'),
        ...compact({ comment }),
        prior_state: {
          page_title: stringAt(priorPage, 'page_title') ?? '',
          page_namespace: numberAt(priorPage, 'namespace_id') ?? numberAt(objectAt(pageChange, 'page'), 'namespace_id') ?? 0,
          rev_id: numberAt(objectAt(prior, 'revision'), 'rev_id') ?? numberAt(revision, 'rev_parent_id') ?? 0,
        },
      };
      const redirectId = numberAt(redirect, 'page_id');
      if (redirectId !== undefined) {
        event['new_redirect_page'] = {
          page_id: redirectId,
          page_title: stringAt(redirect, 'page_title') ?? '',
          page_namespace: numberAt(redirect, 'namespace_id') ?? 0,
          // The redirect's own first revision follows the move's null revision.
          rev_id: (numberAt(revision, 'rev_id') ?? 0) + 1,
        };
      }
      return [{ stream: PAGE_MOVE_STREAM, event }];
    }
    case 'visibility_change': {
      const visibility = (r: JsonObject): JsonObject => ({
        text: r['is_content_visible'] !== false,
        user: r['is_editor_visible'] !== false,
        comment: r['is_comment_visible'] !== false,
      });
      const priorRevision = objectAt(objectAt(pageChange, 'prior_state'), 'revision');
      const event: JsonObject = {
        ...base(VISIBILITY_CHANGE_STREAM, '/mediawiki/revision/visibility-change/1.0.0'),
        ...legacyRevision(pageChange),
        visibility: visibility(revision),
        prior_state: { visibility: visibility(priorRevision) },
      };
      return [{ stream: VISIBILITY_CHANGE_STREAM, event }];
    }
    default:
      return [];
  }
}
