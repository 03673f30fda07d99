/**
 * The NATS context: modules served by other processes of a NATS cluster are modules of this global
 * context like any other (spec/SPEC.md, R-NATS). It is the "nats" context type, a peer of the channel
 * and socket context types, plugged in through `ContextHost` (R-API-5):
 *
 * ```ts
 * const host = yield* Beehive.makeHost()
 * const nats = yield* NatsContext.make({ servers: "nats://127.0.0.1:4222", prefix: "site1" }).pipe(
 *   Effect.provideService(ContextHost, host)
 * )
 * yield* host.beehive.addModule("edged")
 * yield* nats.serve("edged") // reachable from every process of the cluster with the same prefix
 * ```
 *
 * - Serving: `serve(module)` subscribes `<prefix>.mod.<module>` (queue group `<prefix>`) and delivers
 *   what arrives with `beehive.send`; the modules a process serves are announced on `<prefix>.reg`.
 * - Remote modules: a module another process announces is added here as a "nats" module, whose
 *   endpoint is a bounded outbox drained by one publisher fiber (`RemoteEndpoint`).
 * - Responses: each message carries a reply subject in this process's inbox
 *   (`<prefix>.resp.<process>.<module>.<msgId>`, subscribed before anything is published); a response
 *   goes to `beehive.sendResp`, and a NATS no-responders status means nobody serves the module.
 *
 * @since 0.3.0
 */
import { connect, type Msg, type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node"
import { Cause, Clock, Context, Deferred, type Duration, Effect, Exit, Layer, Queue, Result, type Scope } from "effect"
import type { BeehiveShutdown, InvalidArgument } from "../../model/Errors.ts"
import { ModuleNotFound } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import * as Msgs from "../../model/Message.ts"
import { decodeJsonResult, encodeJsonResult } from "../../model/MessageJson.ts"
import { type NatsConfigError, NatsConnectFailed } from "../../model/NatsErrors.ts"
import type { BeehiveService } from "../BeehiveService.ts"
import { ContextHost, type ContextHostService } from "../ContextHost.ts"
import type { ModuleContext } from "../ModuleContext.ts"
import { RemoteEndpoint } from "../socket/RemoteEndpoint.ts"
import {
  ContextTypeNats,
  fromSubjectToken,
  type NatsContextOptions,
  type NatsEvent,
  type ResolvedNatsOptions,
  resolveNatsOptions,
  type Subjects,
  subjects
} from "./NatsOptions.ts"

/** The header a serving process puts on a reply when it could not deliver a sync request. */
const UndeliverableHeader = "Beehive-Undeliverable"

/** The header of a credit: how many of the sender's messages the serving process has handled (R-NATS-8). */
const AckHeader = "Beehive-Ack"

/** A sender's credit for one remote module: messages published and not yet acknowledged. */
interface Credit {
  unacked: number
  /** When the last acknowledgement came (or the window last opened), ms. */
  since: number
}

/** What a serving process owes one sender module in acknowledgements. */
interface Owed {
  count: number
  reply: string
}

/** Registry announcements carry at most this many module names; larger ones are refused. */
const MaxAnnounced = 10_000

/** Responses and registry messages waiting for the control fiber, at most. */
const MaxControl = 65_536

/**
 * A remote module as `remoteModules` sees it.
 *
 * @category models
 */
export interface RemoteModuleInfo {
  readonly module: string
  /** The processes that announced they serve it. */
  readonly processes: ReadonlyArray<string>
}

/**
 * A NATS context.
 *
 * @category models
 */
export interface NatsContextService {
  /** This process's id in the cluster (a random UUID, a subject token). */
  readonly processId: string
  /**
   * Makes a module of this process reachable over NATS (R-NATS-2): subscribes its subject, then
   * announces it. Waits for the server to acknowledge the subscription (one round trip). Fails with
   * `ModuleNotFound` if no such module is registered here, or if it is a "nats" module (served
   * elsewhere). Serving a module served already is a no-op. It stays served until `unserve`, its
   * cleanup here (noticed at its next delivery or heartbeat), or the end of the context's scope.
   */
  readonly serve: (module: string) => Effect.Effect<void, ModuleNotFound>
  /** Stops serving a module and announces it. Never fails; a no-op for a module not served. */
  readonly unserve: (module: string) => Effect.Effect<void>
  /** The modules this process serves now. */
  readonly served: Effect.Effect<ReadonlyArray<string>>
  /** The remote modules known now, and who serves them. */
  readonly remoteModules: Effect.Effect<ReadonlyArray<RemoteModuleInfo>>
  /** Sync requests from other processes this process still owes an answer to. Never blocks. */
  readonly pendingRequests: Effect.Effect<number>
  /**
   * Waits until `module` is registered here as a remote module (some process announced it), at most
   * `timeout` (a `Duration` input; a number is milliseconds). Registration is eventually consistent
   * (R-NATS-4): a program that starts next to the one serving a module waits with this before its first
   * call. Succeeds at once if it is registered already; fails with `ModuleNotFound` at the timeout.
   */
  readonly awaitModule: (module: string, timeout: Duration.Input) => Effect.Effect<void, ModuleNotFound>
  /** Announces this process's served modules now (the heartbeat does every `heartbeatMs`). */
  readonly announce: Effect.Effect<void>
}

interface Inbound {
  readonly destination: string
  readonly reply: string
}

interface Served {
  readonly module: string
  readonly queue: Queue.Queue<Msg>
  readonly unsubscribe: () => void
}

interface Peer {
  lastSeen: number
  modules: ReadonlySet<string>
}

interface Announcement {
  readonly v: 1
  readonly process: string
  readonly kind: "hello" | "beat" | "bye"
  readonly modules: ReadonlyArray<string>
}

const parseAnnouncement = (data: Uint8Array): Announcement | string => {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder().decode(data))
  } catch {
    return "not JSON"
  }
  if (typeof value !== "object" || value === null) return "not an object"
  const a = value as Record<string, unknown>
  if (a.v !== 1) return "unknown version"
  if (typeof a.process !== "string" || a.process === "") return "no process"
  if (a.kind !== "hello" && a.kind !== "beat" && a.kind !== "bye") return "unknown kind"
  if (!Array.isArray(a.modules) || a.modules.length > MaxAnnounced) return "bad module list"
  if (!a.modules.every((m) => typeof m === "string" && m !== "")) return "bad module name"
  return a as unknown as Announcement
}

class NatsState {
  readonly options: ResolvedNatsOptions
  readonly subjects: Subjects
  readonly processId: string
  readonly nc: NatsConnection
  readonly beehive: BeehiveService
  readonly host: ContextHostService
  readonly endpoints = new Map<string, RemoteEndpoint>()
  readonly ready = new Set<RemoteEndpoint>()
  readonly wake: Queue.Queue<void>
  readonly control: Queue.Queue<Msg>
  readonly served = new Map<string, Served>()
  readonly peers = new Map<string, Peer>()
  /** Callers of `awaitModule`, by module. */
  readonly waiters = new Map<string, Set<Deferred.Deferred<void>>>()
  readonly owners = new Map<string, Set<string>>()
  /** Sync requests from other processes, by request id: one entry per copy delivered here. */
  readonly inbound = new Map<string, Array<Inbound>>()
  private inboundCount = 0
  /** Sending side: the credit of each remote module (R-NATS-8). */
  readonly credits = new Map<RemoteEndpoint, Credit>()
  /** Serving side: acknowledgements owed, by served module and sender's reply prefix. */
  readonly owed = new Map<string, Owed>()
  closed = false

  constructor(
    options: ResolvedNatsOptions,
    processId: string,
    nc: NatsConnection,
    host: ContextHostService,
    wake: Queue.Queue<void>,
    control: Queue.Queue<Msg>
  ) {
    this.options = options
    this.subjects = subjects(options.prefix)
    this.processId = processId
    this.nc = nc
    this.host = host
    this.beehive = host.beehive
    this.wake = wake
    this.control = control
  }

  readonly report = (event: NatsEvent): void => {
    try {
      this.options.onEvent(event)
    } catch {
      // A throwing listener changes nothing here.
    }
  }

  readonly context: ModuleContext = {
    type: ContextTypeNats,
    open: (module, options) =>
      Effect.sync(() => {
        const endpoint = new RemoteEndpoint(
          module,
          options.capacity,
          this.maxPayload(),
          (requestId) => this.host.isPending(requestId),
          (closed) => {
            if (this.endpoints.get(closed.module) === closed) this.endpoints.delete(closed.module)
            this.ready.delete(closed)
            this.credits.delete(closed)
          },
          ContextTypeNats
        )
        endpoint.bind({
          ready: (e) => {
            this.ready.add(e)
            Queue.offerUnsafe(this.wake, undefined)
          },
          detach: (e) => {
            this.ready.delete(e)
          }
        })
        this.endpoints.set(module, endpoint)
        return endpoint
      }),
    forwardResponse: (response, from) => this.forwardResponse(response, from)
  }

  /** The server's payload limit, less room for headers. */
  maxPayload(): number {
    const max = this.nc.info?.max_payload ?? 1024 * 1024
    return Math.max(1024, max - 1024)
  }

  publish(
    subject: string,
    data: string | Uint8Array,
    reply?: string,
    headers?: Record<string, string>
  ): string | undefined {
    try {
      let h: ReturnType<typeof natsHeaders> | undefined
      if (headers !== undefined) {
        h = natsHeaders()
        for (const [k, v] of Object.entries(headers)) h.set(k, v)
      }
      this.nc.publish(subject, data, {
        ...(reply === undefined ? {} : { reply }),
        ...(h === undefined ? {} : { headers: h })
      })
      return undefined
    } catch (error) {
      return (error as Error).message ?? String(error)
    }
  }

  // ---- answering requests from other processes -------------------------------------------------

  registerInbound(id: string, entry: Inbound): void {
    const known = this.inbound.get(id)
    if (known !== undefined) known.push(entry)
    else {
      if (this.inboundCount >= this.options.maxPendingRequests) {
        const oldest = this.inbound.keys().next().value as string
        this.inboundCount -= (this.inbound.get(oldest) as Array<Inbound>).length
        this.inbound.delete(oldest)
        this.report({ _tag: "RequestForgotten", msgId: oldest })
      }
      this.inbound.set(id, [entry])
    }
    this.inboundCount++
  }

  /**
   * Takes the copy of request `id` that `from` answers: the one delivered to `from`, else (an
   * unattributed answer, or one from elsewhere) the oldest, unless `exact`.
   */
  takeInbound(id: string, from: string | undefined, exact = false): Inbound | undefined {
    const entries = this.inbound.get(id)
    if (entries === undefined) return undefined
    let i = from === undefined ? 0 : entries.findIndex((e) => e.destination === from)
    if (i < 0 && exact) return undefined
    if (i < 0) i = 0
    const [entry] = entries.splice(i, 1)
    this.inboundCount--
    if (entries.length === 0) this.inbound.delete(id)
    return entry
  }

  forwardResponse(response: Message, from: string | undefined): boolean {
    const entry = this.takeInbound(response.header.parentId, from)
    if (entry === undefined) return false
    const json = encodeJsonResult(response)
    if (Result.isFailure(json)) {
      this.publish(entry.reply, "", undefined, {
        [UndeliverableHeader]: `response not encodable: ${json.failure.message}`
      })
      return true
    }
    const failed = this.publish(entry.reply, json.success)
    if (failed !== undefined) {
      this.report({ _tag: "PublishFailed", module: entry.destination, msgId: response.header.id, reason: failed })
    }
    return true
  }

  /** A served module's message could not be delivered: reported, and a sync request is answered so. */
  undeliverable(module: string, message: Message, reply: string | undefined, reason: string): void {
    this.report({ _tag: "Undeliverable", module, msgId: message.header.id, reason })
    if (message.header.sync && reply !== undefined) {
      this.takeInbound(message.header.id, module, true)
      this.publish(reply, "", undefined, { [UndeliverableHeader]: reason })
    } else this.host.onUndeliverable(module, message)
  }

  // ---- serving ---------------------------------------------------------------------------------

  deliverLoop(served: Served): Effect.Effect<never> {
    const self = this
    return Effect.forever(
      Effect.gen(function* () {
        const msg = yield* Queue.take(served.queue)
        const decoded = decodeJsonResult(new TextDecoder().decode(msg.data))
        if (Result.isFailure(decoded)) {
          self.report({ _tag: "BadPayload", subject: msg.subject, reason: decoded.failure.message })
          if (msg.reply !== undefined)
            self.publish(msg.reply, "", undefined, { [UndeliverableHeader]: "bad message JSON" })
          return
        }
        const message = decoded.success
        if (message.header.sync && msg.reply !== undefined) {
          self.registerInbound(message.header.id, { destination: served.module, reply: msg.reply })
        }
        const exit = yield* Effect.exit(self.beehive.send(served.module, message))
        if (msg.reply !== undefined) self.acknowledge(served, msg.reply)
        if (Exit.isFailure(exit)) {
          const error = Cause.squash(exit.cause) as Error
          self.undeliverable(served.module, message, msg.reply, error.message)
          if (
            (error as { _tag?: string })._tag === "ModuleNotFound" ||
            (error as { _tag?: string })._tag === "ModuleClosed"
          ) {
            yield* self.unserve(served.module)
          }
        }
      })
    )
  }

  /**
   * Counts a message of the sender whose reply subject is `reply` as handled, and sends the count back
   * once it is a quarter of the window, or the module's queue is empty (R-NATS-8).
   */
  acknowledge(served: Served, reply: string): void {
    const prefix = reply.slice(0, reply.lastIndexOf(".") + 1)
    const key = `${served.module}\u0000${prefix}`
    let owed = this.owed.get(key)
    if (owed === undefined) {
      if (this.owed.size >= this.options.maxPendingRequests) this.owed.clear()
      owed = { count: 0, reply }
      this.owed.set(key, owed)
    }
    owed.count++
    owed.reply = reply
    const quarter = Math.max(1, Math.floor(this.options.sendWindow / 4))
    if (owed.count < quarter && Queue.sizeUnsafe(served.queue) > 0) return
    this.publish(owed.reply, "", undefined, { [AckHeader]: String(owed.count) })
    this.owed.delete(key)
  }

  /** Sending side: `n` of the messages published to `module` were handled there. */
  credited(module: string, n: number, now: number): void {
    const endpoint = this.endpoints.get(module)
    const credit = endpoint === undefined ? undefined : this.credits.get(endpoint)
    if (endpoint === undefined || credit === undefined) return
    credit.unacked = Math.max(0, credit.unacked - n)
    credit.since = now
    if (endpoint.queued > 0 && endpoint.isOpen && credit.unacked < this.options.sendWindow) {
      this.ready.add(endpoint)
      Queue.offerUnsafe(this.wake, undefined)
    }
  }

  readonly unserve = (module: string): Effect.Effect<void> =>
    Effect.suspend(() => {
      const served = this.served.get(module)
      if (served === undefined) return Effect.void
      this.served.delete(module)
      served.unsubscribe()
      return Effect.andThen(Queue.shutdown(served.queue), this.announce("beat"))
    })

  // ---- the registry (R-NATS-3, R-NATS-4) ---------------------------------------------------------

  announce(kind: Announcement["kind"]): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.closed || this.nc.isClosed()) return
      const body: Announcement = { v: 1, process: this.processId, kind, modules: [...this.served.keys()] }
      this.publish(this.subjects.registry, JSON.stringify(body))
    })
  }

  applyAnnouncement(a: Announcement, now: number): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      if (a.process === this.processId) return
      const known = this.peers.get(a.process)
      if (a.kind === "bye") {
        if (known !== undefined) yield* this.peerGone(a.process, "Bye")
        return
      }
      if (a.kind === "hello") yield* this.announce("beat")
      const modules = new Set(a.modules)
      const before = known?.modules ?? new Set<string>()
      this.peers.set(a.process, { lastSeen: now, modules })
      if (known === undefined) this.report({ _tag: "PeerUp", process: a.process, modules: a.modules })
      for (const m of modules) if (!before.has(m)) yield* this.addOwner(m, a.process)
      for (const m of before) if (!modules.has(m)) yield* this.removeOwner(m, a.process)
    })
  }

  addOwner(module: string, process: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      let owners = this.owners.get(module)
      if (owners === undefined) {
        owners = new Set()
        this.owners.set(module, owners)
      }
      owners.add(process)
      if (this.endpoints.has(module) || this.served.has(module)) return Effect.void
      return this.beehive.addModule(module, { contextType: ContextTypeNats }).pipe(
        // Once registered (not at the endpoint's opening, which comes first): `awaitModule` callers go on.
        Effect.tap(() =>
          Effect.sync(() => {
            const waiting = this.waiters.get(module)
            this.waiters.delete(module)
            for (const d of waiting ?? []) Deferred.doneUnsafe(d, Effect.void)
          })
        ),
        Effect.catch((error) =>
          Effect.sync(() => this.report({ _tag: "ModuleSkipped", module, reason: error.message }))
        )
      )
    })
  }

  removeOwner(module: string, process: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      const owners = this.owners.get(module)
      owners?.delete(process)
      if (owners !== undefined && owners.size > 0) return Effect.void
      this.owners.delete(module)
      return this.dropRemote(module)
    })
  }

  /** Cleans up the "nats" registration of a module nobody serves any longer. */
  dropRemote(module: string): Effect.Effect<void> {
    return Effect.suspend(() =>
      this.endpoints.has(module) ? Effect.ignore(this.beehive.cleanup(module)) : Effect.void
    )
  }

  peerGone(process: string, reason: "Bye" | "Silent" | "Disconnected"): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      const peer = this.peers.get(process)
      if (peer === undefined) return
      this.peers.delete(process)
      this.report({ _tag: "PeerGone", process, reason })
      // Its requests are owed to nobody now: the reply subjects name the process that sent them.
      const inbox = this.subjects.replyInbox(process).slice(0, -1)
      for (const [id, entries] of [...this.inbound]) {
        const kept = entries.filter((e) => !e.reply.startsWith(inbox))
        this.inboundCount -= entries.length - kept.length
        if (kept.length === 0) this.inbound.delete(id)
        else if (kept.length < entries.length) this.inbound.set(id, kept)
      }
      for (const m of peer.modules) yield* this.removeOwner(m, process)
    })
  }

  readonly awaitModule = (module: string, timeout: Duration.Input): Effect.Effect<void, ModuleNotFound> =>
    Effect.gen({ self: this }, function* () {
      const snapshot = yield* this.beehive.snapshot
      if (snapshot.modules.some((m) => m.name === module && m.contextType === ContextTypeNats)) return
      const deferred = Deferred.makeUnsafe<void>()
      let waiting = this.waiters.get(module)
      if (waiting === undefined) {
        waiting = new Set()
        this.waiters.set(module, waiting)
      }
      waiting.add(deferred)
      return yield* Deferred.await(deferred).pipe(
        Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(new ModuleNotFound({ module })) }),
        Effect.ensuring(
          Effect.sync(() => {
            const set = this.waiters.get(module)
            set?.delete(deferred)
            if (set?.size === 0) this.waiters.delete(module)
          })
        )
      )
    })

  /** Handles one message of the reply inbox or the registry. */
  handleControl(msg: Msg): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      if (msg.subject === this.subjects.registry) {
        const a = parseAnnouncement(msg.data)
        if (typeof a === "string") return this.report({ _tag: "BadPayload", subject: msg.subject, reason: a })
        const now = yield* Clock.currentTimeMillis
        return yield* this.applyAnnouncement(a, now)
      }
      // <prefix>.resp.<process>.<module>.<msgId>
      const tokens = msg.subject.split(".")
      const module = fromSubjectToken(tokens[tokens.length - 2] ?? "")
      const msgId = fromSubjectToken(tokens[tokens.length - 1] ?? "")
      if (module === undefined || msgId === undefined) {
        return this.report({ _tag: "BadPayload", subject: msg.subject, reason: "bad reply subject" })
      }
      const ack = msg.headers?.get(AckHeader)
      if (ack !== undefined && ack !== "") {
        const n = Number(ack)
        if (Number.isSafeInteger(n) && n > 0) this.credited(module, n, yield* Clock.currentTimeMillis)
        return
      }
      if (msg.headers?.code === 503) {
        // No subscriber for the module's subject: nobody serves it (R-NATS-5).
        this.report({ _tag: "NoResponders", module, msgId })
        this.owners.delete(module)
        return yield* this.dropRemote(module)
      }
      const refused = msg.headers?.get(UndeliverableHeader)
      if (refused !== undefined && refused !== "") {
        const request = this.endpoints.get(module)?.inflight.get(msgId)
        this.endpoints.get(module)?.answered(msgId)
        if (request === undefined || !this.host.isPending(msgId)) return
        const response = yield* Msgs.newErrorResponse(request, refused)
        yield* Effect.ignore(this.beehive.sendResp(response, module))
        return
      }
      const decoded = decodeJsonResult(new TextDecoder().decode(msg.data))
      if (Result.isFailure(decoded)) {
        return this.report({ _tag: "BadPayload", subject: msg.subject, reason: decoded.failure.message })
      }
      const response = decoded.success
      this.endpoints.get(module)?.answered(response.header.parentId)
      const taken = yield* this.beehive.sendResp(response, module).pipe(Effect.catch(() => Effect.succeed(false)))
      // A late or uninvited response is reported, never delivered to a mailbox (R-NATS-6).
      if (!taken) this.report({ _tag: "LateResponse", module, parentId: response.header.parentId })
    })
  }

  // ---- publishing (R-NATS-8) ---------------------------------------------------------------------

  readonly publisher: Effect.Effect<never> = Effect.forever(
    Effect.gen({ self: this }, function* () {
      yield* Queue.take(this.wake)
      let sinceFlush = 0
      const now = yield* Clock.currentTimeMillis
      while (this.ready.size > 0) {
        for (const endpoint of [...this.ready]) {
          this.ready.delete(endpoint)
          let credit = this.credits.get(endpoint)
          if (credit === undefined) {
            credit = { unacked: 0, since: now }
            this.credits.set(endpoint, credit)
          }
          for (let k = 0; k < 64 && credit.unacked < this.options.sendWindow; k++) {
            const outgoing = endpoint.takeOutgoing()
            if (outgoing === undefined) break
            const { message, json } = outgoing
            const reply = this.subjects.replyTo(this.processId, endpoint.module, message.header.id)
            const failed = this.publish(this.subjects.module(endpoint.module), json, reply)
            if (failed !== undefined) {
              this.report({ _tag: "PublishFailed", module: endpoint.module, msgId: message.header.id, reason: failed })
              if (!message.header.sync) this.host.onUndeliverable(endpoint.module, message)
            } else {
              if (credit.unacked === 0) credit.since = now
              credit.unacked++
            }
            sinceFlush++
          }
          // Past the window the endpoint waits for an acknowledgement (`credited`) before it is ready again.
          if (endpoint.queued > 0 && endpoint.isOpen && credit.unacked < this.options.sendWindow)
            this.ready.add(endpoint)
        }
        if (sinceFlush >= this.options.flushEvery) {
          sinceFlush = 0
          yield* this.flush
        }
      }
      if (sinceFlush > 0) yield* this.flush
    })
  )

  /** Waits until the server has what was published (bounds the client's buffer), or the connection ends. */
  readonly flush: Effect.Effect<void> = Effect.ignore(
    Effect.tryPromise(() => (this.nc.isClosed() ? Promise.resolve() : this.nc.flush()))
  )

  /**
   * `flush`, waiting at most 2 s: for the steps that must not hang while the connection is down (the
   * start, `serve`, the goodbye), where the flush only makes an announcement or subscription prompt.
   */
  readonly flushBriefly: Effect.Effect<void> = this.flush.pipe(
    Effect.timeoutOrElse({ duration: 2000, orElse: () => Effect.void })
  )

  /** Every `heartbeatMs`: forget served modules cleaned up here, announce, and find silent peers. */
  readonly heartbeat: Effect.Effect<never> = Effect.forever(
    Effect.gen({ self: this }, function* () {
      yield* Effect.sleep(this.options.heartbeatMs)
      if (this.served.size > 0) {
        const snapshot = yield* this.beehive.snapshot
        const local = new Set(snapshot.modules.filter((m) => m.contextType !== ContextTypeNats).map((m) => m.name))
        for (const module of [...this.served.keys()]) if (!local.has(module)) yield* this.unserve(module)
      }
      yield* this.announce("beat")
      const now = yield* Clock.currentTimeMillis
      // A window that no acknowledgement opened for the silence limit is opened again: the messages it
      // waited for are lost (at most once), and the sender must not stall for ever (R-NATS-8).
      for (const [endpoint, credit] of this.credits) {
        if (
          credit.unacked >= this.options.sendWindow &&
          now - credit.since > this.options.heartbeatMs * this.options.missedHeartbeats
        ) {
          this.report({ _tag: "WindowReset", module: endpoint.module, unacked: credit.unacked })
          credit.unacked = 0
          credit.since = now
          if (endpoint.queued > 0 && endpoint.isOpen) {
            this.ready.add(endpoint)
            Queue.offerUnsafe(this.wake, undefined)
          }
        }
      }
      const limit = this.options.heartbeatMs * this.options.missedHeartbeats
      for (const [process, peer] of [...this.peers]) {
        if (now - peer.lastSeen > limit) yield* this.peerGone(process, "Silent")
      }
    })
  )
}

/**
 * Connects to NATS, subscribes this process's reply inbox and the registry, and plugs the "nats"
 * context type into the global context of the `ContextHost` in context (R-API-5). Waits for the
 * connection and the server's acknowledgement of the subscriptions. Everything ends with the scope:
 * served modules are unsubscribed, a goodbye is announced, the connection is drained and closed.
 * Fails with `NatsConfigError` for invalid options (naming the key), `NatsConnectFailed` when no server
 * can be reached, `InvalidArgument` if a "nats" context type is plugged in already, `BeehiveShutdown`
 * if the global context is shut down.
 *
 * @category constructors
 */
export const makeNatsContext = (
  options: NatsContextOptions
): Effect.Effect<
  NatsContextService,
  NatsConfigError | NatsConnectFailed | InvalidArgument | BeehiveShutdown,
  Scope.Scope | ContextHost
> =>
  Effect.gen(function* () {
    const resolved = yield* Effect.fromResult(resolveNatsOptions(options))
    const host = yield* ContextHost
    const scope = yield* Effect.scope
    const nc = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          connect({
            servers: [...resolved.servers],
            ...(resolved.user === undefined ? {} : { user: resolved.user, pass: resolved.pass ?? "" }),
            ...(resolved.token === undefined ? {} : { token: resolved.token }),
            ...(resolved.name === undefined ? {} : { name: resolved.name }),
            ...(resolved.tls === undefined
              ? {}
              : {
                  tls: {
                    ...(resolved.tls.ca === undefined ? {} : { caFile: resolved.tls.ca }),
                    ...(resolved.tls.cert === undefined ? {} : { certFile: resolved.tls.cert }),
                    ...(resolved.tls.key === undefined ? {} : { keyFile: resolved.tls.key })
                  }
                }),
            maxReconnectAttempts: resolved.maxReconnectAttempts,
            reconnectTimeWait: resolved.reconnectTimeWaitMs
          }),
        catch: (error) =>
          new NatsConnectFailed({ servers: resolved.servers, detail: String((error as Error)?.message ?? error) })
      }),
      (c) =>
        Effect.promise(async () => {
          if (c.isClosed()) return
          await Promise.race([c.drain().catch(() => c.close()), new Promise((r) => setTimeout(r, 2000))])
          if (!c.isClosed()) await c.close()
        })
    )
    const wake = yield* Queue.sliding<void>(1)
    const control = yield* Queue.dropping<Msg>(MaxControl)
    const state = new NatsState(resolved, globalThis.crypto.randomUUID(), nc, host, wake, control)
    const onControl = (error: Error | null, msg: Msg) => {
      if (error !== null) return
      if (!Queue.offerUnsafe(control, msg))
        state.report({ _tag: "BadPayload", subject: msg.subject, reason: "control queue full" })
    }
    // The reply inbox exists before anything is published (R-NATS-6).
    nc.subscribe(state.subjects.replyInbox(state.processId), { callback: onControl })
    nc.subscribe(state.subjects.registry, { callback: onControl })
    yield* state.flushBriefly
    yield* host.plug(state.context)
    // One message's defect is reported and the loop goes on: responses behind it are not stranded.
    const handleReported = (m: Msg) =>
      Effect.catchCause(state.handleControl(m), (cause) =>
        Effect.sync(() => state.report({ _tag: "BadPayload", subject: m.subject, reason: String(Cause.squash(cause)) }))
      )
    yield* Effect.forkIn(Effect.forever(Effect.flatMap(Queue.take(control), handleReported)), scope)
    yield* Effect.forkIn(state.publisher, scope)
    yield* Effect.forkIn(state.heartbeat, scope)
    // The connection closed for good (reconnection gave up): every remote module is gone (R-NATS-9).
    yield* Effect.forkIn(
      Effect.flatMap(
        Effect.promise(() => nc.closed()),
        (reason) =>
          Effect.gen(function* () {
            if (state.closed) return
            state.report({ _tag: "ConnectionClosed", reason: reason instanceof Error ? reason.message : "closed" })
            for (const process of [...state.peers.keys()]) yield* state.peerGone(process, "Disconnected")
            for (const module of [...state.endpoints.keys()]) yield* state.dropRemote(module)
          })
      ),
      scope
    )
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        for (const module of [...state.served.keys()]) yield* state.unserve(module)
        yield* state.announce("bye")
        // Nothing is announced after the goodbye (a heartbeat would bring this process back).
        state.closed = true
        yield* state.flushBriefly
      })
    )
    yield* state.announce("hello")
    yield* state.flushBriefly

    const serve = (module: string): Effect.Effect<void, ModuleNotFound> =>
      Effect.gen(function* () {
        if (state.served.has(module)) return
        const snapshot = yield* host.beehive.snapshot
        const entry = snapshot.modules.find((m) => m.name === module)
        if (entry === undefined || entry.contextType === ContextTypeNats) return yield* new ModuleNotFound({ module })
        const queue = yield* Queue.make<Msg>({ capacity: resolved.maxInbound, strategy: "dropping" })
        const sub = nc.subscribe(state.subjects.module(module), {
          queue: resolved.prefix,
          callback: (error, msg) => {
            if (error !== null) return
            if (!Queue.offerUnsafe(queue, msg)) {
              // The module is slower than its senders: dropped and reported, never buffered without bound
              // (R-NATS-8). A sync request is answered at once, so its caller does not wait for its deadline.
              const decoded = decodeJsonResult(new TextDecoder().decode(msg.data))
              if (Result.isFailure(decoded)) {
                state.report({ _tag: "BadPayload", subject: msg.subject, reason: decoded.failure.message })
              } else state.undeliverable(module, decoded.success, msg.reply, "inbound queue full")
            }
          }
        })
        const served: Served = { module, queue, unsubscribe: () => sub.unsubscribe() }
        state.served.set(module, served)
        yield* Effect.forkIn(state.deliverLoop(served).pipe(Effect.ignore), scope)
        yield* state.flushBriefly
        yield* state.announce("beat")
      })

    return {
      processId: state.processId,
      serve,
      unserve: state.unserve,
      served: Effect.sync(() => [...state.served.keys()]),
      remoteModules: Effect.sync(() =>
        [...state.owners].map(([module, owners]) => ({ module, processes: [...owners] }))
      ),
      awaitModule: state.awaitModule,
      pendingRequests: Effect.sync(() => [...state.inbound.values()].reduce((n, e) => n + e.length, 0)),
      announce: state.announce("beat")
    } satisfies NatsContextService
  })

/**
 * The NATS context as a service.
 *
 * @category services
 */
export class NatsContext extends Context.Service<NatsContext, NatsContextService>()("beehive-effect/NatsContext") {
  /** Builds the service in the current scope, over the `ContextHost` in context; see `makeNatsContext`. */
  static readonly make = makeNatsContext

  /**
   * A layer over the `ContextHost` in context (`Beehive.layer` provides one); fails as
   * `makeNatsContext` does: `NatsContext.layer(options).pipe(Layer.provideMerge(Beehive.layer))`.
   */
  static readonly layer = (
    options: NatsContextOptions
  ): Layer.Layer<NatsContext, NatsConfigError | NatsConnectFailed | InvalidArgument | BeehiveShutdown, ContextHost> =>
    Layer.effect(NatsContext, makeNatsContext(options))
}
