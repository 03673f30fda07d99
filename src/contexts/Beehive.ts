/**
 * The global context: the one service modules talk through. It keeps the module table (routing every
 * operation to the endpoint of the module's context type), the groups (which may mix context types)
 * and the pending-reply table, and implements beehive's operations with the semantics of
 * `spec/SPEC.md`. Every rule id below (R-...) is defined there.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Clock,
  Context,
  Deferred,
  type Duration,
  Effect,
  Exit,
  type Fiber,
  Layer,
  Result,
  type Scope
} from "effect"
import { type Arm, all, armNow, type Cancel, first, mapExit } from "../effects/Arm.ts"
import { CurrentModule } from "../effects/CurrentModule.ts"
import { awaitArm, awaitArmUntil } from "../effects/Deadline.ts"
import { GroupCollector } from "../effects/GroupCollector.ts"
import { handOff } from "../effects/HandOff.ts"
import { makeMetrics, observe, recordUnsafe } from "../effects/Observability.ts"
import { ReplySlot } from "../effects/ReplySlot.ts"
import { type PendingCall, ReplyTable } from "../effects/ReplyTable.ts"
import { Wakeups } from "../effects/Wakeups.ts"
import {
  checkCapacity,
  checkMessage,
  checkName,
  checkOptions,
  checkTimeout,
  isMessage,
  isName
} from "../model/Arguments.ts"
import { ChannelSizeDefault, ContextTypeChannel } from "../model/Constants.ts"
import {
  BeehiveShutdown,
  DuplicateRequestId,
  GroupNotFound,
  type GroupSyncError,
  InvalidArgument,
  type MessageEncodeError,
  ModuleAlreadyExists,
  type ModuleClosed,
  ModuleNotFound,
  RequestDropped,
  type SyncPhase,
  SyncTimeout,
  UnknownContextType
} from "../model/Errors.ts"
import { type Message, newErrorResponse, setSync } from "../model/Message.ts"
import type { CleanupReport, GroupSendResult, GroupSyncResult, ShutdownReport } from "../model/Reports.ts"
import { ChannelContext } from "./ChannelContext.ts"
import type { Endpoint, ModuleContext } from "./ModuleContext.ts"

/**
 * Options of `addModule`.
 *
 * @category models
 */
export interface AddModuleOptions {
  /** The module's context type; "channel" by default. */
  readonly contextType?: string | undefined
  /** Mailbox capacity; the context's default (1024 unless configured) by default. */
  readonly capacity?: number | undefined
}

/**
 * Options of a `Beehive` context.
 *
 * @category models
 */
export interface BeehiveOptions {
  /** Default mailbox capacity, a positive integer (1024, Go's `ChannelSizeDefault`). */
  readonly capacity?: number | undefined
  /** Context types besides "channel" (the socket context plugs in here). */
  readonly contexts?: ReadonlyArray<ModuleContext> | undefined
  /**
   * Receives a message handed to a receiver that was interrupted in the same step its module was
   * cleaned up: it can go back neither to the mailbox nor into the cleanup report (R-RECV-4).
   */
  readonly onUndeliverable?: ((module: string, message: Message) => void) | undefined
  /**
   * Records the context's metrics (messages sent, received and undeliverable, pending calls, sendSync
   * latency) in Effect's metric registry (R-OBS-2). Off by default: then nothing is recorded.
   */
  readonly metrics?: boolean | undefined
}

/**
 * One module as `snapshot` sees it.
 *
 * @category models
 */
export interface ModuleSnapshot {
  readonly name: string
  readonly contextType: string
  readonly groups: ReadonlyArray<string>
  readonly queued: number
  readonly waitingReceivers: number
  readonly waitingSenders: number
}

/**
 * The context's state at one instant, for tests, tools and leak checks.
 *
 * @category models
 */
export interface BeehiveSnapshot {
  readonly modules: ReadonlyArray<ModuleSnapshot>
  readonly groups: ReadonlyMap<string, ReadonlyArray<string>>
  readonly pendingCalls: ReadonlyArray<string>
  readonly isShutdown: boolean
}

/** Failures of `sendSync`. @category models */
export type SendSyncError =
  | InvalidArgument
  | MessageEncodeError
  | ModuleNotFound
  | ModuleClosed
  | SyncTimeout
  | RequestDropped
  | DuplicateRequestId
  | BeehiveShutdown

/** Failures of `sendToGroupSync`. @category models */
export type SendToGroupSyncError =
  | InvalidArgument
  | MessageEncodeError
  | GroupNotFound
  | DuplicateRequestId
  | GroupSyncError
  | BeehiveShutdown

/**
 * The operations of a beehive context. Timeouts are `Duration` inputs (a number is milliseconds);
 * absent, zero or negative means 30 seconds (Go's `MessageTimeoutDefault`). Every operation checks its
 * arguments first (R-API-3): a name that is not a non-empty string, something that is not a message,
 * a timeout that is not a duration or a capacity that is not a positive integer fails it with
 * `InvalidArgument`, and nothing is done.
 *
 * @category models
 */
export interface BeehiveService {
  /**
   * Registers a module with an empty mailbox (R-MOD-1). Fails with `ModuleAlreadyExists` if the name
   * is taken (R-MOD-2), `UnknownContextType` for a context type this context lacks. Never blocks.
   */
  readonly addModule: (
    name: string,
    options?: AddModuleOptions
  ) => Effect.Effect<void, InvalidArgument | ModuleAlreadyExists | UnknownContextType | BeehiveShutdown>
  /** Adds a module to a group; a no-op if it is a member already (R-MOD-3). Never blocks. */
  readonly addModuleGroup: (
    module: string,
    group: string
  ) => Effect.Effect<void, InvalidArgument | ModuleNotFound | BeehiveShutdown>
  /**
   * Removes a module from the module table and from every group in one step, then closes its mailbox
   * (R-CLEAN-*). Returns the groups it left and the messages it never received; a sync request among
   * them that came from another process is answered with an error response (R-SOCK-10). Never blocks.
   */
  readonly cleanup: (module: string) => Effect.Effect<CleanupReport, InvalidArgument | ModuleNotFound>
  /**
   * Delivers a message to a module's mailbox, unchanged (R-SEND-*). Suspends while the mailbox is
   * full; fails with `ModuleClosed` if the module is cleaned up meanwhile, with `MessageEncodeError`
   * at once if the module is in another process and the message cannot be encoded (R-SOCK-2).
   * Interruptible.
   */
  readonly send: (
    module: string,
    message: Message
  ) => Effect.Effect<void, InvalidArgument | MessageEncodeError | ModuleNotFound | ModuleClosed | BeehiveShutdown>
  /**
   * Receives the oldest message of a module's mailbox (R-RECV-*). Suspends while it is empty, behind
   * receivers that started waiting earlier; fails with `ModuleClosed` if the module is cleaned up.
   */
  readonly receive: (
    module: string
  ) => Effect.Effect<Message, InvalidArgument | ModuleNotFound | ModuleClosed | BeehiveShutdown>
  /**
   * Sends a request with `sync = true` and waits for the response, all within one deadline
   * (R-SYNC-*). A response delivered before the deadline is always returned.
   */
  readonly sendSync: (
    module: string,
    message: Message,
    timeout?: Duration.Input | undefined
  ) => Effect.Effect<Message, SendSyncError>
  /**
   * Hands a response to the call waiting for its parent id (R-RESP-*). Never blocks; fails only with
   * `InvalidArgument` (not a message, or a `from` that is not a non-empty string); true when a waiting
   * call took it. `from` names the responding module; inside a registry module it defaults to that
   * module.
   */
  readonly sendResp: (response: Message, from?: string | undefined) => Effect.Effect<boolean, InvalidArgument>
  /**
   * Delivers one copy to every member of a group at call time, in join order (R-GROUP-*). Suspends
   * until every copy is accepted. Fails with `MessageEncodeError`, delivering no copy, if a member is
   * in another process and the message cannot be encoded for it (R-SOCK-2).
   */
  readonly sendToGroup: (
    group: string,
    message: Message
  ) => Effect.Effect<GroupSendResult, InvalidArgument | MessageEncodeError | GroupNotFound | BeehiveShutdown>
  /**
   * Delivers a sync copy to every member and waits for exactly one response from each (R-GSYNC-*).
   * Completes the moment the last member answers.
   */
  readonly sendToGroupSync: (
    group: string,
    message: Message,
    timeout?: Duration.Input | undefined
  ) => Effect.Effect<GroupSyncResult, SendToGroupSyncError>
  /**
   * Shuts the context down (R-GLOBAL-3): cleans up every module, fails every pending synchronous
   * call with `BeehiveShutdown`, and makes every later operation fail with it. Calling it again
   * returns the first report.
   */
  readonly shutdown: Effect.Effect<ShutdownReport>
  /** Completes once `shutdown` has completed. */
  readonly done: Effect.Effect<void>
  /** The state at this instant. */
  readonly snapshot: Effect.Effect<BeehiveSnapshot>
}

type CallError = RequestDropped | BeehiveShutdown

/**
 * The timeout in milliseconds a sync call uses for `timeout` (R-SYNC-1).
 *
 * @category getters
 */
export const timeoutMillis = (timeout: Duration.Input | undefined): Result.Result<number, InvalidArgument> =>
  checkTimeout("timeout", timeout)

/** The first argument check that failed, if any. */
const firstInvalid = (
  ...checks: ReadonlyArray<Result.Result<unknown, InvalidArgument>>
): Effect.Effect<never, InvalidArgument> | undefined => {
  for (const check of checks) if (Result.isFailure(check)) return Effect.fail(check.failure)
  return undefined
}

/**
 * The first failed check, for a call whose fast check already failed (send, receive and sendResp test
 * their arguments without allocating, and describe a refusal only when there is one). The checks
 * disagreeing with the fast check would be a bug.
 */
const invalidOf = (
  ...checks: ReadonlyArray<Result.Result<unknown, InvalidArgument>>
): Effect.Effect<never, InvalidArgument> =>
  firstInvalid(...checks) ?? Effect.die(new Error("an argument failed its fast check but passed its full check"))

/** The arguments of a sync call, checked in order; its timeout in ms when they pass. */
const checkCall = (
  operation: string,
  targetArgument: string,
  target: unknown,
  message: unknown,
  timeout: unknown
): Result.Result<number, InvalidArgument> => {
  const name = checkName(operation, targetArgument, target)
  if (Result.isFailure(name)) return Result.fail(name.failure)
  const request = checkMessage(operation, "message", message)
  return Result.isFailure(request) ? Result.fail(request.failure) : checkTimeout(operation, timeout)
}

/** Why one of `endpoints` cannot carry `message` (R-SOCK-2), if one cannot. */
const refusal = (endpoints: ReadonlyArray<Endpoint>, message: Message): MessageEncodeError | undefined => {
  for (const endpoint of endpoints) {
    const refused = endpoint.refuse?.(message)
    if (refused !== undefined) return refused
  }
  return undefined
}

const ignore = () => {}

/**
 * Builds a context. Its shutdown runs when the surrounding scope closes.
 *
 * @category constructors
 */
export const makeBeehive = (
  options: BeehiveOptions = {}
): Effect.Effect<BeehiveService, InvalidArgument, Scope.Scope> =>
  Effect.gen(function* () {
    const given = checkOptions("Beehive.make", options as BeehiveOptions | undefined)
    if (Result.isFailure(given)) return yield* Effect.fail(given.failure)
    const capacity = checkCapacity("Beehive.make", options.capacity, ChannelSizeDefault)
    if (Result.isFailure(capacity)) return yield* Effect.fail(capacity.failure)
    if (options.contexts !== undefined && !Array.isArray(options.contexts))
      return yield* Effect.fail(
        new InvalidArgument({
          operation: "Beehive.make",
          argument: "contexts",
          reason: "expected an array of contexts"
        })
      )
    if (options.onUndeliverable !== undefined && typeof options.onUndeliverable !== "function")
      return yield* Effect.fail(
        new InvalidArgument({ operation: "Beehive.make", argument: "onUndeliverable", reason: "expected a function" })
      )
    const service = makeUnsafe(options, capacity.success)
    yield* Effect.addFinalizer(() => service.shutdown)
    return service
  })

const makeUnsafe = (options: BeehiveOptions, defaultCapacity: number): BeehiveService => {
  const contexts = new Map<string, ModuleContext>([[ContextTypeChannel, ChannelContext.make]])
  for (const context of options.contexts ?? []) contexts.set(context.type, context)
  const onUndeliverable = options.onUndeliverable ?? ignore
  const metrics = options.metrics === true ? makeMetrics() : undefined

  const modules = new Map<string, Endpoint>()
  const memberships = new Map<string, Set<string>>()
  const groups = new Map<string, Set<string>>()
  const calls = new ReplyTable<CallError>()
  const shutdownReport = Deferred.makeUnsafe<ShutdownReport>()
  let isShutdown = false

  const refused = (operation: string) => Effect.fail(new BeehiveShutdown({ operation }))

  const addModule: BeehiveService["addModule"] = (name, given) =>
    observe(
      "beehive.addModule",
      () => ({ "beehive.module": String(name), "beehive.context_type": given?.contextType ?? ContextTypeChannel }),
      (): Effect.Effect<void, InvalidArgument | ModuleAlreadyExists | UnknownContextType | BeehiveShutdown> => {
        const checkedOptions = checkOptions("addModule", given)
        if (Result.isFailure(checkedOptions)) return Effect.fail(checkedOptions.failure)
        const addOptions: AddModuleOptions = checkedOptions.success ?? {}
        const invalid = firstInvalid(
          checkName("addModule", "module name", name),
          addOptions.capacity === undefined ? Result.void : checkCapacity("addModule", addOptions.capacity),
          addOptions.contextType === undefined
            ? Result.void
            : checkName("addModule", "context type", addOptions.contextType)
        )
        if (invalid !== undefined) return invalid
        if (isShutdown) return refused("addModule")
        const contextType = addOptions.contextType ?? ContextTypeChannel
        const context = contexts.get(contextType)
        if (context === undefined) return Effect.fail(new UnknownContextType({ contextType }))
        if (modules.has(name)) return Effect.fail(new ModuleAlreadyExists({ module: name }))
        // Only the opening can be interrupted: an opened endpoint is registered or closed, never dropped.
        return Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(
            restore(
              context.open(name, {
                capacity: addOptions.capacity ?? defaultCapacity,
                onOrphan: (message) => onUndeliverable(name, message)
              })
            ),
            (endpoint) =>
              Effect.suspend((): Effect.Effect<void, ModuleAlreadyExists | BeehiveShutdown> => {
                // Opening may have suspended (a socket connects); the name may have been taken meanwhile.
                if (isShutdown || modules.has(name)) {
                  endpoint.close()
                  return isShutdown ? refused("addModule") : Effect.fail(new ModuleAlreadyExists({ module: name }))
                }
                modules.set(name, endpoint)
                memberships.set(name, new Set())
                return Effect.void
              })
          )
        )
      }
    )

  const addModuleGroup: BeehiveService["addModuleGroup"] = (module, group) =>
    observe(
      "beehive.addModuleGroup",
      () => ({ "beehive.module": String(module), "beehive.group": String(group) }),
      (): Effect.Effect<void, InvalidArgument | ModuleNotFound | BeehiveShutdown> => {
        const invalid = firstInvalid(
          checkName("addModuleGroup", "module name", module),
          checkName("addModuleGroup", "group name", group)
        )
        if (invalid !== undefined) return invalid
        if (isShutdown) return refused("addModuleGroup")
        const joined = memberships.get(module)
        if (joined === undefined) return Effect.fail(new ModuleNotFound({ module }))
        joined.add(group)
        let members = groups.get(group)
        if (members === undefined) {
          members = new Set()
          groups.set(group, members)
        }
        members.add(module)
        return Effect.void
      }
    )

  // One step: every part of the state is final before any waiter it affects is woken (`wakeups`).
  const cleanupNow = (module: string, endpoint: Endpoint, wakeups: Wakeups): CleanupReport => {
    const joined = memberships.get(module) ?? new Set<string>()
    modules.delete(module)
    memberships.delete(module)
    for (const group of joined) {
      const members = groups.get(group)
      members?.delete(module)
      if (members?.size === 0) groups.delete(group)
    }
    const undelivered = endpoint.close(wakeups)
    for (const message of undelivered) {
      if (!message.header.sync) continue
      const call = calls.get(message.header.id)
      if (call instanceof ReplySlot && call.module === module) {
        call.fail(new RequestDropped({ msgId: message.header.id, module }), wakeups)
      }
    }
    for (const call of calls.all()) {
      if (call instanceof GroupCollector) call.memberGone(module, wakeups)
    }
    return { module, groups: [...joined], undelivered }
  }

  const cleanup: BeehiveService["cleanup"] = (module) =>
    observe(
      "beehive.cleanup",
      () => ({ "beehive.module": String(module) }),
      (fiber): Effect.Effect<CleanupReport, InvalidArgument | ModuleNotFound> => {
        const invalid = firstInvalid(checkName("cleanup", "module name", module))
        if (invalid !== undefined) return invalid
        const endpoint = modules.get(module)
        if (endpoint === undefined) return Effect.fail(new ModuleNotFound({ module }))
        const wakeups = new Wakeups()
        const report = cleanupNow(module, endpoint, wakeups)
        wakeups.flush()
        recordUnsafe(fiber, metrics?.undeliverable, report.undelivered.length)
        return Effect.as(refuseForwarded(report), report)
      }
    )

  // Sync requests from other processes that a cleanup took from the mailbox: their callers get an
  // error response now instead of waiting for their deadlines (R-SOCK-10, R-CLEAN-5).
  const refuseForwarded = (report: CleanupReport): Effect.Effect<void> => {
    const forwarded = report.undelivered.filter((m) => m.header.sync && calls.get(m.header.id) === undefined)
    if (forwarded.length === 0 || forwarders.length === 0) return Effect.void
    return Effect.forEach(
      forwarded,
      (request) =>
        Effect.map(newErrorResponse(request, `module "${report.module}" was cleaned up`), (error) => {
          for (const context of forwarders) if (context.forwardResponse?.(error, report.module)) return
        }),
      { discard: true }
    )
  }

  const unavailable = (module: string, operation: string): ModuleNotFound | BeehiveShutdown =>
    isShutdown ? new BeehiveShutdown({ operation }) : new ModuleNotFound({ module })

  // Fast paths complete without suspending. A wait looks the module up again inside its own step and
  // joins the line there: the module found and the place taken are one step, so a cleanup or a
  // message that comes between the fast attempt and the wait is seen (R-GLOBAL-6).
  const armed =
    <A, E>(
      module: string,
      operation: string,
      arm: (endpoint: Endpoint) => Arm<A, E>
    ): Arm<A, E | ModuleNotFound | BeehiveShutdown> =>
    (settle) => {
      const endpoint = isShutdown ? undefined : modules.get(module)
      return endpoint === undefined ? Exit.fail(unavailable(module, operation)) : arm(endpoint)(settle)
    }

  const send: BeehiveService["send"] = (module, message) =>
    observe(
      "beehive.send",
      () => ({ "beehive.module": String(module), "beehive.message.id": message?.header?.id }),
      (
        fiber
      ): Effect.Effect<
        void,
        InvalidArgument | MessageEncodeError | ModuleNotFound | ModuleClosed | BeehiveShutdown
      > => {
        // The checks allocate only to describe a refusal: send and receive are the hot path.
        if (!(isName(module) && isMessage(message)))
          return invalidOf(checkName("send", "module name", module), checkMessage("send", "message", message))
        const endpoint = isShutdown ? undefined : modules.get(module)
        if (endpoint === undefined) return Effect.fail(unavailable(module, "send"))
        const refused = endpoint.refuse?.(message)
        if (refused !== undefined) return Effect.fail(refused)
        if (endpoint.offerNow(message, "later")) {
          recordUnsafe(fiber, metrics?.sent, 1)
          return Effect.void
        }
        // The module found when the wait starts may be another one of that name (cleaned up and added again).
        const waited = awaitArm(
          armed(module, "send", (e): Arm<void, MessageEncodeError | ModuleClosed> => {
            const refusedThere = e.refuse?.(message)
            return refusedThere !== undefined ? () => Exit.fail(refusedThere) : e.armOffer(message, "later")
          })
        )
        return metrics === undefined ? waited : Effect.map(waited, () => recordUnsafe(fiber, metrics.sent, 1))
      }
    )

  // A message taken for the caller goes back to its mailbox if the caller is stopped before it
  // leaves `receive` (R-RECV-4): see `handOff`.
  const receive: BeehiveService["receive"] = (module) =>
    observe(
      "beehive.receive",
      () => ({ "beehive.module": String(module) }),
      (fiber): Effect.Effect<Message, InvalidArgument | ModuleNotFound | ModuleClosed | BeehiveShutdown> => {
        if (!isName(module)) return invalidOf(checkName("receive", "module name", module))
        const endpoint = isShutdown ? undefined : modules.get(module)
        if (endpoint === undefined) return Effect.fail(unavailable(module, "receive"))
        const message = endpoint.takeNow()
        if (message === undefined) return awaitReceive(fiber, module)
        recordUnsafe(fiber, metrics?.received, 1)
        return handOff(fiber, message, endpoint.giveBack ?? ignore)
      }
    )

  const awaitReceive = (fiber: Fiber.Fiber<unknown, unknown>, module: string) => {
    const waited = awaitArm(armed(module, "receive", (e) => e.armTake()))
    return metrics === undefined
      ? waited
      : Effect.map(waited, (received) => {
          recordUnsafe(fiber, metrics.received, 1)
          return received
        })
  }

  // The finalizer is in place before the call is registered: a fiber preempted or interrupted just
  // after registering still unregisters (found by the sync-workload property). `register` returns
  // where to put what withdraws the call's offers (armed after it is registered), so that they are
  // withdrawn on every exit too, even one that comes before the call starts waiting.
  // Built in the caller's step (`observe`'s): it adds no step of its own, so schedules recorded before
  // observability replay the same (test/regressions).
  const withPendingCall = <C extends PendingCall<CallError>, A, E>(
    caller: Fiber.Fiber<unknown, unknown>,
    start: (
      fiber: Fiber.Fiber<unknown, unknown>,
      register: (call: C) => (withdraw: Cancel) => void
    ) => Effect.Effect<A, E>,
    release: (call: C) => void
  ): Effect.Effect<A, E> => {
    let registered: C | undefined
    let withdraw: Cancel | undefined
    const register = (call: C) => {
      registered = call
      calls.add(call)
      recordUnsafe(caller, metrics?.pendingCalls, calls.size)
      return (withdrawOffers: Cancel) => {
        withdraw = withdrawOffers
      }
    }
    return Effect.onExit(
      Effect.withFiber((fiber) => start(fiber, register)),
      () =>
        Effect.sync(() => {
          withdraw?.()
          if (registered === undefined) return
          release(registered)
          recordUnsafe(caller, metrics?.pendingCalls, calls.size)
        })
    )
  }

  const releaseCollector = (collector: GroupCollector): void => calls.remove(collector)

  const releaseSlot = (slot: ReplySlot<CallError>): void => {
    slot.close()
    calls.remove(slot)
  }

  const sendSync: BeehiveService["sendSync"] = (module, message, timeout) =>
    observe(
      "beehive.sendSync",
      () => ({ "beehive.module": String(module), "beehive.message.id": message?.header?.id }),
      (caller) => timedCall(caller, sendSyncCall(caller, module, message, timeout))
    )

  // The latency of a sync call, whatever its end, when metrics are on.
  const timedCall = <A, E>(caller: Fiber.Fiber<unknown, unknown>, call: Effect.Effect<A, E>): Effect.Effect<A, E> => {
    if (metrics === undefined) return call
    const clock = caller.getRef(Clock.Clock)
    const started = clock.currentTimeMillisUnsafe()
    return Effect.onExit(call, () =>
      Effect.sync(() => recordUnsafe(caller, metrics.sendSyncLatency, clock.currentTimeMillisUnsafe() - started))
    )
  }

  const sendSyncCall = (
    caller: Fiber.Fiber<unknown, unknown>,
    module: string,
    message: Message,
    timeout: Duration.Input | undefined
  ) =>
    withPendingCall(
      caller,
      (
        fiber,
        register: (slot: ReplySlot<CallError>) => (withdraw: Cancel) => void
      ): Effect.Effect<Message, SendSyncError> => {
        const checked = checkCall("sendSync", "module name", module, message, timeout)
        if (Result.isFailure(checked)) return Effect.fail(checked.failure)
        const timeoutMs = checked.success
        const endpoint = isShutdown ? undefined : modules.get(module)
        if (endpoint === undefined) return Effect.fail(unavailable(module, "sendSync"))
        const id = message.header.id
        if (calls.get(id) !== undefined) return Effect.fail(new DuplicateRequestId({ msgId: id }))
        const request = setSync(message, true)
        const refused = endpoint.refuse?.(request)
        if (refused !== undefined) return Effect.fail(refused)
        const deadline = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe() + timeoutMs
        const slot = new ReplySlot<CallError>(id, module)
        const timedOut = (phase: SyncPhase) => () => {
          slot.close()
          return Exit.fail(new SyncTimeout({ msgId: id, module, timeoutMs, phase }))
        }
        const closeOnFailure = <A, E>(exit: Exit.Exit<A, E>): Exit.Exit<A, E> => {
          if (Exit.isFailure(exit)) slot.close()
          return exit
        }
        // Enqueue and a response race: a response that arrives while the request still waits for
        // room ends the call and withdraws the request (R-SYNC-8). The slot goes first: an outcome it
        // already holds (a response accepted while this fiber waited to run) decides the call,
        // whatever the enqueue would say (R-SYNC-4). The request is offered in the step that found
        // the module and registered the slot, so a cleanup cannot come in between (`ModuleClosed`
        // means it waited for room), and a request that waits holds its place in line from the step
        // its call was registered (R-GLOBAL-6).
        const holdOffer = register(slot)
        const [enqueued, withdraw] = armNow(
          first<Message | undefined, SendSyncError>(
            slot.arm,
            mapExit(endpoint.armOffer(request, "now"), (exit) => {
              if (Exit.isSuccess(exit)) recordUnsafe(fiber, metrics?.sent, 1)
              return closeOnFailure(Exit.map(exit, () => undefined))
            })
          )
        )
        holdOffer(withdraw)
        // The slot closes when an interruption withdraws the wait: a response after that gets `false`.
        const interrupted = () => slot.close()
        return awaitArmUntil(enqueued, deadline, timedOut("enqueue"), interrupted).pipe(
          Effect.flatMap((response) =>
            response !== undefined
              ? Effect.succeed(response)
              : awaitArmUntil<Message, SendSyncError>(slot.arm, deadline, timedOut("response"), interrupted)
          )
        )
      },
      releaseSlot
    )

  const forwarders = [...contexts.values()].filter((c) => c.forwardResponse !== undefined)
  const sendResp: BeehiveService["sendResp"] = (response, from) =>
    observe(
      "beehive.sendResp",
      () => ({
        "beehive.module": from,
        "beehive.message.id": response?.header?.id,
        "beehive.parent.id": response?.header?.parentId
      }),
      (fiber): Effect.Effect<boolean, InvalidArgument> => {
        if (!(isMessage(response) && (from === undefined || isName(from))))
          return invalidOf(
            checkMessage("sendResp", "response", response),
            from === undefined ? Result.void : checkName("sendResp", "responder", from)
          )
        return Effect.succeed(routeResponse(response, from ?? fiber.getRef(CurrentModule)))
      }
    )

  const routeResponse = (response: Message, responder: string | undefined): boolean => {
    if (calls.route(response, responder)) return true
    // No call here waits for it: its request may have come from another process (R-GLOBAL-1).
    if (calls.get(response.header.parentId) !== undefined || isShutdown) return false
    for (const context of forwarders) if (context.forwardResponse?.(response, responder)) return true
    return false
  }

  const membersOf = (group: string): Array<Endpoint> | undefined => {
    const members = groups.get(group)
    if (members === undefined) return undefined
    const endpoints: Array<Endpoint> = []
    for (const member of members) endpoints.push(modules.get(member) as Endpoint)
    return endpoints
  }

  const sendToGroup: BeehiveService["sendToGroup"] = (group, message) =>
    observe(
      "beehive.sendToGroup",
      () => ({ "beehive.group": String(group), "beehive.message.id": message?.header?.id }),
      (fiber) => {
        // The finalizer is in place before any copy is offered: copies are withdrawn on every exit.
        let withdraw: Cancel | undefined
        return Effect.onExit(
          Effect.suspend(
            (): Effect.Effect<
              GroupSendResult,
              InvalidArgument | MessageEncodeError | GroupNotFound | BeehiveShutdown
            > => {
              const invalid = firstInvalid(
                checkName("sendToGroup", "group name", group),
                checkMessage("sendToGroup", "message", message)
              )
              if (invalid !== undefined) return invalid
              if (isShutdown) return refused("sendToGroup")
              const endpoints = membersOf(group)
              if (endpoints === undefined) return Effect.fail(new GroupNotFound({ group }))
              // All or nothing: no copy is offered if one member cannot carry the message (R-SOCK-2).
              const refusedByOne = refusal(endpoints, message)
              if (refusedByOne !== undefined) return Effect.fail(refusedByOne)
              // Every copy is offered in the step that read the group: members with room take it (a
              // member cleaned up later has it in its report), full members hold it in line from this
              // step; only a copy that waits can find its member gone (R-GLOBAL-6).
              const [offered, withdrawCopies] = armNow(all(endpoints.map((e) => e.armOffer(message, "later"))))
              withdraw = withdrawCopies
              return Effect.flatMap(awaitArm(offered), (outcomes) => {
                const delivered: Array<string> = []
                const gone: Array<string> = []
                for (let i = 0; i < outcomes.length; i++) {
                  const outcome = outcomes[i] as Exit.Exit<void, ModuleClosed>
                  // Only a member that closed is gone; a copy its context could not take at all (after
                  // `refuse` let it through) is a defect of the call.
                  const module = (endpoints[i] as Endpoint).module
                  if (Exit.isSuccess(outcome)) delivered.push(module)
                  else if (Cause.hasDies(outcome.cause)) return Effect.die(Cause.squash(outcome.cause))
                  else gone.push(module)
                }
                recordUnsafe(fiber, metrics?.sent, delivered.length)
                return Effect.succeed({ delivered, gone })
              })
            }
          ),
          () => Effect.sync(() => withdraw?.())
        )
      }
    )

  const sendToGroupSync: BeehiveService["sendToGroupSync"] = (group, message, timeout) =>
    observe(
      "beehive.sendToGroupSync",
      () => ({ "beehive.group": String(group), "beehive.message.id": message?.header?.id }),
      (caller) => timedCall(caller, sendToGroupSyncCall(caller, group, message, timeout))
    )

  const sendToGroupSyncCall = (
    caller: Fiber.Fiber<unknown, unknown>,
    group: string,
    message: Message,
    timeout: Duration.Input | undefined
  ) =>
    withPendingCall(
      caller,
      (
        fiber,
        register: (collector: GroupCollector) => (withdraw: Cancel) => void
      ): Effect.Effect<GroupSyncResult, SendToGroupSyncError> => {
        const checked = checkCall("sendToGroupSync", "group name", group, message, timeout)
        if (Result.isFailure(checked)) return Effect.fail(checked.failure)
        if (isShutdown) return refused("sendToGroupSync")
        const endpoints = membersOf(group)
        if (endpoints === undefined) return Effect.fail(new GroupNotFound({ group }))
        const id = message.header.id
        if (calls.get(id) !== undefined) return Effect.fail(new DuplicateRequestId({ msgId: id }))
        const copy = setSync(message, true)
        // All or nothing: no copy is offered if one member cannot carry the request (R-SOCK-2).
        const refusedByOne = refusal(endpoints, copy)
        if (refusedByOne !== undefined) return Effect.fail(refusedByOne)
        const deadline = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe() + checked.success
        const collector = new GroupCollector(
          id,
          group,
          endpoints.map((e) => e.module)
        )
        const holdCopies = register(collector)
        // Every copy is offered in the step that registered the collector: members with room take it
        // (a member cleaned up later has it in its report, R-CLEAN-4, and counts as gone, R-GSYNC-5),
        // full members hold it in line from that step (R-GLOBAL-6). A copy woken into a receiver at
        // once may get the answers that decide the call: then no more are offered. Copies that wait
        // are withdrawn when the call ends; a member cleaned up instead is reported to the collector
        // by `cleanup` (R-GSYNC-5).
        const waiting: Array<Cancel> = []
        const withdraw = () => {
          for (const cancel of waiting) cancel()
        }
        holdCopies(withdraw)
        const countCopy = (exit: Exit.Exit<void, unknown>) => {
          if (Exit.isSuccess(exit)) recordUnsafe(fiber, metrics?.sent, 1)
        }
        for (const endpoint of endpoints) {
          if (!collector.isOpen) break
          const armed = endpoint.armOffer(copy, "now")(countCopy)
          if (typeof armed === "function") waiting.push(armed)
          // A copy its context could not take at all (after `refuse` let it through) ends the call with that defect.
          else if (Exit.isFailure(armed) && Cause.hasDies(armed.cause))
            collector.abort(Exit.die(Cause.squash(armed.cause)))
          else countCopy(armed)
        }
        const decided: Arm<GroupSyncResult, SendToGroupSyncError> = (settle) => {
          const armed = collector.arm((exit) => {
            withdraw()
            settle(exit)
          })
          if (typeof armed !== "function") {
            withdraw()
            return armed
          }
          return () => {
            withdraw()
            armed()
          }
        }
        // The collector ends when an interruption withdraws the wait: a response after that gets `false`.
        return awaitArmUntil(
          decided,
          deadline,
          () => collector.expire(),
          () => collector.abort(Exit.interrupt())
        )
      },
      releaseCollector
    )

  const shutdown: BeehiveService["shutdown"] = Effect.suspend((): Effect.Effect<ShutdownReport> => {
    if (isShutdown) return Deferred.await(shutdownReport)
    isShutdown = true
    // Calls are cancelled first, so that they fail with BeehiveShutdown rather than with the
    // consequences of the cleanups (RequestDropped, MemberGone).
    const wakeups = new Wakeups()
    let cancelledCalls = 0
    for (const call of calls.all()) {
      const error = new BeehiveShutdown({ operation: call instanceof ReplySlot ? "sendSync" : "sendToGroupSync" })
      if (call instanceof ReplySlot ? call.fail(error, wakeups) : call.abort(Exit.fail(error), wakeups))
        cancelledCalls++
    }
    const cleanups = [...modules].map(([name, entry]) => cleanupNow(name, entry, wakeups))
    const report: ShutdownReport = { cleanups, cancelledCalls }
    Deferred.doneUnsafe(shutdownReport, Exit.succeed(report))
    wakeups.flush()
    return Effect.succeed(report)
  })

  const snapshot: BeehiveService["snapshot"] = Effect.sync(() => ({
    modules: [...modules].map(([name, endpoint]) => ({
      name,
      contextType: endpoint.contextType,
      groups: [...(memberships.get(name) ?? [])],
      queued: endpoint.queued,
      waitingReceivers: endpoint.waitingReceivers,
      waitingSenders: endpoint.waitingSenders
    })),
    groups: new Map([...groups].map(([group, members]) => [group, [...members]])),
    pendingCalls: calls.ids(),
    isShutdown
  }))

  const service: BeehiveService = {
    addModule,
    addModuleGroup,
    cleanup,
    send,
    receive,
    sendSync,
    sendResp,
    sendToGroup,
    sendToGroupSync,
    shutdown,
    done: Effect.asVoid(Deferred.await(shutdownReport)),
    snapshot
  }
  const isPending = (requestId: string): boolean => calls.get(requestId) !== undefined
  for (const context of contexts.values()) context.attach?.(service, isPending, onUndeliverable)
  return service
}

/**
 * The beehive context as an Effect service. Provide it with `Beehive.layer` (channel context,
 * default options) or `Beehive.layerWith(options)`; closing the layer's scope shuts it down.
 *
 * @category services
 */
export class Beehive extends Context.Service<Beehive, BeehiveService>()("beehive-effect/Beehive") {
  /** Builds the service in the current scope. */
  static readonly make = makeBeehive

  /** A layer with the channel context and default options. */
  // The default options are valid: building with them cannot fail.
  static readonly layer: Layer.Layer<Beehive> = Layer.effect(Beehive, Effect.orDie(makeBeehive()))

  /** A layer with the given options; fails with `InvalidArgument` for a capacity that is not a positive integer. */
  static readonly layerWith = (options: BeehiveOptions): Layer.Layer<Beehive, InvalidArgument> =>
    Layer.effect(Beehive, makeBeehive(options))
}
