/**
 * What one connection holds on behalf of its peer, and when its reading pauses (R-SOCK-17): at most
 * `maxInboundBacklog` messages read from its peer module (and `maxInboundBacklogBytes` of them) wait
 * for delivery, counting what its earlier connections read and left (`PeerHeld`), and at most
 * `maxQueuedResponses` answers (and `maxQueuedResponseBytes`) wait to be written to it; past any of
 * these, its reading pauses (backpressure on the peer) until all are down to half. Counts and sizes are
 * those of the messages' JSON, so whatever the peer sends, however often it connects again, the memory
 * it costs here is bounded by these limits.
 *
 * The messages waiting for delivery are counted here; the answers are the writer's queue, seen through
 * `QueuedResponses`.
 *
 * @since 0.2.0
 * @internal
 */
import { Effect } from "effect"
import type { ResolvedSocketOptions } from "./SocketOptions.ts"

/**
 * The answers waiting to be written to the connection, as the pause rule sees them.
 *
 * @category models
 */
export interface QueuedResponses {
  readonly queuedResponses: number
  /** Their size: the length of their JSON. */
  readonly queuedResponseBytes: number
}

/**
 * The limits of the pause rule.
 *
 * @category models
 */
export type BacklogLimits = Pick<
  ResolvedSocketOptions,
  "maxInboundBacklog" | "maxInboundBacklogBytes" | "maxQueuedResponses" | "maxQueuedResponseBytes"
>

/**
 * What a peer module's connections hold for delivery here, shared by them: a connection that ended
 * leaves what it read counted until it is delivered, so the next one reads only once there is room
 * (until a property reconnected peers, each new connection started from nothing, and a peer that
 * connected again and again made this process hold `maxInboundBacklog` more messages each time).
 * Several may be open at once (a takeover in progress; two clients of one module): each paused one
 * goes on when there is room.
 *
 * @category models
 */
export interface PeerHeld {
  /** Messages read and not yet taken by a delivery fiber, and their size. */
  messages: number
  bytes: number
  /** The backlogs of the peer module's connections still open, whose reading may wait for room. */
  readonly open: Set<Backlog>
}

/** A new, empty `PeerHeld`. @category constructors */
export const makePeerHeld = (): PeerHeld => ({ messages: 0, bytes: 0, open: new Set() })

/**
 * One connection's backlog and its pause rule; see the module documentation.
 *
 * @category models
 */
export class Backlog {
  private readonly limits: BacklogLimits
  private readonly responses: QueuedResponses
  private readonly held: PeerHeld
  /** Resumes the paused reading, while it waits for room. */
  private wakeReader: (() => void) | undefined = undefined

  /** The backlog of a connection of the peer module whose messages `held` counts. */
  constructor(limits: BacklogLimits, responses: QueuedResponses, held: PeerHeld) {
    this.limits = limits
    this.responses = responses
    this.held = held
    held.open.add(this)
  }

  /** Messages its peer module's connections read and no delivery fiber took yet. */
  get waitingForDelivery(): number {
    return this.held.messages
  }

  /** A message of `bytes` was read and queued for delivery. */
  queued(bytes: number): void {
    this.held.messages++
    this.held.bytes += bytes
  }

  /**
   * A delivery fiber took a message of `bytes` (read by this connection or another of its peer module):
   * the paused reading of each of the peer module's open connections goes on if there is room.
   */
  taken(bytes: number): void {
    const held = this.held
    held.messages--
    held.bytes -= bytes
    for (const backlog of held.open) backlog.resumeIfRoom()
  }

  /**
   * The connection ended: what it read, and what it may still read until its reading stops, stays
   * counted for the other connections of its peer module.
   */
  detach(): void {
    this.held.open.delete(this)
  }

  /** Resumes the paused reading when both queues are down to half (after answers were written). */
  resumeIfRoom(): void {
    if (this.mayResume()) this.wakeReader?.()
  }

  /** Whether reading must pause: too much waits for delivery, or too much to be written as answers. */
  mustPause(): boolean {
    const limits = this.limits
    return (
      this.held.messages >= limits.maxInboundBacklog ||
      this.held.bytes >= limits.maxInboundBacklogBytes ||
      this.responses.queuedResponses >= limits.maxQueuedResponses ||
      this.responses.queuedResponseBytes >= limits.maxQueuedResponseBytes
    )
  }

  /** Whether a paused reading may go on: both queues are down to half their limits, in count and size. */
  private mayResume(): boolean {
    const limits = this.limits
    return (
      this.held.messages <= limits.maxInboundBacklog / 2 &&
      this.held.bytes <= limits.maxInboundBacklogBytes / 2 &&
      this.responses.queuedResponses <= limits.maxQueuedResponses / 2 &&
      this.responses.queuedResponseBytes <= limits.maxQueuedResponseBytes / 2
    )
  }

  /** Waits until deliveries and the writer have brought both queues down to half their limits. */
  readonly awaitRoom: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.mayResume()) {
      resume(Effect.void)
      return
    }
    this.wakeReader = () => {
      this.wakeReader = undefined
      resume(Effect.void)
    }
    return Effect.sync(() => {
      this.wakeReader = undefined
    })
  })
}
