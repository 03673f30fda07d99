/**
 * Serving local modules over NATS (R-NATS-2, R-NATS-8): each module served subscribes
 * `<prefix>.mod.<module>` (queue group `<prefix>`) into a bounded inbound queue, and one delivery
 * fiber hands what arrives to the module with `beehive.send`. How many of a sender's messages were
 * handled (delivered, refused, or dropped with the inbound queue full) is acknowledged to it (the
 * credit of its send window), and a message that cannot be delivered is reported, and answered when
 * it is a sync request.
 *
 * @since 0.3.0
 * @internal
 */
import type { Msg } from "@nats-io/transport-node"
import { Cause, Effect, Exit, Queue, Result } from "effect"
import { ModuleNotFound } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import * as Msgs from "../../model/Message.ts"
import { decodeJsonResult } from "../../model/MessageJson.ts"
import { DurableEndpoint } from "./DurableEndpoint.ts"
import { DurableFetch } from "./DurableFetch.ts"
import { ContextTypeNats } from "./NatsOptions.ts"
import { AckHeader, drain, type NatsState, promptly, UndeliverableHeader } from "./NatsState.ts"

/**
 * A module served here: its inbound queue and its subscription.
 *
 * @category models
 */
export interface Served {
  readonly module: string
  readonly queue: Queue.Queue<Msg>
  readonly unsubscribe: () => void
  /** A durable module's endpoint and its fetching from the stream (R-NATS-12). */
  durable?: { readonly endpoint: DurableEndpoint; readonly fetch: DurableFetch } | undefined
}

/** What a serving process owes one sender module in acknowledgements. */
interface Owed {
  count: number
  reply: string
}

/**
 * The modules one NATS context serves; see the module documentation.
 *
 * @category models
 */
export class Serving {
  private readonly state: NatsState
  private readonly served = new Map<string, Served>()
  /** Acknowledgements owed, by served module and sender's reply prefix. */
  private readonly owed = new Map<string, Owed>()

  /** The served modules of the context whose state is `state`. */
  constructor(state: NatsState) {
    this.state = state
  }

  /** Whether `module` is served here. */
  has(module: string): boolean {
    return this.served.has(module)
  }

  /** The modules served here now. */
  modules(): Array<string> {
    return [...this.served.keys()]
  }

  /** `NatsContextService.serve`. */
  readonly serve = (module: string): Effect.Effect<void, ModuleNotFound> =>
    Effect.gen({ self: this }, function* () {
      const state = this.state
      if (this.served.has(module)) return
      const snapshot = yield* state.beehive.snapshot
      const entry = snapshot.modules.find((m) => m.name === module)
      // A durable module is the NATS context's own, and served here as any other (R-NATS-12).
      const durable = state.publisher.endpoints.get(module)
      const isDurable = durable instanceof DurableEndpoint && durable.isOpen
      if (entry === undefined || (entry.contextType === ContextTypeNats && !isDurable))
        return yield* new ModuleNotFound({ module })
      // Made `promptly`, so that what arrives wakes the delivery loop by microtask (see NatsContext).
      const queue = yield* promptly(Queue.make<Msg>({ capacity: state.options.maxInbound, strategy: "dropping" }))
      const served: Served = { module, queue, unsubscribe: () => sub.unsubscribe() }
      const sub = state.nc.subscribe(state.subjects.module(module), {
        queue: state.options.prefix,
        callback: (error, msg) => {
          if (error !== null) return
          if (!Queue.offerUnsafe(queue, msg)) {
            // The module is slower than its senders: dropped and reported, never buffered without bound
            // (R-NATS-8). A sync request is answered at once, so its caller does not wait for its deadline.
            // A dropped message is handled: it counts in its sender's acknowledgement (the count rides on
            // a sync request's error response), or the sender's window would stay short of it for good.
            const decoded = decodeJsonResult(msg.string())
            const sync = Result.isSuccess(decoded) && decoded.success.header.sync
            const reply = replyOf(msg)
            if (reply !== undefined) this.acknowledge(served, reply, sync)
            if (Result.isFailure(decoded)) {
              state.report({ _tag: "BadPayload", subject: msg.subject, reason: decoded.failure.message })
            } else this.undeliverable(module, decoded.success, reply, "inbound queue full")
          }
        }
      })
      this.served.set(module, served)
      if (isDurable) {
        durable.served = true
        served.durable = { endpoint: durable, fetch: new DurableFetch(state, durable) }
        yield* served.durable.fetch.start
      }
      yield* Effect.forkIn(promptly(this.deliverLoop(served)).pipe(Effect.ignore), state.scope)
      yield* state.flushBriefly
      yield* state.registry.announce("beat")
    })

  /**
   * `NatsContextService.unserve`. A durable module's fetched messages not yet received go back to
   * JetStream, its sync requests waiting in the mailbox are answered with an error response, and the
   * current fetch runs out first (R-NATS-12).
   */
  readonly unserve = (module: string): Effect.Effect<void> =>
    Effect.gen({ self: this }, function* () {
      const served = this.served.get(module)
      if (served === undefined) return
      this.served.delete(module)
      served.unsubscribe()
      yield* Queue.shutdown(served.queue)
      if (served.durable !== undefined) {
        for (const request of yield* served.durable.fetch.stop) {
          const answer = yield* Msgs.newErrorResponse(request, `module "${module}" is no longer served here`)
          yield* Effect.ignore(this.state.beehive.sendResp(answer, module))
        }
      }
      yield* this.state.registry.announce("beat")
    })

  /** Stops serving the modules cleaned up in the global context since (the heartbeat does this). */
  readonly forgetCleanedUp: Effect.Effect<void> = Effect.gen({ self: this }, function* () {
    if (this.served.size > 0) {
      const snapshot = yield* this.state.beehive.snapshot
      const local = new Set(
        snapshot.modules
          .filter((m) => m.contextType !== ContextTypeNats || this.state.durable.has(m.name))
          .map((m) => m.name)
      )
      for (const module of [...this.served.keys()]) if (!local.has(module)) yield* this.unserve(module)
    }
  })

  /** A served module's message could not be delivered: reported, and a sync request is answered so. */
  undeliverable(module: string, message: Message, reply: string | undefined, reason: string): void {
    this.state.report({ _tag: "Undeliverable", module, msgId: message.header.id, reason })
    if (message.header.sync && reply !== undefined) {
      this.state.replies.takeInbound(message.header.id, module)
      this.state.publish(reply, "", undefined, { ...this.ackHeaders(module, reply), [UndeliverableHeader]: reason })
    } else this.state.host.onUndeliverable(module, message)
  }

  /** Delivers what arrives for one served module, one message at a time, until its queue is shut down. */
  deliverLoop(served: Served): Effect.Effect<never> {
    return drain(served.queue, (msg) => this.deliver(served, msg))
  }

  /**
   * Delivers one message that arrived for `served`. A module cleaned up here stops being served: its
   * queue is shut down, so the loop's next take ends it.
   */
  private deliver(served: Served, msg: Msg): Effect.Effect<void> {
    const state = this.state
    const decoded = decodeJsonResult(msg.string())
    const reply = replyOf(msg)
    if (Result.isFailure(decoded)) {
      state.report({ _tag: "BadPayload", subject: msg.subject, reason: decoded.failure.message })
      if (reply !== undefined) {
        // Refused is handled: the count owed, this one included, rides on the refusal (R-NATS-8).
        this.acknowledge(served, reply, true)
        state.publish(reply, "", undefined, {
          ...this.ackHeaders(served.module, reply),
          [UndeliverableHeader]: "bad message JSON"
        })
      }
      return Effect.void
    }
    const message = decoded.success
    if (message.header.sync && reply !== undefined) {
      state.replies.registerInbound(message.header.id, { destination: served.module, reply })
    }
    return Effect.flatMap(Effect.exit(state.beehive.send(served.module, message)), (exit) => {
      if (reply !== undefined) this.acknowledge(served, reply, message.header.sync)
      if (Exit.isSuccess(exit)) return Effect.void
      const error = Cause.squash(exit.cause) as Error
      this.undeliverable(served.module, message, reply, error.message)
      const tag = (error as { _tag?: string })._tag
      return tag === "ModuleNotFound" || tag === "ModuleClosed" ? this.unserve(served.module) : Effect.void
    })
  }

  /**
   * Counts a message of the sender whose reply subject is `reply` as handled, and sends the count back
   * once it is a quarter of the window, or the module's queue is empty; after a sync request, the
   * count waits for its answer instead, which carries it (`ackHeaders`): one message less per round
   * trip. What no answer took is sent at the next heartbeat (`sendOwedAcks`) (R-NATS-8).
   */
  acknowledge(served: Served, reply: string, sync: boolean): void {
    const key = ackKey(served.module, reply)
    let owed = this.owed.get(key)
    if (owed === undefined) {
      // Counts are owed to at most `maxPendingRequests` senders: the oldest is sent now, never forgotten.
      if (this.owed.size >= this.state.options.maxPendingRequests)
        this.sendOwed(this.owed.keys().next().value as string)
      owed = { count: 0, reply }
      this.owed.set(key, owed)
    }
    owed.count++
    owed.reply = reply
    const quarter = Math.max(1, Math.floor(this.state.options.sendWindow / 4))
    if (owed.count < quarter && (sync || Queue.sizeUnsafe(served.queue) > 0)) return
    this.sendOwed(key)
  }

  /** Sends the count owed under `key` now, on its own. */
  private sendOwed(key: string): void {
    const owed = this.owed.get(key) as Owed
    this.owed.delete(key)
    this.state.publish(owed.reply, "", undefined, { [AckHeader]: String(owed.count) })
  }

  /** The headers that hand `module`'s count owed to the sender of `reply` to a reply published to it. */
  ackHeaders(module: string, reply: string): Record<string, string> | undefined {
    const key = ackKey(module, reply)
    const owed = this.owed.get(key)
    if (owed === undefined) return undefined
    this.owed.delete(key)
    return { [AckHeader]: String(owed.count) }
  }

  /** Tells JetStream the fetched messages waiting in durable modules' mailboxes are in progress (R-NATS-12). */
  keepFetched(): void {
    for (const served of this.served.values()) served.durable?.fetch.keepInProgress()
  }

  /** Sends every count owed (the heartbeat does): a sender waits at most a heartbeat for its credit. */
  sendOwedAcks(): void {
    for (const key of [...this.owed.keys()]) this.sendOwed(key)
  }
}

/**
 * The reply subject of a message that arrived, if it has one: the client gives a message published
 * without one the reply subject "" (so every message without one, from a client that is no beehive, was
 * counted for a sender "" whose counts were published to no subject, and a sync request without one
 * that could not be delivered was answered to no subject instead of passed to `onUndeliverable`).
 */
const replyOf = (msg: Msg): string | undefined => (msg.reply === undefined || msg.reply === "" ? undefined : msg.reply)

/** The key of what `module` owes the sender of `reply`: the reply subject less the message id names the sender. */
const ackKey = (module: string, reply: string): string => `${module}\u0000${reply.slice(0, reply.lastIndexOf(".") + 1)}`
