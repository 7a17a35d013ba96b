// A progress bar on stderr while a model loads (tokenizer, weights, warm-up that compiles kernels).
// Only for people watching a terminal: when stdout is piped or redirected, nothing is drawn, so
// scripts and logs stay clean.
import { Presets, SingleBar } from 'cli-progress';
import type { LoadProgress } from '../text/index.js';

const LABELS: Readonly<Record<LoadProgress['stage'], string>> = {
  tokenizer: 'reading tokenizer',
  weights: 'opening weights',
  warmup: 'warming up (first run compiles kernels)',
  ready: 'ready',
};

export interface LoadProgressBar {
  readonly onProgress: (p: LoadProgress) => void;
  stop(): void;
}

export function createLoadProgress(enabled = Boolean(process.stdout.isTTY && process.stderr.isTTY)): LoadProgressBar {
  if (!enabled) return { onProgress: () => {}, stop: () => {} };
  const bar = new SingleBar(
    { format: 'loading model [{bar}] {percentage}% | {stage}', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: (p) => {
      const value = Math.round(p.fraction * 100);
      if (!started) {
        bar.start(100, value, { stage: LABELS[p.stage] });
        started = true;
      } else bar.update(value, { stage: LABELS[p.stage] });
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}
