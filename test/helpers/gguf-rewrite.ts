// Test support: a GGUF file with its metadata edited and its tensors copied unchanged (e.g. a
// converted model given a real tokenizer, or a vocabulary given broken tokenizer keys).
import { GgufFile } from '../../src/formats/gguf.js';
import type { GgufValue } from '../../src/formats/gguf.js';
import { writeGguf } from '../../src/formats/gguf-writer.js';

export type GgufMetadataEdit = (metadata: Map<string, GgufValue>) => void;

/** Writes `to` as a copy of `from` whose metadata `edit` changed (in place); `from` may equal `to`. */
export async function rewriteGgufMetadata(from: string, to: string, edit: GgufMetadataEdit): Promise<void> {
  const file = GgufFile.open(from);
  try {
    const metadata = new Map(file.metadata);
    edit(metadata);
    const tensors = [...file.tensors.values()].map((t) => ({ name: t.name, type: t.type.name, shape: t.shape }));
    await writeGguf(to, { metadata, tensors, data: (t) => file.read(t.name), alignment: file.alignment });
  } finally {
    file.close();
  }
}
