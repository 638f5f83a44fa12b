// The one error a checkpoint reader throws for a bad file. A file is input from anywhere, so
// every problem with its bytes is this error (never a TypeError or RangeError from deep inside),
// with a code a program can branch on, and the place in the file where that is known.

/**
 * What is wrong with a file, as a stable code.
 *
 * Container (safetensors) codes:
 * - `TRUNCATED`: shorter than its 8-byte length field, or the header runs past the end.
 * - `HEADER_TOO_LARGE`: the declared header length is above the limit (100 MB by default).
 * - `HEADER_ENCODING`: the header is not UTF-8.
 * - `HEADER_JSON`: the header is not a JSON object (syntax, not starting with `{`, too deep,
 *   a number that is not an integer).
 * - `DUPLICATE_KEY`: a key appears twice in one JSON object.
 * - `FORBIDDEN_KEY`: a tensor name or metadata key that is `__proto__`, `constructor` or
 *   `prototype`.
 * - `TENSOR_ENTRY`: a tensor entry that is not `{ dtype, shape, data_offsets }` with the
 *   right types.
 * - `DTYPE`: a dtype this reader does not know.
 * - `SHAPE`: a shape that is not a list of non-negative safe integers, or whose element count
 *   overflows.
 * - `SIZE_MISMATCH`: a tensor's byte range is not its element count times its dtype size.
 * - `OUT_OF_BOUNDS`: a byte range that ends past the data, or ends before it begins.
 * - `OVERLAP`: two tensors share bytes.
 * - `GAP`: bytes of the data that no tensor covers (the format forbids holes).
 * - `METADATA`: `__metadata__` that is not an object of strings.
 * - `NON_FINITE`: a NaN or ±Infinity where finite numbers are required (see `checkFinite`).
 *
 * Model checkpoint codes (`loadCheckpoint`, `importPyTorch`):
 * - `NOT_A_CHECKPOINT`: the metadata do not name this library's format (another safetensors
 *   file; a PyTorch export is read with `importPyTorch`).
 * - `UNSUPPORTED_VERSION`: written in a newer format version than this reader knows.
 * - `METADATA_FIELD`: a metadata entry that is missing or whose text is not valid JSON (or not
 *   the expected shape, or uses a `__proto__`, `constructor` or `prototype` key).
 * - `CONFIG`: a model config the model itself refuses (its own validation, the message quoted).
 * - `VOCAB`: a vocabulary that is invalid or whose size differs from the config's `vocabSize`.
 * - `MISSING_TENSOR` / `UNEXPECTED_TENSOR`: a tensor the config needs is absent, or one that no
 *   part of the checkpoint uses is present.
 * - `TENSOR_DTYPE`: a tensor of another dtype than the model's (F32 for float32, F64 for float64).
 * - `TENSOR_SHAPE`: a tensor whose shape disagrees with the config.
 * - `GENERATOR`: a generator state that is not four 32-bit words and a spare.
 * - `OPTIMIZER`: optimiser metadata or buffers its class refuses.
 * - `SCHEDULE`: a schedule description or state that its factory refuses.
 * - `TRAINING`: a training state whose structure or tensor references are invalid.
 */
export type CheckpointFormatErrorCode =
  | 'TRUNCATED'
  | 'HEADER_TOO_LARGE'
  | 'HEADER_ENCODING'
  | 'HEADER_JSON'
  | 'DUPLICATE_KEY'
  | 'FORBIDDEN_KEY'
  | 'TENSOR_ENTRY'
  | 'DTYPE'
  | 'SHAPE'
  | 'SIZE_MISMATCH'
  | 'OUT_OF_BOUNDS'
  | 'OVERLAP'
  | 'GAP'
  | 'METADATA'
  | 'NON_FINITE'
  | 'NOT_A_CHECKPOINT'
  | 'UNSUPPORTED_VERSION'
  | 'METADATA_FIELD'
  | 'CONFIG'
  | 'VOCAB'
  | 'MISSING_TENSOR'
  | 'UNEXPECTED_TENSOR'
  | 'TENSOR_DTYPE'
  | 'TENSOR_SHAPE'
  | 'GENERATOR'
  | 'OPTIMIZER'
  | 'SCHEDULE'
  | 'TRAINING';

/** Where in the file a problem is, when known. */
export interface CheckpointFormatErrorLocation {
  /** The tensor concerned. */
  tensor?: string;
  /** The byte offset in the file (from its first byte, the length field included). */
  offset?: number;
}

/**
 * A file that is not a valid checkpoint: the message says what is wrong and where (tensor name,
 * byte offset); `code` says the same for a program.
 *
 * @example
 * try {
 *   decodeSafetensors(new Uint8Array([1, 2, 3]));
 * } catch (error) {
 *   if (error instanceof CheckpointFormatError) console.log(error.code); // 'TRUNCATED'
 * }
 */
export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError';
  /** What is wrong, as a stable code. */
  readonly code: CheckpointFormatErrorCode;
  /** The tensor concerned, when there is one. */
  readonly tensor: string | undefined;
  /** The byte offset in the file where the problem is, when known. */
  readonly offset: number | undefined;

  constructor(code: CheckpointFormatErrorCode, message: string, where: CheckpointFormatErrorLocation = {}) {
    super(message);
    this.code = code;
    this.tensor = where.tensor;
    this.offset = where.offset;
  }
}
