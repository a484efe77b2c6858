/** True when the last path segment has shell wildcards (`*`, `?`). */
export function hasWildcard(segment: string): boolean {
  return segment.includes('*') || segment.includes('?');
}

/**
 * Shell-style match of `name` against `pattern` (`*` any run, `?` one character), as
 * `mget *.txt` sends to NLST. The two-pointer walk is O(n*m): no regex, no backtracking blow-up.
 * Names starting with '.' match only a pattern starting with '.', as in a shell.
 */
export function matchGlob(pattern: string, name: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  let p = 0;
  let n = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    const c = pattern[p];
    if (c === '*') {
      starP = p++;
      starN = n;
    } else if (c !== undefined && (c === '?' || c === name[n])) {
      p++;
      n++;
    } else if (starP >= 0) {
      p = starP + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
