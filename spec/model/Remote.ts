/**
 * The model of modules behind the socket context (R-SOCK-7..11): a client process C whose module
 * `x` is connected to a server process S that serves modules a, b, c. Each process is a one-process
 * model (`State`); the connection between them is stated here, from SPEC.md:
 *
 * - C knows S's modules and groups as they were when the connection was made (R-SOCK-7); changes
 *   in S reach C only with the next connection. A remote module in C is a bounded outbox (R-SOCK-8),
 *   given a capacity here that no run fills, so a send to it is accepted at once and written.
 * - What is written arrives in S in order and is delivered there per destination, first come first
 *   served, with `send` (R-SOCK-8): one message at a time per destination waits for room. A message
 *   that cannot be delivered (no such module, or cleaned up first) is reported; a sync request then
 *   gets an error response at once (R-SOCK-10), as does one cleaned up from its module's mailbox
 *   (R-CLEAN-5 across processes: the caller is not left waiting for its deadline). One that waited
 *   for room when its module was cleaned up is refused in a step of its own, after the cleanup's
 *   answers (its delivery runs again), so C may take those answers, and start a call, before it.
 * - A sync request from C is owed one response by each module it was delivered to (a multiset: a
 *   module written to twice owes two). A `sendResp` in S for an owed request writes the response
 *   back and returns true, counted for its responder (or, unattributed, for the first copy still
 *   owed); once nothing is owed, a response to it returns false (R-SOCK-9). It names its responder
 *   only when it has one (`from`): an unattributed response is written without one, whatever S knows
 *   of where the request went.
 * - C attributes a response to the responder S names: a module of the connection, or else no member
 *   of any call (its answer uninvited); without one, to the one module the call's request was
 *   written to over the connection (every copy written counts, answered or not), else to nobody
 *   (R-SOCK-9, R-RESP-3).
 * - Writing (C's writer, and S reading what it wrote) and delivering (per destination) are steps of
 *   their own, which may fall between any two operations of a round; S delivers to different
 *   destinations in no set order, so group results are compared with their members sorted.
 * - A `Reconnect` drops the connection: in C every remote module is cleaned up and every sync call
 *   to one of them fails with RequestDropped (R-SOCK-11); S forgets what it owed over it, and still
 *   delivers what it had read; what was written and not read is lost; the client waits its first
 *   backoff and connects again.
 * - A `Crash` ends S's process and starts it again: the connection breaks at once, so nothing S does
 *   on its way down reaches C, and C meets it as a drop (R-SOCK-11); what waited in S ends as at a
 *   shutdown (R-GLOBAL-3), what S had read and not delivered is gone with it; the new S registers
 *   the modules and groups S was configured with (those registered before the first connection),
 *   owes nothing, and the client connects to it after its backoff.
 * - A `CloseClient` closes the client's connection (R-SOCK-11 in C, as at a drop); what C had not
 *   written is gone, what it wrote S still reads while its end of that link lasts. S's end lasts
 *   until S has read to the end (it stops with S's reading while S does not read), or less: it may
 *   end at any moment after the close (S's own writes to the closed client fail: answers, receipts),
 *   and then what S had not read is lost and what S owed over it is forgotten. The client stays
 *   closed until a `Reconnect` connects it again (both ends then read).
 * - A `Stall` makes one end stop reading (a peer that hangs): what the other end writes waits
 *   unread (the pipe holds more than a run writes), and is read, in order, after a `Resume`.
 * - A `ReadSize` cuts the reads of both ends into pieces of a few bytes, or joins writes in one read
 *   (R-SOCK-1): frames are decoded across read boundaries, so it changes nothing here.
 */
import { endCall, respond } from "./Calls.ts"
import { offer } from "./Mailboxes.ts"
import * as O from "./Outcomes.ts"
import { type GroupEvent, initialState, membersOf, moduleOf, type State } from "./State.ts"
import { applyCommand, applyInPlace, type Command, cleanupModule } from "./Step.ts"

/** The client process's module, local to C. */
export const clientModule = "x"
/** The capacity of a remote module's outbox in C: more than a run ever sends. */
export const outboxCapacity = 1024
/** What a client waits before connecting again (its backoff's first delay, without jitter). */
export const reconnectMs = 5

/** An error response's name in the model: one per request id (its reason is not compared). */
export const errorResponse = (requestId: string): string => `err-${requestId}`

/** Messages read from the connection for one destination, oldest first; the head may wait for room. */
export interface Delivery {
  readonly destination: string
  queue: Array<{ readonly entry: string; readonly link: number }>
  /** The hidden operation offering the head, while it waits. */
  waiting: string | undefined
  /**
   * Set when the head's wait for room failed (its module was cleaned up): the head is refused in a
   * step of its own, as the delivery that waited runs again after the cleanup, not within it.
   */
  refusing?: true | undefined
}

/** A request from C that S owes responses to. */
export interface Owed {
  readonly id: string
  readonly link: number
  /** The modules it was delivered to over that link still owing a response, one per copy. */
  owing: Array<string>
}

export interface RemoteState {
  client: State
  server: State
  /** The connection's number; 0 before the first (a connection once made is always made again). */
  link: number
  owed: Array<Owed>
  /** Per request id, the modules the current call with that id was written to over this link. */
  written: Array<[string, Array<string>]>
  deliveries: Array<Delivery>
  /**
   * C's remote modules with messages to write, in the order they got them: the writer takes each
   * one's messages in turn (up to 256 at a time, more than a run sends).
   */
  ready: Array<string>
  /** Ends that stopped reading (a stalled peer). */
  stalled: { server: boolean; client: boolean }
  /** What C wrote and S has not read (while S does not read), oldest first: [module, entry]. */
  pipe: Array<[string, string]>
  /** Answers S wrote and C has not read (while C does not read), oldest first. */
  back: Array<{ readonly response: string; readonly parentId: string; readonly responder: string | undefined }>
  /** What S registers when it starts: the registrations made in S before the first connection. */
  configuration: Array<Command>
  /** The client closed its connection (`CloseClient`) and has not connected again. */
  clientClosed: boolean
  /** The link whose client closed and whose end in S has not ended yet (S may still read from it). */
  endingLink: number | undefined
}

export const initialRemote = (): RemoteState => {
  const client = initialState()
  client.modules.push([clientModule, { capacity: 1, queue: [], groups: [], receivers: [], senders: [] }])
  return {
    client,
    server: initialState(),
    link: 0,
    owed: [],
    written: [],
    deliveries: [],
    ready: [],
    stalled: { server: false, client: false },
    pipe: [],
    back: [],
    configuration: [],
    clientClosed: false,
    endingLink: undefined
  }
}

const byKey = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0)

const clientSide = new Set<Command["_tag"]>(["Send", "SendSync", "SendToGroup", "SendToGroupSync"])

// Every remote module of C, in registration order.
const remoteModules = (rs: RemoteState): Array<string> =>
  rs.client.modules.map(([name]) => name).filter((name) => name !== clientModule)

/** C takes a response off the connection and hands it to its calls (R-SOCK-9). */
const claim = (rs: RemoteState, response: string, parentId: string, responder: string | undefined): void => {
  const targets = rs.written.find(([id]) => id === parentId)?.[1] ?? []
  const distinct = [...new Set(targets)]
  // A responder named that is not a module of the connection is no member of any call (uninvited).
  const from =
    responder !== undefined
      ? remoteModules(rs).includes(responder)
        ? responder
        : `${responder}@server`
      : distinct.length === 1
        ? distinct[0]
        : undefined
  respond(rs.client, response, parentId, from)
}

/** A `sendResp` in S for a request from C: true when it was owed, and then C gets it. */
const answer = (rs: RemoteState, response: string, parentId: string, from: string | undefined): boolean => {
  const owed = rs.owed.find((o) => o.id === parentId)
  if (owed === undefined) return false
  // Counted for the responder when it owes one; unattributed, for the first module still owing.
  const counted = from === undefined ? 0 : owed.owing.indexOf(from)
  if (counted >= 0) owed.owing.splice(counted, 1)
  if (owed.owing.length === 0) rs.owed = rs.owed.filter((o) => o !== owed)
  // Named on the wire only when it has a responder: C attributes an unattributed one itself.
  writeBack(rs, response, parentId, from)
  return true
}

// S writes an answer to C: C takes it now, unless it does not read or older answers wait to be read.
const writeBack = (rs: RemoteState, response: string, parentId: string, responder: string | undefined): void => {
  // To a client that closed, the write fails (and may end S's end of the link: `linkSteps`).
  if (rs.clientClosed) return
  if (rs.stalled.client || rs.back.length > 0) rs.back.push({ response, parentId, responder })
  else claim(rs, response, parentId, responder)
}

// A message S could not deliver: a sync request is answered with an error response by its destination.
const undeliverable = (rs: RemoteState, entry: string, destination: string, link: number): void => {
  if (!entry.endsWith("!")) return
  const id = entry.slice(0, -1)
  if (answer(rs, errorResponse(id), id, destination)) return
  if (link === rs.link) writeBack(rs, errorResponse(id), id, destination)
}

// Delivers what a destination's queue holds, until its head has to wait for room.
const pump = (rs: RemoteState, delivery: Delivery): void => {
  while (delivery.waiting === undefined && delivery.refusing === undefined && delivery.queue.length > 0) {
    const { entry, link } = delivery.queue[0] as { entry: string; link: number }
    if (moduleOf(rs.server, delivery.destination) === undefined) {
      delivery.queue.shift()
      undeliverable(rs, entry, delivery.destination, link)
      continue
    }
    // One message per destination waits at a time: the destination names its delivery.
    const op = `deliver:${delivery.destination}`
    if (offer(rs.server, delivery.destination, { op, entry, kind: "send" })) delivery.queue.shift()
    else delivery.waiting = op
  }
  if (delivery.queue.length === 0) rs.deliveries = rs.deliveries.filter((d) => d !== delivery)
}

// The heads that stopped waiting (admitted, or their module cleaned up) in S's last step.
const settleDeliveries = (rs: RemoteState): void => {
  for (const delivery of [...rs.deliveries]) {
    const op = delivery.waiting
    const outcome = op === undefined ? undefined : rs.server.outcomes[op]
    if (op === undefined || outcome === undefined) continue
    delete rs.server.outcomes[op]
    delivery.waiting = undefined
    if (outcome !== O.voidOk) {
      delivery.refusing = true
      continue
    }
    delivery.queue.shift()
    if (delivery.queue.length === 0) rs.deliveries = rs.deliveries.filter((d) => d !== delivery)
  }
}

// A delivery whose head's wait failed runs again: the head is refused (a sync request answered with
// an error response), and the rest waits for its own steps.
const refuseHead = (rs: RemoteState, delivery: Delivery): void => {
  delete delivery.refusing
  const head = delivery.queue.shift() as { entry: string; link: number }
  undeliverable(rs, head.entry, delivery.destination, head.link)
  if (delivery.queue.length === 0) rs.deliveries = rs.deliveries.filter((d) => d !== delivery)
}

// C's writer writes everything in C's outboxes, module by module in the order they became ready
// (LinkWriter's round robin), each in order; unless S does not read, S reads all that
// was written (owing a response for each sync copy) before it delivers any of it.
const transfer = (rs: RemoteState): void => {
  for (const module of rs.ready.splice(0)) {
    for (const entry of moduleOf(rs.client, module)?.queue.splice(0) ?? []) {
      rs.pipe.push([module, entry])
      if (!entry.endsWith("!")) continue
      // Kept sorted: only which modules, not the order of the writes that took them, matters.
      const written = rs.written.find(([known]) => known === entry.slice(0, -1))?.[1]
      written?.push(module)
      written?.sort()
    }
  }
  if (rs.stalled.server) return
  for (const [module, entry] of rs.pipe.splice(0)) read(rs, module, entry, rs.link)
}

// S reads one message written to `module` over `link`: it owes a response to a sync copy, and
// queues the message for its destination.
const read = (rs: RemoteState, module: string, entry: string, link: number): void => {
  if (entry.endsWith("!")) {
    const id = entry.slice(0, -1)
    const owed = rs.owed.find((o) => o.id === id)
    if (owed !== undefined && owed.link === link) owed.owing.push(module)
    else rs.owed = [...rs.owed.filter((o) => o !== owed), { id, link, owing: [module] }]
  }
  let delivery = rs.deliveries.find((d) => d.destination === module)
  if (delivery === undefined) {
    delivery = { destination: module, queue: [], waiting: undefined }
    rs.deliveries.push(delivery)
  }
  delivery.queue.push({ entry, link })
}

// S reads the next message a closed client wrote over the ending link.
const readAfterClose = (rs: RemoteState): void => {
  const [module, entry] = rs.pipe.shift() as [string, string]
  read(rs, module, entry, rs.endingLink as number)
}

// S's end of the closed client's link ends: what it had not read is lost, what it owed is forgotten.
const endLink = (rs: RemoteState): void => {
  rs.owed = rs.owed.filter((o) => o.link !== rs.endingLink)
  rs.pipe = []
  rs.endingLink = undefined
}

// C reads the answers S wrote while it did not read, in order.
const readBack = (rs: RemoteState): void => {
  for (const { response, parentId, responder } of rs.back.splice(0)) claim(rs, response, parentId, responder)
}

const unwritten = (rs: RemoteState): boolean =>
  rs.endingLink === undefined && (rs.ready.length > 0 || (rs.pipe.length > 0 && !rs.stalled.server))

/**
 * What the connection may do next on its own, each a step that can fall between two operations: C's
 * writer writing (and S reading) what C's outboxes hold, C reading the answers that waited for it,
 * and S delivering what it read for one destination (until a message has to wait for room).
 */
const linkSteps = (rs: RemoteState): Array<(rs: RemoteState) => void> => {
  const steps: Array<(rs: RemoteState) => void> = []
  if (unwritten(rs)) steps.push(transfer)
  if (rs.endingLink !== undefined) {
    if (rs.pipe.length > 0 && !rs.stalled.server) steps.push(readAfterClose)
    steps.push(endLink)
  }
  if (rs.back.length > 0 && !rs.stalled.client) steps.push(readBack)
  for (const delivery of rs.deliveries) {
    if (delivery.waiting !== undefined || delivery.queue.length === 0) continue
    const destination = delivery.destination
    const step = delivery.refusing === undefined ? pump : refuseHead
    steps.push((next) => {
      const d = next.deliveries.find((x) => x.destination === destination) as Delivery
      step(next, d)
    })
  }
  return steps
}

// The client connects: C registers S's modules and groups as they are now (R-SOCK-7).
const connect = (rs: RemoteState): void => {
  rs.link++
  rs.written = []
  for (const [module] of rs.server.modules)
    applyInPlace(rs.client, { _tag: "AddModule", op: "register", module, capacity: outboxCapacity })
  // The exchange's groups are a JSON object: written in name order, as Go writes a map (R-SOCK-5).
  const groups = [...rs.server.groups].sort(([g1], [g2]) => byKey(g1, g2))
  for (const [group, members] of groups)
    for (const module of members) applyInPlace(rs.client, { _tag: "AddModuleGroup", op: "register", module, group })
  delete rs.client.outcomes.register
}

// The connection drops (R-SOCK-11): C loses S's modules and its calls to them; S forgets what it
// owed over it; what was written and not read goes with it, and stalled ends read again.
const drop = (rs: RemoteState): void => {
  loseRemoteModules(rs)
  rs.owed = rs.owed.filter((o) => o.link !== rs.link && o.link !== rs.endingLink)
  rs.endingLink = undefined
  rs.ready = []
  rs.pipe = []
  rs.back = []
  rs.stalled = { server: false, client: false }
}

// C's side of a connection's end: every remote module is cleaned up, every sync call to one fails.
const loseRemoteModules = (rs: RemoteState): void => {
  for (const module of remoteModules(rs)) {
    for (const call of [...rs.client.calls])
      if (call.kind === "sync" && call.module === module) endCall(rs.client, call, O.requestDropped(call.id))
    cleanupModule(rs.client, module)
  }
}

// The client closes its connection: C loses S's modules and what it had not written; S may still
// read what was written (`linkSteps`).
const closeClient = (rs: RemoteState): void => {
  if (rs.link === 0 || rs.clientClosed) return
  loseRemoteModules(rs)
  rs.ready = []
  rs.back = []
  rs.stalled.client = false
  rs.clientClosed = true
  rs.endingLink = rs.link
}

// The first connection; a closed client's next one (at once); or a drop and the client's reconnection
// after its backoff.
const reconnect = (rs: RemoteState): void => {
  if (rs.link > 0 && rs.clientClosed) {
    // A closed client connects again at once (it waits no backoff), and both ends read.
    rs.stalled = { server: false, client: false }
    rs.clientClosed = false
  } else if (rs.link > 0) {
    drop(rs)
    applyInPlace(rs.client, { _tag: "Advance", ms: reconnectMs })
    applyInPlace(rs.server, { _tag: "Advance", ms: reconnectMs })
  }
  connect(rs)
}

// S dies: first its connection (nothing it does on its way down reaches C), then what waited in it
// ends as at a shutdown, keeping only the outcomes of operations (a delivery is S's own); a new S
// starts with S's configuration, and the client connects to it.
const crash = (rs: RemoteState): void => {
  drop(rs)
  rs.owed = []
  rs.deliveries = []
  applyCommand(rs.server, { _tag: "Shutdown", op: "crash" })
  const ended = Object.entries(rs.server.outcomes).filter(([op]) => !op.startsWith("deliver:"))
  const now = rs.server.now
  rs.server = initialState()
  rs.server.now = now
  for (const command of rs.configuration) {
    applyInPlace(rs.server, command)
    if ("op" in command) delete rs.server.outcomes[command.op]
  }
  rs.server.outcomes = Object.fromEntries(ended)
  applyInPlace(rs.client, { _tag: "Advance", ms: reconnectMs })
  applyInPlace(rs.server, { _tag: "Advance", ms: reconnectMs })
  // A closed client does not connect again on its own.
  if (!rs.clientClosed) connect(rs)
}

// A call starting in C: the modules its request is written to are counted afresh.
const startCall = (rs: RemoteState, id: string): void => {
  const pending = rs.client.calls.some((c) => c.id === id)
  if (!pending) rs.written = [...rs.written.filter(([known]) => known !== id), [id, []]]
}

// The state after `command`, applied to `rs` itself (one state: the connection adds no choice).
const applyRemote = (rs: RemoteState, command: Command): RemoteState => {
  switch (command._tag) {
    case "Reconnect":
      reconnect(rs)
      return rs
    case "Crash":
      crash(rs)
      return rs
    case "CloseClient":
      closeClient(rs)
      return rs
    case "Stall":
      rs.stalled[command.end] = true
      return rs
    case "Resume":
      rs.stalled = { server: false, client: false }
      return rs
    case "ReadSize":
      return rs
    case "Advance":
      applyInPlace(rs.client, command)
      applyInPlace(rs.server, command)
      return rs
    case "Interrupt":
      // Operation names are unique: the process where the target waits is the only one it changes.
      applyInPlace(rs.client, command)
      applyInPlace(rs.server, command)
      settleDeliveries(rs)
      return rs
    case "SendResp": {
      // S has no calls of its own: a response goes back over the connection, or nowhere.
      const taken = !rs.server.shutdown && answer(rs, command.id, command.parentId, command.from)
      rs.server.outcomes[command.op] = O.bool(taken)
      return rs
    }
    case "Cleanup": {
      // Sync requests cleaned up from the mailbox are answered with an error response, while owed.
      const cleaned = [...(moduleOf(rs.server, command.module)?.queue ?? [])]
      applyInPlace(rs.server, command)
      settleDeliveries(rs)
      for (const entry of cleaned)
        if (entry.endsWith("!")) answer(rs, errorResponse(entry.slice(0, -1)), entry.slice(0, -1), command.module)
      return rs
    }
    default:
      if (clientSide.has(command._tag)) {
        if (command._tag === "SendSync" || command._tag === "SendToGroupSync") startCall(rs, command.id)
        // The modules offered to, in the order offered: a group's members in join order.
        const offered =
          "group" in command ? (membersOf(rs.client, command.group) ?? []) : "module" in command ? [command.module] : []
        const idle = offered.filter((m) => moduleOf(rs.client, m)?.queue.length === 0)
        applyInPlace(rs.client, command)
        for (const module of idle)
          if (moduleOf(rs.client, module)?.queue.length !== 0 && !rs.ready.includes(module)) rs.ready.push(module)
      } else {
        applyInPlace(rs.server, command)
        settleDeliveries(rs)
        if (rs.link === 0 && (command._tag === "AddModule" || command._tag === "AddModuleGroup"))
          rs.configuration.push(command)
      }
      return rs
  }
}

/**
 * An outcome with the members of a group call's `responses` and `responded` lists sorted: S delivers
 * to each destination in order, but in no set order across destinations (R-SOCK-8), so the members
 * of a remote group call may answer in any order. Applied to the model's and the implementation's
 * outcomes alike.
 */
export const acrossDestinations = (outcome: string): string =>
  outcome.replace(
    /(responses|responded):\[([^\]]*)\]/g,
    (_, key: string, items: string) => `${key}:[${items === "" ? "" : items.split(",").sort().join(",")}]`
  )

/** Outcomes read as `acrossDestinations` says (the model's and the implementation's alike). */
export const acrossDestinationsAll = (outcomes: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(outcomes).map(([op, outcome]) => [op, acrossDestinations(outcome)]))

/** The outcomes both processes hold. */
export const remoteOutcomes = (rs: RemoteState): Record<string, string> =>
  acrossDestinationsAll({ ...rs.client.outcomes, ...rs.server.outcomes })

// Answers from distinct members that reached a group call one after the other commute (each is its
// member's first or not whatever the order): sorted, states that differ only in which destination S
// delivered to first are one.
const canonicalHistory = (history: ReadonlyArray<GroupEvent>): Array<GroupEvent> => {
  const out: Array<GroupEvent> = []
  let run: Array<GroupEvent & { kind: "response" }> = []
  const flush = () => {
    out.push(...run.sort((x, y) => ((x.from as string) < (y.from as string) ? -1 : 1)))
    run = []
  }
  for (const event of history) {
    if (event.kind === "response" && event.from !== undefined && !run.some((r) => r.from === event.from))
      run.push(event)
    else {
      flush()
      if (event.kind === "response" && event.from !== undefined) run.push(event)
      else out.push(event)
    }
  }
  flush()
  return out
}

/**
 * The state with its outcomes moved out (the runner keeps them once checked), and what has no order
 * (group calls' commuting answers, the connection's tables) in a canonical one.
 */
export const forgetOutcomes = (rs: RemoteState): RemoteState => ({
  ...rs,
  client: {
    ...rs.client,
    outcomes: {},
    calls: rs.client.calls.map((c) => (c.kind === "group" ? { ...c, history: canonicalHistory(c.history) } : c))
  },
  server: { ...rs.server, outcomes: {} },
  // Looked up by key only: their order is no part of the state.
  owed: [...rs.owed].sort((x, y) => byKey(x.id, y.id)),
  written: [...rs.written].sort(([x], [y]) => byKey(x, y)),
  deliveries: [...rs.deliveries].sort((x, y) => byKey(x.destination, y.destination))
})

// An interruption that lands as its target completes, in the process the target ran in.
const lateRemote = (
  rs: RemoteState,
  target: string,
  late: (state: State, target: string) => State | undefined
): RemoteState | undefined => {
  for (const side of ["client", "server"] as const) {
    const next = late(rs[side], target)
    if (next !== undefined) return { ...rs, [side]: next }
  }
  return undefined
}

/**
 * Every state the rules allow after the commands of a round race: the commands in any order, the
 * connection's own steps (`linkSteps`) falling anywhere between them, until nothing is left to
 * write or deliver; then the round's advance. `late` is the one-process late interruption.
 */
export const stepRemoteRound = (
  state: RemoteState,
  round: ReadonlyArray<Command>,
  late: (state: State, target: string) => State | undefined
): Array<RemoteState> => {
  const advance = round.filter((c) => c._tag === "Advance")
  const others = round.filter((c) => c._tag !== "Advance")
  const results = new Map<string, RemoteState>()
  const visited = new Set<string>()
  const search = (s: RemoteState, remaining: ReadonlyArray<Command>): void => {
    // Plain JSON: the same state reached with its keys in another order is only explored twice.
    const json = JSON.stringify(s)
    const key = `${JSON.stringify(remaining)}${json}`
    if (visited.has(key)) return
    visited.add(key)
    const fresh = () => JSON.parse(json) as RemoteState
    if (remaining.length === 0) {
      // With no operation left to fall between them, the connection's steps commute up to what the
      // comparison already ignores (the order in which different members' answers arrive): one
      // order stands for all.
      const end = fresh()
      // While a closed client's link is ending, S's end may last through the round only while S does
      // not read (it ends once S has read to the end), and may end at any moment: those orders are
      // explored one by one (below).
      if (end.endingLink === undefined || end.stalled.server) {
        const settling = (rs: RemoteState) => linkSteps(rs).filter((step) => step !== endLink)
        for (let next = settling(end); next.length > 0; next = settling(end))
          (next[0] as (rs: RemoteState) => void)(end)
        const advanced = advance.reduce(applyRemote, end)
        results.set(JSON.stringify(advanced), advanced)
      }
      if (s.endingLink === undefined) return
    }
    remaining.forEach((command, i) => {
      const rest = [...remaining.slice(0, i), ...remaining.slice(i + 1)]
      search(applyRemote(fresh(), command), rest)
      const lateState = command._tag === "Interrupt" ? lateRemote(s, command.target, late) : undefined
      if (lateState !== undefined) search(lateState, rest)
    })
    for (const linkStep of linkSteps(s)) {
      const next = fresh()
      linkStep(next)
      search(next, remaining)
    }
  }
  search(state, others)
  return [...results.values()]
}
