/** How EventStreams compares page titles: trimmed, spaces as underscores, lower case. */
export function normalizeTitle(title: string): string {
  return title.trim().replaceAll(' ', '_').toLowerCase();
}

/** EventStreams' `mediawiki_redacted_pages`: per wiki domain, pages whose events lose their user fields. */
export class RedactedPages {
  #byDomain = new Map<string, Set<string>>();
  /** Bumped on every reload, so cached events are checked again. */
  version = 0;

  constructor(pages: Record<string, readonly string[]>) {
    this.replace(pages);
  }

  get size(): number {
    let count = 0;
    for (const titles of this.#byDomain.values()) count += titles.size;
    return count;
  }

  replace(pages: Record<string, readonly string[]>): void {
    this.#byDomain = new Map(Object.entries(pages).map(([domain, titles]) => [domain, new Set(titles.map(normalizeTitle))]));
    this.version++;
  }

  get empty(): boolean {
    return this.#byDomain.size === 0;
  }

  /** Whether any page of this wiki domain is redacted. */
  hasDomain(domain: string): boolean {
    return this.#byDomain.has(domain);
  }

  has(domain: string, title: string): boolean {
    return this.#byDomain.get(domain)?.has(normalizeTitle(title)) ?? false;
  }
}
