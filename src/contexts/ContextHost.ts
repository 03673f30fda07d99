/**
 * The one way a context type plugs into a global context. A context type (channel, socket, and the
 * ones to come) is a peer of the others behind this service: the global context is built first,
 * together with its host (`Beehive.makeHost`, `Beehive.layer`), and a context type's constructor or
 * layer requires `ContextHost`, plugs its type in and keeps what it needs of the global context. A
 * context type therefore exists only plugged into a global context (R-API-5): there is no context
 * that was built and not yet attached.
 *
 * ```ts
 * const host = yield* Beehive.makeHost()
 * const socket = yield* SocketContext.make().pipe(
 *   Effect.provideService(ContextHost, host),
 *   Effect.provideService(Transport, nodeTransport)
 * )
 * const beehive = host.beehive
 * ```
 *
 * or with layers: `SocketContext.layerNode().pipe(Layer.provideMerge(Beehive.layer))`.
 *
 * How a context type carries messages (its endpoints, `ModuleContext.ts`) is internal to this package;
 * this file is its public face and names none of that machinery.
 *
 * @since 0.3.0
 */

import type { Effect } from "effect"
import { Context } from "effect"
import type {
  BeehiveShutdown,
  InvalidArgument,
  MessageEncodeError,
  ModuleClosed,
  ModuleNotFound
} from "../model/Errors.ts"
import type { Message } from "../model/Message.ts"
import type { BeehiveService } from "./BeehiveService.ts"

/**
 * A context type as the host sees it from outside: the name modules of that type are added with
 * (`addModule(name, { contextType })`). The context types of this package (`ChannelContext.make`, the
 * socket context's) are more than this: what opens their endpoints is internal.
 *
 * @category models
 */
export interface ContextType {
  /** The context type's name, e.g. "channel" or "socket". */
  readonly type: string
}

/**
 * The reason a context type reports for a message it took in from elsewhere and can no longer deliver
 * because its process is ending (its context's scope closes): R-SOCK-10, R-NATS-2.
 *
 * @category constants
 */
export const ProcessEndingReason = "the process is ending"

/**
 * What a context type gets from the global context it plugs into.
 *
 * @category models
 */
export interface ContextHostService {
  /**
   * The global context: a context type delivers what arrives from elsewhere through it (`send`,
   * `sendResp`) and registers the modules it serves (`addModule`).
   */
  readonly beehive: BeehiveService
  /**
   * `beehive.send`, for what a context type delivers from elsewhere: it also calls `admitted` once the
   * module admits `message`, at once or as its wait for room ends, even when the caller is interrupted
   * right after (R-SEND-3: an interrupted `send` cannot tell). So a delivery its process's end cuts
   * knows whether the message was admitted or is to be reported (R-SOCK-10). Blocks and fails as
   * `send` does.
   */
  readonly deliver: (
    module: string,
    message: Message,
    admitted: () => void
  ) => Effect.Effect<void, InvalidArgument | MessageEncodeError | ModuleNotFound | ModuleClosed | BeehiveShutdown>
  /** Whether a synchronous call with that request id still waits for its response. Never blocks. */
  readonly isPending: (requestId: string) => boolean
  /**
   * The global context's `onUndeliverable` (a no-op unless its options give one): a context type
   * hands it each message it accepted and can deliver to no one. Never blocks.
   */
  readonly onUndeliverable: (module: string, message: Message) => void
  /**
   * Plugs a context type in: from then on `addModule(name, { contextType: context.type })` opens the
   * module's endpoint with it, and responses no local call waits for are offered to it. Never blocks.
   * Fails with `InvalidArgument` if a context type of that name is plugged in already (R-API-5) or
   * `context` is not a context type of this package, with `BeehiveShutdown` once the global context
   * is shut down.
   */
  readonly plug: (context: ContextType) => Effect.Effect<void, InvalidArgument | BeehiveShutdown>
}

/**
 * The host of the context types of one global context, as a service. `Beehive.layer` and
 * `Beehive.layerWith` provide it next to `Beehive`; context layers (`SocketContext.layer`) require it.
 *
 * @category services
 */
export class ContextHost extends Context.Service<ContextHost, ContextHostService>()("beehive-effect/ContextHost") {}
