/**
 * The socket in the proof: conservation, synchronous outcomes, per-sender FIFO and no leaks across two
 * processes (R-SOCK-8, -9, -11, -12, -17 with R-SEND-3, R-SEND-4, R-SYNC-4, R-SYNC-6, R-GSYNC-5,
 * R-GSYNC-7). A server process S serves modules A and B (group g) to the client module X of a client
 * process C, which also has a local module L in g; both are Beehives with socket contexts over one
 * in-memory network, inside the scenario's deterministic runtime. Senders in C send, sendSync,
 * sendToGroup and sendToGroupSync to A, B, L and g; senders in S to X, A and the group X; receivers
 * record what they get and answer every sync request. The main fiber injects the generated faults at
 * generated points (virtual time, then scheduler turns): the network drops every connection, S crashes
 * (its scope ends) and restarts, an end stops reading and reads again, the client is closed (also
 * while S does not read) and reopened; reads may be split and coalesced, pipes small, batches and
 * inbound backlogs tiny, receivers slow.
 *
 * The oracle, with a copy being one (module, message id) pair offered by one operation:
 *
 * - A copy whose send succeeded (or that a group send delivered, or whose call was answered) is
 *   received, reported `Undeliverable` by the receiving process, or reported `Unsent` by the sending
 *   process (never written when its connection ended, or written and, by the peer's receipts, never
 *   handled), exactly once; or reported `InDoubt` by the sending process, once (written to a peer that
 *   never said: it was restarted, or the run ended first), and then received at most once (R-SOCK-11,
 *   R-SOCK-21). In doubt means no one can say: the reporting process is ending (a crash, or the end of
 *   the run), or it is the client and the server its copy was written to (the one its connection
 *   met, which may have crashed before the send, while the client had not yet noticed) restarted, and
 *   then the client says so when it meets the restarted server. A copy parked when its connection ended is
 *   never in doubt once the same peer has connected again: that handshake settles it (arrived, or
 *   unsent), so a peer that never settles cannot hide behind "in doubt at the end". A copy may be
 *   missing unreported only when the process of its module crashed after it was sent (what a process
 *   holds dies with it). Checked once both processes have ended, when everything in doubt has been
 *   reported.
 * - A copy whose send was refused appears nowhere; a copy whose sync call failed after it may have
 *   been written (RequestDropped, SyncTimeout in the response phase, shutdown, a failed group call)
 *   appears at most once. Nothing appears twice; nothing appears that was not sent; nothing appears in
 *   another process than its module's; no response reaches a mailbox.
 * - Every sendSync ends with its own answer, SyncTimeout, RequestDropped, or the module missing or
 *   closed (BeehiveShutdown only in a crashed process), never after its deadline. A SyncTimeout comes
 *   exactly at the deadline; only while a reader was stalled during the call or receivers are slow
 *   (otherwise every answer comes in the virtual instant of its request); and never when the caller's
 *   process closed a connection after the call began and before its deadline (nothing waits for a
 *   deadline because a peer left). A sendToGroupSync gets each member's own answer, attributed to that
 *   member, and times out under the same conditions, never waiting for a remote member whose
 *   connection the caller's process closed before the deadline (R-GSYNC-5).
 * - Each sender's copies reach each module in the order sent, across reconnections (R-SEND-4, R-SOCK-8).
 * - At quiescence neither process has a pending call; after both processes end no timer and no
 *   scenario fiber is left, and no connection is open.
 */
import { Cause, Effect, Exit, Fiber, References, Scope } from "effect"
import { type BeehiveService, makeHost } from "../../src/contexts/Beehive.ts"
import { ContextHost, ProcessEndingReason } from "../../src/contexts/ContextHost.ts"
import { type ConnectionEnd, MemoryNetwork } from "../../src/contexts/socket/MemoryTransport.ts"
import { unix } from "../../src/contexts/socket/SocketAddress.ts"
import type { SocketClient } from "../../src/contexts/socket/SocketClient.ts"
import { makeSocketContext, type SocketContextService } from "../../src/contexts/socket/SocketContext.ts"
import type { SocketEvent } from "../../src/contexts/socket/SocketEvents.ts"
import type { SocketServer } from "../../src/contexts/socket/SocketServer.ts"
import { Transport } from "../../src/contexts/socket/Transport.ts"
import { ResponseErrorOperation } from "../../src/model/Constants.ts"
import * as Message from "../../src/model/Message.ts"
import { formatTimeout, type Scenario, type ScenarioContext, type TraceEvent } from "../../src/testing/Scenario.ts"

/** The faults a run may inject, in the order generated. */
export type SocketFault =
  | "drop"
  | "crash"
  | "restart"
  | "stallServer"
  | "stallClient"
  | "resume"
  | "closeClient"
  | "reopenClient"
  | "closeWhileStalled"

/** One operation of a sender; `target` indexes its process's targets, `ms` is a timeout or a pause. */
export interface SocketOp {
  readonly kind: "send" | "sendSync" | "group" | "groupSync" | "pause"
  readonly target: number
  readonly ms: number
}

/** The generated input of a socket run (checker/scenarios/socketInputs.ts). */
export interface SocketLedgerInput {
  /** Mailbox and outbox capacity of every module. */
  readonly capacity: number
  /** Bytes a pipe holds before its writer waits. */
  readonly pipeBytes: number
  /** Bytes per read (split and coalesced reads); 0: every write as written. */
  readonly maxReadBytes: number
  /** Bytes gathered into one write (`batchBytes`). */
  readonly batchBytes: number
  /**
   * Whether connections write at once outside the writer's fiber, as node:net's do (`writeNow`);
   * absent in inputs recorded before it existed, which replay without it.
   */
  readonly directWrites?: boolean | undefined
  /** Messages read and not yet delivered before reading pauses (`maxInboundBacklog`). */
  readonly backlog: number
  /** Per sender in the client process, its operations (targets A, B, L; group g). */
  readonly client: ReadonlyArray<ReadonlyArray<SocketOp>>
  /** Per sender in the server process, its operations (targets X, A; group X). */
  readonly server: ReadonlyArray<ReadonlyArray<SocketOp>>
  /** Faults in order, each after `ms` of virtual time and then `yields` scheduler turns. */
  readonly faults: ReadonlyArray<{ readonly kind: SocketFault; readonly ms: number; readonly yields: number }>
  /** Virtual ms a receiver pauses after each message (slow consumers keep deliveries queued). */
  readonly receiverPauseMs: number
  /** Virtual ms the last fault holds before stalled readers read again (a stall outlasts deadlines). */
  readonly holdMs: number
}

type Proc = "C" | "S"

/**
 * What one run reached, noted in its trace (`summaryOf` reads it back): connections the client made,
 * the faults that changed something, copies offered, received and lost (as R-SOCK-11 allows), and the
 * outcome of every synchronous call by tag.
 */
export interface SocketLedgerSummary {
  readonly connections: number
  readonly faults: ReadonlyArray<SocketFault>
  readonly copies: number
  readonly received: number
  /** Copies reported `Unsent`: accepted for the other process and never written, or never handled there. */
  readonly unsent: number
  /** Copies reported `InDoubt`: written to a peer that never said whether it handled them (R-SOCK-21). */
  readonly inDoubt: number
  readonly lost: number
  readonly sync: ReadonlyArray<string>
}

const summaryPrefix = "summary "

/** The summary a run of `socketLedger` noted in its trace, if it got that far. */
export const summaryOf = (trace: ReadonlyArray<TraceEvent>): SocketLedgerSummary | undefined => {
  const event = trace.find((e) => e.kind === "note" && e.op.startsWith(summaryPrefix))
  return event === undefined ? undefined : (JSON.parse(event.op.slice(summaryPrefix.length)) as SocketLedgerSummary)
}

/** What a copy's sender learned: delivered, refused, or possibly delivered. */
type Expect = "once" | "none" | "atMostOnce"

interface Copy {
  readonly key: string
  readonly from: Proc
  readonly to: Proc
  /** When its send began (ticks order invocations, closes and crashes). */
  readonly tick: number
  expect: Expect
}

interface Side {
  readonly scope: Scope.Closeable
  readonly beehive: BeehiveService
  readonly socket: SocketContextService
  readonly receivers: Array<Fiber.Fiber<void, unknown>>
}

const address = unix("/proof/socket.sock")
const clientTargets = ["A", "B", "L"] as const
const serverTargets = ["X", "A"] as const
const home: Record<string, Proc> = { A: "S", B: "S", L: "C", X: "C" }
const groupMembers: Record<string, ReadonlyArray<string>> = { g: ["A", "B", "L"], X: ["X"] }

const tagOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "Success"
  const error = Cause.squash(exit.cause) as { _tag?: string } | undefined
  return Cause.hasInterruptsOnly(exit.cause) ? "Interrupted" : (error?._tag ?? "Defect")
}

/** The scenario for one input; see the module documentation. Socket events are not logged. */
export const socketLedger = (input: SocketLedgerInput): Scenario => ({
  name: "socket-ledger",
  preemptAtOperations: true,
  run: (ctx) => run(ctx, input).pipe(Effect.provideService(References.MinimumLogLevel, "None"))
})

const run = (ctx: ScenarioContext, input: SocketLedgerInput) =>
  Effect.gen(function* () {
    let tick = 0
    const closes: Array<{ readonly tick: number; readonly time: number; readonly end: ConnectionEnd }> = []
    const crashes: Array<number> = []
    const network = new MemoryNetwork(input.pipeBytes, {
      maxReadBytes: input.maxReadBytes,
      directWrites: input.directWrites ?? false,
      onClose: (_, end) => closes.push({ tick: ++tick, time: ctx.now(), end })
    })
    const copies = new Map<string, Copy>()
    // Virtual-time windows during which an end did not read: only they (or slow receivers) delay answers.
    const stalls: Array<{ readonly from: number; to: number }> = []
    const stalled = { client: false, server: false }
    const stall = (end: ConnectionEnd, on: boolean) => {
      const was = stalled.client || stalled.server
      stalled[end] = on
      network.setStalled(end, on)
      const is = stalled.client || stalled.server
      if (!was && is) stalls.push({ from: ctx.now(), to: Number.POSITIVE_INFINITY })
      const last = stalls[stalls.length - 1]
      if (was && !is && last !== undefined) last.to = ctx.now()
    }
    const seen: Array<{
      readonly key: string
      readonly at: Proc
      readonly how: string
      /** For a report in doubt: when it came, and whether its process was then ending (crash or end of run). */
      readonly tick?: number
      readonly ending?: boolean
    }> = []
    // Processes whose scope is closing: a crash, or the end of the run.
    const ending = new Set<Proc>()
    // What each process's onUndeliverable was handed: every Unsent report comes with its message there.
    const handed: Array<{ readonly key: string; readonly at: Proc }> = []
    let connections = 0
    // When the client's handshakes completed: each settles what the same peer left parked.
    const connectedAt: Array<number> = []
    // When a server accepted a handshake: the last one before a copy's send made the connection the copy
    // went on (the server accepts it before the client learns of its modules, and a client reconnects
    // only once the connection before has ended, so no copy goes on a connection made after its send).
    const servedAt: Array<number> = []
    const events = (proc: Proc) => (event: SocketEvent) => {
      if (event._tag === "Connected" && proc === "C") {
        connections++
        connectedAt.push(++tick)
      }
      if (event._tag === "Connected" && proc === "S") servedAt.push(++tick)
      if (event._tag === "Undeliverable")
        seen.push({ key: `${event.destination}:${event.msgId}`, at: proc, how: "undeliverable" })
      if (event._tag === "Unsent") seen.push({ key: `${event.destination}:${event.msgId}`, at: proc, how: "unsent" })
      if (event._tag === "InDoubt")
        seen.push({
          key: `${event.destination}:${event.msgId}`,
          at: proc,
          how: "inDoubt",
          tick: ++tick,
          ending: ending.has(proc)
        })
    }
    const socketOptions = (proc: Proc) => ({
      batchBytes: input.batchBytes,
      maxInboundBacklog: input.backlog,
      onEvent: events(proc)
    })

    /** A receiver: records every message, answers every sync request, ends with its module. */
    const receiver = (proc: Proc, beehive: BeehiveService, module: string) =>
      ctx.spawn(
        `receiver-${module}@${proc}`,
        Effect.gen(function* () {
          while (true) {
            const exit = yield* Effect.exit(
              ctx.op(`receiver-${module}@${proc}`, `receive(${module})`, beehive.receive(module))
            )
            if (Exit.isFailure(exit)) return
            const m = exit.value
            seen.push({
              key: `${module}:${m.header.id}`,
              at: proc,
              how: m.header.parentId === "" ? "received" : "response"
            })
            if (m.header.sync) {
              const answer = yield* Message.newResponse(m, `re:${module}:${m.header.id}`)
              yield* ctx.op(
                `receiver-${module}@${proc}`,
                `sendResp(re #${m.header.id})`,
                beehive.sendResp(answer, module)
              )
            }
            if (input.receiverPauseMs > 0) yield* Effect.sleep(input.receiverPauseMs)
          }
        })
      )

    const makeSide = (proc: Proc, modules: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const built = yield* Effect.gen(function* () {
          const host = yield* makeHost({
            capacity: input.capacity,
            onUndeliverable: (module, message) => handed.push({ key: `${module}:${message.header.id}`, at: proc })
          })
          const socket = yield* makeSocketContext(socketOptions(proc)).pipe(
            Effect.provideService(Transport, network.transport),
            Effect.provideService(ContextHost, host)
          )
          return { socket, beehive: host.beehive }
        }).pipe(Scope.provide(scope))
        for (const m of modules) {
          yield* built.beehive.addModule(m)
          yield* built.beehive.addModuleGroup(m, "g")
        }
        const receivers: Array<Fiber.Fiber<void, unknown>> = []
        for (const m of modules) receivers.push(yield* receiver(proc, built.beehive, m))
        return { scope, ...built, receivers } satisfies Side
      })

    // S: A and B in group g, served to X. C: X, and L in group g.
    const startServer = Effect.gen(function* () {
      const side = yield* makeSide("S", ["A", "B"])
      const server = yield* side.socket.serve({ address, accept: ["X"] }).pipe(Scope.provide(side.scope))
      return { side, server }
    })
    let s: { side: Side; server: SocketServer } | undefined = yield* startServer
    const servers: Array<Side> = [s.side]
    const c = yield* makeSide("C", ["L"])
    yield* c.beehive.addModule("X")
    c.receivers.push(yield* receiver("C", c.beehive, "X"))
    const connect = c.socket
      .connect({ module: "X", address, backoff: { initial: 5, max: 20, jitter: 0 } })
      .pipe(Scope.provide(c.scope))
    let client: SocketClient | undefined = yield* connect
    yield* client.connected

    const note = (key: string, from: Proc, expect: Expect, t: number) => {
      const known = copies.get(key)
      if (known === undefined)
        copies.set(key, { key, from, to: home[key.split(":")[0] as string] as Proc, tick: t, expect })
      else known.expect = expect
    }
    const syncOutcomes: Array<{
      readonly label: string
      readonly from: Proc
      readonly tick: number
      readonly start: number
      readonly end: number
      readonly timeoutMs: number
      readonly remote: ReadonlyArray<string>
      readonly exit: Exit.Exit<unknown, unknown>
      readonly id: string
      readonly module: string | undefined
    }> = []

    /** Runs one sender's plan against `beehive` in process `from`. */
    const sender = (name: string, from: Proc, beehive: BeehiveService, plan: ReadonlyArray<SocketOp>) =>
      Effect.gen(function* () {
        const targets = from === "C" ? clientTargets : serverTargets
        const group = from === "C" ? "g" : "X"
        for (const [k, op] of plan.entries()) {
          if (op.kind === "pause") {
            yield* Effect.sleep(op.ms)
            continue
          }
          const id = `${name}.${k}`
          const message = Message.make({ header: { id, timestamp: 1 }, content: id })
          const started = ctx.now()
          let t = 0
          const begin = <A, E>(effect: Effect.Effect<A, E>) =>
            Effect.suspend(() => {
              t = ++tick
              return effect
            })
          if (op.kind === "send" || op.kind === "sendSync") {
            const module = targets[op.target % targets.length] as string
            const key = `${module}:${id}`
            if (op.kind === "send") {
              const exit = yield* Effect.exit(
                ctx.op(name, `send(${module}, #${id})`, begin(beehive.send(module, message)))
              )
              note(key, from, Exit.isSuccess(exit) ? "once" : "none", t)
            } else {
              const exit = yield* Effect.exit(
                ctx.op(
                  name,
                  `sendSync(${module}, #${id}, ${formatTimeout(op.ms)})`,
                  begin(beehive.sendSync(module, message, op.ms))
                )
              )
              const tag = tagOf(exit)
              const phase = Exit.isFailure(exit) ? (Cause.squash(exit.cause) as { phase?: string }).phase : undefined
              note(
                key,
                from,
                tag === "Success"
                  ? "once"
                  : tag === "ModuleNotFound" || tag === "ModuleClosed" || (tag === "SyncTimeout" && phase === "enqueue")
                    ? "none"
                    : "atMostOnce",
                t
              )
              syncOutcomes.push({
                label: `sendSync(${module}, #${id})`,
                from,
                tick: t,
                start: started,
                end: ctx.now(),
                timeoutMs: op.ms,
                remote: home[module] === from ? [] : [module],
                exit,
                id,
                module
              })
            }
          } else if (op.kind === "group") {
            const exit = yield* Effect.exit(
              ctx.op(name, `sendToGroup(${group}, #${id})`, begin(beehive.sendToGroup(group, message)))
            )
            for (const m of groupMembers[group] ?? []) note(`${m}:${id}`, from, "none", t)
            if (Exit.isSuccess(exit)) for (const m of exit.value.delivered) note(`${m}:${id}`, from, "once", t)
          } else {
            const exit = yield* Effect.exit(
              ctx.op(
                name,
                `sendToGroupSync(${group}, #${id}, ${formatTimeout(op.ms)})`,
                begin(beehive.sendToGroupSync(group, message, op.ms))
              )
            )
            const tag = tagOf(exit)
            // Members the call may have written to: any member; those that answered got it for sure.
            for (const m of groupMembers[group] ?? [])
              note(`${m}:${id}`, from, tag === "GroupNotFound" || tag === "BeehiveShutdown" ? "none" : "atMostOnce", t)
            const answered = Exit.isSuccess(exit)
              ? [...exit.value.responses.keys()]
              : ((Cause.squash(exit.cause) as { responded?: ReadonlyArray<string> }).responded ?? [])
            for (const m of answered) note(`${m}:${id}`, from, "once", t)
            syncOutcomes.push({
              label: `sendToGroupSync(${group}, #${id})`,
              from,
              tick: t,
              start: started,
              end: ctx.now(),
              timeoutMs: op.ms,
              remote: (groupMembers[group] ?? []).filter((m) => home[m] !== from),
              exit,
              id,
              module: undefined
            })
          }
        }
      })

    const senders: Array<Fiber.Fiber<void, unknown>> = []
    for (const [i, plan] of input.client.entries()) {
      senders.push(yield* ctx.spawn(`c${i}`, sender(`c${i}`, "C", c.beehive, plan)))
    }
    for (const [i, plan] of input.server.entries()) {
      senders.push(yield* ctx.spawn(`s${i}`, sender(`s${i}`, "S", s.side.beehive, plan)))
    }

    const closeClient = Effect.gen(function* () {
      if (client === undefined) return
      yield* client.close
      client = undefined
    })
    // The faults run in the main fiber: receivers of a restarted server are its children, and live on.
    const applied: Array<SocketFault> = []
    yield* Effect.gen(function* () {
      for (const fault of input.faults) {
        if (fault.ms > 0) yield* Effect.sleep(fault.ms)
        for (let y = 0; y < fault.yields; y++) yield* Effect.yieldNow
        yield* ctx.note("main", `fault: ${fault.kind}`)
        const before = { s, client, open: network.openConnections, stalled: stalled.client || stalled.server }
        switch (fault.kind) {
          case "drop":
            network.drop()
            break
          case "crash":
            if (s !== undefined) {
              const dying = s.side.scope
              s = undefined
              ending.add("S")
              yield* Scope.close(dying, Exit.void)
              ending.delete("S")
              // Marked when the process is gone: what it accepted while going down is lost with it.
              crashes.push(++tick)
            }
            break
          case "restart":
            if (s === undefined) {
              s = yield* startServer
              servers.push(s.side)
            }
            break
          case "stallServer":
            stall("server", true)
            break
          case "stallClient":
            stall("client", true)
            break
          case "resume":
            stall("server", false)
            stall("client", false)
            break
          case "closeClient":
            yield* closeClient
            break
          case "closeWhileStalled":
            stall("server", true)
            yield* closeClient
            break
          case "reopenClient":
            if (client === undefined) client = yield* connect
            break
        }
        const changed =
          before.s !== s ||
          before.client !== client ||
          before.stalled !== (stalled.client || stalled.server) ||
          (fault.kind === "drop" && before.open > 0)
        if (changed) applied.push(fault.kind)
      }
    })
    if (input.holdMs > 0) yield* Effect.sleep(input.holdMs)
    // A peer that stops reading for good is outside the oracle: everything it was sent would wait.
    stall("server", false)
    stall("client", false)
    yield* Fiber.awaitAll(senders)
    // Long enough for slow receivers to drain what is queued, and reconnections to happen.
    yield* Effect.sleep(200)
    yield* ctx.quiesce

    // Per-sender FIFO: the copies a module got from one sender come in the order sent.
    for (const module of Object.keys(home)) {
      const order = seen
        .filter((x) => x.how === "received" && x.key.startsWith(`${module}:`))
        .map((x) => x.key.slice(module.length + 1).split("."))
      for (const name of new Set(order.map(([sender]) => sender))) {
        const ks = order.filter(([sender]) => sender === name).map(([, k]) => Number(k))
        yield* ctx.check(
          ks.every((k, i) => i === 0 || k > (ks[i - 1] as number)),
          `${name}'s messages reached ${module} in the order sent [${ks.join(", ")}] (R-SEND-4, R-SOCK-8)`
        )
      }
    }

    // Synchronous outcomes.
    for (const call of syncOutcomes) {
      const tag = tagOf(call.exit)
      const deadline = call.start + call.timeoutMs
      yield* ctx.check(call.end <= deadline, `${call.label} ended by its deadline (${call.end} <= ${deadline})`)
      // The server's senders belong to the first server process: after its crash, every call is refused.
      const crashed = call.from === "S" && crashes.length > 0
      const closedBefore = closes.some(
        (x) => x.tick > call.tick && x.time < deadline && x.end === (call.from === "C" ? "client" : "server")
      )
      // Without slow receivers or a stalled reader, every answer comes in the virtual instant of its request.
      const mayWait = input.receiverPauseMs > 0 || stalls.some((x) => x.from < deadline && x.to > call.start)
      if (call.module !== undefined) {
        yield* ctx.check(
          ["Success", "SyncTimeout", "RequestDropped", "ModuleNotFound", "ModuleClosed"].includes(tag) ||
            (tag === "BeehiveShutdown" && crashed),
          `${call.label} ends with its answer, SyncTimeout, RequestDropped, or its module missing or closed (${tag})`
        )
        if (Exit.isSuccess(call.exit)) {
          const answer = call.exit.value as Message.Message
          // A serving process that ended with the request read and not yet offered answers it with an
          // error response saying so (R-SOCK-10).
          const refusedAtItsEnd =
            crashes.length > 0 &&
            answer.route.operation === ResponseErrorOperation &&
            answer.content === ProcessEndingReason
          yield* ctx.check(
            answer.header.parentId === call.id &&
              (answer.content === `re:${call.module}:${call.id}` || refusedAtItsEnd),
            `${call.label} got its own answer, or an error response from a serving process that ended before offering it (R-SYNC-4, R-SOCK-9, R-SOCK-10)`
          )
        }
        if (tag === "SyncTimeout") {
          yield* ctx.check(call.end === deadline, `${call.label} timed out exactly at its deadline`)
          yield* ctx.check(mayWait, `${call.label} timed out only while a reader was stalled or receivers slow`)
          yield* ctx.check(
            call.remote.length === 0 || !closedBefore,
            `${call.label} did not wait for its deadline after its connection ended (R-SOCK-11)`
          )
        }
      } else {
        yield* ctx.check(
          ["Success", "GroupSyncError", "GroupNotFound"].includes(tag) || (tag === "BeehiveShutdown" && crashed),
          `${call.label} ends with every answer, a GroupSyncError or GroupNotFound (${tag})`
        )
        if (Exit.isSuccess(call.exit)) {
          const result = call.exit.value as {
            responses: ReadonlyMap<string, Message.Message>
            anonymous: ReadonlyArray<Message.Message>
          }
          yield* ctx.check(
            result.anonymous.length === 0,
            `${call.label}: every answer is attributed to its member, local or remote (R-SOCK-9)`
          )
          for (const [m, r] of result.responses) {
            // A member's copy that its serving process read and did not deliver before it ended is
            // answered so for it (R-SOCK-10), as a sendSync's request is.
            const refusedAtItsEnd =
              crashes.length > 0 && r.route.operation === ResponseErrorOperation && r.content === ProcessEndingReason
            yield* ctx.check(
              r.header.parentId === call.id && (r.content === `re:${m}:${call.id}` || refusedAtItsEnd),
              `${call.label}: ${m}'s answer is ${m}'s own, or an error response from its serving process that ended before delivering it (R-GSYNC-2, R-SOCK-9, R-SOCK-10)`
            )
          }
        } else {
          const error = Cause.squash(call.exit.cause) as { reason?: string; missing?: ReadonlyArray<string> }
          if (error.reason === "Timeout") {
            yield* ctx.check(call.end === deadline, `${call.label} timed out exactly at its deadline`)
            yield* ctx.check(mayWait, `${call.label} timed out only while a reader was stalled or receivers slow`)
            yield* ctx.check(
              !closedBefore || !(error.missing ?? []).some((m) => call.remote.includes(m)),
              `${call.label} did not wait for a remote member whose connection ended (R-GSYNC-5, R-SOCK-11)`
            )
          }
        }
      }
    }

    // No leaks: at quiescence no pending call in either process; after both end, nothing is left.
    for (const [proc, side] of [["C", c] as const, ...(s === undefined ? [] : [["S", s.side] as const])]) {
      const snapshot = yield* side.beehive.snapshot
      yield* ctx.check(
        snapshot.pendingCalls.length === 0,
        `no reply slot or collector remains in ${proc} (${snapshot.pendingCalls.join(", ")})`
      )
    }
    ending.add("C")
    yield* Scope.close(c.scope, Exit.void)
    ending.add("S")
    for (const side of servers) yield* Scope.close(side.scope, Exit.void)
    yield* Fiber.awaitAll([...c.receivers, ...servers.flatMap((x) => x.receivers)])
    yield* ctx.quiesce

    // Conservation across processes, once both have ended: what no peer will receipt is then in doubt.
    const count = (key: string) =>
      seen.filter((x) => x.key === key && x.how !== "response" && x.how !== "inDoubt").length
    const inDoubt = (key: string) => seen.some((x) => x.key === key && x.how === "inDoubt")
    const crashedAfter = (t: number) => crashes.some((x) => x > t)
    // When the connection a copy sent at tick `t` went on was made (its server's handshake).
    const madeBefore = (t: number) => servedAt.filter((h) => h < t).at(-1)
    let lost = 0
    for (const copy of copies.values()) {
      const n = count(copy.key)
      if (copy.expect === "none") {
        yield* ctx.check(n === 0, `copy ${copy.key} was refused and appears nowhere (${n})`)
        continue
      }
      yield* ctx.check(n <= 1, `copy ${copy.key} appears at most once (${n})`)
      if (copy.expect === "atMostOnce" || n === 1) continue
      // Written before a connection ended and never receipted, with no word from the peer since: in doubt.
      if (inDoubt(copy.key)) continue
      const mayBeLost =
        (copy.to === "S" && crashedAfter(copy.tick)) || (copy.from === copy.to && crashedAfter(copy.tick))
      lost++
      yield* ctx.check(
        mayBeLost,
        `copy ${copy.key} was accepted: received, reported (Undeliverable, Unsent) or in doubt, unless the process of its module crashed since (R-SOCK-11, R-SOCK-21)`
      )
    }
    for (const x of seen) {
      yield* ctx.check(x.how !== "response", `no response reaches a mailbox (${x.key} at ${x.at})`)
      const copy = copies.get(x.key)
      yield* ctx.check(copy !== undefined, `copy ${x.key} was sent (nothing invented)`)
      if (x.how === "inDoubt") {
        yield* ctx.check(
          copy === undefined || (copy.from === x.at && copy.to !== x.at),
          `copy ${x.key} is in doubt for its sender's process, for a module of the other`
        )
        yield* ctx.check(
          seen.filter((y) => y.key === x.key && (y.how === "unsent" || y.how === "inDoubt")).length === 1,
          `copy ${x.key} in doubt is reported once, and not also unsent`
        )
        // Only a peer that can no longer say leaves a copy in doubt: this process is ending (its parked
        // copies can no longer be settled), or the server the copy was written to restarted (the
        // client then meets another incarnation). A peer that came back the same settles it instead.
        // The server the copy was written to is the one its connection met, not the one running when
        // it was sent: R-SOCK-21 parks a copy for the peer it was written to, and a server may crash
        // between the client's handshake and the send, before the client notices its connection
        // ended. The copy is then accepted for the remote module, written to the dead connection and
        // parked for the crashed incarnation, which can no longer say (found by the campaign,
        // test/regressions/socket-fifo-in-doubt-written-after-crash.json: S crashes and restarts, then
        // C sends to B on its old connection, whose write fails; C meets the new S and reports it in
        // doubt, as R-SOCK-21 says).
        const made = copy === undefined ? undefined : madeBefore(copy.tick)
        const restartedSince = made !== undefined && crashes.some((c) => c > made && c < (x.tick ?? 0))
        yield* ctx.check(
          x.ending === true || (x.at === "C" && restartedSince),
          `copy ${x.key} is in doubt only when its sender's process ends or its peer restarted since (R-SOCK-21)`
        )
        // Written before its connection ended (else it was never written: unsent), it was parked then;
        // a later handshake with the same peer (no crash since its connection was made) settled it.
        const settledSince =
          copy !== undefined &&
          made !== undefined &&
          closes.some(
            (c) => c.tick > copy.tick && connectedAt.some((h) => h > c.tick && !crashes.some((k) => k > made && k < h))
          )
        yield* ctx.check(
          !settledSince,
          `copy ${x.key} in doubt was parked when its connection ended, and the same peer connected again since (which settles it, R-SOCK-21)`
        )
        // And it is said as soon as it is known: at the client's first connection to the restarted server.
        const restart = made === undefined ? undefined : crashes.find((k) => k > made)
        const known = restart === undefined ? undefined : connectedAt.find((h) => h > restart)
        yield* ctx.check(
          x.at !== "C" || known === undefined || (x.tick ?? 0) < known,
          `copy ${x.key} in doubt is reported when the client meets the restarted server, not later (R-SOCK-21)`
        )
      } else if (x.how === "unsent") {
        yield* ctx.check(
          copy === undefined || (copy.from === x.at && copy.to !== x.at),
          `copy ${x.key} is reported unsent by its sender's process, for a module of the other`
        )
        const given = handed.filter((h) => h.key === x.key && h.at === x.at).length
        yield* ctx.check(given === 1, `copy ${x.key} reported unsent was handed to onUndeliverable once (${given})`)
      } else yield* ctx.check(copy === undefined || copy.to === x.at, `copy ${x.key} reached the process of its module`)
    }

    // What the run reached, for coverage figures and for a reader of a counterexample.
    const outcomes = syncOutcomes.map((call) => tagOf(call.exit))
    const summary: SocketLedgerSummary = {
      connections,
      faults: applied,
      copies: copies.size,
      received: seen.filter((x) => x.how === "received").length,
      unsent: seen.filter((x) => x.how === "unsent").length,
      inDoubt: seen.filter((x) => x.how === "inDoubt").length,
      lost,
      sync: outcomes
    }
    yield* ctx.note("main", `${summaryPrefix}${JSON.stringify(summary)}`)

    yield* ctx.check(ctx.pendingTimers() === 0, `no timer remains (${ctx.pendingTimers()})`)
    yield* ctx.check(ctx.running().length === 0, `no fiber remains (${ctx.running().join(", ")})`)
    yield* ctx.check(network.openConnections === 0, `no connection is left open (${network.openConnections})`)
  })
