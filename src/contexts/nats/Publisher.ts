/**
 * The publisher (R-NATS-8): each remote module's endpoint is a bounded outbox (`RemoteEndpoint`), and
 * one fiber drains the outboxes that have messages. It asks the server for a flush every half
 * `flushEvery` messages (counted across batches) and waits for the previous one first, so it never
 * stops for a round trip while the server keeps up, and at most `flushEvery` messages are published
 * and unconfirmed. Each remote
 * module has a send window: at most `sendWindow` of its messages published and not yet acknowledged by
 * the serving process (`credited`); a window no acknowledgement opened for the silence limit is opened
 * again (`reopenStalled`).
 *
 * @since 0.3.0
 * @internal
 */
import { Clock, Effect, Queue, Result } from "effect"
import { MessageEncodeError } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import { encodeJsonResult } from "../../model/MessageJson.ts"
import type { ModuleContext } from "../ModuleContext.ts"
import { type Outgoing, RemoteEndpoint } from "../socket/RemoteEndpoint.ts"
import { BatchHeader, MaxBatchSent } from "./Batch.ts"
import { DurableEndpoint } from "./DurableEndpoint.ts"
import { ContextTypeNats } from "./NatsOptions.ts"
import type { NatsState } from "./NatsState.ts"
import { fitsControlLine, MaxControlLine, subjectToken } from "./Subjects.ts"

/**
 * What the publisher keeps for one remote module: its subjects (worked out once, not per message), and
 * the sender's credit: messages published and not yet acknowledged.
 */
interface Credit {
  readonly subject: string
  /** The reply subject of its messages, less the message id's token. */
  readonly replyPrefix: string
  unacked: number
  /** When the last acknowledgement came (or the window last opened), ms. */
  since: number
}

/**
 * The publisher of one NATS context; see the module documentation.
 *
 * @category models
 */
export class Publisher {
  private readonly state: NatsState
  /** Wakes the publishing fiber: some outbox is ready. */
  private readonly wake: Queue.Queue<void>
  /** The endpoints of the remote modules, by module. */
  readonly endpoints = new Map<string, RemoteEndpoint>()
  /** The endpoints with messages to publish, and room in their window. */
  private readonly ready = new Set<RemoteEndpoint>()
  /** The credit of each remote module. */
  private readonly credits = new Map<RemoteEndpoint, Credit>()
  /** The last flush asked for, until it is waited for; undefined once it completed. */
  private flushing: Promise<void> | undefined = undefined
  /** Messages published since the last flush asked for. */
  private sinceFlush = 0
  /** The one-way messages taken for the batch being made (R-NATS-13), and a bound of their bytes. */
  private readonly batch: Array<Outgoing> = []
  private batchBytes = 0

  /** The publisher of the context whose state is `state`, woken through `wake`. */
  constructor(state: NatsState, wake: Queue.Queue<void>) {
    this.state = state
    this.wake = wake
  }

  /** Opens the endpoint of a remote module (the "nats" context type's `open`). */
  readonly open: ModuleContext["open"] = (module, options) =>
    Effect.sync(() => {
      const isPending = (requestId: string) => this.state.host.isPending(requestId)
      const onClose = (closed: RemoteEndpoint) => {
        this.ready.delete(closed)
        this.credits.delete(closed)
        // An endpoint closed because another caller registered the name first is not the module's.
        if (this.endpoints.get(closed.module) !== closed) return
        this.endpoints.delete(closed.module)
        // The `sendDurable` calls waiting on the module end (only a durable module's can be waiting).
        this.state.durable.closed(closed.module)
      }
      // Known from its opening, so that the registry does not add the module twice meanwhile, and as the
      // module's once registered: racing callers may open several endpoints for one name (R-NATS-4).
      const onRegistered = (registered: RemoteEndpoint) => {
        this.endpoints.set(registered.module, registered)
      }
      // What the module's name takes of a publication's line (its subject and its reply subjects'
      // prefix), measured at its first message.
      let moduleLine: number | undefined
      // A durable module's endpoint also has its mailbox here, for when this process serves it (R-NATS-12).
      const endpoint = this.state.durable.has(module)
        ? new DurableEndpoint(
            module,
            options.capacity,
            this.state.maxPayload(),
            isPending,
            onClose,
            (m) => this.state.host.onUndeliverable(module, m),
            onRegistered
          )
        : new RemoteEndpoint(
            module,
            options.capacity,
            this.state.maxPayload(),
            isPending,
            onClose,
            ContextTypeNats,
            onRegistered
          )
      endpoint.bind({
        ready: (e) => {
          this.ready.add(e)
          Queue.offerUnsafe(this.wake, undefined)
        },
        detach: (e) => {
          this.ready.delete(e)
        },
        wireJson: (message, to) => {
          moduleLine ??=
            this.state.subjects.module(to).length + this.state.subjects.replyPrefix(this.state.processId, to).length
          return this.wireJson(message, to, moduleLine)
        }
      })
      // Never in place of an open one: that one is registered, or is being registered by another caller.
      if (this.endpoints.get(module)?.isOpen !== true) this.endpoints.set(module, endpoint)
      return endpoint
    })

  /**
   * A message's JSON, checked at `send` (R-NATS-1, R-NATS-11): refused with `MessageEncodeError` when
   * its subject and reply subject (its module's name and its id, percent-encoded) would not fit on one
   * protocol line, which would close the connection and lose all it had in flight. `moduleLine` is
   * what the module's name takes of that line, its subject and its reply subjects' prefix.
   */
  private wireJson(message: Message, module: string, moduleLine: number): Result.Result<string, MessageEncodeError> {
    if (!fitsControlLine(moduleLine + subjectToken(message.header.id).length)) {
      const byModule = !fitsControlLine(moduleLine)
      return Result.fail(
        new MessageEncodeError({
          path: byModule ? "route.destination" : "header.id",
          reason: `its ${byModule ? "module's name" : "id"} makes a NATS protocol line longer than the server's ${MaxControlLine} bytes`
        })
      )
    }
    return encodeJsonResult(message, module)
  }

  /** The publishing fiber's loop: waits to be woken, then drains the ready outboxes within their windows. */
  readonly run: Effect.Effect<never> = Effect.forever(
    Effect.gen({ self: this }, function* () {
      const state = this.state
      yield* Queue.take(this.wake)
      const half = Math.max(1, Math.floor(state.options.flushEvery / 2))
      const now = yield* Clock.currentTimeMillis
      while (this.ready.size > 0) {
        for (const endpoint of [...this.ready]) {
          this.ready.delete(endpoint)
          let credit = this.credits.get(endpoint)
          if (credit === undefined) {
            credit = {
              subject: state.subjects.module(endpoint.module),
              replyPrefix: state.subjects.replyPrefix(state.processId, endpoint.module),
              unacked: 0,
              since: now
            }
            this.credits.set(endpoint, credit)
          }
          // The one-way messages taken go out together, one NATS message, when every process serving
          // the module takes batches (R-NATS-13); a sync request goes alone, after what came before it.
          const batching = !(endpoint instanceof DurableEndpoint) && state.registry.acceptsBatches(endpoint.module)
          for (let k = 0; k < MaxBatchSent && credit.unacked < state.options.sendWindow; k++) {
            const outgoing = endpoint.takeOutgoing()
            if (outgoing === undefined) break
            const { message, json } = outgoing
            if (endpoint instanceof DurableEndpoint && !message.header.sync) {
              // A durable module's one-way message goes to its stream; its answer credits the window.
              yield* state.durable.store(endpoint, message, json)
              if (credit.unacked === 0) credit.since = now
              credit.unacked++
              if (++this.sinceFlush >= half) yield* this.flushAhead
              continue
            }
            if (batching && !message.header.sync) {
              // Counted in the window when taken; the batch goes out when full, or before what follows.
              if (this.batch.length > 0 && this.batchBytes + 3 * json.length + 1 > state.maxPayload())
                this.publishBatch(endpoint, credit)
              if (credit.unacked === 0) credit.since = now
              credit.unacked++
              this.batch.push(outgoing)
              this.batchBytes += 3 * json.length + 1
              continue
            }
            if (this.batch.length > 0) this.publishBatch(endpoint, credit)
            // Noted before it can be answered: the copies published tell who an unattributed answer is from (R-NATS-6).
            if (message.header.sync) state.replies.requestPublished(message, endpoint.module)
            const failed = state.publish(credit.subject, json, credit.replyPrefix + subjectToken(message.header.id))
            if (failed !== undefined) {
              state.report({ _tag: "PublishFailed", module: endpoint.module, msgId: message.header.id, reason: failed })
              // Its call ends now instead of at its deadline.
              if (message.header.sync)
                yield* state.replies.answerRefused(
                  endpoint,
                  message.header.id,
                  `publish to module "${endpoint.module}" refused: ${failed}`,
                  endpoint.module
                )
              else state.host.onUndeliverable(endpoint.module, message)
            } else {
              if (credit.unacked === 0) credit.since = now
              credit.unacked++
            }
            this.sinceFlush++
            if (this.sinceFlush >= half) yield* this.flushAhead
          }
          if (this.batch.length > 0) {
            this.publishBatch(endpoint, credit)
            if (this.sinceFlush >= half) yield* this.flushAhead
          }
          // Past the window the endpoint waits for an acknowledgement (`credited`) before it is ready again.
          // The outbox alone: a durable module's mailbox is never published, and taken for the outbox it
          // made the endpoint ready again and again without a yield (R-NATS-12).
          if (endpoint.outgoing > 0 && endpoint.isOpen && credit.unacked < state.options.sendWindow)
            this.ready.add(endpoint)
        }
      }
      // What a batch leaves unflushed counts towards the next flush: no flush, no PING and PONG, per batch.
    })
  )

  /**
   * Publishes the batch being made (R-NATS-13) to `endpoint`'s module: one message alone as it always
   * was, several as one NATS message, their JSON one per line under the header `Beehive-Batch`, with
   * the reply subject of the first (where the acknowledgements and a no-responders status go). The
   * payload is at most the server's limit less 1 KiB: each message counts for 3 bytes per UTF-16 unit
   * (UTF-8's most), and the endpoint checked each against that limit. One the client refuses is
   * reported message by message, and leaves the window.
   */
  private publishBatch(endpoint: RemoteEndpoint, credit: Credit): void {
    const batch = this.batch
    const n = batch.length
    const first = batch[0] as Outgoing
    let payload = first.json
    for (let i = 1; i < n; i++) payload += `\n${(batch[i] as Outgoing).json}`
    const failed = this.state.publish(
      credit.subject,
      payload,
      credit.replyPrefix + subjectToken(first.message.header.id),
      n === 1 ? undefined : { [BatchHeader]: String(n) }
    )
    if (failed !== undefined) {
      credit.unacked = Math.max(0, credit.unacked - n)
      for (const { message } of batch) {
        this.state.report({ _tag: "PublishFailed", module: endpoint.module, msgId: message.header.id, reason: failed })
        this.state.host.onUndeliverable(endpoint.module, message)
      }
    }
    this.sinceFlush += n
    batch.length = 0
    this.batchBytes = 0
  }

  /**
   * Asks the server for a flush of what was published, once the previous flush is confirmed (or the
   * connection ended): the previous one covers all but the last half `flushEvery` messages at most.
   * The flush starts at once, so its PING goes out in the same write as the publications before it.
   */
  private readonly flushAhead: Effect.Effect<void> = Effect.suspend(() => {
    // A promise, not a fiber: one flush per half `flushEvery` messages costs a fork and a join as a
    // fiber, and the previous flush has almost always completed when the next is due (no wait at all).
    const previous = this.flushing
    return previous === undefined
      ? this.startFlush
      : Effect.andThen(
          Effect.promise(() => previous),
          this.startFlush
        )
  })

  /** Asks for a flush of what was published so far; `flushing` until it completes. */
  private readonly startFlush: Effect.Effect<void> = Effect.sync(() => {
    this.sinceFlush = 0
    const flushing = this.state.flushNow()
    this.flushing = flushing
    void flushing.then(() => {
      if (this.flushing === flushing) this.flushing = undefined
    })
  })

  /** `n` of the messages published to `module` were handled there (an acknowledgement came at `now`). */
  credited(module: string, n: number, now: number): void {
    const endpoint = this.endpoints.get(module)
    const credit = endpoint === undefined ? undefined : this.credits.get(endpoint)
    if (endpoint === undefined || credit === undefined) return
    credit.unacked = Math.max(0, credit.unacked - n)
    credit.since = now
    if (endpoint.outgoing > 0 && endpoint.isOpen && credit.unacked < this.state.options.sendWindow) {
      this.ready.add(endpoint)
      Queue.offerUnsafe(this.wake, undefined)
    }
  }

  /**
   * A window that no acknowledgement opened for the silence limit is opened again at `now`: the
   * messages it waited for are lost (at most once), and the sender must not stall for ever (R-NATS-8).
   */
  reopenStalled(now: number): void {
    const options = this.state.options
    for (const [endpoint, credit] of this.credits) {
      if (credit.unacked >= options.sendWindow && now - credit.since > options.heartbeatMs * options.missedHeartbeats) {
        this.state.report({ _tag: "WindowReset", module: endpoint.module, unacked: credit.unacked })
        credit.unacked = 0
        credit.since = now
        if (endpoint.outgoing > 0 && endpoint.isOpen) {
          this.ready.add(endpoint)
          Queue.offerUnsafe(this.wake, undefined)
        }
      }
    }
  }
}
