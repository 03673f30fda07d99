/**
 * Newline-delimited JSON: one message JSON per line, as Go beehive's raw writer produces it
 * (`json.Encoder`: compact JSON and `"\n"` in one write). The decoder is incremental: lines split across
 * reads are joined, reads holding several lines are cut, `\r\n` endings and blank lines are accepted,
 * and a line longer than the maximum fails as soon as its bytes exceed it, before it is joined.
 *
 * @since 0.1.0
 */
import { FrameDecodeError } from "../../model/SocketErrors.ts"
import { DefaultMaxFrameBytes, decodeUtf8 } from "./FrameCodec.ts"
import type { MessageDecoder } from "./Framing.ts"

const newline = 0x0a
const carriageReturn = 0x0d

/**
 * A JSON text as a line: the text and a newline, UTF-8. Never fails.
 *
 * @category encoding
 */
export const encodeLine = (json: string): Uint8Array => {
  const length = Buffer.byteLength(json)
  const line = Buffer.allocUnsafe(length + 1)
  line.write(json, 0, "utf8")
  line[length] = newline
  return line
}

const isBlank = (text: string): boolean => text.trim() === ""

/**
 * An incremental NDJSON decoder. After the first error it is poisoned: every later call returns that
 * error and delivers nothing.
 *
 * @category decoding
 */
export class LineDecoder implements MessageDecoder {
  maxLineBytes: number
  private pending: Array<Uint8Array> = []
  private pendingBytes = 0
  private failure: FrameDecodeError | undefined = undefined

  constructor(maxLineBytes: number = DefaultMaxFrameBytes) {
    this.maxLineBytes = maxLineBytes
  }

  /** Sets the longest line accepted from now on (a server raises it after the handshake). */
  setLimit(bytes: number): void {
    this.maxLineBytes = bytes
  }

  get hasPartial(): boolean {
    return this.pendingBytes > 0
  }

  feed(chunk: Uint8Array, onText: (text: string) => void): FrameDecodeError | undefined {
    if (this.failure !== undefined) return this.failure
    let start = 0
    while (start < chunk.length) {
      const end = chunk.indexOf(newline, start)
      if (end === -1) {
        this.pendingBytes += chunk.length - start
        if (this.pendingBytes > this.maxLineBytes) return this.tooLarge(this.pendingBytes)
        this.pending.push(chunk.subarray(start))
        return undefined
      }
      let line = chunk.subarray(start, end)
      if (this.pending.length > 0) {
        const size = this.pendingBytes + line.length
        if (size > this.maxLineBytes) return this.tooLarge(size)
        line = Buffer.concat([...this.pending, line], size)
        this.pending = []
        this.pendingBytes = 0
      } else if (line.length > this.maxLineBytes) {
        return this.tooLarge(line.length)
      }
      start = end + 1
      const failed = this.emit(line, onText)
      if (failed !== undefined) return failed
    }
    return undefined
  }

  /** A last line without a newline is a message like the others. */
  end(onText: (text: string) => void): FrameDecodeError | undefined {
    if (this.failure !== undefined) return this.failure
    // Nothing pending is a line of no bytes: blank, so nothing is handed on.
    const line = Buffer.concat(this.pending, this.pendingBytes)
    this.pending = []
    this.pendingBytes = 0
    return this.emit(line, onText)
  }

  private emit(line: Uint8Array, onText: (text: string) => void): FrameDecodeError | undefined {
    const text = decodeUtf8(line[line.length - 1] === carriageReturn ? line.subarray(0, -1) : line)
    if (typeof text !== "string") return this.fail(text)
    if (!isBlank(text)) onText(text)
    return undefined
  }

  private tooLarge(size: number): FrameDecodeError {
    return this.fail(
      new FrameDecodeError({ reason: "TooLarge", detail: `line of ${size}+ bytes exceeds ${this.maxLineBytes}` })
    )
  }

  private fail(error: FrameDecodeError): FrameDecodeError {
    this.failure = error
    this.pending = []
    this.pendingBytes = 0
    return error
  }
}
