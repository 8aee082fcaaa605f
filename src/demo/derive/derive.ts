import type { JsonObject } from './json.ts';
import { PAGE_CHANGE_STREAM, pageChangeFromRecentchange } from './page-change.ts';
import { LINKS_CHANGE_STREAM, PROPERTIES_CHANGE_STREAM, pageLinkEvents } from './page-links.ts';
import { PAGE_DELETE_STREAM, PAGE_MOVE_STREAM, PAGE_UNDELETE_STREAM, VISIBILITY_CHANGE_STREAM, pageLogEvents } from './page-log.ts';
import {
  OUTLINK_TOPIC_STREAM,
  REVERT_RISK_MULTILINGUAL_STREAM,
  REVERT_RISK_STREAM,
  REVERT_RISK_WIKIDATA_STREAM,
  predictionEvents,
} from './predictions.ts';
import { MEDIAINFO_STREAM, RDF_MAIN_STREAM, RDF_SCHOLARLY_STREAM, RDF_STREAM, rdfEvents } from './rdf.ts';
import { RECENTCHANGE_STREAM, recentchangeFromPageChange } from './recentchange.ts';
import { PAGE_CREATE_STREAM, REVISION_CREATE_STREAM, revisionCreateEvents } from './revision-create.ts';
import { TAGS_CHANGE_STREAM, revisionTagsEvents } from './revision-tags.ts';

/** An event for one stream, derived from an event of another. */
export interface DerivedEvent {
  stream: string;
  event: JsonObject;
}

/** Every stream the derivations below write to (recentchange is also recorded). */
export const DERIVED_STREAMS: readonly string[] = [
  RECENTCHANGE_STREAM,
  PAGE_CHANGE_STREAM,
  REVISION_CREATE_STREAM,
  PAGE_CREATE_STREAM,
  PAGE_DELETE_STREAM,
  PAGE_UNDELETE_STREAM,
  PAGE_MOVE_STREAM,
  VISIBILITY_CHANGE_STREAM,
  TAGS_CHANGE_STREAM,
  LINKS_CHANGE_STREAM,
  PROPERTIES_CHANGE_STREAM,
  OUTLINK_TOPIC_STREAM,
  REVERT_RISK_STREAM,
  REVERT_RISK_MULTILINGUAL_STREAM,
  REVERT_RISK_WIKIDATA_STREAM,
  RDF_STREAM,
  RDF_MAIN_STREAM,
  RDF_SCHOLARLY_STREAM,
  MEDIAINFO_STREAM,
];

/** What MediaWiki and the services that follow it emit about the change a page/change event describes. */
export function deriveFromPageChange(pageChange: JsonObject): DerivedEvent[] {
  return [
    ...revisionCreateEvents(pageChange),
    ...pageLogEvents(pageChange),
    ...revisionTagsEvents(pageChange),
    ...pageLinkEvents(pageChange),
    ...predictionEvents(pageChange),
    ...rdfEvents(pageChange),
  ];
}

/** The recentchange event of a recorded page/change event, and what else follows from it. */
export function deriveFromRecordedPageChange(pageChange: JsonObject): DerivedEvent[] {
  const recentchange = recentchangeFromPageChange(pageChange);
  return [...(recentchange ? [{ stream: RECENTCHANGE_STREAM, event: recentchange }] : []), ...deriveFromPageChange(pageChange)];
}

/** Every event about the same change as a recentchange event: its page/change event and what follows from that. */
export function deriveFromRecentchange(recentchange: JsonObject): DerivedEvent[] {
  const pageChange = pageChangeFromRecentchange(recentchange);
  return pageChange === undefined ? [] : [{ stream: PAGE_CHANGE_STREAM, event: pageChange }, ...deriveFromPageChange(pageChange)];
}
