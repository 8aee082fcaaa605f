import { derivedMeta } from './envelope.ts';
import { type JsonObject, numberAt, objectAt, stringAt } from './json.ts';
import { actorOf, legacyPage, legacyPerformer, legacyRevision } from './legacy-fields.ts';
import { stableFraction, stableInt } from './synthetic.ts';

export const TAGS_CHANGE_STREAM = 'mediawiki.revision-tags-change';

/** Tags MediaWiki and its extensions add to edits; which ones an edit had is not in recentchange. */
const EDIT_TAGS: readonly (readonly string[])[] = [
  ['mobile edit', 'mobile web edit'],
  ['visualeditor'],
  ['wikieditor'],
  ['mobile edit', 'mobile app edit', 'android app edit'],
  ['visualeditor-wikitext'],
];
const TALK_TAGS: readonly string[] = ['discussiontools', 'discussiontools-reply', 'discussiontools-visual'];

/** About one edit in five gets change tags, as a synthetic stand-in for the tags it really had. */
const TAGGED_SHARE = 0.2;

/** The revision-tags-change of a new revision that had change tags applied; most have none. */
export function revisionTagsEvents(pageChange: JsonObject): { stream: string; event: JsonObject }[] {
  const kind = pageChange['page_change_kind'];
  if (kind !== 'edit' && kind !== 'create') return [];
  const revision = objectAt(pageChange, 'revision');
  const key = `${stringAt(pageChange, 'wiki_id') ?? ''}|${numberAt(revision, 'rev_id') ?? 0}|tags`;
  if (stableFraction(key) >= TAGGED_SHARE) return [];
  const namespace = numberAt(objectAt(pageChange, 'page'), 'namespace_id') ?? 0;
  const tags = namespace % 2 === 1 ? TALK_TAGS : (EDIT_TAGS[stableInt(key, 0, EDIT_TAGS.length)] ?? []);
  const actor = actorOf(pageChange);
  return [
    {
      stream: TAGS_CHANGE_STREAM,
      event: {
        $schema: '/mediawiki/revision/tags-change/1.0.0',
        meta: derivedMeta(pageChange, TAGS_CHANGE_STREAM, stringAt(objectAt(pageChange, 'meta'), 'uri')),
        ...legacyPage(pageChange),
        ...legacyRevision(pageChange),
        ...(actor ? { performer: legacyPerformer(actor) } : {}),
        tags: [...tags],
      },
    },
  ];
}
