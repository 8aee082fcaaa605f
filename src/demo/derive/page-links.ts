import { derivedMeta } from './envelope.ts';
import { type JsonObject, numberAt, objectAt, stringAt } from './json.ts';
import { actorOf, legacyPage, legacyPerformer } from './legacy-fields.ts';
import { stableInt } from './synthetic.ts';
import { dbKey, entityId, isWikipedia, pageIdOf } from './wiki.ts';

export const LINKS_CHANGE_STREAM = 'mediawiki.page-links-change';
export const PROPERTIES_CHANGE_STREAM = 'mediawiki.page-properties-change';

/** `[[Property:P276]]: [[Q895548]]` or `[[Property:P856]]: https://…` in a Wikibase statement edit summary. */
const STATEMENT_SUMMARY = /^\/\* wb(?:setclaim|createclaim|setqualifier|setreference)-[^*]*\*\/ (.*)$/;
const WIKILINK = /\[\[([^\]|#]+)(?:[^\]]*)\]\]/g;
const URL = /https?:\/\/[^\s|\]]+/g;
/** `/* wbsetsitelink-add:1|enwiki *\/ Molla Sagar`: an item now links to that Wikipedia page. */
const SITELINK_ADD = /^\/\* wbsetsitelink-add:\d+\|([a-z_]+wiki) \*\/ (.+)$/;

/**
 * What a Wikidata edit changes beyond its own page: a statement adds links from the entity page
 * to the entities and URLs it names (page-links-change), and a new sitelink gives the Wikipedia
 * page a `wikibase_item` page property (page-properties-change, on that wiki).
 */
export function pageLinkEvents(pageChange: JsonObject): { stream: string; event: JsonObject }[] {
  const kind = pageChange['page_change_kind'];
  if (kind !== 'edit' && kind !== 'create') return [];
  const wikiId = stringAt(pageChange, 'wiki_id') ?? '';
  const page = objectAt(pageChange, 'page');
  const item = entityId(wikiId, numberAt(page, 'namespace_id') ?? -1, stringAt(page, 'page_title') ?? '');
  if (item === undefined) return [];
  const revision = objectAt(pageChange, 'revision');
  const comment = stringAt(revision, 'comment') ?? '';
  const actor = actorOf(pageChange);
  const performer: JsonObject = actor ? { performer: legacyPerformer(actor) } : {};
  const events: { stream: string; event: JsonObject }[] = [];

  const statement = STATEMENT_SUMMARY.exec(comment)?.[1];
  if (statement !== undefined) {
    const added = [
      ...[...statement.matchAll(WIKILINK)].map((m) => ({ link: `/wiki/${dbKey((m[1] ?? '').trim())}`, external: false })),
      ...[...statement.matchAll(URL)].map((m) => ({ link: m[0], external: true })),
    ];
    if (added.length > 0) {
      events.push({
        stream: LINKS_CHANGE_STREAM,
        event: {
          $schema: '/mediawiki/page/links-change/1.0.0',
          meta: derivedMeta(pageChange, LINKS_CHANGE_STREAM, stringAt(objectAt(pageChange, 'meta'), 'uri')),
          ...legacyPage(pageChange),
          rev_id: numberAt(revision, 'rev_id') ?? 0,
          ...performer,
          added_links: added,
        },
      });
    }
  }

  const sitelink = SITELINK_ADD.exec(comment);
  const client = sitelink?.[1];
  const title = sitelink?.[2]?.trim();
  if (client !== undefined && title !== undefined && isWikipedia(client)) {
    const domain = `${client.replace(/wiki$/, '').replace(/_/g, '-')}.wikipedia.org`;
    const meta = derivedMeta(pageChange, PROPERTIES_CHANGE_STREAM, `https://${domain}/wiki/${encodeURIComponent(dbKey(title))}`);
    events.push({
      stream: PROPERTIES_CHANGE_STREAM,
      event: {
        $schema: '/mediawiki/page/properties-change/1.0.0',
        meta: { ...meta, domain },
        database: client,
        page_id: pageIdOf(client, title),
        page_title: dbKey(title),
        page_namespace: 0,
        page_is_redirect: false,
        // The client page's own latest revision, which the sitelink did not change.
        rev_id: stableInt(`${client}|last-rev|${dbKey(title)}`, 1, 1_300_000_000),
        ...performer,
        added_properties: { wikibase_item: item },
      },
    });
  }
  return events;
}
