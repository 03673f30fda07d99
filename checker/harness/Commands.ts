/**
 * fast-check commands for the state-machine properties. Each command is generated with abstract
 * parameters (which module, which pending call) and made concrete when it runs, against the current
 * model: ids are fresh, a response goes to a pending call (or nowhere), an interruption hits an
 * operation in flight. So every generated sequence is meaningful, and shrinking stays meaningful.
 */
import fc from "fast-check"
import type { Command } from "../../spec/model/Step.ts"
import { describeCommand, type Run } from "./Runner.ts"

export const moduleNames = ["a", "b", "c"] as const
export const groupNames = ["g", "h"] as const

/** fast-check's model: a counter for fresh names. */
export interface Names {
  n: number
}

type Abstract =
  | { readonly tag: "AddModule"; readonly module: number; readonly capacity: number }
  | { readonly tag: "AddModuleGroup"; readonly module: number; readonly group: number }
  | { readonly tag: "Cleanup"; readonly module: number }
  | { readonly tag: "Send"; readonly module: number }
  | { readonly tag: "Receive"; readonly module: number }
  | { readonly tag: "SendSync"; readonly module: number; readonly timeoutMs: number }
  | {
      readonly tag: "SendResp"
      readonly pick: number
      readonly from: "member" | "anonymous" | "stranger"
      readonly stray: boolean
    }
  | { readonly tag: "SendToGroup"; readonly group: number }
  | { readonly tag: "SendToGroupSync"; readonly group: number; readonly timeoutMs: number }
  | { readonly tag: "Advance"; readonly ms: number }
  | { readonly tag: "Interrupt"; readonly pick: number }
  | { readonly tag: "Shutdown" }

/** Turns an abstract command into a model command for the current state. */
export const concretize = (a: Abstract, names: Names, run: Run): Command => {
  const n = ++names.n
  const op = `op${n}`
  const id = `m${n}`
  const module = (i: number) => moduleNames[i % moduleNames.length] as string
  const group = (i: number) => groupNames[i % groupNames.length] as string
  switch (a.tag) {
    case "AddModule":
      return { _tag: "AddModule", op, module: module(a.module), capacity: a.capacity }
    case "AddModuleGroup":
      return { _tag: "AddModuleGroup", op, module: module(a.module), group: group(a.group) }
    case "Cleanup":
      return { _tag: "Cleanup", op, module: module(a.module) }
    case "Send":
      return { _tag: "Send", op, module: module(a.module), id }
    case "Receive":
      return { _tag: "Receive", op, module: module(a.module) }
    case "SendSync":
      return { _tag: "SendSync", op, module: module(a.module), id, timeoutMs: a.timeoutMs }
    case "SendResp": {
      const calls = run.model.calls
      const call = calls.length === 0 || a.stray ? undefined : calls[a.pick % calls.length]
      const members = call?.kind === "group" ? call.members : moduleNames
      const from =
        a.from === "anonymous"
          ? undefined
          : a.from === "stranger"
            ? "stranger"
            : (members[a.pick % members.length] as string)
      return { _tag: "SendResp", op, id: `r${n}`, parentId: call?.id ?? `nobody${n}`, from }
    }
    case "SendToGroup":
      return { _tag: "SendToGroup", op, group: group(a.group), id }
    case "SendToGroupSync":
      return { _tag: "SendToGroupSync", op, group: group(a.group), id, timeoutMs: a.timeoutMs }
    case "Advance":
      return { _tag: "Advance", ms: a.ms }
    case "Interrupt": {
      const inFlight = run.commands.filter((c) => "op" in c && run.model.outcomes[c.op] === undefined)
      const target = inFlight[a.pick % Math.max(1, inFlight.length)]
      return target !== undefined && "op" in target
        ? { _tag: "Interrupt", target: target.op }
        : { _tag: "Advance", ms: 0 }
    }
    case "Shutdown":
      return { _tag: "Shutdown", op }
  }
}

class StateMachineCommand implements fc.Command<Names, Run> {
  private concrete: string | undefined
  readonly abstract: Abstract
  constructor(abstract: Abstract) {
    this.abstract = abstract
  }
  check = () => true
  run(names: Names, run: Run): void {
    const command = concretize(this.abstract, names, run)
    this.concrete = describeCommand(command)
    const mismatch = run.apply(command)
    if (mismatch !== undefined) throw new Error(`after ${this.concrete}: ${mismatch}`)
  }
  toString = () => this.concrete ?? JSON.stringify(this.abstract)
}

const index = fc.nat({ max: 5 })
const timeout = fc.constantFrom(0, 10, 25, 50)

/** The command arbitraries, weighted towards the operations that interact. */
export const commandArbitraries = (
  options: { readonly shutdown?: boolean | undefined } = {}
): Array<fc.Arbitrary<fc.Command<Names, Run>>> => {
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
    { weight: 1, arbitrary: fc.record({ tag: fc.constant("Cleanup" as const), module: index }) },
    { weight: 4, arbitrary: fc.record({ tag: fc.constant("Send" as const), module: index }) },
    { weight: 4, arbitrary: fc.record({ tag: fc.constant("Receive" as const), module: index }) },
    { weight: 3, arbitrary: fc.record({ tag: fc.constant("SendSync" as const), module: index, timeoutMs: timeout }) },
    {
      weight: 4,
      arbitrary: fc.record({
        tag: fc.constant("SendResp" as const),
        pick: fc.nat({ max: 7 }),
        from: fc.constantFrom("member" as const, "member" as const, "anonymous" as const, "stranger" as const),
        stray: fc.boolean()
      })
    },
    { weight: 2, arbitrary: fc.record({ tag: fc.constant("SendToGroup" as const), group: index }) },
    {
      weight: 2,
      arbitrary: fc.record({ tag: fc.constant("SendToGroupSync" as const), group: index, timeoutMs: timeout })
    },
    {
      weight: 2,
      arbitrary: fc.record({ tag: fc.constant("Advance" as const), ms: fc.constantFrom(1, 5, 10, 25, 30_000) })
    },
    { weight: 1, arbitrary: fc.record({ tag: fc.constant("Interrupt" as const), pick: fc.nat({ max: 7 }) }) }
  ]
  const weighted = arbs.map(({ arbitrary, weight }) => ({ arbitrary, weight: weight * 4 }))
  if (options.shutdown ?? true) weighted.push({ weight: 1, arbitrary: fc.constant({ tag: "Shutdown" as const }) })
  return [fc.oneof(...weighted).map((a) => new StateMachineCommand(a))]
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
