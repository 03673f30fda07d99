/**
 * Replies, both ways (R-NATS-5, R-NATS-6, R-NATS-7). This process's reply inbox
 * (`<prefix>.resp.<process>.<module>.<msgId>`) receives the responses to what it sent, which go to
 * `beehive.sendResp`, the serving processes' acknowledgements (credits of the send window) and
 * refusals, and the no-responders statuses that say nobody serves a module. The other way, it
 * remembers the sync requests other processes sent here, one entry per copy delivered, until a module
 * answers: `forwardResponse` publishes the answer to the request's reply subject.
 *
 * An unattributed answer (R-RESP-3) answers the oldest copy owed, and is published to its reply subject
 * marked `Beehive-Unattributed`: the serving process cannot tell which copies of a group call it will
 * get. The caller's process attributes it to the one module the call's request was published to, if it
 * was published to one (every copy published counts, answered or not); otherwise it stays unattributed
 * and stands for no member in particular (R-GSYNC-6), as over a socket connection (R-SOCK-9).
 *
 * @since 0.3.0
 * @internal
 */
import type { Msg } from "@nats-io/transport-node"
import { Clock, Effect, Result } from "effect"
import type { Message } from "../../model/Message.ts"
import * as Msgs from "../../model/Message.ts"
import { decodeJsonResult, encodeJsonResult } from "../../model/MessageJson.ts"
import type { RemoteEndpoint } from "../socket/RemoteEndpoint.ts"
import { AckHeader, type NatsState, UnattributedHeader, UndeliverableHeader } from "./NatsState.ts"
import { fromSubjectToken, subjectToken } from "./Subjects.ts"

/** The reply subject `<prefix>.resp.<process>.<module>.<msgId>` with `module` in place of the one it names. */
const replyFrom = (reply: string, module: string): string => {
  const tokens = reply.split(".")
  tokens[tokens.length - 2] = subjectToken(module)
  return tokens.join(".")
}

/** Sync requests remembered as published before those whose calls ended are first forgotten. */
const firstPublishedPrune = 1024

/**
 * One copy of a sync request from another process: the module it was delivered to, and where its
 * answer goes.
 *
 * @category models
 */
export interface Inbound {
  readonly destination: string
  readonly reply: string
}

/** A copy owed, with the sender it counts for when the table is full (`Replies.senderOf`). */
interface OwedCopy extends Inbound {
  readonly sender: string
}

/**
 * What is owed to one sender: its copies, their ids' and reply subjects' lengths added up, and the ids
 * it is owed copies of, each with the number it got when it came to be owed (the oldest first).
 */
interface SenderOwed {
  copies: number
  bytes: number
  readonly ids: Map<string, number>
}

/**
 * The replies of one NATS context; see the module documentation.
 *
 * @category models
 */
export class Replies {
  private readonly state: NatsState
  /** Sync requests from other processes, by request id: one entry per copy delivered here. */
  private readonly inbound = new Map<string, Array<OwedCopy>>()
  private inboundCount = 0
  /** Their ids' and reply subjects' lengths, added up, a copy's each (`maxPendingRequestBytes`). */
  private inboundBytes = 0
  /** What is owed to each sender owed copies: those a full table forgets from. */
  private readonly senders = new Map<string, SenderOwed>()
  /** Numbers the requests as a sender comes to be owed them: the oldest of several is the lowest. */
  private owedSince = 0
  /** What every reply subject of a process on this prefix begins with: `senderOf`'s. */
  private inboxes: string | undefined = undefined
  /**
   * Per request id, the request of the latest call with that id this process published, the module its
   * first copy was published to, and whether copies went to several modules (a group call), answered or
   * not: kept while the call may wait.
   */
  private readonly published = new Map<
    string,
    { readonly request: Message; readonly module: string; several: boolean }
  >()
  private publishedPruneAt = firstPublishedPrune

  /** The replies of the context whose state is `state`. */
  constructor(state: NatsState) {
    this.state = state
  }

  /**
   * Remembers a copy of request `id`. Every copy counts against `maxPendingRequests`, another of a
   * request owed already too, and its id's and reply subject's lengths against
   * `maxPendingRequestBytes`. Past either, requests are forgotten, as many as it takes, each from the
   * sender owed the most (copies, or past the bytes budget, bytes), this copy counted for its sender:
   * its oldest request, the copies of it that sender sent, or this copy when its sender is owed nothing
   * else (then it is not remembered, and `RequestForgotten` names it); among senders owed as much, the
   * oldest such request. So a sender owed no more than the others loses nothing to one that floods,
   * nor to a copy longer than the whole budget. (Until a property drew them against the bound, copies
   * of a request owed already were never counted, and a client sending one id again and again made
   * this grow without end; until one drew long ids, `maxPendingRequests` ids as long as a payload could
   * be kept; until one drew a sender flooding another's share, the oldest requests were forgotten
   * whoever sent them.)
   */
  registerInbound(id: string, entry: Inbound): void {
    const { maxPendingRequests, maxPendingRequestBytes } = this.state.options
    const bytes = id.length + entry.reply.length
    const copy: OwedCopy = { destination: entry.destination, reply: entry.reply, sender: this.senderOf(entry.reply) }
    while (true) {
      const byCopies = this.inboundCount >= maxPendingRequests
      if (!byCopies && this.inboundBytes + bytes <= maxPendingRequestBytes) break
      const sender = this.mostOwed(byCopies, copy.sender, byCopies ? 1 : bytes)
      const oldest = this.senders.get(sender)?.ids.keys().next().value
      if (oldest === undefined) {
        // Its sender, owed nothing but this copy: it is the one forgotten.
        this.state.report({ _tag: "RequestForgotten", msgId: id })
        return
      }
      this.drop(oldest, (e) => e.sender === sender)
      this.state.report({ _tag: "RequestForgotten", msgId: oldest })
    }
    const known = this.inbound.get(id)
    if (known !== undefined) known.push(copy)
    else this.inbound.set(id, [copy])
    this.inboundCount++
    this.inboundBytes += bytes
    let owed = this.senders.get(copy.sender)
    if (owed === undefined) {
      owed = { copies: 0, bytes: 0, ids: new Map() }
      this.senders.set(copy.sender, owed)
    }
    owed.copies++
    owed.bytes += bytes
    if (!owed.ids.has(id)) owed.ids.set(id, this.owedSince++)
  }

  /**
   * Whom a copy with reply subject `reply` counts for when the table is full: the process the subject
   * names, when the registry knows it; every other copy (of a process not known, or from a client that
   * is no beehive) counts for one sender, "". So a full table looks among at most `maxPeers` + 1
   * senders, however many a client makes up.
   */
  private senderOf(reply: string): string {
    // `<prefix>.resp.`: what every reply inbox begins with (worked out once, not per request).
    this.inboxes ??= this.state.subjects.replyInbox("").slice(0, -2)
    const inboxes = this.inboxes
    if (!reply.startsWith(inboxes)) return ""
    // A reply subject names the process and then more (`forgetProcess` forgets those it begins).
    const end = reply.indexOf(".", inboxes.length)
    if (end < 0) return ""
    const process = reply.slice(inboxes.length, end)
    return this.state.registry.peers.has(process) ? process : ""
  }

  /**
   * The sender owed the most copies (or bytes), `incoming` more for `sending`, whose copy comes; among
   * those owed as much, the one owed the oldest request (the copy that comes is the newest).
   */
  private mostOwed(byCopies: boolean, sending: string, incoming: number): string {
    const own = this.senders.get(sending)
    let most = sending
    let mostOwed = (own === undefined ? 0 : byCopies ? own.copies : own.bytes) + incoming
    let oldest = own === undefined ? this.owedSince : (own.ids.values().next().value as number)
    for (const [sender, owed] of this.senders) {
      if (sender === sending) continue
      const weight = byCopies ? owed.copies : owed.bytes
      const since = owed.ids.values().next().value as number
      if (weight > mostOwed || (weight === mostOwed && since < oldest)) {
        most = sender
        mostOwed = weight
        oldest = since
      }
    }
    return most
  }

  /** Forgets the copies of request `id` that `gone` picks; returns the first of them. */
  private drop(id: string, gone: (copy: OwedCopy) => boolean): OwedCopy | undefined {
    const entries = this.inbound.get(id)
    if (entries === undefined) return undefined
    let first: OwedCopy | undefined
    const kept: Array<OwedCopy> = []
    for (const e of entries) {
      if (!gone(e)) {
        kept.push(e)
        continue
      }
      first ??= e
      const bytes = id.length + e.reply.length
      this.inboundCount--
      this.inboundBytes -= bytes
      const owed = this.senders.get(e.sender) as SenderOwed
      owed.copies--
      owed.bytes -= bytes
    }
    if (first === undefined) return undefined
    if (kept.length === 0) this.inbound.delete(id)
    else this.inbound.set(id, kept)
    // Once per sender, not per copy: one id may have tens of thousands of copies.
    const keptSenders = new Set(kept.map((k) => k.sender))
    for (const e of entries) {
      if (!gone(e)) continue
      const owed = this.senders.get(e.sender)
      if (owed === undefined) continue
      if (!keptSenders.has(e.sender)) owed.ids.delete(id)
      if (owed.copies === 0) this.senders.delete(e.sender)
    }
    return first
  }

  /**
   * Takes the copy of request `id` delivered to `from` (unattributed: the oldest; with `reply`, the one
   * with that reply subject), if one is owed.
   */
  takeInbound(id: string, from: string | undefined, reply?: string): Inbound | undefined {
    const entries = this.inbound.get(id)
    if (entries === undefined) return undefined
    const i =
      from === undefined
        ? 0
        : entries.findIndex((e) => e.destination === from && (reply === undefined || e.reply === reply))
    if (i < 0) return undefined
    const taken = entries[i] as OwedCopy
    this.drop(id, (e) => e === taken)
    return taken
  }

  /**
   * Notes a sync request as this process publishes it to `module` (the publisher does, before the
   * publication): whether copies of it went to several modules, whose unattributed answers then stay
   * unattributed (R-NATS-6).
   */
  requestPublished(request: Message, module: string): void {
    const id = request.header.id
    const known = this.published.get(id)
    if (known?.request === request) {
      if (known.module !== module) known.several = true
    } else {
      // Pending calls have distinct ids: another request with this id belongs to a call that ended.
      this.published.delete(id)
      this.published.set(id, { request, module, several: false })
    }
    // Calls that ended leave their requests here; forget those, amortized by doubling the threshold.
    if (this.published.size > this.publishedPruneAt) {
      for (const known of this.published.keys()) if (!this.state.host.isPending(known)) this.published.delete(known)
      this.publishedPruneAt = Math.max(firstPublishedPrune, this.published.size * 2)
    }
  }

  /**
   * Whom an answer to request `id` that came on the reply subject of `module`'s copy is from: `module`,
   * unless it is marked unattributed; then the one module the request was published to, if it went to
   * one, else nobody (undefined), whichever copy it answered (R-NATS-6). A request this process published
   * nothing of (no call here waits for it) leaves it to the module the subject names.
   */
  responder(id: string, module: string, marked: boolean): string | undefined {
    if (!marked) return module
    const call = this.published.get(id)
    return call === undefined ? module : call.several ? undefined : call.module
  }

  /**
   * Publishes a response to the process whose request it answers (the context type's `forwardResponse`),
   * while the request is owed an answer. It answers the copy delivered to `from`; unattributed, the
   * oldest copy, marked unattributed (`Beehive-Unattributed`) so that the caller's process attributes it
   * from the copies it published, never to that copy's module on this process's word (R-NATS-6). A
   * response from a module owed no copy (a second answer, or a module the request did not reach)
   * answers none: it is published attributed to `from`, so that the caller's process counts it as
   * uninvited (R-GSYNC-3) instead of as another member's answer.
   */
  forwardResponse(response: Message, from: string | undefined): boolean {
    const id = response.header.parentId
    const owed = this.inbound.get(id)?.[0]
    if (owed === undefined) return false
    const entry = this.takeInbound(id, from)
    const reply = entry?.reply ?? replyFrom(owed.reply, from as string)
    // The serving side's count for the sender rides on the answer of the copy it answers (R-NATS-8).
    const ack = entry === undefined ? undefined : this.state.serving.ackHeaders(entry.destination, entry.reply)
    // Marked, not named: the caller's process attributes it from the copies it published (R-NATS-6).
    const headers = from === undefined ? { ...ack, [UnattributedHeader]: "1" } : ack
    const json = encodeJsonResult(response)
    const failed = Result.isFailure(json)
      ? this.state.publish(reply, "", undefined, {
          ...headers,
          [UndeliverableHeader]: `response not encodable: ${json.failure.message}`
        })
      : this.state.publish(reply, json.success, undefined, headers)
    if (failed !== undefined) {
      this.state.report({
        _tag: "PublishFailed",
        module: from ?? owed.destination,
        msgId: response.header.id,
        reason: failed
      })
    }
    return true
  }

  /** Forgets the requests `process` sent: they are owed to nobody now (the process is gone). */
  forgetProcess(process: string): void {
    // The reply subjects name the process that sent them.
    const inbox = this.state.subjects.replyInbox(process).slice(0, -1)
    for (const id of [...this.inbound.keys()]) this.drop(id, (e) => e.reply.startsWith(inbox))
  }

  /** `NatsContextService.pendingRequests`. */
  readonly pendingRequests: Effect.Effect<number> = Effect.sync(() =>
    [...this.inbound.values()].reduce((n, e) => n + e.length, 0)
  )

  /** Handles one message of the reply inbox. */
  handle(msg: Msg): Effect.Effect<void> {
    return Effect.gen(() => this.handleSteps(msg))
  }

  /**
   * Ends the call still waiting for request `msgId`, in flight to `endpoint`'s module, with an error
   * response saying `reason`, from `from` (a refusal by the serving side, nobody serving the module,
   * a publish the client refused: R-NATS-3, R-NATS-5, R-NATS-6). The request is no longer in flight;
   * nothing is sent when no call waits for it. Never fails.
   */
  answerRefused(
    endpoint: RemoteEndpoint | undefined,
    msgId: string,
    reason: string,
    from: string | undefined
  ): Effect.Effect<void> {
    return Effect.suspend(() => {
      const request = endpoint?.inflight.get(msgId)
      endpoint?.answered(msgId)
      if (request === undefined || !this.state.host.isPending(msgId)) return Effect.void
      return Effect.flatMap(Msgs.newErrorResponse(request, reason), (response) =>
        Effect.ignore(this.state.beehive.sendResp(response, from))
      )
    })
  }

  // A generator method, made once: a generator function made per call (per answer here) costs V8 a
  // prototype object and an initial map at its first generator (see socket/Deliveries.ts).
  private *handleSteps(msg: Msg) {
    const state = this.state
    // <prefix>.resp.<process>.<module>.<msgId>
    const tokens = msg.subject.split(".")
    const module = fromSubjectToken(tokens[tokens.length - 2] ?? "")
    const msgId = fromSubjectToken(tokens[tokens.length - 1] ?? "")
    if (module === undefined || msgId === undefined) {
      return state.report({ _tag: "BadPayload", subject: msg.subject, reason: "bad reply subject" })
    }
    const ack = msg.headers?.get(AckHeader)
    if (ack !== undefined && ack !== "") {
      const n = Number(ack)
      if (Number.isSafeInteger(n) && n > 0) state.publisher.credited(module, n, yield* Clock.currentTimeMillis)
      // An acknowledgement alone, or the one an answer carries (R-NATS-8), which is handled next.
      if (msg.data.length === 0 && !msg.headers?.has(UndeliverableHeader)) return
    }
    if (msg.headers?.code === 503) {
      // No subscriber for the module's subject: nobody serves it (R-NATS-5).
      state.report({ _tag: "NoResponders", module, msgId })
      // A durable module stays; the sync request nobody took is answered so (R-NATS-12).
      if (!state.durable.has(module)) return yield* state.registry.nobodyServes(module)
    }
    // An unattributed answer is attributed here, from the copies this process published (R-NATS-6).
    const marked = msg.headers?.has(UnattributedHeader) === true
    const refused =
      msg.headers?.code === 503 ? `no process serves module "${module}"` : msg.headers?.get(UndeliverableHeader)
    if (refused !== undefined && refused !== "") {
      return yield* this.answerRefused(
        state.publisher.endpoints.get(module),
        msgId,
        refused,
        this.responder(msgId, module, marked)
      )
    }
    const decoded = decodeJsonResult(msg.string())
    if (Result.isFailure(decoded)) {
      return state.report({ _tag: "BadPayload", subject: msg.subject, reason: decoded.failure.message })
    }
    const response = decoded.success
    state.publisher.endpoints.get(module)?.answered(response.header.parentId)
    const from = this.responder(response.header.parentId, module, marked)
    const taken = yield* state.beehive.sendResp(response, from).pipe(Effect.catch(() => Effect.succeed(false)))
    // A late or uninvited response is reported, never delivered to a mailbox (R-NATS-6).
    if (!taken) state.report({ _tag: "LateResponse", module, parentId: response.header.parentId })
  }
}
