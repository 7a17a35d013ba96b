import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pyJsonDumps } from './py-json.js';

describe('pyJsonDumps (Python json.dumps, ensure_ascii=False)', () => {
  it('uses Python separators and keeps non-ASCII as is', () => {
    assert.equal(pyJsonDumps({ a: [1, 'é', null, true], b: { c: '杭州' } }), '{"a": [1, "é", null, true], "b": {"c": "杭州"}}');
    assert.equal(pyJsonDumps([]), '[]');
    assert.equal(pyJsonDumps({}), '{}');
  });

  it('escapes like Python', () => {
    assert.equal(pyJsonDumps('q"\\\n\t\u0001'), '"q\\"\\\\\\n\\t\\u0001"');
  });

  // Integral numbers print as Python ints: after JSON.parse, 1.5e16 and 15000000000000000 are the same value.
  it('prints floats as Python repr does', () => {
    assert.equal(pyJsonDumps([0.5, 1e-5, 0.0001, 1.5e16, 1e21, -2.25]), '[0.5, 1e-05, 0.0001, 15000000000000000, 1e+21, -2.25]');
    assert.equal(pyJsonDumps(1.2345e-7), '1.2345e-07');
  });

  it('skips undefined members', () => {
    assert.equal(pyJsonDumps({ a: undefined, b: 1 }), '{"b": 1}');
  });
});
