/**
 * fast-check commands for the state-machine properties. Each command is generated with abstract
 * parameters (which module, which pending call) and made concrete when it runs, against the current
 * model: ids are fresh or deliberately reused, a response goes to a pending call (or nowhere), from a
 * member, a member cleaned up since the call started, a non-member, a stranger or nobody, an
 * interruption hits an operation in flight, an advance may stop exactly at a deadline. So every
 * generated sequence is meaningful, and shrinking stays meaningful. Commands come in rounds: the
 * operations of a round race each other.
 */
import fc from "fast-check"
import { moduleOf } from "../../spec/model/State.ts"
import type { Command } from "../../spec/model/Step.ts"
import { describeCommand, type Run } from "./Runner.ts"

export const moduleNames = ["a", "b", "c"] as const
export const groupNames = ["g", "h"] as const

/** fast-check's model: a counter for fresh names. */
export interface Names {
  n: number
}

/** Where a synchronous call's request id comes from: fresh, a pending call's (a duplicate), or any earlier call's. */
type IdSource = "fresh" | "pending" | "past"

type Abstract =
  | { readonly tag: "AddModule"; readonly module: number; readonly capacity: number }
  | { readonly tag: "AddModuleGroup"; readonly module: number; readonly group: number }
  /** `member`: a member of a pending group call, when there is one (most of them received their copy). */
  | { readonly tag: "Cleanup"; readonly module: number; readonly member: boolean }
  | {
      readonly tag: "Send"
      readonly module: number
      readonly source: number | null
      /** A one-way message may carry a pending or an ended call's id: ids are the senders' to choose. */
      readonly idFrom: IdSource
      readonly pick: number
    }
  | { readonly tag: "Receive"; readonly module: number }
  | {
      readonly tag: "SendSync"
      readonly module: number
      readonly timeoutMs: number | undefined
      readonly idFrom: IdSource
      readonly pick: number
    }
  | {
      readonly tag: "SendResp"
      readonly pick: number
      readonly from: "member" | "gone" | "anonymous" | "stranger" | "outsider"
      readonly stray: boolean
    }
  | { readonly tag: "SendToGroup"; readonly group: number; readonly source: number | null }
  | {
      readonly tag: "SendToGroupSync"
      readonly group: number
      readonly timeoutMs: number | undefined
      readonly idFrom: IdSource
      readonly pick: number
      readonly source: number | null
    }
  /** `toDeadline`: exactly to a pending call's deadline, so that what races it lands at that instant. */
  | { readonly tag: "Advance"; readonly ms: number; readonly toDeadline: number | null }
  | { readonly tag: "Interrupt"; readonly pick: number }
  | { readonly tag: "Shutdown" }
  /** Steps, not a round: a member of a pending group call takes its copy, is cleaned up, then answers. */
  | { readonly tag: "GoneAnswer"; readonly pick: number }
  | { readonly tag: "Reconnect" }
  | { readonly tag: "Crash" }
  | { readonly tag: "CloseClient" }
  | { readonly tag: "Stall"; readonly end: "server" | "client" }
  | { readonly tag: "Resume" }
  | { readonly tag: "ReadSize"; readonly bytes: number }

const module = (i: number) => moduleNames[i % moduleNames.length] as string
const group = (i: number) => groupNames[i % groupNames.length] as string

// A request id: fresh, or taken from a pending call (DuplicateRequestId) or an earlier one (free again).
const requestId = (idFrom: IdSource, pick: number, fresh: string, run: Run<unknown>): string => {
  const pending = run.model.calls.map((c) => c.id)
  const past = run.commands.flatMap((c) => (c._tag === "SendSync" || c._tag === "SendToGroupSync" ? [c.id] : []))
  const pool = idFrom === "pending" ? pending : idFrom === "past" ? past : []
  return pool.length === 0 ? fresh : (pool[pick % pool.length] as string)
}

// A group operation's source: the chosen module, preferably a member of the group (R-GROUP-2).
const groupSource = (g: string, source: number | null, run: Run<unknown>): string | undefined => {
  if (source === null) return undefined
  const members = run.model.groups.find(([name]) => name === g)?.[1] ?? []
  return members.length > 0 ? (members[source % members.length] as string) : module(source)
}

// The members of pending group calls that were cleaned up while the call waited, with their call.
const goneMembers = (run: Run<unknown>): Array<{ readonly call: string; readonly member: string }> =>
  run.model.calls.flatMap((call) =>
    call.kind === "group"
      ? call.history.flatMap((e) => (e.kind === "gone" ? [{ call: call.id, member: e.member }] : []))
      : []
  )

// The members of each pending group call that still owe it an answer (neither answered nor gone), with
// where the call's copy is in their mailbox (-1: taken already, or not offered yet).
const owing = (run: Run<unknown>): Array<{ readonly call: string; readonly member: string; readonly at: number }> =>
  run.model.calls.flatMap((call) =>
    call.kind === "group"
      ? call.members
          .filter((m) => !call.history.some((e) => (e.kind === "gone" ? e.member : e.from) === m))
          .map((member) => ({
            call: call.id,
            member,
            at: moduleOf(run.model, member)?.queue.indexOf(`${call.id}!`) ?? -1
          }))
      : []
  )

// The members pending group calls still wait for, those whose copy is no longer in their mailbox
// first: cleaning one up leaves a member gone between receiving and answering.
const waitingMembers = (run: Run<unknown>): Array<string> => {
  const waiting = owing(run)
  return [...waiting.filter((w) => w.at === -1), ...waiting.filter((w) => w.at !== -1)].map((w) => w.member)
}

/** Turns an abstract command into a model command for the current state. */
export const concretize = (a: Abstract, names: Names, run: Run<unknown>): Command => {
  const n = ++names.n
  const op = `op${n}`
  const id = `m${n}`
  switch (a.tag) {
    case "AddModule":
      return { _tag: "AddModule", op, module: module(a.module), capacity: a.capacity }
    case "AddModuleGroup":
      return { _tag: "AddModuleGroup", op, module: module(a.module), group: group(a.group) }
    case "Cleanup": {
      const members = a.member ? waitingMembers(run) : []
      const chosen = members[a.module % Math.max(1, members.length)] ?? module(a.module)
      return { _tag: "Cleanup", op, module: chosen }
    }
    case "Send":
      return {
        _tag: "Send",
        op,
        module: module(a.module),
        id: requestId(a.idFrom, a.pick, id, run),
        source: a.source === null ? undefined : module(a.source)
      }
    case "Receive":
      return { _tag: "Receive", op, module: module(a.module) }
    case "SendSync":
      return {
        _tag: "SendSync",
        op,
        module: module(a.module),
        id: requestId(a.idFrom, a.pick, id, run),
        timeoutMs: a.timeoutMs
      }
    case "SendResp": {
      const calls = run.model.calls
      // A member cleaned up while its group call waits (most after receiving their copy) answers it.
      const gone = a.from === "gone" && !a.stray ? goneMembers(run) : []
      const answer = gone[a.pick % Math.max(1, gone.length)]
      if (answer !== undefined) return { _tag: "SendResp", op, id: `r${n}`, parentId: answer.call, from: answer.member }
      const call = calls.length === 0 || a.stray ? undefined : calls[a.pick % calls.length]
      const members = call?.kind === "group" ? call.members : moduleNames
      const outsiders = moduleNames.filter((m) => !members.includes(m))
      const from =
        a.from === "anonymous"
          ? undefined
          : a.from === "stranger" || (a.from === "outsider" && outsiders.length === 0)
            ? "stranger"
            : a.from === "outsider"
              ? (outsiders[a.pick % outsiders.length] as string)
              : (members[a.pick % members.length] as string)
      return { _tag: "SendResp", op, id: `r${n}`, parentId: call?.id ?? `nobody${n}`, from }
    }
    case "SendToGroup":
      return { _tag: "SendToGroup", op, group: group(a.group), id, source: groupSource(group(a.group), a.source, run) }
    case "SendToGroupSync":
      return {
        _tag: "SendToGroupSync",
        op,
        group: group(a.group),
        id: requestId(a.idFrom, a.pick, id, run),
        timeoutMs: a.timeoutMs,
        source: groupSource(group(a.group), a.source, run)
      }
    case "Advance": {
      const calls = run.model.calls
      const call = a.toDeadline === null || calls.length === 0 ? undefined : calls[a.toDeadline % calls.length]
      return { _tag: "Advance", ms: call === undefined ? a.ms : Math.max(0, call.deadline - run.model.now) }
    }
    case "Interrupt": {
      const ended = run.real.outcomes()
      const inFlight = run.commands.filter((c) => "op" in c && ended[c.op] === undefined)
      const target = inFlight[a.pick % Math.max(1, inFlight.length)]
      return target !== undefined && "op" in target
        ? { _tag: "Interrupt", target: target.op }
        : { _tag: "Advance", ms: 0 }
    }
    case "Shutdown":
      return { _tag: "Shutdown", op }
    case "GoneAnswer":
      // Run as steps of its own (`goneAnswer`); inside a round it does nothing.
      return { _tag: "Advance", ms: 0 }
    case "Reconnect":
      return { _tag: "Reconnect" }
    case "Crash":
      return { _tag: "Crash" }
    case "CloseClient":
      return { _tag: "CloseClient" }
    case "Stall":
      return { _tag: "Stall", end: a.end }
    case "Resume":
      return { _tag: "Resume" }
    case "ReadSize":
      return { _tag: "ReadSize", bytes: a.bytes }
  }
}

/** A round as generated: commands started together; `early` moves the clock before they run. */
interface AbstractRound {
  readonly commands: ReadonlyArray<Abstract>
  readonly early: boolean
}

// Concrete commands of a round, its advances merged into one (the model's rounds have at most one).
const concretizeRound = (round: AbstractRound, names: Names, run: Run<unknown>): Array<Command> => {
  const commands: Array<Command> = []
  let advance: number | undefined
  for (const a of round.commands) {
    const command = concretize(a, names, run)
    if (command._tag === "Advance") advance = (advance ?? 0) + command.ms
    else commands.push(command)
  }
  return advance === undefined ? commands : [...commands, { _tag: "Advance", ms: advance }]
}

/**
 * A member of a pending group call that still owes its answer takes the call's copy from its mailbox,
 * is cleaned up, and answers the call: three steps (R-GSYNC-5, R-GSYNC-6: a member gone between
 * receiving and answering). The member is one whose mailbox holds the copy first in line, else one
 * holding it further back (it then receives what is ahead of the copy); with none, nothing runs.
 */
const goneAnswer = (pick: number, names: Names, run: Run<unknown>): Array<Command> => {
  const holding = owing(run).filter((o) => o.at !== -1)
  const first = holding.filter((o) => o.at === 0)
  const pool = first.length > 0 ? first : holding
  const chosen = pool[pick % Math.max(1, pool.length)]
  if (chosen === undefined) return []
  const op = () => `op${++names.n}`
  return [
    { _tag: "Receive", op: op(), module: chosen.member },
    { _tag: "Cleanup", op: op(), module: chosen.member },
    { _tag: "SendResp", op: op(), id: `r${names.n}`, parentId: chosen.call, from: chosen.member }
  ]
}

class StateMachineCommand implements fc.Command<Names, Run<unknown>> {
  private concrete: string | undefined
  readonly round: AbstractRound
  constructor(round: AbstractRound) {
    this.round = round
  }
  check = () => true
  run(names: Names, run: Run<unknown>): void {
    const [only] = this.round.commands
    if (only?.tag === "GoneAnswer") {
      this.steps(only.pick, names, run)
      return
    }
    const commands = concretizeRound(this.round, names, run)
    this.concrete = commands.map(describeCommand).join(" ‖ ")
    const mismatch =
      commands.length === 1 && commands[0] !== undefined
        ? run.applyStep(commands[0])
        : run.applyStep({ _tag: "Round", commands, early: this.round.early })
    if (mismatch !== undefined) throw new Error(`after ${this.concrete}: ${mismatch}`)
  }
  // `goneAnswer`'s steps, one after another.
  private steps(pick: number, names: Names, run: Run<unknown>): void {
    const done: Array<string> = []
    const steps = goneAnswer(pick, names, run)
    for (const step of steps) {
      done.push(describeCommand(step))
      this.concrete = done.join("; ")
      const mismatch = run.applyStep(step)
      if (mismatch !== undefined) throw new Error(`after ${this.concrete}: ${mismatch}`)
    }
    if (steps.length === 0) this.concrete = "(no member owes a group call a copy it holds)"
  }
  toString = () => this.concrete ?? JSON.stringify(this.round)
}

const index = fc.nat({ max: 5 })
// undefined and values ≤ 0 mean the default (R-SYNC-1, R-GSYNC-1).
const timeout = fc.constantFrom(undefined, 0, -1, 10, 25, 50)
const idFrom = fc.constantFrom<IdSource>("fresh", "fresh", "fresh", "pending", "past")
const source = fc.option(index, { freq: 2, nil: null })

/** Which operations a machine generates: all of them in one process, or those of two (spec/model/Remote.ts). */
export interface CommandOptions {
  readonly shutdown?: boolean | undefined
  /** Operations per round at most (1: a sequential machine). */
  readonly maxRound?: number | undefined
  /**
   * Modules behind the socket context: sends and calls from the client process, receives, answers,
   * cleanups and group joins in the server's, rounds that never start early, and reconnections.
   */
  readonly remote?: boolean | undefined
  /**
   * The two processes speak over packets (R-SOCK-30): one message per packet, so reads are never cut
   * or joined (no `ReadSize` faults: a packet transport hands over whole packets).
   */
  readonly packets?: boolean | undefined
}

/** Operations the two-process machine starts: the server's modules are fixed, and nothing shuts down. */
const remoteTags = new Set<Abstract["tag"]>([
  "AddModuleGroup",
  "Cleanup",
  "Send",
  "Receive",
  "SendSync",
  "SendResp",
  "SendToGroup",
  "SendToGroupSync",
  "Advance",
  "Interrupt"
])

/**
 * The command arbitraries, weighted towards the operations that interact. Each fast-check command
 * is a round of one to three operations started together (`maxRound`: 1 for a sequential machine).
 */
export const commandArbitraries = (
  options: CommandOptions = {}
): Array<fc.Arbitrary<fc.Command<Names, Run<unknown>>>> => {
  const arbs: Array<{ arbitrary: fc.Arbitrary<Abstract>; weight: number }> = [
    {
      weight: 4,
      arbitrary: fc.record({
        tag: fc.constant("AddModule" as const),
        module: index,
        capacity: fc.integer({ min: 1, max: 3 })
      })
    },
    { weight: 3, arbitrary: fc.record({ tag: fc.constant("AddModuleGroup" as const), module: index, group: index }) },
    {
      weight: 1,
      arbitrary: fc.record({ tag: fc.constant("Cleanup" as const), module: index, member: fc.boolean() })
    },
    {
      weight: 4,
      arbitrary: fc.record({
        tag: fc.constant("Send" as const),
        module: index,
        source,
        idFrom: fc.constantFrom<IdSource>("fresh", "fresh", "fresh", "fresh", "fresh", "pending", "past"),
        pick: fc.nat({ max: 7 })
      })
    },
    { weight: 4, arbitrary: fc.record({ tag: fc.constant("Receive" as const), module: index }) },
    {
      weight: 3,
      arbitrary: fc.record({
        tag: fc.constant("SendSync" as const),
        module: index,
        timeoutMs: timeout,
        idFrom,
        pick: fc.nat({ max: 7 })
      })
    },
    {
      weight: 4,
      arbitrary: fc.record({
        tag: fc.constant("SendResp" as const),
        pick: fc.nat({ max: 7 }),
        from: fc.constantFrom(
          "member" as const,
          "member" as const,
          "gone" as const,
          "anonymous" as const,
          "stranger" as const,
          "outsider" as const
        ),
        stray: fc.boolean()
      })
    },
    { weight: 2, arbitrary: fc.record({ tag: fc.constant("SendToGroup" as const), group: index, source }) },
    {
      weight: 2,
      arbitrary: fc.record({
        tag: fc.constant("SendToGroupSync" as const),
        group: index,
        timeoutMs: timeout,
        idFrom,
        pick: fc.nat({ max: 7 }),
        source
      })
    },
    {
      weight: 2,
      arbitrary: fc.record({
        tag: fc.constant("Advance" as const),
        ms: fc.constantFrom(1, 5, 10, 25, 30_000),
        toDeadline: fc.option(fc.nat({ max: 7 }), { freq: 2, nil: null })
      })
    },
    { weight: 1, arbitrary: fc.record({ tag: fc.constant("Interrupt" as const), pick: fc.nat({ max: 7 }) }) }
  ]
  const remote = options.remote ?? false
  const weighted = arbs.map(({ arbitrary, weight }) => ({ arbitrary, weight: weight * 4 }))
  if (options.shutdown ?? true) weighted.push({ weight: 1, arbitrary: fc.constant({ tag: "Shutdown" as const }) })
  const command = remote ? fc.oneof(...weighted).filter((a) => remoteTags.has(a.tag)) : fc.oneof(...weighted)
  const round = fc.record({
    commands: fc.array(command, { minLength: 1, maxLength: options.maxRound ?? 3 }),
    early: remote ? fc.constant(false) : fc.boolean()
  })
  // Faults are rounds of their own: the connection drops, or an end stops or starts reading, between
  // rounds, never inside one.
  const fault = (command: Abstract) => fc.constant<AbstractRound>({ commands: [command], early: false })
  // A member's answer and its call's deadline at the same instant: either may win (R-SYNC-4).
  const atDeadline = {
    arbitrary: fc.nat({ max: 7 }).map(
      (pick): AbstractRound => ({
        commands: [
          { tag: "SendResp", pick, from: "member", stray: false },
          { tag: "Advance", ms: 1, toDeadline: pick }
        ],
        early: true
      })
    ),
    weight: 1
  }
  const rounds = remote
    ? fc.oneof(
        { arbitrary: round, weight: 24 },
        { arbitrary: fault({ tag: "Reconnect" }), weight: 1 },
        { arbitrary: fault({ tag: "Crash" }), weight: 1 },
        { arbitrary: fault({ tag: "CloseClient" }), weight: 1 },
        // A client closed while the server does not read: its close must not wait on the peer.
        {
          arbitrary: fc.constant<AbstractRound>({
            commands: [{ tag: "Stall", end: "server" }, { tag: "CloseClient" }],
            early: false
          }),
          weight: 1
        },
        { arbitrary: fault({ tag: "Stall", end: "server" }), weight: 1 },
        { arbitrary: fault({ tag: "Stall", end: "client" }), weight: 1 },
        { arbitrary: fault({ tag: "Resume" }), weight: 2 },
        // 1 and 7 bytes split every frame; 250 cuts frames and joins the next ones; 0 restores.
        ...(options.packets === true
          ? []
          : [1, 7, 250, 0].map((bytes) => ({ arbitrary: fault({ tag: "ReadSize", bytes }), weight: 1 })))
      )
    : fc.oneof(
        { arbitrary: round, weight: 24 },
        {
          arbitrary: fc.record({
            commands: fc.tuple(fc.record({ tag: fc.constant("GoneAnswer" as const), pick: fc.nat({ max: 7 }) })),
            early: fc.constant(false)
          }),
          weight: 1
        },
        // A round of two: not in a sequential machine.
        ...((options.maxRound ?? 3) < 2 ? [] : [atDeadline])
      )
  return [rounds.map((r) => new StateMachineCommand(r))]
}

/**
 * An optional starting point most sequences share: modules a, b, c with the given capacities, a and
 * b in group g, b and c in group h. Without it, most early commands would only meet ModuleNotFound.
 */
export const preambleArbitrary = fc.option(
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  {
    freq: 5
  }
)

export const preambleCommands = (capacities: readonly [number, number, number] | null): Array<Command> => {
  if (capacities === null) return []
  const commands: Array<Command> = moduleNames.map((module, i) => ({
    _tag: "AddModule",
    op: `setup${i + 1}`,
    module,
    capacity: capacities[i] as number
  }))
  const joins: Array<[string, string]> = [
    ["a", "g"],
    ["b", "g"],
    ["b", "h"],
    ["c", "h"]
  ]
  for (const [i, [module, group]] of joins.entries()) {
    commands.push({ _tag: "AddModuleGroup", op: `setup${i + 4}`, module, group })
  }
  return commands
}
