// Line-level faults a device can be switched into at run time (the model-level ones — stuck register,
// rollover, reverse flow, replacement, clock drift — live in the building's meter model).
export interface LineFaults {
  /** Does not answer at all (dead meter, cut wire). */
  silent?: boolean;
  /** Answers with a corrupted check sum (CRC / M-Bus checksum). */
  badChecksum?: boolean;
  /**
   * Falls silent this long in the middle of each answer (after half its bytes), as meters do whose
   * firmware fetches data while sending; a master must wait for the length the frame announced.
   */
  pauseMidAnswerMs?: number;
}

/** Where and how long an answer pauses, from a device's faults (none for a one-byte answer). */
export function answerPause(faults: LineFaults | undefined, length: number): { afterBytes: number; ms: number } | undefined {
  const ms = faults?.pauseMidAnswerMs ?? 0;
  if (ms <= 0 || length < 2) return undefined;
  return { afterBytes: Math.floor(length / 2), ms };
}
