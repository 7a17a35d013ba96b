// GPT-2's bytes_to_unicode, the alphabet of byte-level BPE vocabularies: printable bytes stand for
// themselves, the others for U+0100 and up, in byte order.
function table(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) chars.push(String.fromCharCode(printable(b) ? b : 256 + extra++));
  return chars;
}

/** the character that spells byte b */
export const BYTE_TO_UNICODE: readonly string[] = Object.freeze(table());

/** the byte a character spells */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));
