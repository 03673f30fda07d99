/**
 * The writing side of one connection (R-SOCK-17): one writer fiber drains the bound endpoints'
 * outboxes round robin, responses first, and writes them in batches (up to `batchBytes` per write); a
 * write that waits for the socket to drain leaves the outboxes to fill up, and then their senders wait
 * (backpressure).
 *
 * - A batch opens with the receipt due, if any (R-SOCK-21), then the answers owed to the peer, then
 *   the modules' messages, at most 256 (`fairShare`) from one endpoint before the next one's turn; while
 *   `maxUnreceipted` one-way messages wait for their receipt, the modules' messages wait.
 * - When the liveness check asks for a heartbeat (R-SOCK-20), the next write stands for it; with nothing
 *   else to write, a heartbeat goes out alone.
 * - An endpoint with one-way messages to write wakes the writer at the next scheduler task, so that
 *   the sends of one turn are written together; a sync request (its caller waits) and an answer (a
 *   caller in the peer waits for it) wake it at once.
 * - Over packets (R-SOCK-30) each message of a batch is a write, and a packet, of its own: a Go peer
 *   reads one message per read. To a Go peer the modules' messages are stamped as it needs (R-SOCK-32).
 *
 * @since 0.2.0
 * @internal
 */
import { Effect } from "effect"
import type { Wake } from "../../effects/Mailbox.ts"
import { HeartbeatOperation } from "../../model/Constants.ts"
import type { ConnectionClosed } from "../../model/SocketErrors.ts"
import { encodeBatch, encoderFor, type Framing } from "./Framing.ts"
import type { LinkReceipts } from "./LinkReceipts.ts"
import type { Outgoing, RemoteEndpoint } from "./RemoteEndpoint.ts"
import type { ResponseAttribution } from "./ResponseAttribution.ts"
import type { Connection } from "./Transport.ts"

/** Messages taken from one endpoint before the writer turns to the next. */
const fairShare = 256

const heartbeatJson = JSON.stringify({
  header: { msg_id: "heartbeat", timestamp: 0 },
  route: { operation: HeartbeatOperation },
  content: ""
})

/**
 * What the writer needs of the connection's other parts.
 *
 * @category models
 */
export interface LinkWriterParts {
  /** The receipt due, and the numbering and the bound of one-way messages (R-SOCK-21). */
  readonly receipts: LinkReceipts
  /** Told of each sync request written, to tell a group call's copies from a single request. */
  readonly attribution: ResponseAttribution
  /** Called when a batch took answers (or a receipt): the paused reading may go on if there is room now. */
  readonly onResponsesTaken: () => void
  /**
   * A module's message as written on this connection; undefined when it cannot be written here (made
   * for no connection or another one, and too large for this one): then it is reported instead.
   */
  readonly jsonFor: (outgoing: Outgoing, module: string) => string | undefined
  /** Reports the messages `jsonFor` refused since the last call; undefined when there are none. */
  readonly reportUnwritable: () => Effect.Effect<void> | undefined
}

/**
 * How the writer writes: the framing and the bytes of a batch.
 *
 * @category models
 */
export interface LinkWriterOptions {
  readonly framing: Framing
  readonly batchBytes: number
}

/**
 * The writer of one connection; see the module documentation.
 *
 * @category models
 */
export class LinkWriter {
  private readonly connection: Connection
  private readonly options: LinkWriterOptions
  private readonly parts: LinkWriterParts
  /** Bound endpoints with messages to write, in the order of their turns. */
  private readonly readyEndpoints = new Set<RemoteEndpoint>()
  /** Answers waiting to be written, as JSON, and their size. */
  private responses: Array<string> = []
  private responseBytes = 0
  private wakeWriter: ((wake: Wake) => void) | undefined = undefined
  /** The writer fiber's resumption while it waits for work in `awaitWork`: see `writeParked`. */
  private parked: ((effect: Effect.Effect<void, ConnectionClosed>) => void) | undefined = undefined
  private heartbeatDue = false
  private writes = 0

  constructor(connection: Connection, options: LinkWriterOptions, parts: LinkWriterParts) {
    this.connection = connection
    this.options = options
    this.parts = parts
  }

  /** Answers waiting to be written. */
  get queuedResponses(): number {
    return this.responses.length
  }

  /** The size of the answers waiting to be written: the length of their JSON. */
  get queuedResponseBytes(): number {
    return this.responseBytes
  }

  /** Writes made: what the liveness check sees change (R-SOCK-20). */
  get written(): number {
    return this.writes
  }

  /**
   * An endpoint has messages to write: its turn comes, "later" with whatever else is offered in this
   * turn, "now" at once (a sync request, whose caller waits).
   */
  ready(endpoint: RemoteEndpoint, wake: Wake): void {
    this.readyEndpoints.add(endpoint)
    this.wakeWriter?.(wake)
  }

  /** An endpoint is no longer bound here: it has no more turns. */
  unready(endpoint: RemoteEndpoint): void {
    this.readyEndpoints.delete(endpoint)
  }

  /** Queues an answer's JSON, written before the modules' messages. */
  queueResponse(json: string): void {
    this.responses.push(json)
    this.responseBytes += json.length
    // A caller in the peer waits for it: write it at once rather than after this turn.
    this.wakeWriter?.("now")
  }

  /** Asks for a heartbeat: nothing was written for an interval (R-SOCK-20). */
  requestHeartbeat(): void {
    this.heartbeatDue = true
    this.wakeWriter?.("now")
  }

  /** Wakes the writer if it waits for work: "later" at the next scheduler task, "now" at once. */
  wake(wake: Wake): void {
    this.wakeWriter?.(wake)
  }

  /** The connection ended: nothing more is written, and the answers owed are forgotten. */
  clear(): void {
    this.readyEndpoints.clear()
    this.responses = []
    this.responseBytes = 0
  }

  /** Writes batches until a write fails (the connection is closed). */
  readonly loop: Effect.Effect<never, ConnectionClosed> = Effect.gen({ self: this }, function* () {
    while (true) {
      const batch = this.collectBatch()
      const unwritable = this.parts.reportUnwritable()
      if (unwritable !== undefined) yield* unwritable
      if (batch === undefined) {
        if (unwritable === undefined) yield* this.awaitWork
      } else {
        yield* this.writeBatch(batch)
      }
    }
  })

  private writeBatch(batch: ReadonlyArray<string>): Effect.Effect<void, ConnectionClosed> {
    if (this.options.framing === "packet") {
      const encode = encoderFor("packet")
      return Effect.andThen(
        Effect.forEach(batch, (json) => this.connection.write(encode(json)), { discard: true }),
        this.countWrite
      )
    }
    return Effect.andThen(this.connection.write(encodeBatch(this.options.framing, batch)), this.countWrite)
  }

  private readonly countWrite = Effect.sync(() => {
    this.writes++
  })

  /**
   * What the writer fiber would do once woken, done by the waker (or the scheduler task) instead while
   * each write completes at once: the fiber stays parked, so a batch costs no resumption of it (an
   * async context made and entered, and the steps of its loop). The fiber is resumed only for what
   * must run as an effect: messages to report, a write that waits for the socket to drain or fails, a
   * transport without `writeNow`, packets. The order of batches, reports and writes is the loop's.
   */
  private writeParked(wake: (wake: Wake) => void): void {
    const resume = this.parked
    const writeNow = this.options.framing === "packet" ? undefined : this.connection.writeNow
    while (true) {
      // Interrupted (the link ended) since the wake-up, even by what a batch taken woke: nothing more
      // is written.
      if (resume === undefined || this.parked !== resume) return
      const batch = this.collectBatch()
      const unwritable = this.parts.reportUnwritable()
      if (batch === undefined && unwritable === undefined) {
        // Nothing to write after all: still waiting for work.
        this.wakeWriter = wake
        return
      }
      if (batch === undefined || unwritable !== undefined || writeNow === undefined) {
        this.parked = undefined
        const rest = batch === undefined ? Effect.void : this.writeBatch(batch)
        resume(unwritable === undefined ? rest : Effect.andThen(unwritable, rest))
        return
      }
      const rest = writeNow(encodeBatch(this.options.framing, batch))
      if (rest !== undefined) {
        this.parked = undefined
        resume(Effect.andThen(rest, this.countWrite))
        return
      }
      this.writes++
    }
  }

  /** Whether the bound modules have messages to write and may write them (no wait for receipts). */
  private endpointsReady(): boolean {
    return this.readyEndpoints.size > 0 && !this.parts.receipts.awaitingReceipts()
  }

  /** The JSON texts of the next batch, in order; undefined when there is nothing to write. */
  private collectBatch(): ReadonlyArray<string> | undefined {
    const { receipts, attribution } = this.parts
    const receipt = receipts.receiptDue()
    if (this.responses.length === 0 && !this.endpointsReady() && !receipt) {
      if (!this.heartbeatDue) return undefined
      this.heartbeatDue = false
      return [heartbeatJson]
    }
    this.heartbeatDue = false
    const limit = this.options.batchBytes
    const jsons: Array<string> = []
    let bytes = 0
    if (receipt) jsons.push(receipts.takeReceipt())
    while (this.responses.length > 0 && bytes < limit) {
      const json = this.responses.shift() as string
      jsons.push(json)
      bytes += json.length
    }
    this.responseBytes -= bytes
    this.parts.onResponsesTaken()
    while (bytes < limit && this.readyEndpoints.size > 0 && !receipts.awaitingReceipts()) {
      const endpoint = this.readyEndpoints.values().next().value as RemoteEndpoint
      this.readyEndpoints.delete(endpoint)
      for (let n = 0; n < fairShare && bytes < limit && !receipts.awaitingReceipts(); n++) {
        const outgoing = endpoint.takeOutgoing()
        if (outgoing === undefined) break
        const wire = this.parts.jsonFor(outgoing, endpoint.module)
        if (wire === undefined) continue
        if (outgoing.message.header.sync) attribution.requestWritten(outgoing.message, endpoint)
        const json = receipts.numbered(wire, outgoing.message, endpoint.module)
        jsons.push(json)
        bytes += json.length
      }
      // Still has messages (or senders admitted meanwhile): back to the end of the round.
      if (endpoint.queued > 0) this.readyEndpoints.add(endpoint)
    }
    return jsons.length === 0 ? undefined : jsons
  }

  /**
   * Waits until there is something to write. A "later" wake-up is a scheduler task, so that the sends
   * of one turn are written together; a "now" wake-up (a waiting caller) resumes the writer at once.
   */
  private readonly awaitWork: Effect.Effect<void, ConnectionClosed> = Effect.withFiber((fiber) =>
    Effect.callback<void, ConnectionClosed>((resume) => {
      if (this.responses.length > 0 || this.endpointsReady() || this.parts.receipts.receiptDue() || this.heartbeatDue) {
        resume(Effect.void)
        return
      }
      this.parked = resume
      const wake = (when: Wake) => {
        this.wakeWriter = undefined
        if (when === "now") this.writeParked(wake)
        else fiber.currentDispatcher.scheduleTask(() => this.writeParked(wake), 0)
      }
      this.wakeWriter = wake
      return Effect.sync(() => {
        this.wakeWriter = undefined
        this.parked = undefined
      })
    })
  )
}
