import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StopStringMatcher, StopTokenChecker } from './stop-conditions.js';
import type { StopStringOptions } from './stop-conditions.js';
import { IncrementalDecoder } from './incremental-decoder.js';
import { loadTokenizer } from './tokenizer.js';
import type { Tokenizer } from './tokenizer.js';
import { makeDeepSeekModelDir } from '../../test/helpers/tokenizer-fixture.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';

interface Outcome {
  text: string;
  stop: string | undefined;
  /** Emitted text never contained more than the final output (nothing was retracted). */
  chunks: string[];
}

function run(chunks: readonly string[], stops: readonly string[], options: StopStringOptions = {}): Outcome {
  const matcher = new StopStringMatcher(stops, options);
  const out: string[] = [];
  let stop: string | undefined;
  for (const chunk of chunks) {
    const r = matcher.push(chunk);
    out.push(r.text);
    if (r.stopped) {
      stop = r.stop;
      break;
    }
  }
  out.push(matcher.flush());
  return { text: out.join(''), stop, chunks: out };
}

function splitAt(text: string, cuts: readonly number[]): string[] {
  const points = [0, ...cuts.filter((c) => c > 0 && c < text.length).sort((a, b) => a - b), text.length];
  return points.slice(1).map((end, i) => text.slice(points[i], end));
}

describe('StopStringMatcher', () => {
  it('cuts at a stop string inside one chunk', () => {
    assert.deepEqual(run(['Hello STOP world'], ['STOP']), { text: 'Hello ', stop: 'STOP', chunks: ['Hello ', ''] });
  });

  it('holds back a possible prefix until it is resolved', () => {
    const m = new StopStringMatcher(['</answer>']);
    assert.deepEqual(m.push('42 </an'), { text: '42 ', stopped: false, stop: undefined });
    assert.deepEqual(m.push('d more'), { text: '</and more', stopped: false, stop: undefined });
    assert.deepEqual(m.push(' </ans'), { text: ' ', stopped: false, stop: undefined });
    assert.deepEqual(m.push('wer> tail'), { text: '', stopped: true, stop: '</answer>' });
    assert.deepEqual(m.push('ignored'), { text: '', stopped: true, stop: undefined });
    assert.equal(m.flush(), '');
  });

  it('releases the held-back tail when generation ends', () => {
    assert.deepEqual(run(['abc', ' </ans'], ['</answer>']), { text: 'abc </ans', stop: undefined, chunks: ['abc', ' ', '</ans'] });
  });

  it('finds the same stop for every way of splitting the text', () => {
    const text = 'one two\nUser: three\n\nObservation: four';
    const stops = ['\n\nObservation:', 'User:', 'xyz'];
    for (let a = 0; a <= text.length; a++) {
      for (let b = a; b <= text.length; b += 3) {
        const r = run(splitAt(text, [a, b]), stops);
        assert.equal(r.text, 'one two\n', `cuts ${a},${b}`);
        assert.equal(r.stop, 'User:');
      }
    }
  });

  it('prefers the earliest match, and can include the stop string', () => {
    assert.equal(run(['a-b+c'], ['+', '-']).stop, '-');
    assert.equal(run(['xxabcd'], ['bcd', 'abc']).text, 'xx');
    assert.deepEqual(run(['say END now'], ['END'], { includeStopString: true }).text, 'say END');
  });

  it('passes everything through without stop strings and ignores empty ones', () => {
    assert.deepEqual(run(['a', 'b'], ['']).chunks, ['a', 'b', '']);
  });

  it('handles overlapping prefixes ("aab" inside "aaab")', () => {
    for (let cut = 0; cut <= 4; cut++) assert.equal(run(splitAt('aaab', [cut]), ['aab']).text, 'a');
  });
});

describe('stop strings across token boundaries (DeepSeek vocabulary)', () => {
  let fixture: FixtureDir;
  let tokenizer: Tokenizer;
  before(async () => {
    fixture = await makeDeepSeekModelDir('v32');
    tokenizer = (await loadTokenizer(fixture.dir)).tokenizer;
  });
  after(() => fixture.dispose());

  it('stops on a multi-token stop string fed one token at a time, leaking none of it', () => {
    const text = 'The answer is 42 😀.\nObservation: the tool said 你好';
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    const decoder = new IncrementalDecoder(tokenizer);
    const matcher = new StopStringMatcher(['\nObservation:', '你好']);
    const emitted: string[] = [];
    let stop: string | undefined;
    for (const id of ids) {
      const r = matcher.push(decoder.push(id));
      emitted.push(r.text);
      if (r.stopped) {
        stop = r.stop;
        break;
      }
    }
    assert.equal(stop, '\nObservation:');
    assert.equal(emitted.join(''), 'The answer is 42 😀.');
    assert.ok(emitted.every((e) => !e.includes('\n')), 'the newline that starts the stop string was held back');
  });
});

describe('StopTokenChecker', () => {
  it('stops on EOS and stop_token_ids, respecting ignore_eos and min_tokens', () => {
    const checker = new StopTokenChecker({ eosIds: [1], stopTokenIds: [128799] });
    assert.equal(checker.check(5, 1), undefined);
    assert.equal(checker.check(1, 2), 'eos');
    assert.equal(checker.check(128799, 2), 'stop_token');
    assert.equal(new StopTokenChecker({ eosIds: [1], ignoreEos: true }).check(1, 9), undefined);
    const min = new StopTokenChecker({ eosIds: [1], stopTokenIds: [7], minTokens: 3 });
    assert.equal(min.check(1, 2), undefined);
    assert.deepEqual(min.blockedIds(2), [1, 7]);
    assert.equal(min.check(1, 3), 'eos');
    assert.deepEqual(min.blockedIds(3), []);
  });
});
