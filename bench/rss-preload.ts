// Loaded with `node --import <this file>` into a benchmarked child process: when the process
// exits it writes its peak resident set size (VmHWM) to stderr as `__BENCH_PEAK_RSS_BYTES__ <n>`,
// so that an engine's memory is measured without changing the engine.
import { writeSync } from 'node:fs';
import { PEAK_RSS_MARKER, peakRssBytes } from './bench-util.js';

process.on('exit', () => {
  const rss = peakRssBytes();
  if (rss !== undefined) writeSync(2, `\n${PEAK_RSS_MARKER} ${rss}\n`);
});
