import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReasoningParser, splitReasoning } from './reasoning-parser.js';
import type { ReasoningDelta } from './reasoning-parser.js';

function streamChars(text: string, startsInReasoning: boolean): { deltas: ReasoningDelta[]; total: ReasoningDelta } {
  const parser = new ReasoningParser({ startsInReasoning });
  const deltas = [...text].map((ch) => parser.push(ch));
  deltas.push(parser.flush());
  const total = {
    reasoning: deltas.map((d) => d.reasoning).join(''),
    content: deltas.map((d) => d.content).join(''),
  };
  return { deltas, total };
}

describe('ReasoningParser', () => {
  it('splits at </think> when the prompt opened the block', () => {
    assert.deepEqual(splitReasoning('Let me add: 2.</think>The answer is 4.', true), { reasoning: 'Let me add: 2.', content: 'The answer is 4.' });
  });

  it('gives the same split when streamed one character at a time', () => {
    const text = 'step 1 </thin no, still thinking 😀</think>\n\nFinal: 4 </think> literal';
    const { total } = streamChars(text, true);
    assert.deepEqual(total, { reasoning: 'step 1 </thin no, still thinking 😀', content: '\n\nFinal: 4 </think> literal' });
    assert.deepEqual(total, splitReasoning(text, true));
  });

  it('never leaks part of </think> into reasoning deltas', () => {
    const { deltas } = streamChars('abc</think>def', true);
    assert.deepEqual(
      deltas.filter((d) => d.reasoning !== '' || d.content !== ''),
      [
        { reasoning: 'a', content: '' },
        { reasoning: 'b', content: '' },
        { reasoning: 'c', content: '' },
        { reasoning: '', content: 'd' },
        { reasoning: '', content: 'e' },
        { reasoning: '', content: 'f' },
      ],
    );
  });

  it('treats output as content when thinking is off', () => {
    assert.deepEqual(splitReasoning('Plain answer </think> x', false), { reasoning: '', content: 'Plain answer </think> x' });
    assert.deepEqual(streamChars('Plain', false).total, { reasoning: '', content: 'Plain' });
  });

  it('accepts an explicit <think> at the start of the output (R1 style)', () => {
    assert.deepEqual(streamChars('<think>hmm</think>ok', false).total, { reasoning: 'hmm', content: 'ok' });
    assert.deepEqual(splitReasoning('\n<think>hmm</think>ok', false), { reasoning: 'hmm', content: 'ok' });
    assert.deepEqual(streamChars('<think>hmm</think>ok', true).total, { reasoning: 'hmm', content: 'ok' });
    assert.deepEqual(streamChars('<thinking is fun', false).total, { reasoning: '', content: '<thinking is fun' });
  });

  it('keeps an unterminated block as reasoning (length-limited output)', () => {
    assert.deepEqual(streamChars('still thinking </thi', true).total, { reasoning: 'still thinking </thi', content: '' });
  });
});
