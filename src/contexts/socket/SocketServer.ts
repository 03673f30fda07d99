/**
 * A server of the socket context (`SocketContextService.serve`): its options, defaults and what it
 * tells of itself, and the module exchange it answers handshakes with. The server role itself is in
 * `Serve.ts`.
 *
 * @since 0.1.0
 */
import { Duration, type Effect } from "effect"
import { ContextTypeChannel } from "../../model/Constants.ts"
import type { BeehiveSnapshot } from "../Beehive.ts"
import type { FramingOption } from "./Framing.ts"
import type { ModuleExchange } from "./Handshake.ts"
import type { SocketAddress, TlsOptions } from "./SocketAddress.ts"

/** Connections a server holds at once unless configured (`connmax`). @category constants */
export const DefaultMaxConnections = 64

/** How long a server waits for a connection's handshake unless configured. @category constants */
export const DefaultHandshakeTimeout: Duration.Duration = Duration.seconds(3)

/** Connections still handshaking a server holds at once by default (R-SOCK-13). @category constants */
export const DefaultMaxHandshaking = 64

/**
 * Options of a socket server.
 *
 * @category models
 */
export interface SocketServerOptions {
  readonly address: SocketAddress
  /** The client module names accepted in handshakes (Go: the client entries of the config). */
  readonly accept: ReadonlyArray<string>
  /**
   * Identified connections held at once (`connmax`, 64 by default); a connection that comes while
   * they are all held is closed at once. Connections still handshaking do not count (R-SOCK-13).
   */
  readonly maxConnections?: number | undefined
  /**
   * Connections still handshaking held at once (64 by default): one more makes room by closing the
   * oldest of them, so that peers that never identify cannot shut others out (R-SOCK-13).
   */
  readonly maxHandshaking?: number | undefined
  /**
   * When a module name already connected is claimed again: `"newest"` (default, Go's behaviour) closes
   * the old connection, so a client that reconnects before the server noticed its old connection is
   * gone is not locked out; `"first"` refuses the newcomer while the first connection lives. Over plain
   * TCP anyone who can reach the port can claim an accepted name either way: only TLS with client
   * certificates says who a peer is (R-SOCK-6).
   */
  readonly takeover?: "newest" | "first" | undefined
  /**
   * Binds client module names to TLS client certificates (R-SOCK-6), for a server whose `tls` has a
   * `ca` (so that clients present certificates it verifies). `"subject"`: a client may claim a module
   * only if the name is one of its certificate's names (the subject's CN or a DNS subjectAltName). A
   * record maps module names to the certificate names that may claim them (a module not listed: its
   * own name). A claim the certificate does not cover, or a connection without a verified
   * certificate, is answered with an error. Absent (the default): any accepted name may be claimed.
   */
  readonly certificateNames?: "subject" | Readonly<Record<string, ReadonlyArray<string>>> | undefined
  /**
   * The server's own module (Go's server entry `module`). Over `unixPacket`, a Go client addresses
   * what it sends to its own module (Go's context stamps it so): such messages are delivered to this
   * module (R-SOCK-32). Left out, they are refused (R-SOCK-10).
   */
  readonly module?: string | undefined
  /** "auto" (default) detects each connection's framing from its first byte. */
  readonly framing?: FramingOption | undefined
  /** TLS over a stream address (R-SOCK-15); refused with a `unixPacket` address (R-SOCK-30). */
  readonly tls?: TlsOptions | undefined
  readonly handshakeTimeout?: Duration.Input | undefined
  readonly maxFrameBytes?: number | undefined
  readonly batchBytes?: number | undefined
}

/**
 * A running server.
 *
 * @category models
 */
export interface SocketServer {
  /** The address it listens on (with the port the system chose for port 0). */
  readonly address: SocketAddress
  /** Connections open now, handshaking ones included. */
  readonly connections: Effect.Effect<number>
  /** Stops listening and closes every connection (their modules are cleaned up). Idempotent. */
  readonly close: Effect.Effect<void>
}

/**
 * The module exchange a server sends: its local modules (not the client's, not other clients'), and
 * its groups restricted to those modules.
 *
 * @category getters
 */
export const exchangeOf = (snapshot: BeehiveSnapshot): ModuleExchange => {
  const local = new Set(snapshot.modules.filter((m) => m.contextType === ContextTypeChannel).map((m) => m.name))
  const groups: Record<string, ReadonlyArray<string>> = {}
  for (const [group, members] of snapshot.groups) {
    const served = members.filter((m) => local.has(m))
    if (served.length > 0) groups[group] = served
  }
  return { modules: [...local], groups }
}

/**
 * The largest frame (or line) a server reads before the handshake is done: a handshake is about 200
 * bytes, and an unidentified peer gets no more room than it needs (R-SOCK-2).
 *
 * @category constants
 */
export const HandshakeMaxFrameBytes = 4096
