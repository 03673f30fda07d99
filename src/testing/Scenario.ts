/**
 * Scenarios: small concurrent programs against a fresh `Beehive`, written for the deterministic
 * runtime. A scenario names its fibers and wraps the operations it wants observed, so that every run
 * yields a trace of what happened (invocations and results, with virtual timestamps) and, when it
 * fails, a report a person can read.
 *
 * @since 0.1.0
 */
import { Effect, Exit, type Fiber, type Scope } from "effect"
import { Beehive, type BeehiveOptions, type BeehiveService } from "../contexts/Beehive.ts"
import type { ContextHostService } from "../contexts/ContextHost.ts"
import {
  describeCause,
  type RunEnvironment,
  type RunOutcome,
  type RunResult,
  runDeterministic
} from "../effects/DeterministicRuntime.ts"
import type { Strategy } from "../effects/Strategy.ts"
import { MessageTimeoutDefault } from "../model/Constants.ts"

/**
 * One observable event of a run.
 *
 * @category models
 */
export interface TraceEvent {
  /** Position in the trace. */
  readonly seq: number
  /** Virtual time, in ms. */
  readonly time: number
  /** The scenario fiber it belongs to. */
  readonly fiber: string
  readonly kind: "spawn" | "invoke" | "return" | "fail" | "note" | "check" | "end"
  /** The operation or event, e.g. `sendSync(b, m3, 100ms)`. */
  readonly op: string
  /** Its result, error or text. */
  readonly detail?: string | undefined
}

/**
 * What a scenario's body gets.
 *
 * @category models
 */
export interface ScenarioContext {
  /** The fresh context of this run. */
  readonly beehive: BeehiveService
  /** Its host, to plug other context types into it (R-API-5). */
  readonly host: ContextHostService
  /** Runs `effect` as a named fiber; its start and end are traced. */
  readonly spawn: <A, E>(name: string, effect: Effect.Effect<A, E>) => Effect.Effect<Fiber.Fiber<A, E>>
  /**
   * Runs an operation observed: its invocation and its result (or error) are traced, attributed to
   * fiber `fiber`. With `preemptAtOperations`, the fiber yields to the scheduler before and after.
   */
  readonly op: <A, E>(fiber: string, label: string, effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
  /** Adds a free-text event to the trace. */
  readonly note: (fiber: string, text: string) => Effect.Effect<void>
  /** Fails the run with `message` unless `condition` holds; traced either way. */
  readonly check: (condition: boolean, message: string) => Effect.Effect<void>
  /** The virtual time now, in ms. */
  readonly now: () => number
  /** Timers set on the virtual clock now (deadlines, sleeps): at quiescence, a leak unless expected. */
  readonly pendingTimers: () => number
  /** Yields until no other task is ready (without moving time): the system is quiescent. */
  readonly quiesce: Effect.Effect<void>
  /** The spawned fibers that have not ended yet. */
  readonly running: () => ReadonlyArray<string>
}

/**
 * A scenario: a name (to find it again when replaying) and a body.
 *
 * @category models
 */
export interface Scenario {
  readonly name: string
  /** Options of the `Beehive` each run gets. */
  readonly beehive?: BeehiveOptions | undefined
  /** Whether every observed operation yields before and after (more interleavings). */
  readonly preemptAtOperations?: boolean | undefined
  readonly run: (context: ScenarioContext) => Effect.Effect<unknown, unknown, Scope.Scope>
}

/**
 * The result of one scenario run: the runtime's result plus the trace and, for a deadlock, the
 * fibers that were still waiting and what they waited in.
 *
 * @category models
 */
export interface ScenarioRun extends RunResult<unknown> {
  readonly trace: ReadonlyArray<TraceEvent>
  readonly waiting: ReadonlyArray<string>
}

/** A failed `check`. @category errors */
export class CheckFailed extends Error {
  override readonly name = "CheckFailed"
}

/** Summarises a value for the trace: messages by id, errors by tag and fields, the rest as JSON. @category getters */
export const summarize = (value: unknown): string => {
  if (value === undefined) return "void"
  if (Exit.isExit(value))
    return Exit.isSuccess(value) ? `ok ${summarize(value.value)}` : `failed ${summarizeCause(value.cause)}`
  if (typeof value === "object" && value !== null) {
    const v = value as Record<string, unknown>
    if ("header" in v && "route" in v) {
      const header = v.header as { id: string; parentId: string }
      return `#${header.id}${header.parentId ? `(re #${header.parentId})` : ""}`
    }
    if (value instanceof Map) return `{${[...value].map(([k, x]) => `${k}: ${summarize(x)}`).join(", ")}}`
    if (Array.isArray(value)) return `[${value.map(summarize).join(", ")}]`
    if ("_tag" in v) {
      const fields = ownFields(v)
        .filter(([k]) => k !== "_tag" && k !== "stack" && k !== "message")
        .map(([k, x]) => `${k}: ${summarize(x)}`)
      return `${String(v._tag)}${fields.length > 0 ? `{${fields.join(", ")}}` : ""}`
    }
    return `{${ownFields(v)
      .map(([k, x]) => `${k}: ${summarize(x)}`)
      .join(", ")}}`
  }
  return typeof value === "string" ? JSON.stringify(value) : String(value)
}

// Effect's own bookkeeping fields (named "~effect/...") say nothing to a reader of a timeline.
const ownFields = (v: Record<string, unknown>) => Object.entries(v).filter(([k]) => !k.startsWith("~"))

/**
 * A sendSync timeout as a timeline shows it: a positive number of ms as given, anything else as the
 * 30 s default it stands for (R-SYNC-1: a timeout absent or ≤ 0 means the default).
 *
 * @category formatting
 */
export const formatTimeout = (ms: number | undefined): string =>
  ms !== undefined && ms > 0 ? `${ms}ms` : `${MessageTimeoutDefault / 1000} s default`

/**
 * Runs a scenario once under `strategy`; see the module documentation. Never throws, never hangs.
 *
 * @category running
 */
export const runScenario = (
  scenario: Scenario,
  strategy: Strategy,
  options: { readonly maxSteps?: number | undefined } = {}
): ScenarioRun => {
  const trace: Array<TraceEvent> = []
  const open = new Map<string, string>()
  let clockRead: () => number = () => 0
  const record = (fiber: string, kind: TraceEvent["kind"], op: string, detail?: string) => {
    trace.push({ seq: trace.length, time: clockRead(), fiber, kind, op, ...(detail === undefined ? {} : { detail }) })
  }
  const program = (environment: RunEnvironment) => {
    clockRead = () => environment.clock.currentTimeMillisUnsafe()
    return Effect.scoped(
      Effect.gen(function* () {
        const host = yield* Beehive.makeHost(scenario.beehive)
        const beehive = host.beehive
        const yieldHere = scenario.preemptAtOperations ? Effect.yieldNow : Effect.void
        const context: ScenarioContext = {
          beehive,
          host,
          now: clockRead,
          pendingTimers: () => environment.clock.pendingTimers,
          running: () => [...open.keys()].filter((name) => name !== "main"),
          quiesce: Effect.gen(function* () {
            for (let i = 0; i < 100_000 && environment.scheduler.readyCount > 0; i++) yield* Effect.yieldNow
          }),
          spawn: (name, effect) =>
            Effect.forkChild(
              Effect.suspend(() => {
                open.set(name, "started")
                record(name, "spawn", name)
                return effect
              }).pipe(
                Effect.onExit((exit) =>
                  Effect.sync(() => {
                    open.delete(name)
                    record(name, "end", name, Exit.isSuccess(exit) ? summarize(exit.value) : describeCause(exit.cause))
                  })
                )
              ),
              { startImmediately: false }
            ),
          op: (fiber, label, effect) =>
            Effect.gen(function* () {
              yield* yieldHere
              record(fiber, "invoke", label)
              open.set(fiber, label)
              const exit = yield* Effect.exit(effect)
              open.set(fiber, "running")
              if (Exit.isSuccess(exit)) record(fiber, "return", label, summarize(exit.value))
              else record(fiber, "fail", label, summarizeCause(exit.cause))
              yield* yieldHere
              return yield* exit
            }),
          note: (fiber, text) => Effect.sync(() => record(fiber, "note", text)),
          check: (condition, message) =>
            Effect.suspend(() => {
              record("main", "check", message, condition ? "holds" : "VIOLATED")
              return condition ? Effect.void : Effect.die(new CheckFailed(message))
            })
        }
        open.set("main", "started")
        yield* scenario.run(context)
        open.delete("main")
      })
    )
  }
  let waiting: Array<string> = []
  const result = runDeterministic(program, {
    strategy,
    maxSteps: options.maxSteps,
    onStuck: () => {
      waiting = [...open].map(([fiber, op]) => `${fiber} in ${op}`)
    }
  })
  return { ...result, trace, waiting }
}

const summarizeCause = (cause: Parameters<typeof describeCause>[0]): string => {
  const failure = cause.reasons.find((r) => r._tag === "Fail") as { error?: unknown } | undefined
  if (failure !== undefined) return summarize(failure.error)
  return describeCause(cause)
}

/** Whether a run counts as a failure: anything but a completed program. @category predicates */
export const isFailure = (outcome: RunOutcome): boolean => outcome._tag !== "Success"
