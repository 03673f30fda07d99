/**
 * Go beehive's raw mode over SOCK_SEQPACKET (R-SOCK-30): one message per packet. Go's raw writer sends
 * `json.Encoder` output (the JSON and a newline) in one write, and its raw reader takes one read as one
 * message, so a packet is exactly one message's JSON, a trailing newline allowed. Two messages in one
 * packet are not JSON (Go fails them too: "invalid character '{' after top-level value").
 *
 * @since 0.3.0
 */
import { FrameDecodeError } from "../../model/SocketErrors.ts"
import { DefaultMaxFrameBytes, decodeUtf8 } from "./FrameCodec.ts"
import type { MessageDecoder } from "./Framing.ts"

/**
 * A decoder of packets: each chunk the connection reads is one packet, and one payload. A packet
 * larger than the limit fails with `TooLarge` (the transport reads one byte more than the limit, so
 * a packet the kernel truncated is seen as too large, never decoded cut), an empty one with `Empty`.
 * Never throws; after an error it is poisoned.
 *
 * @category decoding
 */
export class PacketDecoder implements MessageDecoder {
  maxPacketBytes: number
  private failure: FrameDecodeError | undefined = undefined

  constructor(maxPacketBytes: number = DefaultMaxFrameBytes) {
    this.maxPacketBytes = maxPacketBytes
  }

  /** Sets the largest packet accepted from now on (a server raises it after the handshake). */
  setLimit(bytes: number): void {
    this.maxPacketBytes = bytes
  }

  /** A packet is never partial. */
  get hasPartial(): boolean {
    return false
  }

  feed(packet: Uint8Array, onText: (text: string) => void): FrameDecodeError | undefined {
    if (this.failure !== undefined) return this.failure
    if (packet.length === 0) return this.fail(new FrameDecodeError({ reason: "Empty", detail: "an empty packet" }))
    if (packet.length > this.maxPacketBytes)
      return this.fail(
        new FrameDecodeError({
          reason: "TooLarge",
          detail: `packet of ${packet.length}+ bytes exceeds ${this.maxPacketBytes}`
        })
      )
    const text = decodeUtf8(packet)
    if (typeof text !== "string") return this.fail(text)
    onText(text)
    return undefined
  }

  end(): FrameDecodeError | undefined {
    return this.failure
  }

  private fail(error: FrameDecodeError): FrameDecodeError {
    this.failure = error
    return error
  }
}
