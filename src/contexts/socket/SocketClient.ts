/**
 * A client of the socket context (`SocketContextService.connect`): its options and what it tells of
 * its connection. The client role itself is in `Connect.ts`.
 *
 * @since 0.1.0
 */
import type { Duration, Effect } from "effect"
import type { ConnectFailed } from "../../model/SocketErrors.ts"
import type { BackoffOptions } from "./Backoff.ts"
import type { StreamFraming } from "./Framing.ts"
import type { ModuleExchange } from "./Handshake.ts"
import type { SocketAddress, TlsOptions } from "./SocketAddress.ts"

/**
 * Options of a socket client.
 *
 * @category models
 */
export interface SocketClientOptions {
  /** The client module this process connects as (a module the server accepts). */
  readonly module: string
  readonly address: SocketAddress
  /**
   * The handshake's `type` (Go sends its `sockettype`); "unix", "unixpacket" or "tcp" from the address
   * by default.
   */
  readonly socketType?: string | undefined
  /** "frame" (default) or "ndjson"; a `unixPacket` address always speaks Go's packets (R-SOCK-30). */
  readonly framing?: StreamFraming | undefined
  readonly tls?: TlsOptions | undefined
  /** Time allowed to connect; 10 s by default. */
  readonly connectTimeout?: Duration.Input | undefined
  /** Time allowed for the server's answer to the handshake; 10 s by default. */
  readonly handshakeTimeout?: Duration.Input | undefined
  readonly backoff?: BackoffOptions | undefined
  /**
   * Failed attempts in a row (connecting or handshaking) after which the client gives up; unbounded by
   * default, as Go's client retries for ever. An attempt that connected resets the count.
   */
  readonly maxAttempts?: number | undefined
  /**
   * How long the client may go without a connection (from its start, or from the end of its last
   * connection) before it gives up; unbounded by default. Checked when an attempt ends: an attempt in
   * progress runs to its end (at most `connectTimeout` plus `handshakeTimeout`).
   */
  readonly giveUpAfter?: Duration.Input | undefined
  readonly maxFrameBytes?: number | undefined
  readonly batchBytes?: number | undefined
}

/**
 * A running client.
 *
 * @category models
 */
export interface SocketClient {
  /**
   * The server's exchange; suspends until a connection is up (at once when one is). Fails with
   * `ConnectFailed` once the client has given up (`maxAttempts`, `giveUpAfter`), naming the last failure.
   */
  readonly connected: Effect.Effect<ModuleExchange, ConnectFailed>
  /** Whether a connection is up now. */
  readonly isConnected: Effect.Effect<boolean>
  /** Connections made so far (handshakes completed). */
  readonly connections: Effect.Effect<number>
  /**
   * Disconnects and stops reconnecting; the remote modules are cleaned up. Idempotent. Blocks while a
   * connection attempt is in progress (at most `connectTimeout`), so that no connection is left open.
   */
  readonly close: Effect.Effect<void>
}
