// Content hashes of full KV blocks, chained so a block's hash stands for its whole prefix
// (vLLM's hash(parent_hash, block_token_ids, extras)).
//
// Choice: SHA-256 from node:crypto. A block is hashed once when it fills (every 64 tokens by
// default), about a microsecond each, which is nothing next to a forward step, and a
// cryptographic hash means one tenant cannot craft prompts that collide with another's cached
// prefix (vLLM's advice for multi-tenant serving). The block manager still compares token ids on
// every hit, so even a collision could only cost a cache miss, never wrong KV.
import { createHash } from 'node:crypto';

const DOMAIN = 'tessera-kv-block-v1';

/**
 * Hash of one full block: the first block mixes in the cache salt (tenant isolation), later blocks
 * their parent's hash. `tokens` is the block's token ids (always blockSize of them).
 */
export function hashBlock(parent: string | null, tokens: ArrayLike<number>, salt = ''): string {
  const h = createHash('sha256');
  if (parent === null) h.update(`${DOMAIN}\0${salt}\0`);
  else h.update(Buffer.from(parent, 'base64'));
  const ids = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) ids[i] = tokens[i]!;
  h.update(new Uint8Array(ids.buffer));
  return h.digest('base64');
}
