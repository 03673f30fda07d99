/**
 * The transport seam: byte streams between processes, below framing and protocol (nats.js layers its
 * client the same way). `NodeTransport` implements it over node:net and node:tls; `MemoryTransport`
 * over in-memory pipes built only on Effect primitives, so that the socket context runs entirely inside
 * Effect's scheduler (and a deterministic runtime) in tests.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Scope } from "effect"
import type { ConnectFailed, ConnectionClosed, ListenFailed } from "../../model/SocketErrors.ts"
import type { SocketAddress, TlsOptions } from "./SocketAddress.ts"

/**
 * One open byte stream.
 *
 * @category models
 */
export interface Connection {
  /** The other end, for logs and errors. */
  readonly peer: string
  /**
   * Every chunk that arrived since the last read, oldest first; suspends while none has. Fails with
   * `ConnectionClosed` once the stream has ended (after the chunks that came before the end) or was closed.
   */
  readonly read: Effect.Effect<ReadonlyArray<Uint8Array>, ConnectionClosed>
  /**
   * Writes bytes; suspends while the stream's buffer is full (backpressure). Fails with
   * `ConnectionClosed` when the stream is closed.
   */
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, ConnectionClosed>
  /**
   * Writes bytes now, outside any fiber: undefined when they are written and there is nothing to wait
   * for; otherwise what is left of the write, to run as `write` would go on (wait for the buffer to
   * drain, or fail with `ConnectionClosed` with nothing written). Absent when the transport writes only
   * through `write`.
   */
  readonly writeNow?: ((bytes: Uint8Array) => Effect.Effect<void, ConnectionClosed> | undefined) | undefined
  /**
   * Completes, with why, when the transport itself ends the connection because the peer overran what
   * it holds unread (R-SOCK-30): reading may be paused then, and must not have to resume to see it.
   * Absent when the transport never does (a stream transport pushes back on the peer instead).
   */
  readonly overrun?: Effect.Effect<ConnectionClosed> | undefined
  /**
   * Closes the stream after what was written is flushed (bounded wait), then releases it. Pending and
   * later reads and writes fail with `ConnectionClosed`. Idempotent, never fails.
   */
  readonly close: Effect.Effect<void>
  /**
   * The names of the peer's verified TLS client certificate (its subject's common name and the DNS
   * names of its subjectAltName), for binding module names to certificates (R-SOCK-6); absent when the
   * peer presented no verified certificate.
   */
  readonly certificateNames?: ReadonlyArray<string> | undefined
}

/**
 * A listening server socket.
 *
 * @category models
 */
export interface Listener {
  /** The address actually bound (the port the system chose for port 0). */
  readonly address: SocketAddress
  /**
   * The next incoming connection; suspends while none. Fails with `ConnectionClosed` once closed. An
   * interrupted accept never drops a connection: one not handed over stays waiting (closed with the listener).
   */
  readonly accept: Effect.Effect<Connection, ConnectionClosed>
  /** Stops listening (a unix socket file is removed). Idempotent, never fails. */
  readonly close: Effect.Effect<void>
}

/**
 * Opens listeners and connections.
 *
 * @category models
 */
export interface TransportShape {
  /**
   * Listens on an address; the listener is closed with the scope. A unix socket file is created with
   * mode 0600; an existing file is replaced only when it is a socket nobody answers on. Fails with
   * `ListenFailed`.
   */
  readonly listen: (address: SocketAddress, tls?: TlsOptions) => Effect.Effect<Listener, ListenFailed, Scope.Scope>
  /** Connects to a server; suspends until connected (and the TLS handshake is done). Fails with `ConnectFailed`. */
  readonly connect: (address: SocketAddress, tls?: TlsOptions) => Effect.Effect<Connection, ConnectFailed>
}

/**
 * The transport as a service.
 *
 * @category services
 */
export class Transport extends Context.Service<Transport, TransportShape>()("beehive-effect/socket/Transport") {}
