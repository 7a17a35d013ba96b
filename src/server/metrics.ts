// Prometheus metrics under vLLM's names, so existing dashboards work. The text exposition format
// is small enough to write by hand (https://prometheus.io/docs/instrumenting/exposition_formats/),
// which saves a dependency. Latencies are seconds on a monotonic clock; TTFT counts from arrival.
import type { EngineStats } from '../engine/index.js';

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const TOKEN_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    const i = this.buckets.findIndex((b) => v <= b);
    if (i >= 0) this.counts[i]!++;
  }

  render(labels: string): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    let cumulative = 0;
    this.buckets.forEach((b, i) => {
      cumulative += this.counts[i]!;
      lines.push(`${this.name}_bucket{${labels},le="${b}"} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket{${labels},le="+Inf"} ${this.count}`, `${this.name}_sum{${labels}} ${this.sum}`, `${this.name}_count{${labels}} ${this.count}`);
    return lines;
  }
}

/** Observations for one generated choice (one engine request). */
export interface ChoiceObserver {
  token(): void;
  finish(reason: 'stop' | 'length' | 'abort', promptTokens: number, completionTokens: number): void;
}

export class ServerMetrics {
  readonly ttft = new Histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', LATENCY_BUCKETS);
  readonly itl = new Histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', LATENCY_BUCKETS);
  readonly e2e = new Histogram('vllm:e2e_request_latency_seconds', 'Histogram of end to end request latency in seconds.', LATENCY_BUCKETS);
  readonly promptTokens = new Histogram('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', TOKEN_BUCKETS);
  readonly generationTokens = new Histogram('vllm:request_generation_tokens', 'Number of generation tokens processed.', TOKEN_BUCKETS);
  readonly success: Record<'stop' | 'length' | 'abort', number> = { stop: 0, length: 0, abort: 0 };
  promptTokensTotal = 0;
  generationTokensTotal = 0;
  /** HTTP responses by status code */
  readonly httpResponses = new Map<number, number>();

  constructor(private readonly modelName: () => string) {}

  /** Starts observing a choice that arrived at `arrival` (performance.now() ms). */
  choice(arrival: number): ChoiceObserver {
    let last: number | null = null;
    return {
      token: () => {
        const now = performance.now();
        if (last === null) this.ttft.observe((now - arrival) / 1000);
        else this.itl.observe((now - last) / 1000);
        last = now;
        this.generationTokensTotal++;
      },
      finish: (reason, promptTokens, completionTokens) => {
        this.e2e.observe((performance.now() - arrival) / 1000);
        this.success[reason]++;
        // A request aborted before its prefill never processed its prompt.
        if (last !== null) {
          this.promptTokensTotal += promptTokens;
          this.promptTokens.observe(promptTokens);
        }
        this.generationTokens.observe(completionTokens);
      },
    };
  }

  response(status: number): void {
    this.httpResponses.set(status, (this.httpResponses.get(status) ?? 0) + 1);
  }

  render(stats: EngineStats | null): string {
    const labels = `model_name="${escapeLabel(this.modelName())}"`;
    const lines: string[] = [];
    const metric = (type: 'gauge' | 'counter', name: string, help: string, value: number) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${labels}} ${value}`);
    metric('gauge', 'vllm:num_requests_running', 'Number of requests in model execution batches.', stats?.running ?? 0);
    metric('gauge', 'vllm:num_requests_waiting', 'Number of requests waiting to be processed.', stats?.waiting ?? 0);
    metric('gauge', 'vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', stats?.kvCacheUsage ?? 0);
    // Deprecated in vLLM, kept so older dashboards still find it.
    metric('gauge', 'vllm:gpu_cache_usage_perc', 'KV-cache usage (deprecated alias of vllm:kv_cache_usage_perc).', stats?.kvCacheUsage ?? 0);
    // Block counts (not only the usage fraction) so a soak can assert that nothing leaked.
    lines.push('# HELP tessera:kv_cache_blocks KV-cache blocks by state (free includes prefix-cached blocks no request holds).', '# TYPE tessera:kv_cache_blocks gauge');
    const free = stats?.freeBlocks ?? 0;
    lines.push(`tessera:kv_cache_blocks{${labels},state="used"} ${(stats?.numBlocks ?? 0) - free}`, `tessera:kv_cache_blocks{${labels},state="free"} ${free}`);
    metric('counter', 'tessera:engine_steps_total', 'Engine steps (forward passes of the batch) run.', stats?.stepsTotal ?? 0);
    metric('counter', 'vllm:num_preemptions_total', 'Cumulative number of preemptions from the engine.', stats?.preemptionsTotal ?? 0);
    metric('counter', 'vllm:prefix_cache_queries_total', 'Prefix cache queries, in terms of number of queried tokens.', stats?.prefixCacheQueries ?? 0);
    metric('counter', 'vllm:prefix_cache_hits_total', 'Prefix cache hits, in terms of number of cached tokens.', stats?.prefixCacheHits ?? 0);
    metric('counter', 'vllm:prompt_tokens_total', 'Number of prefill tokens processed.', this.promptTokensTotal);
    metric('counter', 'vllm:generation_tokens_total', 'Number of generation tokens processed.', this.generationTokensTotal);
    lines.push('# HELP vllm:request_success_total Count of successfully processed requests.', '# TYPE vllm:request_success_total counter');
    for (const [reason, n] of Object.entries(this.success)) lines.push(`vllm:request_success_total{${labels},finished_reason="${reason}"} ${n}`);
    for (const h of [this.ttft, this.itl, this.e2e, this.promptTokens, this.generationTokens]) lines.push(...h.render(labels));
    lines.push('# HELP tessera:http_responses_total HTTP responses by status code.', '# TYPE tessera:http_responses_total counter');
    for (const [status, n] of [...this.httpResponses].sort((a, b) => a[0] - b[0])) lines.push(`tessera:http_responses_total{code="${status}"} ${n}`);
    return lines.join('\n') + '\n';
  }
}

function escapeLabel(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
