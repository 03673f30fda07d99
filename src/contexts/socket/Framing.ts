/**
 * How messages are cut out of a byte stream: beehive frames (`"frame"`, the default), newline-delimited
 * JSON (`"ndjson"`, what Go's raw writer produces), or, on a server, `"auto"`: the first byte of the
 * connection decides (`b` starts a frame header, anything else a JSON line), and replies use the same
 * framing. Over SOCK_SEQPACKET (`"packet"`, Go's `unixpacket`) each packet is one message, the JSON and
 * a newline, as Go's raw writer sends it (R-SOCK-30).
 *
 * @since 0.1.0
 */
import type { FrameDecodeError } from "../../model/SocketErrors.ts"
import { encodeFrame, FrameDecoder, FrameHeaderBytes, FrameHeaderPrefix } from "./FrameCodec.ts"
import { encodeLine, LineDecoder } from "./LineCodec.ts"
import { PacketDecoder } from "./PacketCodec.ts"

/** A framing a stream connection speaks, as configured. @category models */
export type StreamFraming = "frame" | "ndjson"

/** A framing a connection speaks: a stream's, or a SOCK_SEQPACKET socket's packets. @category models */
export type Framing = StreamFraming | "packet"

/** A stream framing, or detection from the first byte (servers). @category models */
export type FramingOption = StreamFraming | "auto"

/**
 * An incremental decoder of one connection's byte stream. It never throws; after an error it is poisoned.
 *
 * @category models
 */
export interface MessageDecoder {
  /** Takes the next bytes and calls `onText` for every complete payload, in order. */
  feed(chunk: Uint8Array, onText: (text: string) => void): FrameDecodeError | undefined
  /**
   * The stream ended: delivers what a complete trailing unit holds, or fails if it ended inside one.
   * Ending again delivers nothing more, and fails as the first end did.
   */
  end(onText: (text: string) => void): FrameDecodeError | undefined
  /** Sets the largest unit (frame, line) accepted from now on. */
  setLimit(bytes: number): void
  /** Whether bytes of an unfinished unit are buffered. */
  readonly hasPartial: boolean
}

/**
 * The encoder of a framing: a JSON text to the bytes that carry it (for `"packet"`, one packet's bytes).
 *
 * @category encoding
 */
export const encoderFor = (framing: Framing): ((json: string) => Uint8Array) =>
  framing === "frame" ? encodeFrame : encodeLine

/**
 * Bytes a framing adds around each JSON text.
 *
 * @category getters
 */
export const overheadOf = (framing: Framing): number => (framing === "frame" ? FrameHeaderBytes : 1)

/**
 * A decoder that picks its framing from the first byte it sees; `framing` tells which, once known.
 *
 * @category decoding
 */
export class AutoDecoder implements MessageDecoder {
  private maxFrameBytes: number
  private inner: MessageDecoder | undefined = undefined
  framing: Framing | undefined = undefined

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes
  }

  feed(chunk: Uint8Array, onText: (text: string) => void): FrameDecodeError | undefined {
    if (this.inner === undefined) {
      if (chunk.length === 0) return undefined
      this.framing = chunk[0] === 0x62 ? "frame" : "ndjson"
      this.inner = this.framing === "frame" ? new FrameDecoder(this.maxFrameBytes) : new LineDecoder(this.maxFrameBytes)
    }
    return this.inner.feed(chunk, onText)
  }

  get hasPartial(): boolean {
    return this.inner?.hasPartial ?? false
  }

  end(onText: (text: string) => void): FrameDecodeError | undefined {
    return this.inner?.end(onText)
  }

  setLimit(bytes: number): void {
    this.maxFrameBytes = bytes
    this.inner?.setLimit(bytes)
  }
}

/**
 * A fresh decoder for a framing, or one that detects a stream's framing (`"auto"`).
 *
 * @category constructors
 */
export const makeDecoder = (framing: Framing | "auto", maxFrameBytes: number): MessageDecoder =>
  framing === "frame"
    ? new FrameDecoder(maxFrameBytes)
    : framing === "ndjson"
      ? new LineDecoder(maxFrameBytes)
      : framing === "packet"
        ? new PacketDecoder(maxFrameBytes)
        : new AutoDecoder(maxFrameBytes)

/**
 * Many JSON texts framed into one buffer, for one write: one allocation, no intermediate copies. Not
 * for `"packet"`, where each message is a write of its own (`encoderFor`).
 *
 * @category encoding
 */
export const encodeBatch = (framing: Framing, jsons: ReadonlyArray<string>): Uint8Array => {
  const lengths = new Array<number>(jsons.length)
  const overhead = overheadOf(framing)
  let total = 0
  for (let i = 0; i < jsons.length; i++) {
    const length = Buffer.byteLength(jsons[i] as string)
    lengths[i] = length
    total += length + overhead
  }
  const out = Buffer.allocUnsafe(total)
  let offset = 0
  for (let i = 0; i < jsons.length; i++) {
    const length = lengths[i] as number
    if (framing === "frame") {
      out.set(FrameHeaderPrefix, offset)
      out.writeUInt32BE(length, offset + 8)
      offset += FrameHeaderBytes
      out.write(jsons[i] as string, offset, length)
      offset += length
    } else {
      out.write(jsons[i] as string, offset, length)
      offset += length
      out[offset++] = 0x0a
    }
  }
  return out
}
