import { derivedMeta } from './envelope.ts';
import { type JsonObject, numberAt, objectAt, stringAt } from './json.ts';
import { stableFraction } from './synthetic.ts';
import { isWikipedia } from './wiki.ts';

export const OUTLINK_TOPIC_STREAM = 'mediawiki.page_outlink_topic_prediction_change.v1';
export const REVERT_RISK_STREAM = 'mediawiki.page_revert_risk_prediction_change.v1';
export const REVERT_RISK_MULTILINGUAL_STREAM = 'mediawiki.page_revert_risk_multilingual_prediction_change.v1';
export const REVERT_RISK_WIKIDATA_STREAM = 'mediawiki.page_revert_risk_wikidata_prediction_change.v1';
const SCHEMA = '/mediawiki/page/prediction_classification_change/1.2.0';

/** Wikipedias the multilingual revert-risk model covers (a subset, as in production). */
const MULTILINGUAL_WIKIS = new Set(['arwiki', 'dewiki', 'enwiki', 'eswiki', 'frwiki', 'itwiki', 'jawiki', 'ruwiki', 'trwiki', 'ukwiki', 'zhwiki']);

/** Labels of the language-agnostic article topic model (a sample of its 64). */
const TOPICS = [
  'Culture.Biography.Biography*',
  'Culture.Media.Media*',
  'Culture.Sports',
  'Geography.Regions.Europe.Europe*',
  'Geography.Regions.Asia.Asia*',
  'Geography.Regions.Americas.North_America',
  'History_and_Society.Politics_and_government',
  'History_and_Society.Military_and_warfare',
  'STEM.STEM*',
  'STEM.Biology',
];

/** The share of edits a revert-risk model flags; the probabilities are synthetic, not model output. */
const FLAGGED_SHARE = 0.15;

/**
 * The ML model outputs Wikimedia's Lift Wing publishes for a new revision: the article topic of
 * Wikipedia articles, and the revert risk of edits to Wikipedia articles and Wikidata items. The
 * event repeats the page/change event it scored (same page, revision, performer and time); the
 * scores are synthetic but fixed per revision.
 */
export function predictionEvents(pageChange: JsonObject): { stream: string; event: JsonObject }[] {
  const kind = pageChange['page_change_kind'];
  if (kind !== 'edit' && kind !== 'create') return [];
  const wikiId = stringAt(pageChange, 'wiki_id') ?? '';
  const namespace = numberAt(objectAt(pageChange, 'page'), 'namespace_id');
  if (namespace !== 0) return [];
  const revId = numberAt(objectAt(pageChange, 'revision'), 'rev_id') ?? 0;
  const key = `${wikiId}|${revId}`;
  const events: { stream: string; event: JsonObject }[] = [];
  const add = (stream: string, classification: JsonObject): void => {
    events.push({ stream, event: predictionEvent(pageChange, stream, classification) });
  };
  if (isWikipedia(wikiId)) {
    add(OUTLINK_TOPIC_STREAM, topics(key));
    if (kind === 'edit') {
      add(REVERT_RISK_STREAM, revertRisk('revertrisk-language-agnostic', '3', `${key}|la`));
      if (MULTILINGUAL_WIKIS.has(wikiId)) add(REVERT_RISK_MULTILINGUAL_STREAM, revertRisk('revertrisk-multilingual', '3', `${key}|ml`));
    }
  } else if (wikiId === 'wikidatawiki' && kind === 'edit') {
    add(REVERT_RISK_WIKIDATA_STREAM, revertRisk('revertrisk-wikidata', '1', `${key}|wd`));
  }
  return events;
}

/** The page/change fields the prediction schema repeats; it has no content slots. */
function predictionEvent(pageChange: JsonObject, stream: string, classification: JsonObject): JsonObject {
  const event: JsonObject = {};
  for (const k of ['changelog_kind', 'page_change_kind', 'dt', 'wiki_id', 'page', 'performer', 'prior_state', 'comment']) {
    const v = pageChange[k];
    if (v !== undefined) event[k] = v;
  }
  const { content_slots: _slots, ...revision } = objectAt(pageChange, 'revision');
  event['revision'] = revision;
  return {
    $schema: SCHEMA,
    meta: derivedMeta(pageChange, stream, stringAt(objectAt(pageChange, 'meta'), 'uri')),
    ...event,
    predicted_classification: classification,
  };
}

function round(p: number): number {
  return Math.round(p * 1000) / 1000;
}

function revertRisk(model: string, version: string, key: string): JsonObject {
  const flagged = stableFraction(key) < FLAGGED_SHARE;
  const p = round(flagged ? 0.5 + stableFraction(`${key}|p`) / 2 : stableFraction(`${key}|p`) / 2);
  return { model_name: model, model_version: version, predictions: [p > 0.5 ? 'true' : 'false'], probabilities: { true: p, false: round(1 - p) } };
}

function topics(key: string): JsonObject {
  const probabilities: JsonObject = {};
  for (const [i, topic] of TOPICS.entries()) {
    const p = round(stableFraction(`${key}|topic|${i}`) ** 3);
    if (p >= 0.05) probabilities[topic] = p;
  }
  const predictions = Object.entries(probabilities).flatMap(([t, p]) => (typeof p === 'number' && p > 0.5 ? [t] : []));
  return { model_name: 'outlink-topic-model', model_version: 'alloutlinks_202209', predictions, probabilities };
}
