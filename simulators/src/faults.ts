// Line-level faults a device can be switched into at run time (the model-level ones — stuck register,
// rollover, reverse flow, replacement, clock drift — live in the building's meter model).
export interface LineFaults {
  /** Does not answer at all (dead meter, cut wire). */
  silent?: boolean;
  /** Answers with a corrupted check sum (CRC / M-Bus checksum). */
  badChecksum?: boolean;
}
