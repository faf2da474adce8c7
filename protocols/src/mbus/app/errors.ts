/**
 * The one error type the M-Bus application-layer decoder throws: it names the byte offset
 * (into the user data handed to the decoder, or into the whole frame for frame-level problems)
 * and a stable machine code, so callers can log and count failures without string matching.
 */
export class MbusDecodeError extends Error {
  override readonly name = 'MbusDecodeError';
  constructor(
    readonly code: string,
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
  }
}

/** The encoder's error: the record spec asks for something the codings cannot carry. */
export class MbusEncodeError extends Error {
  override readonly name = 'MbusEncodeError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
