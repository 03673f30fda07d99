/**
 * What one connection holds on behalf of its peer, and when its reading pauses (R-SOCK-17): at most
 * `maxInboundBacklog` messages read from it (and `maxInboundBacklogBytes` of them) wait for delivery,
 * and at most `maxQueuedResponses` answers (and `maxQueuedResponseBytes`) wait to be written to it;
 * past any of these, its reading pauses (backpressure on the peer) until all are down to half. Counts
 * and sizes are those of the messages' JSON, so whatever the peer sends, the memory it costs here is
 * bounded by these limits.
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
 * One connection's backlog and its pause rule; see the module documentation.
 *
 * @category models
 */
export class Backlog {
  private readonly limits: BacklogLimits
  private readonly responses: QueuedResponses
  /** Messages read and not yet taken by a delivery fiber, and their size. */
  private messages = 0
  private messageBytes = 0
  /** Resumes the paused reading, while it waits for room. */
  private wakeReader: (() => void) | undefined = undefined

  constructor(limits: BacklogLimits, responses: QueuedResponses) {
    this.limits = limits
    this.responses = responses
  }

  /** Messages read from the connection and not yet taken by a delivery fiber. */
  get waitingForDelivery(): number {
    return this.messages
  }

  /** A message of `bytes` was read and queued for delivery. */
  queued(bytes: number): void {
    this.messages++
    this.messageBytes += bytes
  }

  /** A delivery fiber took a message of `bytes`: the paused reading goes on if there is room now. */
  taken(bytes: number): void {
    this.messages--
    this.messageBytes -= bytes
    this.resumeIfRoom()
  }

  /** Resumes the paused reading when both queues are down to half (after answers were written). */
  resumeIfRoom(): void {
    if (this.mayResume()) this.wakeReader?.()
  }

  /** Whether reading must pause: too much waits for delivery, or too much to be written as answers. */
  mustPause(): boolean {
    const limits = this.limits
    return (
      this.messages >= limits.maxInboundBacklog ||
      this.messageBytes >= limits.maxInboundBacklogBytes ||
      this.responses.queuedResponses >= limits.maxQueuedResponses ||
      this.responses.queuedResponseBytes >= limits.maxQueuedResponseBytes
    )
  }

  /** Whether a paused reading may go on: both queues are down to half their limits, in count and size. */
  private mayResume(): boolean {
    const limits = this.limits
    return (
      this.messages <= limits.maxInboundBacklog / 2 &&
      this.messageBytes <= limits.maxInboundBacklogBytes / 2 &&
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
