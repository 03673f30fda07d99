/**
 * The typed failures of the socket context (modules in other processes). Like the errors of
 * `Errors.ts`, each is a `Data.TaggedError` carrying the fields a caller needs to react.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * Why a byte stream could not be cut into messages.
 *
 * - `BadMagic`, `BadVersion`: a frame header that does not start with `beeh` `v1`.
 * - `TooLarge`: a frame (or an NDJSON line) longer than the configured maximum; found from the header,
 *   before anything is allocated for the payload.
 * - `Empty`: a frame with a zero length (Go's `Validate` rejects it too).
 * - `InvalidUtf8`: a payload that is not UTF-8.
 * - `Truncated`: the stream ended in the middle of a frame or a line.
 *
 * @category models
 */
export type FrameFailure = "BadMagic" | "BadVersion" | "TooLarge" | "Empty" | "InvalidUtf8" | "Truncated"

/**
 * The frame decoder met bytes that are not a frame (or a line). The connection they came on is closed.
 *
 * @category errors
 */
export class FrameDecodeError extends Data.TaggedError("FrameDecodeError")<{
  readonly reason: FrameFailure
  readonly detail: string
}> {
  override get message(): string {
    return `bad frame (${this.reason}): ${this.detail}`
  }
}

/**
 * What was wrong with a peer's traffic.
 *
 * - `Frame`: the bytes are not frames (see `FrameDecodeError`).
 * - `Json`: a frame is not JSON.
 * - `Message`: the JSON is not a beehive message (`MessageDecodeError`).
 * - `Handshake`: the first message is not a valid handshake, or names a module that is not accepted.
 * - `Exchange`: the server's answer to the handshake is not a module exchange.
 * - `Timeout`: the handshake did not complete in time.
 *
 * @category models
 */
export type ProtocolFailure = "Frame" | "Json" | "Message" | "Handshake" | "Exchange" | "Timeout"

/**
 * A peer broke the protocol; its connection is closed. Other connections are not affected.
 *
 * @category errors
 */
export class SocketProtocolError extends Data.TaggedError("SocketProtocolError")<{
  readonly peer: string
  readonly reason: ProtocolFailure
  readonly detail: string
}> {
  override get message(): string {
    return `protocol error from ${this.peer} (${this.reason}): ${this.detail}`
  }
}

/**
 * The peer went silent (R-SOCK-20): with heartbeats agreed in the handshake, nothing came from it for
 * three heartbeat intervals, or a frame it started stayed unfinished past the frame timeout (a peer
 * that stopped, or one that trickles bytes). The connection is closed as if the peer had crashed.
 *
 * @category errors
 */
export class PeerUnresponsive extends Data.TaggedError("PeerUnresponsive")<{
  readonly peer: string
  readonly detail: string
}> {
  override get message(): string {
    return `peer ${this.peer} is unresponsive: ${this.detail}`
  }
}

/**
 * The connection ended (the peer closed it, it failed, or it was closed here). `detail` says how.
 *
 * @category errors
 */
export class ConnectionClosed extends Data.TaggedError("ConnectionClosed")<{
  readonly peer: string
  readonly detail: string
}> {
  override get message(): string {
    return `connection to ${this.peer} closed: ${this.detail}`
  }
}

/**
 * Connecting to a server failed (nobody listens, refused, TLS failure, timeout). `code` is the
 * system error code when there is one (`ECONNREFUSED`, `ENOENT`, ...).
 *
 * @category errors
 */
export class ConnectFailed extends Data.TaggedError("ConnectFailed")<{
  readonly address: string
  readonly code: string
  readonly detail: string
}> {
  override get message(): string {
    return `cannot connect to ${this.address} (${this.code}): ${this.detail}`
  }
}

/**
 * Why a server could not listen: `InUse` (another server answers on the address), `NotSocket`
 * (a unix socket path names a file that is not a socket; it is never removed), `InvalidAddress` (a
 * bad port, an empty host, a unix path too long; nothing was tried), or `Failed` (any other system
 * error, `detail` says which).
 *
 * @category models
 */
export type ListenFailure = "InUse" | "NotSocket" | "InvalidAddress" | "Unavailable" | "Failed"

/**
 * A socket server could not listen on its address.
 *
 * @category errors
 */
export class ListenFailed extends Data.TaggedError("ListenFailed")<{
  readonly address: string
  readonly reason: ListenFailure
  readonly detail: string
}> {
  override get message(): string {
    return `cannot listen on ${this.address} (${this.reason}): ${this.detail}`
  }
}

/**
 * The server answered a handshake with an error response (the module name is not accepted, or is
 * served here already). The client retries with backoff; the reason is what the server said.
 *
 * @category errors
 */
export class HandshakeRejected extends Data.TaggedError("HandshakeRejected")<{
  readonly module: string
  readonly peer: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.peer} rejected module "${this.module}": ${this.reason}`
  }
}

/**
 * The socket configuration is missing or invalid. `source` names where it came from (a file path,
 * the `SOCKET_MODULE_CONFIG` variable, or "code"), or is "config" for what a configuration already read
 * lacks (a module's client entry); `path` the offending entry and key (`[1].address`), `""` for the
 * whole document.
 *
 * @category errors
 */
export class SocketConfigError extends Data.TaggedError("SocketConfigError")<{
  readonly source: string
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return this.path === ""
      ? `socket config ${this.source}: ${this.reason}`
      : `socket config ${this.source} at ${this.path}: ${this.reason}`
  }
}
