// The OpenAI-compatible server:
//
//   const server = new TesseraServer({ host: '127.0.0.1', port: 8000, apiKeys: ['sk-...'] });
//   await server.listen();                    // /health answers 503 "loading" until setModel
//   server.setModel(await loadTextModel(dir));
//   process.on('SIGTERM', () => server.shutdown());
export { ApiError, toApiError } from './api-error.js';
export type { ErrorBody } from './api-error.js';
export type { ResolvedServerOptions } from './handler-context.js';
export { ServerMetrics } from './metrics.js';
export { DEFAULT_SERVER_OPTIONS, TesseraServer } from './server.js';
export type { ServerOptions, ServerState } from './server.js';
