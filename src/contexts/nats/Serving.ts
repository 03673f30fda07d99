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
import { Effect, Exit, Queue, Result } from "effect"
import { InvalidArgument, ModuleNotFound } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import * as Msgs from "../../model/Message.ts"
import { decodeJsonResult } from "../../model/MessageJson.ts"
import { undelivered } from "../Undelivered.ts"
import { announcementBytes, MaxAnnounced } from "./Announcement.ts"
import { batchCount, batchLines, inboundWeight } from "./Batch.ts"
import { DurableEndpoint } from "./DurableEndpoint.ts"
import { DurableFetch } from "./DurableFetch.ts"
import { ContextTypeNats } from "./NatsOptions.ts"
import { AckHeader, type NatsState, promptly, UndeliverableHeader } from "./NatsState.ts"
import { MaxControlLine, servable } from "./Subjects.ts"

/**
 * A module served here: its inbound queue and its subscription.
 *
 * @category models
 */
export interface Served {
  readonly module: string
  readonly queue: Queue.Queue<Msg | PartBatch>
  readonly unsubscribe: () => void
  /** The messages in `queue`, a batch counting for its messages (R-NATS-8, R-NATS-13): at most `maxInbound`. */
  inbound: number
  /** A durable module's endpoint and its fetching from the stream (R-NATS-12). */
  durable?: { readonly endpoint: DurableEndpoint; readonly fetch: DurableFetch } | undefined
}

/**
 * How a delivery offers a message to its module: in the delivery loop, the host's `deliver` with only
 * its wait for room interruptible (calling `admitted` as the module admits it); for what is left when
 * serving stops, a refusal saying why. A failure is reported as the message's `Undeliverable` reason.
 */
type Offer = (module: string, message: Message, admitted: () => void) => Effect.Effect<void, Error>

/** The first messages of a batch, those a served module's inbound queue had room for (R-NATS-13). @category models */
export class PartBatch {
  readonly msg: Msg
  readonly lines: ReadonlyArray<string>
  /** The number of messages of the whole batch. */
  readonly of: number
  constructor(msg: Msg, lines: ReadonlyArray<string>, of: number) {
    this.msg = msg
    this.lines = lines
    this.of = of
  }
}

/** Why a sync request in a batch is not delivered: a batch carries one-way messages only (R-NATS-13). */
const SyncInBatch = "sync request in a batch"

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
  readonly serve = (module: string): Effect.Effect<void, ModuleNotFound | InvalidArgument> =>
    Effect.gen({ self: this }, function* () {
      const state = this.state
      if (this.served.has(module)) return
      // Its subscription would close the connection, or no process could send to it (R-NATS-1).
      if (!servable(state.subjects, state.processId, module))
        return yield* new InvalidArgument({
          operation: "serve",
          argument: "module",
          reason: `its name makes a NATS protocol line longer than the server's ${MaxControlLine} bytes`
        })
      const snapshot = yield* state.beehive.snapshot
      const entry = snapshot.modules.find((m) => m.name === module)
      // A durable module is the NATS context's own, and served here as any other (R-NATS-12).
      const durable = state.publisher.endpoints.get(module)
      const isDurable = durable instanceof DurableEndpoint && durable.isOpen
      if (entry === undefined || (entry.contextType === ContextTypeNats && !isDurable))
        return yield* new ModuleNotFound({ module })
      // Made `promptly`, so that what arrives wakes the delivery loop by microtask (see NatsContext).
      const queue = yield* promptly(
        Queue.make<Msg | PartBatch>({ capacity: state.options.maxInbound, strategy: "dropping" })
      )
      // From the subscription to the delivery loop's start no interruption lands (until a property
      // found it, a serve interrupted between the two left the module served with nothing delivering
      // what arrived, and a serve again did nothing), and the module is taken for serving in the step
      // that subscribes (two serves at once both subscribed).
      const started = yield* Effect.uninterruptible(this.start(module, queue, isDurable ? durable : undefined))
      if (started instanceof InvalidArgument) return yield* started
      if (!started) return
      yield* state.flushBriefly
      yield* state.registry.announce("beat")
    })

  /**
   * Subscribes `module`'s subject into `queue` and starts delivering from it (and fetching, for a
   * durable module's `durable` endpoint); false, doing nothing, if another call serves it already.
   */
  private start(module: string, queue: Queue.Queue<Msg | PartBatch>, durable: DurableEndpoint | undefined) {
    return Effect.gen({ self: this }, function* () {
      const state = this.state
      if (this.served.has(module)) return false
      // Checked in the step that takes the module for serving: two serves at once cannot both fit.
      const full = this.announcementFull(module)
      if (full !== undefined) return full
      const served: Served = { module, queue, unsubscribe: () => sub.unsubscribe(), inbound: 0 }
      const sub = state.nc.subscribe(state.subjects.module(module), {
        queue: state.options.prefix,
        callback: (error, msg) => {
          if (error !== null) return
          // A batch is taken whole or dropped whole, counting for its messages (R-NATS-13).
          const weight = inboundWeight(batchCount(msg))
          if (served.inbound + weight <= state.options.maxInbound && Queue.offerUnsafe(queue, msg)) {
            served.inbound += weight
            return
          }
          // The module is slower than its senders: dropped and reported, never buffered without bound
          // (R-NATS-8). A sync request is answered at once, so its caller does not wait for its deadline.
          // A dropped message is handled: it counts in its sender's acknowledgement (the count rides on
          // a sync request's error response), or the sender's window would stay short of it for good.
          const reply = replyOf(msg)
          const count = batchCount(msg)
          if (count !== undefined) {
            // A batch larger than the room left: its first messages are taken, the others dropped, as
            // they would be one by one (R-NATS-13).
            const lines = batchLines(count, msg.string())
            // One that is none is refused at once, wherever it would have been in the queue.
            if (typeof lines === "string") return this.badBatch(served, msg, reply, lines)
            const room = state.options.maxInbound - served.inbound
            let taken = 0
            if (room > 0 && Queue.offerUnsafe(queue, new PartBatch(msg, lines.slice(0, room), lines.length))) {
              served.inbound += room
              taken = room
            }
            for (let i = taken; i < lines.length; i++) {
              const decoded = decodeJsonResult(lines[i] as string)
              if (reply !== undefined) this.acknowledge(served, reply, i < lines.length - 1)
              if (Result.isFailure(decoded)) this.badInBatch(msg, i, lines.length, decoded.failure.message)
              else if (decoded.success.header.sync) this.badInBatch(msg, i, lines.length, SyncInBatch)
              else this.undeliverable(module, decoded.success, undefined, "inbound queue full")
            }
            return
          }
          const decoded = decodeJsonResult(msg.string())
          const sync = Result.isSuccess(decoded) && decoded.success.header.sync
          if (reply !== undefined) this.acknowledge(served, reply, sync)
          if (Result.isFailure(decoded)) {
            state.report({ _tag: "BadPayload", subject: msg.subject, reason: decoded.failure.message })
          } else this.undeliverable(module, decoded.success, reply, "inbound queue full")
        }
      })
      this.served.set(module, served)
      if (durable !== undefined) {
        durable.served = true
        served.durable = { endpoint: durable, fetch: new DurableFetch(state, durable) }
        yield* served.durable.fetch.start
      }
      yield* Effect.forkIn(promptly(this.deliverLoop(served)).pipe(Effect.ignore), state.scope)
      return true
    })
  }

  /**
   * Why this process cannot announce `module` too, if it cannot (R-NATS-4): its announcements would
   * list more modules than other processes take (`MaxAnnounced`), or be larger than the server's
   * payload limit. Either way they would stop reaching the other processes, which would then take
   * every module served here for gone.
   */
  private announcementFull(module: string): InvalidArgument | undefined {
    const modules = [...this.served.keys(), module]
    const refused = (reason: string) => new InvalidArgument({ operation: "serve", argument: "module", reason })
    if (modules.length > MaxAnnounced)
      return refused(`this process serves ${MaxAnnounced} modules, the most an announcement lists`)
    const bytes = announcementBytes(this.state.processId, modules)
    const limit = this.state.maxPayload()
    return bytes <= limit
      ? undefined
      : refused(
          `this process's announcement would take ${bytes} bytes, more than the server's payload limit of ${limit}`
        )
  }

  /**
   * `NatsContextService.unserve`. A durable module's fetched messages not yet received go back to
   * JetStream, its sync requests waiting in the mailbox are answered with an error response, and the
   * current fetch runs out first (R-NATS-12).
   */
  readonly unserve = (module: string): Effect.Effect<void> =>
    this.stopServing(module, `module "${module}" is no longer served here`)

  /**
   * `unserve`, reporting what its inbound queue still holds as not delivered, for `reason` (R-NATS-2):
   * each message `Undeliverable` (a sync request answered so at once), each counted in its sender's
   * acknowledgements. The context's end stops serving so with `ProcessEndingReason`.
   */
  readonly stopServing = (module: string, reason: string): Effect.Effect<void> =>
    // Once begun, a stop goes to its end, an interruption or not (its one wait, for the current fetch to
    // run out, is bounded): until a property found it, one interrupted after it took the module out of
    // serving left what the queue held unreported (delivered later, with the module no longer served),
    // and the delivery loop waiting for ever.
    Effect.uninterruptible(
      Effect.gen({ self: this }, function* () {
        const served = this.served.get(module)
        if (served === undefined) return
        this.served.delete(module)
        served.unsubscribe()
        yield* this.refuseQueued(served, reason)
        yield* Queue.shutdown(served.queue)
        if (served.durable !== undefined) {
          for (const request of yield* served.durable.fetch.stop) {
            const answer = yield* Msgs.newErrorResponse(request, `module "${module}" is no longer served here`)
            yield* Effect.ignore(this.state.beehive.sendResp(answer, module))
          }
        }
        yield* this.state.registry.announce("beat")
      })
    )

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
      // That copy, not the first owed to the module: one id may come from several processes (until a
      // property drew that, the other's entry went, and its answer to the one refused).
      this.state.replies.takeInbound(message.header.id, module, reply)
      this.state.publish(reply, "", undefined, { ...this.ackHeaders(module, reply), [UndeliverableHeader]: reason })
    } else this.state.host.onUndeliverable(module, message)
  }

  /**
   * Delivers what arrives for one served module, one message at a time, until its queue is shut down.
   * Only its waits can be cut by a stop (the context's end): for an item, and for room in the module's
   * mailbox. A message whose wait for room is cut is reported, unless the module admitted it as the
   * wait was cut (R-NATS-2); the rest of its batch too.
   */
  deliverLoop(served: Served): Effect.Effect<never> {
    return Effect.uninterruptibleMask((restore) => {
      const offer: Offer = (module, message, admitted) => restore(this.state.host.deliver(module, message, admitted))
      return Effect.gen({ self: this }, function* () {
        while (true) {
          // A shut-down queue's `takeUnsafe` is its failure: the `take` after it fails too, ending the loop.
          const polled = Queue.takeUnsafe(served.queue)
          const item =
            polled !== undefined && Exit.isSuccess(polled) ? polled.value : yield* restore(Queue.take(served.queue))
          yield* this.handle(served, item, offer)
        }
      })
    })
  }

  /** What the inbound queue of `served` holds, each message refused for `reason`, counted and reported. */
  private refuseQueued(served: Served, reason: string): Effect.Effect<void> {
    const refuse: Offer = () => Effect.fail(new Error(reason))
    return Effect.gen({ self: this }, function* () {
      while (true) {
        const polled = Queue.takeUnsafe(served.queue)
        if (polled === undefined || Exit.isFailure(polled)) return
        yield* this.handle(served, polled.value, refuse)
      }
    })
  }

  private handle(served: Served, item: Msg | PartBatch, offer: Offer): Effect.Effect<void> {
    return item instanceof PartBatch
      ? this.deliverLines(served, item.msg, item.lines, item.of, offer)
      : this.deliver(served, item, offer)
  }

  /**
   * Delivers one message that arrived for `served`. A module cleaned up here stops being served: its
   * queue is shut down, so the loop's next take ends it.
   */
  private deliver(served: Served, msg: Msg, offer: Offer): Effect.Effect<void> {
    const state = this.state
    const count = batchCount(msg)
    if (count !== undefined) return this.deliverBatch(served, msg, count, offer)
    served.inbound--
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
    return Effect.flatMap(offerOnce(offer, served.module, message), (refused) => {
      if (reply !== undefined) this.acknowledge(served, reply, message.header.sync)
      if (refused === undefined) return Effect.void
      this.undeliverable(served.module, message, reply, refused.message)
      return refused.gone ? this.unserve(served.module) : Effect.void
    })
  }

  /**
   * Delivers the messages of a batch (R-NATS-13) in their order, each as a message of its own would
   * be: sent to the module (waiting for room in its mailbox), counted in the sender's acknowledgements
   * once handled, the count sent (if due) after the last. One that is no message, or a sync request
   * (a batch carries one-way messages only), is reported (`BadPayload`) and counted, and the others are
   * delivered; nothing is answered but the count, since the sender of one-way messages takes no refusal.
   * A batch whose count does not match its payload is refused whole, as one bad payload (R-NATS-2).
   */
  private deliverBatch(served: Served, msg: Msg, count: string, offer: Offer): Effect.Effect<void> {
    const lines = batchLines(count, msg.string())
    if (typeof lines === "string") {
      served.inbound -= inboundWeight(count)
      this.badBatch(served, msg, replyOf(msg), lines)
      return Effect.void
    }
    return this.deliverLines(served, msg, lines, lines.length, offer)
  }

  /**
   * Delivers `lines`, the first messages of the batch `msg` of `of`, in their order; see `deliverBatch`.
   * Each leaves the inbound count when its delivery starts, as a single message leaves the queue: the
   * batch's messages still to deliver count in `maxInbound` (R-NATS-8).
   */
  private deliverLines(
    served: Served,
    msg: Msg,
    lines: ReadonlyArray<string>,
    of: number,
    offer: Offer
  ): Effect.Effect<void> {
    return Effect.gen(() => this.deliverLinesSteps(served, msg, lines, of, offer))
  }

  // A generator method, made once, as `Replies.handleSteps` is.
  private *deliverLinesSteps(served: Served, msg: Msg, lines: ReadonlyArray<string>, of: number, offer: Offer) {
    const reply = replyOf(msg)
    let gone = false
    for (let i = 0; i < lines.length; i++) {
      served.inbound--
      const decoded = decodeJsonResult(lines[i] as string)
      const hold = i < lines.length - 1
      if (Result.isFailure(decoded) || decoded.success.header.sync) {
        this.badInBatch(msg, i, of, Result.isFailure(decoded) ? decoded.failure.message : SyncInBatch)
        if (reply !== undefined) this.acknowledge(served, reply, hold)
        continue
      }
      const message = decoded.success
      const refused = yield* offerOnce(offer, served.module, message)
      if (reply !== undefined) this.acknowledge(served, reply, hold)
      if (refused !== undefined) {
        this.undeliverable(served.module, message, undefined, refused.message)
        if (refused.gone) gone = true
      }
    }
    if (gone) yield* this.unserve(served.module)
  }

  /** A batch that is none (`reason`): reported, counted as one message, refused as a bad payload is (R-NATS-2). */
  private badBatch(served: Served, msg: Msg, reply: string | undefined, reason: string): void {
    this.state.report({ _tag: "BadPayload", subject: msg.subject, reason })
    if (reply !== undefined) {
      this.acknowledge(served, reply, true)
      this.state.publish(reply, "", undefined, {
        ...this.ackHeaders(served.module, reply),
        [UndeliverableHeader]: "bad batch"
      })
    }
  }

  /** The `i`th of a batch's `n` messages is not delivered (`reason`): reported (R-NATS-13). */
  private badInBatch(msg: Msg, i: number, n: number, reason: string): void {
    this.state.report({ _tag: "BadPayload", subject: msg.subject, reason: `message ${i + 1} of ${n}: ${reason}` })
  }

  /**
   * Counts a message of the sender whose reply subject is `reply` as handled, and sends the count back
   * once it is a quarter of the window, or the module's queue is empty. With `hold` the count waits:
   * after a sync request, for its answer, which carries it (`ackHeaders`: one message less per round
   * trip); after a message of a batch but its last, for the batch's last. What no answer took is sent
   * at the next heartbeat (`sendOwedAcks`) (R-NATS-8).
   */
  acknowledge(served: Served, reply: string, hold: boolean): void {
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
    if (owed.count < quarter && (hold || Queue.sizeUnsafe(served.queue) > 0)) return
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

/** Why an offer did not deliver its message (`gone` when the module is). */
interface Refusal {
  readonly message: string
  readonly gone: boolean
}

/**
 * Offers `message` to `module`; the result tells why it was not delivered, if it was not: its
 * failure's message (`gone` when the module is: cleaned up, or with every module by the global
 * context's shutdown), or, cut by a stop before the module admitted it, the process's end.
 */
const offerOnce = (offer: Offer, module: string, message: Message): Effect.Effect<Refusal | undefined> => {
  let admitted = false
  return Effect.map(
    Effect.exit(
      offer(module, message, () => {
        admitted = true
      })
    ),
    (exit) => refusalOf(exit, admitted)
  )
}

const refusalOf = (exit: Exit.Exit<void, Error>, admitted: boolean): Refusal | undefined => {
  const refused = undelivered(exit, admitted)
  if (refused === undefined) return undefined
  const tag = (refused.error as { _tag?: string } | undefined)?._tag
  return {
    message: refused.reason,
    gone: tag === "ModuleNotFound" || tag === "ModuleClosed" || tag === "BeehiveShutdown"
  }
}
