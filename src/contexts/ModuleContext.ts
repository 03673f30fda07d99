/**
 * What a context type provides to the global context: endpoints. An endpoint is how messages reach
 * one module and how that module's messages are received, whatever carries them (a mailbox in this
 * process for "channel", a connection for "socket"). The global context (`Beehive`) does all the
 * routing, group and reply bookkeeping on top of endpoints, so groups can mix context types.
 *
 * Internal: endpoints are built on the wake-up machinery (`Arm`, `Wake`, `Wakeups`) that the global
 * context's one-step guarantees rest on (R-GLOBAL-6), which is no part of the public API. A context
 * type implements `ModuleContext` and plugs itself in through the `ContextHost` service
 * (`ContextHost.ts`), which is public and mentions none of it.
 *
 * @since 0.1.0
 * @internal
 */
import type { Effect } from "effect"
import type { Arm } from "../effects/Arm.ts"
import type { Wake } from "../effects/Mailbox.ts"
import type { Wakeups } from "../effects/Wakeups.ts"
import type { MessageEncodeError, ModuleClosed } from "../model/Errors.ts"
import type { Message } from "../model/Message.ts"
import type { ContextType } from "./ContextHost.ts"

/**
 * One module's way in and out.
 *
 * @category models
 */
export interface Endpoint {
  readonly module: string
  readonly contextType: string
  /** Messages accepted and not yet received. */
  readonly queued: number
  /** Receivers waiting for a message. */
  readonly waitingReceivers: number
  /** Senders waiting for room. */
  readonly waitingSenders: number
  /**
   * Why this endpoint cannot carry `message` at all (a socket cannot encode its content, or it is
   * larger than a frame), or undefined when it can. Asked before any offer of the message, in the same
   * step, so that the caller fails with a typed error and nothing is delivered (R-SOCK-2).
   */
  readonly refuse?: ((message: Message) => MessageEncodeError | undefined) | undefined
  /** Delivers a message if the module can accept it at once; false if it cannot (full or closed). */
  readonly offerNow: (message: Message, wake: Wake) => boolean
  /** Delivers a message; waits while the module cannot accept it. See `Arm`. */
  readonly armOffer: (message: Message, wake: Wake) => Arm<void, ModuleClosed>
  /** The oldest message, if one can be received at once. */
  readonly takeNow: () => Message | undefined
  /** Receives the oldest message; waits while there is none. See `Arm`. */
  readonly armTake: () => Arm<Message, ModuleClosed>
  /**
   * Takes back a message `takeNow` handed out that its receiver could not keep (it was stopped before
   * the message reached it): to the head of the line, or to `onOrphan` once closed (R-RECV-4).
   * Absent for endpoints that never hand messages out.
   */
  readonly giveBack?: ((message: Message) => void) | undefined
  /**
   * Takes back messages `takeNow` handed out in a row that their receiver could not keep, to the head
   * of the line in their order (R-RECV-5). Absent for endpoints that never hand messages out.
   */
  readonly giveBackAll?: ((messages: ReadonlyArray<Message>) => void) | undefined
  /**
   * Closes the endpoint: returns what was never received and fails its waiters with `ModuleClosed`,
   * at once or, given `wakeups`, when the caller flushes them (after it has finished its own step).
   */
  readonly close: (wakeups?: Wakeups) => ReadonlyArray<Message>
  /**
   * Told, in the step that registers it, that the endpoint is now its module's. An endpoint opened for
   * a name another caller registered meanwhile is closed instead, never told (R-MOD-2). Absent when
   * the context type needs no telling.
   */
  readonly registered?: (() => void) | undefined
}

/**
 * Options for opening an endpoint.
 *
 * @category models
 */
export interface EndpointOptions {
  /** Mailbox capacity (channel context); a positive integer. */
  readonly capacity: number
  /** Receives a message that was handed to an interrupted receiver after the endpoint closed. */
  readonly onOrphan: (message: Message) => void
}

/**
 * A context type: opens endpoints for modules of that type. It is plugged into a global context with
 * `ContextHost`'s `plug`, once; what it needs of the global context (delivering what arrives from
 * elsewhere, asking whether a call still waits) it gets from the same `ContextHostService`.
 *
 * @category models
 */
export interface ModuleContext extends ContextType {
  /**
   * Opens the endpoint of `module`. It may suspend (and be interrupted) while it waits; its last step,
   * the one that creates the endpoint, must be a single step, so that an endpoint that exists is
   * returned to the caller, who registers or closes it.
   */
  readonly open: (module: string, options: EndpointOptions) => Effect.Effect<Endpoint>
  /**
   * Offered a response no local call waits for (its request came from elsewhere); true if this
   * context took it to send back. Never blocks.
   */
  readonly forwardResponse?: ((response: Message, from: string | undefined) => boolean) | undefined
}
