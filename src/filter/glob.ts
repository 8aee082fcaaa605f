/**
 * Whether `text` matches a glob given as the literal pieces between its `*`s (`Talk:*` is
 * `['Talk:', '']`). Greedy-free and regex-free: each piece is found once, left to right, so a
 * hostile pattern cannot make matching slow.
 */
export function globMatch(text: string, pieces: readonly string[]): boolean {
  const first = pieces[0] as string;
  const last = pieces[pieces.length - 1] as string;
  if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  let at = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] as string;
    const found = text.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}
