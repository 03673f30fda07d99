/**
 * Beehive's frame format, the one Go beehive's `packer` defines: a 12-byte header (magic `beeh`,
 * version `v1`, reserved `rv`, big-endian 32-bit payload length) followed by the payload, the message
 * JSON without a trailing newline. The decoder is incremental: it accepts the byte stream cut at any
 * place (split and coalesced reads), checks the length from the header against the maximum before it
 * allocates anything for the payload, and never throws.
 *
 * @since 0.1.0
 */
import { FrameDecodeError } from "../../model/SocketErrors.ts"
import type { MessageDecoder } from "./Framing.ts"

/** Bytes in a frame header. @category constants */
export const FrameHeaderBytes = 12

/** The largest payload accepted unless configured otherwise: 16 MiB. @category constants */
export const DefaultMaxFrameBytes = 16 * 1024 * 1024

/** `beeh` `v1` `rv`: the fixed part of every header. @category constants */
export const FrameHeaderPrefix: Uint8Array = Uint8Array.from([0x62, 0x65, 0x65, 0x68, 0x76, 0x31, 0x72, 0x76])

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/**
 * Decodes UTF-8, or returns a `FrameDecodeError` ("InvalidUtf8"). Never throws.
 *
 * @category decoding
 */
export const decodeUtf8 = (bytes: Uint8Array): string | FrameDecodeError => {
  try {
    return utf8.decode(bytes)
  } catch {
    return new FrameDecodeError({ reason: "InvalidUtf8", detail: `payload of ${bytes.length} bytes is not UTF-8` })
  }
}

/**
 * The frame for a JSON text: header and payload in one buffer. Never blocks, never fails (the caller
 * checks the size against the peer's maximum).
 *
 * @category encoding
 */
export const encodeFrame = (json: string): Uint8Array => {
  const length = Buffer.byteLength(json)
  const frame = Buffer.allocUnsafe(FrameHeaderBytes + length)
  frame.set(FrameHeaderPrefix, 0)
  frame.writeUInt32BE(length, 8)
  frame.write(json, FrameHeaderBytes, "utf8")
  return frame
}

/**
 * The UTF-8 size of `json` when it is larger than a peer accepts as a payload, else `undefined`.
 * Counts bytes only when the text could be too large: three bytes per UTF-16 unit bound its size.
 *
 * @category encoding
 */
export const oversizeBytes = (json: string, maxFrameBytes: number): number | undefined => {
  if (json.length * 3 <= maxFrameBytes) return undefined
  const bytes = Buffer.byteLength(json)
  return bytes > maxFrameBytes ? bytes : undefined
}

const checkHeader = (header: Uint8Array, maxFrameBytes: number): number | FrameDecodeError => {
  for (let i = 0; i < 4; i++) {
    if (header[i] !== FrameHeaderPrefix[i]) {
      return new FrameDecodeError({ reason: "BadMagic", detail: `header starts with ${hex(header.subarray(0, 4))}` })
    }
  }
  if (header[4] !== 0x76 || header[5] !== 0x31) {
    return new FrameDecodeError({ reason: "BadVersion", detail: `version bytes ${hex(header.subarray(4, 6))}` })
  }
  // Reserved bytes 6..7 are not checked, as Go's `Validate` does not check them.
  const size =
    (((header[8] as number) << 24) |
      ((header[9] as number) << 16) |
      ((header[10] as number) << 8) |
      (header[11] as number)) >>>
    0
  if (size === 0) return new FrameDecodeError({ reason: "Empty", detail: "frame of length 0" })
  if (size > maxFrameBytes) {
    return new FrameDecodeError({ reason: "TooLarge", detail: `frame of ${size} bytes exceeds ${maxFrameBytes}` })
  }
  return size
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

/** The buffer first reserved for an unfinished frame, whatever its header claims. */
const initialPayloadBytes = 64 * 1024

/**
 * An incremental decoder of beehive frames. After the first error it is poisoned: every later call
 * returns that error and delivers nothing.
 *
 * @category decoding
 */
export class FrameDecoder implements MessageDecoder {
  maxFrameBytes: number
  private readonly header = new Uint8Array(FrameHeaderBytes)
  private headerFill = 0
  // The payload of an unfinished frame: its buffer grows with the bytes received (doubling, up to the
  // size the header claims), so a header that claims much and sends little reserves little (R-SOCK-2).
  private payload: Uint8Array | undefined = undefined
  private payloadSize = 0
  private payloadFill = 0
  private failure: FrameDecodeError | undefined = undefined

  constructor(maxFrameBytes: number = DefaultMaxFrameBytes) {
    this.maxFrameBytes = maxFrameBytes
  }

  /** Sets the largest frame accepted from now on (a server raises it after the handshake). */
  setLimit(bytes: number): void {
    this.maxFrameBytes = bytes
  }

  /** The bytes reserved for the unfinished frame's payload (0 without one): what a peer costs in memory. */
  get reservedBytes(): number {
    return this.payload?.length ?? 0
  }

  /** Whether bytes of an unfinished frame are buffered. */
  get hasPartial(): boolean {
    return this.headerFill > 0 || this.payload !== undefined
  }

  feed(chunk: Uint8Array, onText: (text: string) => void): FrameDecodeError | undefined {
    if (this.failure !== undefined) return this.failure
    let offset = 0
    while (offset < chunk.length) {
      if (this.payload !== undefined) {
        const n = Math.min(this.payloadSize - this.payloadFill, chunk.length - offset)
        if (this.payloadFill + n > this.payload.length) {
          const grown = new Uint8Array(
            Math.min(this.payloadSize, Math.max(this.payloadFill + n, this.payload.length * 2))
          )
          grown.set(this.payload.subarray(0, this.payloadFill))
          this.payload = grown
        }
        this.payload.set(chunk.subarray(offset, offset + n), this.payloadFill)
        this.payloadFill += n
        offset += n
        if (this.payloadFill < this.payloadSize) return undefined
        const complete = this.payload
        this.payload = undefined
        const failed = this.emit(complete, onText)
        if (failed !== undefined) return failed
        continue
      }
      let size: number | FrameDecodeError
      if (this.headerFill === 0 && chunk.length - offset >= FrameHeaderBytes) {
        size = checkHeader(chunk.subarray(offset, offset + FrameHeaderBytes), this.maxFrameBytes)
        offset += FrameHeaderBytes
      } else {
        const n = Math.min(FrameHeaderBytes - this.headerFill, chunk.length - offset)
        this.header.set(chunk.subarray(offset, offset + n), this.headerFill)
        this.headerFill += n
        offset += n
        if (this.headerFill < FrameHeaderBytes) return undefined
        this.headerFill = 0
        size = checkHeader(this.header, this.maxFrameBytes)
      }
      if (typeof size !== "number") return this.fail(size)
      if (chunk.length - offset >= size) {
        // The whole payload is in this chunk: decode it in place, no copy.
        const failed = this.emit(chunk.subarray(offset, offset + size), onText)
        offset += size
        if (failed !== undefined) return failed
        continue
      }
      this.payload = new Uint8Array(Math.min(size, initialPayloadBytes))
      this.payloadSize = size
      this.payloadFill = 0
    }
    return undefined
  }

  end(_onText: (text: string) => void): FrameDecodeError | undefined {
    if (this.failure !== undefined) return this.failure
    if (!this.hasPartial) return undefined
    const have = this.payload === undefined ? this.headerFill : FrameHeaderBytes + this.payloadFill
    const want = this.payload === undefined ? FrameHeaderBytes : FrameHeaderBytes + this.payloadSize
    return this.fail(
      new FrameDecodeError({ reason: "Truncated", detail: `stream ended after ${have} of ${want} bytes` })
    )
  }

  private emit(bytes: Uint8Array, onText: (text: string) => void): FrameDecodeError | undefined {
    const text = decodeUtf8(bytes)
    if (typeof text !== "string") return this.fail(text)
    onText(text)
    return undefined
  }

  private fail(error: FrameDecodeError): FrameDecodeError {
    this.failure = error
    this.payload = undefined
    return error
  }
}
