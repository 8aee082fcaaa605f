import type { JsonObject } from './json.ts';
import { stableFraction, stableInt } from './synthetic.ts';

/** `Foo bar` -> `Foo_bar`: MediaWiki's DB key, which the page schemas use as page_title. */
export function dbKey(title: string): string {
  return title.replace(/ /g, '_');
}

/** `Foo_bar` -> `Foo bar`: the display title that recentchange uses. */
export function displayTitle(key: string): string {
  return key.replace(/_/g, ' ');
}

/** Content model and format of a page's main slot, from where it lives. */
export function mainContent(wikiId: string, namespace: number): { model: string; format: string } {
  if (wikiId === 'wikidatawiki' || wikiId === 'testwikidatawiki') {
    const model = { 0: 'wikibase-item', 120: 'wikibase-property', 146: 'wikibase-lexeme' }[namespace];
    if (model !== undefined) return { model, format: 'application/json' };
  }
  return { model: 'wikitext', format: 'text/x-wiki' };
}

/** The Wikibase entity a page holds (`Q42`, `P31`, `L1`), or undefined. */
export function entityId(wikiId: string, namespace: number, title: string): string | undefined {
  if (mainContent(wikiId, namespace).model === 'wikitext') return undefined;
  return title.replace(/^(Property|Lexeme):/, '');
}

/** A page id for a page the recording names only by title. */
export function pageIdOf(wikiId: string, title: string): number {
  return stableInt(`${wikiId}|page|${dbKey(title)}`, 1_000, 150_000_000);
}

const IP = /^(\d{1,3}\.){3}\d{1,3}$|:/;

/**
 * The mediawiki/page/change performer for a user the recording names only by name: anonymous
 * (an IP) users have no id, temporary accounts (`~2026-…`) are flagged, bots are in group bot.
 */
export function userOf(name: string, isBot: boolean): JsonObject {
  if (IP.test(name)) return { user_text: name, groups: ['*'], is_bot: false, is_system: false, is_temp: false };
  const isTemp = name.startsWith('~');
  const registered = Date.UTC(2004, 0, 1) + Math.floor(stableFraction(`user|${name}|since`) * (isTemp ? 0 : 21 * 365) * 86_400_000);
  const groups = isTemp ? ['*', 'temp'] : ['*', 'user', 'autoconfirmed', ...(isBot ? ['bot'] : [])];
  return {
    user_text: name,
    groups,
    is_bot: isBot,
    is_system: false,
    is_temp: isTemp,
    user_id: stableInt(`user|${name}`, 1, 90_000_000),
    registration_dt: new Date(isTemp ? Date.UTC(2026, 0, 1) : registered).toISOString().replace(/\.\d+Z$/, 'Z'),
    edit_count: isTemp ? stableInt(`user|${name}|edits`, 1, 50) : stableInt(`user|${name}|edits`, 10, 400_000),
  };
}

/** Wikipedias (`enwiki`, `cewiki`) as opposed to commons, wikidata, wiktionaries and the rest. */
export function isWikipedia(wikiId: string): boolean {
  return /^[a-z_]+wiki$/.test(wikiId) && !NOT_WIKIPEDIAS.has(wikiId);
}

const NOT_WIKIPEDIAS = new Set(['commonswiki', 'wikidatawiki', 'testwikidatawiki', 'metawiki', 'specieswiki', 'mediawikiwiki', 'testwiki', 'foundationwiki', 'outreachwiki', 'incubatorwiki', 'sourceswiki']);
