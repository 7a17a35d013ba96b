// Loaded with `node --import <this file>` into a benchmarked child process: when the process
// exits it writes its peak resident set size (VmHWM) and its CPU time to stderr
// (`__BENCH_PEAK_RSS_BYTES__ <n>`, `__BENCH_CPU_SECONDS__ <s>`), so that an engine's memory and
// CPU use are measured without changing the engine.
import { writeSync } from 'node:fs';
import { CPU_TIME_MARKER, PEAK_RSS_MARKER, peakRssBytes } from './bench-util.js';

process.on('exit', () => {
  const rss = peakRssBytes();
  const cpu = process.cpuUsage();
  writeSync(2, `\n${rss !== undefined ? `${PEAK_RSS_MARKER} ${rss}\n` : ''}${CPU_TIME_MARKER} ${(cpu.user + cpu.system) / 1e6}\n`);
});
