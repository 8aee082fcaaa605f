import { derivedMeta } from './envelope.ts';
import { type JsonObject, isJsonObject, numberAt, objectAt, stringAt } from './json.ts';
import { stableFraction } from './synthetic.ts';
import { entityId } from './wiki.ts';

export const RDF_STREAM = 'rdf-streaming-updater.mutation.v2';
export const RDF_MAIN_STREAM = 'rdf-streaming-updater.mutation-main.v2';
export const RDF_SCHOLARLY_STREAM = 'rdf-streaming-updater.mutation-scholarly.v2';
export const MEDIAINFO_STREAM = 'mediainfo-streaming-updater.mutation.v2';
const SCHEMA = '/mediawiki/wikibase/entity/rdf_change/2.0.0';

/**
 * Wikidata Query Service splits its graph: scholarly articles in one, the rest in main. Which items
 * are scholarly articles (P31 = Q13442814) is not in the recording; this share stands in for it.
 */
const SCHOLARLY_SHARE = 0.3;

const OPERATIONS: Record<string, string> = { create: 'import', edit: 'diff', undelete: 'import', delete: 'delete' };

/**
 * The RDF mutations the Wikidata Query Service updater publishes for an entity change: for
 * Wikidata items, properties and lexemes (the full graph, and the main or scholarly subgraph),
 * and for Commons files whose structured data (mediainfo slot) changed. A diff carries the new
 * revision's version and time and the triple an edit summary names.
 */
export function rdfEvents(pageChange: JsonObject): { stream: string; event: JsonObject }[] {
  const operation = OPERATIONS[String(pageChange['page_change_kind'])];
  if (operation === undefined) return [];
  const wikiId = stringAt(pageChange, 'wiki_id') ?? '';
  const page = objectAt(pageChange, 'page');
  const revision = objectAt(pageChange, 'revision');
  const revId = numberAt(revision, 'rev_id') ?? 0;
  if (wikiId === 'wikidatawiki') {
    const entity = entityId(wikiId, numberAt(page, 'namespace_id') ?? -1, stringAt(page, 'page_title') ?? '');
    if (entity === undefined) return [];
    const event = (stream: string): JsonObject => rdfEvent(pageChange, stream, entity, operation, 'http://www.wikidata.org', 'https://www.wikidata.org');
    const split = entity.startsWith('Q') && stableFraction(`scholarly|${entity}`) < SCHOLARLY_SHARE ? RDF_SCHOLARLY_STREAM : RDF_MAIN_STREAM;
    return [RDF_STREAM, split].map((stream) => ({ stream, event: event(stream) }));
  }
  const mediainfo = objectAt(objectAt(revision, 'content_slots'), 'mediainfo');
  const slotChanged = isJsonObject(mediainfo) && numberAt(mediainfo, 'origin_rev_id') === revId;
  if (wikiId === 'commonswiki' && (slotChanged || operation === 'delete')) {
    if (operation === 'delete' && numberAt(page, 'namespace_id') !== 6) return [];
    const entity = `M${numberAt(page, 'page_id') ?? 0}`;
    return [{ stream: MEDIAINFO_STREAM, event: rdfEvent(pageChange, MEDIAINFO_STREAM, entity, operation, 'https://commons.wikimedia.org', 'https://commons.wikimedia.org') }];
  }
  return [];
}

function rdfEvent(pageChange: JsonObject, stream: string, entity: string, operation: string, conceptBase: string, siteBase: string): JsonObject {
  const revision = objectAt(pageChange, 'revision');
  const revId = numberAt(revision, 'rev_id') ?? 0;
  const dt = stringAt(pageChange, 'dt') ?? '';
  const event: JsonObject = {
    $schema: SCHEMA,
    meta: { ...derivedMeta(pageChange, stream, `${conceptBase}/entity/${entity}`), domain: new URL(siteBase).host },
    entity_id: entity,
    operation,
    rev_id: revId,
    sequence: 0,
    sequence_length: 1,
    dt,
  };
  if (operation === 'delete') return event;
  const data = `<${siteBase}/wiki/Special:EntityData/${entity}>`;
  const xsd = 'http://www.w3.org/2001/XMLSchema#';
  const added = [
    `${data} <http://schema.org/version> "${revId}"^^<${xsd}integer> .`,
    `${data} <http://schema.org/dateModified> "${dt}"^^<${xsd}dateTime> .`,
    ...statementTriples(`<${conceptBase}/entity/${entity}>`, conceptBase, stringAt(revision, 'comment') ?? ''),
  ];
  event['rdf_added_data'] = { data: `${added.join('\n')}\n`, mime_type: 'text/turtle' };
  const parent = numberAt(revision, 'rev_parent_id');
  if (operation === 'diff' && parent !== undefined) {
    event['rdf_deleted_data'] = { data: `${data} <http://schema.org/version> "${parent}"^^<${xsd}integer> .\n`, mime_type: 'text/turtle' };
  }
  return event;
}

/** `/* wbsetclaim-create:2||1 *\/ [[Property:P276]]: [[Q895548]]` -> the direct-claim triple it added. */
function statementTriples(subject: string, conceptBase: string, comment: string): string[] {
  const claim = /^\/\* wb\w*claim-\w+:[^*]*\*\/ \[\[Property:(P\d+)\]\]: (?:\[\[(Q\d+)\]\]|(https?:\/\/\S+))/.exec(comment);
  if (claim) {
    const object = claim[2] !== undefined ? `<${conceptBase}/entity/${claim[2]}>` : `<${claim[3] ?? ''}>`;
    return [`${subject} <${conceptBase}/prop/direct/${claim[1] ?? ''}> ${object} .`];
  }
  const label = /^\/\* wbsetlabel-(?:add|set):\d+\|([a-z-]+) \*\/ (.+)$/.exec(comment);
  if (label) return [`${subject} <http://www.w3.org/2000/01/rdf-schema#label> ${turtleString(label[2] ?? '')}@${label[1] ?? ''} .`];
  return [];
}

function turtleString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}
