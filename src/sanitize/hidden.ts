/**
 * Parts of a revision that can be hidden, as MediaWiki's `rev_deleted` bits: 1 content (text),
 * 2 comment, 4 user. 0 = nothing hidden.
 */
export type HiddenParts = number;

export const CONTENT = 1;
export const COMMENT = 2;
export const USER = 4;

export const PARTS = [
  { bit: CONTENT, name: 'content' },
  { bit: COMMENT, name: 'comment' },
  { bit: USER, name: 'user' },
] as const;

export type PartName = (typeof PARTS)[number]['name'];

/** From `{text, user, comment}` visibility booleans (true = visible); missing flags hide nothing. */
export function hiddenFromVisibility(visibility: { text?: unknown; user?: unknown; comment?: unknown }): HiddenParts {
  return (visibility.text === false ? CONTENT : 0) | (visibility.comment === false ? COMMENT : 0) | (visibility.user === false ? USER : 0);
}

/** From page_change's `is_content_visible` / `is_comment_visible` / `is_editor_visible`. */
export function hiddenFromFlags(revision: Record<string, unknown>): HiddenParts {
  return (
    (revision.is_content_visible === false ? CONTENT : 0) |
    (revision.is_comment_visible === false ? COMMENT : 0) |
    (revision.is_editor_visible === false ? USER : 0)
  );
}
