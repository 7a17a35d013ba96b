// A per-request restriction on which token may come next (structured output). The engine only
// asks for a mask before sampling and reports each token it appends; what produces the mask (a
// grammar matcher) lives outside the engine. Sequences without one pay nothing.
export interface TokenConstraint {
  /**
   * Allowed next tokens as a bitmask: bit (id & 31) of word (id >> 5) set = allowed; ids past the
   * mask are not allowed. End-of-sequence ids are set only where the output may end.
   */
  nextTokenMask(): Promise<Int32Array>;
  /** Advances the state by one appended token; false if the token was not allowed. */
  accept(tokenId: number): boolean;
  /** Frees the state when the request ends, however it ends; later calls do nothing. */
  dispose(): void;
}
