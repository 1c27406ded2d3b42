import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cpuMs } from '../../test/helpers/cpu-time.js';
import { duplicateKey } from './strict-json.js';

describe('duplicateKey', () => {
  it('finds a name repeated in one object, at any depth, however it is escaped', () => {
    expect(duplicateKey('{"ttl":"1m","ttl":"32d"}')).toBe('ttl');
    expect(duplicateKey('{"a":1,"\\u0061":2}')).toBe('a');
    expect(duplicateKey('{"x":[{"a":1},{"b":{"c":1,"c":2}}]}')).toBe('c');
    expect(duplicateKey('{"a\\"":1,"a\\"":2}')).toBe('a"');
    expect(duplicateKey(' { "p" : [ ] , "p" : { } } ')).toBe('p');
  });

  it('does not confuse values, names in sibling objects or escaped quotes with repeated names', () => {
    expect(duplicateKey('{"a":"a","b":"a"}')).toBeUndefined();
    expect(duplicateKey('[{"a":1},{"a":2}]')).toBeUndefined();
    expect(duplicateKey('{"a":{"a":{"a":1}}}')).toBeUndefined();
    expect(duplicateKey('{"a":"x\\\\","b":"\\",\\"a\\":"}')).toBeUndefined();
    expect(duplicateKey('["a","a",{"a":["a"]}]')).toBeUndefined();
    expect(duplicateKey('"a"')).toBeUndefined();
  });

  it('finds nothing in serialised values and the spliced name in objects given one twice', () => {
    // JSON.stringify never repeats a name; a random object gets a duplicate by splicing one member in twice
    // (through a replacer function: a replacement string would read a name such as `$$` as a pattern).
    const value = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(value, fc.boolean(), fc.string({ maxLength: 4 }), (v, dup, name) => {
        const text = dup && v !== null && typeof v === 'object' && !Array.isArray(v) ? JSON.stringify(v).replace(/^\{/, () => `{${JSON.stringify(name)}:0,${JSON.stringify(name)}:1${Object.keys(v).length > 0 ? ',' : ''}`) : JSON.stringify(v);
        JSON.parse(text);
        const expected = dup && v !== null && typeof v === 'object' && !Array.isArray(v) ? name : undefined;
        if (expected !== undefined) expect(duplicateKey(text)).toBe(expected);
        else expect(duplicateKey(text)).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('takes linear time on hostile text', () => {
    const backslashes = `{"a":"${'\\\\'.repeat(200_000)}\\"${'\\"'.repeat(200_000)}"}`;
    JSON.parse(backslashes);
    const many = `{${Array.from({ length: 100_000 }, (_, i) => `"k${i}":1`).join(',')}}`;
    const found: unknown[] = [];
    // About 1 MB of text each: a quadratic scan would take minutes; 2 s of CPU is a generous bound.
    expect(cpuMs(() => found.push(duplicateKey(backslashes), duplicateKey(many)))).toBeLessThan(2000);
    expect(found).toEqual([undefined, undefined]);
  });
});
