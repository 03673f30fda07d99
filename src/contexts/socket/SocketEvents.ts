/**
 * What the socket context reports about its connections: connections made and lost, peers refused,
 * retries, and every message or response it could not hand on (so nothing is dropped silently). Each
 * event goes to the `onEvent` option if given, and is logged with Effect's logger (warnings for losses
 * and refusals, debug for the rest).
 *
 * @since 0.1.0
 */
import { Clock, Effect } from "effect"
import { type LogLimiter, peerHost } from "./LogLimiter.ts"

/**
 * A socket context event.
 *
 * - `Listening`: a server listens on `address`.
 * - `Connected`: a connection completed its handshake; `module` is the client module, `modules` the
 *   modules now reachable over it.
 * - `Disconnected`: an established connection ended; its remote modules were cleaned up.
 * - `Refused`: a server closed a connection before or during the handshake (connection limit, bad
 *   handshake, module not accepted, protocol error).
 * - `Retrying`: a client failed to connect or lost its connection and retries after `delayMs`.
 * - `GaveUp`: a client reached its bound (`maxAttempts` failed attempts in a row, or `giveUpAfter`
 *   without a connection) and stopped; its `connected` fails with `ConnectFailed`.
 * - `ModuleSkipped`: a module of the exchange was not registered here (the name is taken).
 * - `Undeliverable`: a message from a peer could not be delivered (unknown destination, module closed);
 *   if it was a sync request, the peer was sent an error response.
 * - `UnclaimedResponse`: a response from a peer that no call waited for (its call had ended).
 * - `Unsent`: a one-way message accepted for a module of the peer did not reach it: never written
 *   when the connection ended, or written and, by the peer's receipts, never handled (R-SOCK-11,
 *   R-SOCK-21); it was handed to the context's `onUndeliverable` too.
 * - `InDoubt`: a one-way message written to a peer that never said whether it handled it (the peer was
 *   restarted, or this context closed before it came back); it may or may not have arrived (R-SOCK-21).
 * - `RequestForgotten`: more sync requests from peers were waiting for answers than
 *   `maxPendingRequests` (or their ids took more than `maxPendingRequestBytes`); the connection owed the
 *   most forgot its oldest, and its answer will not be sent back.
 *
 * @category models
 */
export type SocketEvent =
  | { readonly _tag: "Listening"; readonly address: string }
  | {
      readonly _tag: "Connected"
      readonly peer: string
      readonly module: string
      readonly modules: ReadonlyArray<string>
    }
  | {
      readonly _tag: "Disconnected"
      readonly peer: string
      readonly module: string
      readonly reason: string
      /** What ended it: the connection, a protocol error, or a peer gone silent (R-SOCK-20). */
      readonly cause: "ConnectionClosed" | "SocketProtocolError" | "PeerUnresponsive"
    }
  | { readonly _tag: "Refused"; readonly peer: string; readonly reason: string }
  | {
      readonly _tag: "Retrying"
      readonly address: string
      readonly attempt: number
      readonly delayMs: number
      readonly reason: string
    }
  | { readonly _tag: "GaveUp"; readonly address: string; readonly attempts: number; readonly reason: string }
  | { readonly _tag: "ModuleSkipped"; readonly peer: string; readonly module: string; readonly reason: string }
  | {
      readonly _tag: "Undeliverable"
      readonly peer: string
      readonly msgId: string
      readonly destination: string
      readonly reason: string
    }
  | { readonly _tag: "UnclaimedResponse"; readonly peer: string; readonly msgId: string; readonly parentId: string }
  | { readonly _tag: "Unsent"; readonly peer: string; readonly destination: string; readonly msgId: string }
  | { readonly _tag: "InDoubt"; readonly peer: string; readonly destination: string; readonly msgId: string }
  | { readonly _tag: "RequestForgotten"; readonly peer: string; readonly msgId: string }

/**
 * One line describing an event.
 *
 * @category getters
 */
export const formatEvent = (event: SocketEvent): string => {
  switch (event._tag) {
    case "Listening":
      return `socket server listening on ${event.address}`
    case "Connected":
      return `${event.peer}: module "${event.module}" connected; remote modules: ${event.modules.join(", ") || "none"}`
    case "Disconnected":
      return `${event.peer}: module "${event.module}" disconnected: ${event.reason}`
    case "Refused":
      return `${event.peer}: connection refused: ${event.reason}`
    case "Retrying":
      return `${event.address}: attempt ${event.attempt} failed (${event.reason}); retrying in ${event.delayMs} ms`
    case "GaveUp":
      return `${event.address}: gave up after ${event.attempts} failed attempt(s): ${event.reason}`
    case "ModuleSkipped":
      return `${event.peer}: remote module "${event.module}" not registered: ${event.reason}`
    case "Undeliverable":
      return `${event.peer}: message ${event.msgId} to "${event.destination}" not delivered: ${event.reason}`
    case "UnclaimedResponse":
      return `${event.peer}: response ${event.msgId} to ${event.parentId} dropped: no call waits for it`
    case "Unsent":
      return `${event.peer}: message ${event.msgId} to "${event.destination}" did not reach the peer: the connection ended`
    case "InDoubt":
      return `${event.peer}: message ${event.msgId} to "${event.destination}" may not have arrived: the peer never said`
    case "RequestForgotten":
      return `${event.peer}: request ${event.msgId} forgotten (too many requests waiting): its answer will not be sent`
  }
}

const isLoss = (event: SocketEvent): boolean =>
  event._tag === "Refused" ||
  event._tag === "Undeliverable" ||
  event._tag === "UnclaimedResponse" ||
  event._tag === "RequestForgotten" ||
  event._tag === "Unsent" ||
  event._tag === "InDoubt" ||
  event._tag === "ModuleSkipped" ||
  event._tag === "Retrying" ||
  event._tag === "GaveUp"

/** Who an event is about, for the log's bound: the peer's host, or the address a client connects to. */
const sourceOf = (event: SocketEvent): string => ("peer" in event ? peerHost(event.peer) : event.address)

/**
 * Reports an event: to `onEvent` if given (every event), and to Effect's logger, warnings bounded per
 * kind and peer host by `limiter` (R-SOCK-19). Never fails.
 *
 * @category constructors
 */
export const reportEvent = (
  onEvent: ((event: SocketEvent) => void) | undefined,
  event: SocketEvent,
  limiter?: LogLimiter
): Effect.Effect<void> =>
  Effect.suspend(() => {
    onEvent?.(event)
    const line = formatEvent(event)
    if (!isLoss(event)) return Effect.logDebug(line)
    if (limiter === undefined) return Effect.logWarning(line)
    const source = sourceOf(event)
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const admission = limiter.admit(`${event._tag} ${source}`, now)
      const held =
        admission.suppressed > 0
          ? Effect.logWarning(
              `${source}: ${admission.suppressed} more "${event._tag}" warning(s) were not written in the last ${limiter.windowMs} ms`
            )
          : Effect.void
      return admission.log ? Effect.andThen(held, Effect.logWarning(line)) : held
    })
  })
