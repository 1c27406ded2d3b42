// JSON.parse keeps the last of two equal member names ({"ttl":"1m","ttl":"32d"} is {"ttl":"32d"}),
// while other parsers keep the first or refuse (RFC 8259 §4: names SHOULD be unique; the behaviour
// is unpredictable otherwise). A body a proxy or log reads one way and the server another is
// refused instead: this scanner finds a repeated name in text that JSON.parse has already
// accepted, in one pass with no recursion (time linear in the text, memory in the names).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The index just past the closing quote of the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const q = text.indexOf('"', from);
    if (q === -1) return text.length;
    // The quote is escaped when an odd run of backslashes precedes it (counted back only to
    // `from`, past which the previous quote lies: each character is looked at a bounded number of times).
    let k = q - 1;
    while (k >= from && text.charCodeAt(k) === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/** The first member name that appears twice in one object of a valid JSON text, if any. */
export function duplicateKey(text: string): string | undefined {
  // One entry per open container: the names seen so far for an object, null for an array.
  const stack: Array<Set<string> | null> = [];
  let expectName = false;
  const n = text.length;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const names = stack[stack.length - 1];
      if (names && expectName) {
        const raw = text.slice(i, end);
        // Escapes name the same member differently ("a" and "\u0061"): compare decoded names.
        const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (names.has(name)) return name;
        names.add(name);
        expectName = false;
      }
      i = end;
      continue;
    }
    if (c === 0x7b) {
      stack.push(new Set());
      expectName = true;
    } else if (c === 0x5b) {
      stack.push(null);
      expectName = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectName = false;
    } else if (c === 0x2c) {
      expectName = stack.length > 0 && stack[stack.length - 1] !== null;
    }
    i++;
  }
  return undefined;
}
