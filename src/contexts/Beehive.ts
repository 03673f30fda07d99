/**
 * The global context: the one service modules talk through. It keeps the module table (routing every
 * operation to the endpoint of the module's context type), the groups (which may mix context types)
 * and the pending-reply table, and implements beehive's operations with the semantics of
 * `spec/SPEC.md`. Every rule id below (R-...) is defined there.
 *
 * It is built together with its `ContextHost`, through which context types plug in: the channel
 * context is plugged in at once, others (the socket context) plug themselves in when they are built
 * (R-API-5). The operations are implemented in `beehive/`, one concern per file, over one shared
 * `BeehiveState`; this file assembles them.
 *
 * @since 0.1.0
 */
import { Context, Deferred, type Duration, Effect, Layer, Result, type Scope } from "effect"
import { makeMetrics } from "../effects/Observability.ts"
import { checkCapacity, checkOptions, checkTimeout } from "../model/Arguments.ts"
import { ChannelSizeDefault } from "../model/Constants.ts"
import { InvalidArgument } from "../model/Errors.ts"
import type { Message } from "../model/Message.ts"
import type { BeehiveService } from "./BeehiveService.ts"
import { BeehiveState } from "./beehive/BeehiveState.ts"
import { ignore } from "./beehive/Checks.ts"
import { makeCleanup, makeShutdown } from "./beehive/Cleanup.ts"
import { makeDeliver, makeReceive, makeSend, makeSendToGroup } from "./beehive/Delivery.ts"
import { makeAddModule, makeAddModuleGroup, makeSnapshot } from "./beehive/ModuleTable.ts"
import { makePlug, plugNow } from "./beehive/Plug.ts"
import { makeReceiveAll, makeReceiveStream } from "./beehive/ReceiveAll.ts"
import { makeSendResp } from "./beehive/Responses.ts"
import { makeSendAll } from "./beehive/SendAll.ts"
import { makeSendSync } from "./beehive/SendSync.ts"
import { makeSendToGroupSync } from "./beehive/SendToGroupSync.ts"
import { ChannelContext } from "./ChannelContext.ts"
import { ContextHost, type ContextHostService } from "./ContextHost.ts"

/** The service's public types, defined in `BeehiveService.ts`. */
export type {
  AddModuleOptions,
  BeehiveService,
  BeehiveSnapshot,
  ModuleSnapshot,
  SendSyncError,
  SendToGroupSyncError
} from "./BeehiveService.ts"

/**
 * Options of a `Beehive` context.
 *
 * @category models
 */
export interface BeehiveOptions {
  /** Default mailbox capacity, a positive integer (1024, Go's `ChannelSizeDefault`). */
  readonly capacity?: number | undefined
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
 * The timeout in milliseconds a sync call uses for `timeout` (R-SYNC-1).
 *
 * @category getters
 */
export const timeoutMillis = (timeout: Duration.Input | undefined): Result.Result<number, InvalidArgument> =>
  checkTimeout("timeout", timeout)

/** The default capacity `options` give, or why they are not options of `Beehive.make`. */
const checkBeehiveOptions = (options: BeehiveOptions): Result.Result<number, InvalidArgument> => {
  const given = checkOptions("Beehive.make", options as BeehiveOptions | undefined)
  if (Result.isFailure(given)) return Result.fail(given.failure)
  const capacity = checkCapacity("Beehive.make", options.capacity, ChannelSizeDefault)
  if (Result.isFailure(capacity)) return capacity
  if (options.onUndeliverable !== undefined && typeof options.onUndeliverable !== "function")
    return Result.fail(
      new InvalidArgument({ operation: "Beehive.make", argument: "onUndeliverable", reason: "expected a function" })
    )
  return capacity
}

/**
 * Builds a global context with its host, the channel context plugged in; its shutdown runs when the
 * surrounding scope closes. Fails with `InvalidArgument` for options that are not valid (R-API-3).
 * Never blocks.
 *
 * @category constructors
 */
export const makeHost = (
  options: BeehiveOptions = {}
): Effect.Effect<ContextHostService, InvalidArgument, Scope.Scope> =>
  Effect.gen(function* () {
    const capacity = checkBeehiveOptions(options)
    if (Result.isFailure(capacity)) return yield* Effect.fail(capacity.failure)
    const host = makeUnsafe(options, capacity.success)
    yield* Effect.addFinalizer(() => host.beehive.shutdown)
    return host
  })

/**
 * Builds a global context with the channel context (other context types can be plugged in only
 * through its host: see `makeHost`); its shutdown runs when the surrounding scope closes. Fails with
 * `InvalidArgument` for options that are not valid (R-API-3). Never blocks.
 *
 * @category constructors
 */
export const makeBeehive = (
  options: BeehiveOptions = {}
): Effect.Effect<BeehiveService, InvalidArgument, Scope.Scope> =>
  Effect.gen(function* () {
    const capacity = checkBeehiveOptions(options)
    if (Result.isFailure(capacity)) return yield* Effect.fail(capacity.failure)
    const service = makeUnsafe(options, capacity.success).beehive
    yield* Effect.addFinalizer(() => service.shutdown)
    return service
  })

const makeUnsafe = (options: BeehiveOptions, defaultCapacity: number): ContextHostService => {
  const state = new BeehiveState(
    defaultCapacity,
    options.onUndeliverable ?? ignore,
    options.metrics === true ? makeMetrics() : undefined
  )
  const beehive: BeehiveService = {
    addModule: makeAddModule(state),
    addModuleGroup: makeAddModuleGroup(state),
    cleanup: makeCleanup(state),
    send: makeSend(state),
    sendAll: makeSendAll(state),
    receive: makeReceive(state),
    receiveAll: makeReceiveAll(state),
    receiveStream: makeReceiveStream(state),
    sendSync: makeSendSync(state),
    sendResp: makeSendResp(state),
    sendToGroup: makeSendToGroup(state),
    sendToGroupSync: makeSendToGroupSync(state),
    shutdown: makeShutdown(state),
    done: Effect.asVoid(Deferred.await(state.shutdownReport)),
    snapshot: makeSnapshot(state)
  }
  // The state is new: the channel context type cannot be refused.
  plugNow(state, ChannelContext.make)
  return {
    beehive,
    deliver: makeDeliver(state),
    isPending: (requestId) => state.calls.get(requestId) !== undefined,
    onUndeliverable: state.onUndeliverable,
    plug: makePlug(state)
  }
}

/**
 * The beehive context as an Effect service. Provide it with `Beehive.layer` (channel context,
 * default options) or `Beehive.layerWith(options)`, which provide its `ContextHost` too, for the
 * layers of other context types (`SocketContext.layer`); closing the layer's scope shuts it down.
 *
 * @category services
 */
export class Beehive extends Context.Service<Beehive, BeehiveService>()("beehive-effect/Beehive") {
  /** Builds the service in the current scope, with the channel context. */
  static readonly make = makeBeehive

  /** Builds the service and its `ContextHost` in the current scope; see `makeHost`. */
  static readonly makeHost = makeHost

  /**
   * A layer of the global context and its host, from `options`; fails with `InvalidArgument` for
   * options that are not valid (R-API-3).
   */
  static readonly layerWith = (options: BeehiveOptions): Layer.Layer<Beehive | ContextHost, InvalidArgument> =>
    Layer.effectContext(
      Effect.map(makeHost(options), (host) => Context.make(Beehive, host.beehive).pipe(Context.add(ContextHost, host)))
    )

  /** A layer of the global context and its host, with default options. */
  // The default options are valid: building with them cannot fail.
  static readonly layer: Layer.Layer<Beehive | ContextHost> = Layer.orDie(Beehive.layerWith({}))
}
