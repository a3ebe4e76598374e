/** Name suggestions for error messages and typo warnings. */

/** Levenshtein distance, giving up (returning `max + 1`) once it must exceed `max`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * True if `name` plausibly is a mistyped `known`: the same up to case, or at
 * most two edits apart when both are long enough for that to mean something.
 */
export function looksLike(name: string, known: string): boolean {
  if (name.toLowerCase() === known.toLowerCase()) return true;
  return Math.min(name.length, known.length) >= 4 && editDistance(name, known, 2) <= 2;
}

/** The candidate `name` most plausibly meant, if any. */
export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const c of candidates) {
    if (c === name || !looksLike(name, c)) continue;
    const d = name.toLowerCase() === c.toLowerCase() ? 0 : editDistance(name, c, 2);
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}
