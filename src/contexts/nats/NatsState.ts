/**
 * The state one NATS context shares between its parts: the connection, the options and subjects,
 * this process's id, the global context it is plugged into, and the parts, each owning its own state:
 * the registry (`Registry`), the modules served here (`Serving`), the publisher (`Publisher`), the
 * replies (`Replies`) and the durable modules' streams (`DurableStore`). It also is the `ModuleContext` of type "nats" that the global context routes
 * remote modules to.
 *
 * @since 0.3.0
 * @internal
 */
import {
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  headers as natsHeaders,
  type PublishOptions
} from "@nats-io/transport-node"
import { Effect, Exit, Queue, Scheduler, type Scope } from "effect"
import type { BeehiveService } from "../BeehiveService.ts"
import type { ContextHostService } from "../ContextHost.ts"
import type { ModuleContext } from "../ModuleContext.ts"
import { DurableStore } from "./DurableStore.ts"
import { ContextTypeNats, type NatsEvent, type ResolvedNatsOptions } from "./NatsOptions.ts"
import { Publisher } from "./Publisher.ts"
import { Registry } from "./Registry.ts"
import { Replies } from "./Replies.ts"
import { Serving } from "./Serving.ts"
import { type Subjects, subjects } from "./Subjects.ts"

/**
 * `text` as a header value: a line break (which a header cannot hold, and the client refuses to
 * publish) written as `\r` and `\n`. A refusal's reason can hold one: it names a place in a
 * response's content by its keys, or a module by its name (R-NATS-6).
 */
const headerValue = (text: string): string =>
  /[\r\n]/.test(text) ? text.replace(/\r/g, "\\r").replace(/\n/g, "\\n") : text

/** The header a serving process puts on a reply when it could not deliver a sync request. @category constants */
export const UndeliverableHeader = "Beehive-Undeliverable"

/** The header of a credit: how many of the sender's messages the serving process has handled (R-NATS-8). @category constants */
export const AckHeader = "Beehive-Ack"

/**
 * The header a serving process puts on an unattributed answer (R-RESP-3): it answers the copy whose
 * reply subject it is published to, and stands for no module in particular (R-NATS-6). @category constants
 */
export const UnattributedHeader = "Beehive-Unattributed"

const ignored = (): void => {}

/** Runs of the context's loops by microtask in a row, at most: then one waits for a turn of the event loop. */
const MaxPromptRuns = 64

/** The runs by microtask since the last one that waited for a turn of the event loop. */
let promptRuns = 0

/**
 * How the context's loops are woken under Effect's default scheduler: by a microtask, except every
 * `MaxPromptRuns`-th run, which waits for a turn of the event loop (`setImmediate`), so that the
 * loops together never keep I/O and timers waiting longer than that many runs (each at most Effect's
 * operation budget). Returns the canceller, as Effect's scheduler expects.
 */
const soon = (run: () => void): (() => void) => {
  if (promptRuns >= MaxPromptRuns) {
    const immediate = setImmediate(() => {
      promptRuns = 0
      run()
    })
    return () => clearImmediate(immediate)
  }
  promptRuns++
  let cancelled = false
  queueMicrotask(() => {
    if (!cancelled) run()
  })
  return () => {
    cancelled = true
  }
}

/** The scheduler of the context's own loops under Effect's default one: wake-ups as microtasks (`soon`). */
const promptScheduler = new Scheduler.MixedScheduler("async", soon)

/**
 * Runs one of the context's own loops (the publisher, the control loop, a served module's delivery)
 * with its wake-ups as microtasks instead of `setImmediate`s, when the scheduler in context is
 * Effect's default: a loop woken by a NATS callback then runs in the same turn of the event loop, and
 * one woken by another fiber does not cost a turn of its own (a poll of the sockets, a system call).
 * What fills these loops' queues (I/O callbacks, other fibers) does not run while they run, and each
 * suspends once its queue is empty (`drain`); a run ends at Effect's operation budget at the latest,
 * and every `MaxPromptRuns`-th wake-up still waits for a turn of the event loop, so a long backlog
 * (the control queue holds 65536) does not hold I/O and timers (calls' deadlines) back. The loops'
 * queues are made `promptly` too: a queue wakes its taker through the scheduler it was made under.
 * Under another scheduler (the deterministic runtime's), the loop runs as it is.
 *
 * @category combinators
 */
export const promptly = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.service(Scheduler.Scheduler), (current) =>
    current instanceof Scheduler.MixedScheduler && current.executionMode === "async"
      ? Effect.provideService(effect, Scheduler.Scheduler, promptScheduler)
      : effect
  )

/**
 * Hands each message of `queue` to `handle`, one at a time, until the queue is shut down. A message
 * already queued is taken without an effect and without a yield to the scheduler: the loop waits
 * (`Queue.take`) only once the queue is empty. A yield per message (`Effect.forever`'s) cost a
 * wake-up and a scheduler task each, and let the client write between two messages what their
 * handling published (an acknowledgement, a publication a credit allowed) instead of in one write.
 * Nothing is starved by it: these queues are filled by the connection's callbacks, which do not run
 * while the loop runs, and Effect's operation budget still ends a run (see `promptly`).
 *
 * @category combinators
 */
export const drain = <A>(queue: Queue.Queue<A>, handle: (a: A) => Effect.Effect<void>): Effect.Effect<never> =>
  Effect.gen(function* () {
    while (true) {
      // A shut-down queue's `takeUnsafe` is its failure: the `take` after it fails too, ending the loop.
      const polled = Queue.takeUnsafe(queue)
      yield* handle(polled !== undefined && Exit.isSuccess(polled) ? polled.value : yield* Queue.take(queue))
    }
  })

/**
 * The subscription callback of the reply inbox and the registry: each message goes to the bounded
 * `control` queue, the control fiber's; one that finds it full is dropped and reported (`BadPayload`,
 * reason "control queue full", R-NATS-8). A subscription's error is the connection's, handled there.
 *
 * @category constructors
 */
export const controlCallback =
  (control: Queue.Queue<Msg>, report: (event: NatsEvent) => void) =>
  (error: Error | null, msg: Msg): void => {
    if (error !== null) return
    if (!Queue.offerUnsafe(control, msg))
      report({ _tag: "BadPayload", subject: msg.subject, reason: "control queue full" })
  }

/**
 * A NATS context's shared state; see the module documentation.
 *
 * @category models
 */
export class NatsState {
  readonly options: ResolvedNatsOptions
  readonly subjects: Subjects
  /** This process's id in the cluster. */
  readonly processId: string
  readonly nc: NatsConnection
  /** The global context: what arrives is delivered through it. */
  readonly beehive: BeehiveService
  readonly host: ContextHostService
  /** The scope of the context: the delivery fibers of served modules run in it. */
  readonly scope: Scope.Scope
  /** The modules other processes serve, and those processes. */
  readonly registry: Registry
  /** The modules this process serves. */
  readonly serving: Serving
  /** The remote modules' outboxes and their send windows. */
  readonly publisher: Publisher
  /** The reply inbox, and the sync requests this process owes answers to. */
  readonly replies: Replies
  /** The durable modules' streams (R-NATS-12). */
  readonly durable: DurableStore
  /** The scope of the durable modules' fetching: closed after the served modules stopped (R-NATS-12). */
  readonly fetchScope: Scope.Scope
  /** Set after the goodbye: nothing is announced any more. */
  closed = false

  /** The state of a NATS context over `nc` and the global context of `host`; `context` is still to be plugged. */
  constructor(
    options: ResolvedNatsOptions,
    processId: string,
    nc: NatsConnection,
    host: ContextHostService,
    scope: Scope.Scope,
    wake: Queue.Queue<void>,
    fetchScope: Scope.Scope
  ) {
    this.options = options
    this.subjects = subjects(options.prefix)
    this.processId = processId
    this.nc = nc
    this.host = host
    this.beehive = host.beehive
    this.scope = scope
    this.registry = new Registry(this)
    this.serving = new Serving(this)
    this.publisher = new Publisher(this, wake)
    this.replies = new Replies(this)
    this.durable = new DurableStore(this)
    this.fetchScope = fetchScope
  }

  /** Reports an event to `onEvent`; a throwing listener changes nothing. */
  readonly report = (event: NatsEvent): void => {
    try {
      this.options.onEvent(event)
    } catch {
      // A throwing listener changes nothing here.
    }
  }

  /** The "nats" context type. */
  readonly context: ModuleContext = {
    type: ContextTypeNats,
    open: (module, options) => this.publisher.open(module, options),
    forwardResponse: (response, from) => this.replies.forwardResponse(response, from)
  }

  /** The server's payload limit, less room for headers. */
  maxPayload(): number {
    const max = this.nc.info?.max_payload ?? 1024 * 1024
    return Math.max(1024, max - 1024)
  }

  /** Publishes one message; the client's reason if it refused it, else undefined. Never throws. */
  publish(
    subject: string,
    data: string | Uint8Array,
    reply?: string,
    headers?: Record<string, string>
  ): string | undefined {
    try {
      let h: MsgHdrs | undefined
      if (headers !== undefined) {
        h = natsHeaders()
        for (const [k, v] of Object.entries(headers)) h.set(k, headerValue(v))
      }
      // The client takes an undefined reply or headers as none. A string is encoded here: the client's
      // `TextEncoder` costs several times `Buffer.from` on a message's JSON (a fifth of a publish).
      this.nc.publish(subject, typeof data === "string" ? Buffer.from(data) : data, {
        reply,
        headers: h
      } as PublishOptions)
      return undefined
    } catch (error) {
      return (error as Error).message ?? String(error)
    }
  }

  /**
   * Asks the server for a flush now (its PING goes out with what was published before it); the promise
   * settles once the server has all of it, or the connection ended. Never rejects, never throws.
   */
  flushNow(): Promise<void> {
    try {
      return this.nc.isClosed() ? Promise.resolve() : this.nc.flush().then(ignored, ignored)
    } catch {
      return Promise.resolve()
    }
  }

  /** Waits until the server has what was published (bounds the client's buffer), or the connection ends. */
  readonly flush: Effect.Effect<void> = Effect.promise(() => this.flushNow())

  /**
   * `flush`, waiting at most 2 s: for the steps that must not hang while the connection is down (the
   * start, `serve`, the goodbye), where the flush only makes an announcement or subscription prompt.
   */
  readonly flushBriefly: Effect.Effect<void> = this.flush.pipe(
    Effect.timeoutOrElse({ duration: 2000, orElse: () => Effect.void })
  )
}
