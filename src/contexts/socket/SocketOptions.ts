/**
 * The options of a socket context, and their defaults.
 *
 * @since 0.1.0
 */
import type { SocketEvent } from "./SocketEvents.ts"

/**
 * Options of a socket context.
 *
 * @category models
 */
export interface SocketContextOptions {
  /** Largest frame (or NDJSON line) accepted and sent, in bytes; 16 MiB by default. */
  readonly maxFrameBytes?: number | undefined
  /** Bytes gathered into one write before it is issued; 256 KiB by default. */
  readonly batchBytes?: number | undefined
  /** Messages read from one connection and not yet delivered before reading pauses; 4096 by default. */
  readonly maxInboundBacklog?: number | undefined
  /**
   * Responses waiting to be written to one connection before its reading pauses; 1024 by default. A
   * peer that sends requests and does not read their answers stops having its requests read, instead
   * of making this process buffer its answers without limit.
   */
  readonly maxQueuedResponses?: number | undefined
  /**
   * The same two limits in size (the length of the messages' JSON): messages waiting for delivery,
   * 8 MiB by default, and answers waiting to be written, 8 MiB by default. With the counts above they
   * bound what one connection holds, whatever its peer sends.
   */
  readonly maxInboundBacklogBytes?: number | undefined
  readonly maxQueuedResponseBytes?: number | undefined
  /**
   * Copies of sync requests from peers remembered for their responses (another copy of one id counts
   * too); past it the connection owed the most copies, the new one counted, forgets its oldest request
   * (event `RequestForgotten`; R-SOCK-9); 65536 by default.
   */
  readonly maxPendingRequests?: number | undefined
  /**
   * The ids of those copies, in UTF-16 units added up, remembered at most (an id may be as long as a
   * frame); past it the connection owed the most bytes forgets its oldest request; 8 MiB by default.
   */
  readonly maxPendingRequestBytes?: number | undefined
  /**
   * The heartbeat interval offered in the handshake, in milliseconds (R-SOCK-20); off when left out
   * or 0 (`SocketContext.layerNode` offers 10 s). When both peers offer one, each writes a heartbeat
   * after an interval without writing, and a peer heard from for three intervals is unresponsive: its
   * connection ends with `PeerUnresponsive`. A Go peer never offers one and never gets one.
   */
  readonly heartbeatMs?: number | undefined
  /**
   * How long a frame (or line) may stay unfinished, in milliseconds, before its peer is unresponsive
   * (a peer that trickles bytes); off when left out or 0 (`SocketContext.layerNode` sets 30 s).
   */
  readonly frameTimeoutMs?: number | undefined
  /**
   * Whether to offer receipts in handshakes (R-SOCK-21); true by default. Between two peers that
   * offer them, a one-way message written before a connection ended is known to have arrived or is
   * reported (`Unsent`, `onUndeliverable`), instead of being lost unreported. Go peers never offer them.
   */
  readonly receipts?: boolean | undefined
  /**
   * One-way messages written to one connection and not yet receipted (R-SOCK-21) before it stops
   * writing its modules' messages (their senders then wait, R-SOCK-17); 4,096 by default. A peer that
   * agreed to receipts and never sends any cannot make this process keep messages without limit.
   * Every unreceipted message is kept (to be reported if it never arrives), so a larger window costs
   * the sender garbage collection: at 16,384 a sender took 2.9–3.4 µs of CPU per one-way message
   * over a unix socket, at 4,096 1.7–2.1 (alternating runs). Over a link with round trip `r`, one-way
   * messages go at most `maxUnreceipted / r` per second: raise it for long links.
   */
  readonly maxUnreceipted?: number | undefined
  /** Receives every event (see `SocketEvent`); events are also logged. */
  readonly onEvent?: ((event: SocketEvent) => void) | undefined
}

/** Options with their defaults applied. @category models */
export interface ResolvedSocketOptions {
  readonly maxFrameBytes: number
  readonly batchBytes: number
  readonly maxInboundBacklog: number
  readonly maxQueuedResponses: number
  readonly maxInboundBacklogBytes: number
  readonly maxQueuedResponseBytes: number
  readonly maxPendingRequests: number
  readonly maxPendingRequestBytes: number
  /** 0: off. */
  readonly heartbeatMs: number
  /** 0: off. */
  readonly frameTimeoutMs: number
  readonly receipts: boolean
  readonly maxUnreceipted: number
  readonly onEvent: ((event: SocketEvent) => void) | undefined
}

/**
 * `value` if it is a positive integer, else `fallback`.
 *
 * @category getters
 */
export const positiveOr = (value: number | undefined, fallback: number): number =>
  value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback

/**
 * Applies the defaults.
 *
 * @category constructors
 */
export const resolveOptions = (options: SocketContextOptions = {}): ResolvedSocketOptions => ({
  maxFrameBytes: positiveOr(options.maxFrameBytes, 16 * 1024 * 1024),
  batchBytes: positiveOr(options.batchBytes, 256 * 1024),
  maxInboundBacklog: positiveOr(options.maxInboundBacklog, 4096),
  maxQueuedResponses: positiveOr(options.maxQueuedResponses, 1024),
  maxInboundBacklogBytes: positiveOr(options.maxInboundBacklogBytes, 8 * 1024 * 1024),
  maxQueuedResponseBytes: positiveOr(options.maxQueuedResponseBytes, 8 * 1024 * 1024),
  maxPendingRequests: positiveOr(options.maxPendingRequests, 65536),
  maxPendingRequestBytes: positiveOr(options.maxPendingRequestBytes, 8 * 1024 * 1024),
  heartbeatMs: positiveOr(options.heartbeatMs, 0),
  frameTimeoutMs: positiveOr(options.frameTimeoutMs, 0),
  receipts: options.receipts !== false,
  maxUnreceipted: positiveOr(options.maxUnreceipted, 4096),
  onEvent: options.onEvent
})
