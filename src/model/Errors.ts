/**
 * The typed failures of beehive-effect. Every one is a `Data.TaggedError`: it sits in the Effect
 * error channel (and is the rejection value of the Promise facade), can be matched with
 * `Effect.catchTag`, and carries the fields a caller needs to react.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * No module of that name is registered (or it was cleaned up). Go logs and drops for `Send`, and
 * returns an error for `Receive` and `SendSync`; we fail every operation the same way.
 *
 * @category errors
 */
export class ModuleNotFound extends Data.TaggedError("ModuleNotFound")<{ readonly module: string }> {
  override get message(): string {
    return `module "${this.module}" is not registered`
  }
}

/**
 * `addModule` (or `register`) with a name that is already taken. Go silently replaces the module
 * and orphans its old channel.
 *
 * @category errors
 */
export class ModuleAlreadyExists extends Data.TaggedError("ModuleAlreadyExists")<{ readonly module: string }> {
  override get message(): string {
    return `module "${this.module}" already exists`
  }
}

/**
 * The module's mailbox was closed by `cleanup` while the operation was suspended on it (a `receive`
 * waiting for a message, a `send` waiting for room).
 *
 * @category errors
 */
export class ModuleClosed extends Data.TaggedError("ModuleClosed")<{ readonly module: string }> {
  override get message(): string {
    return `module "${this.module}" was cleaned up`
  }
}

/**
 * `sendAll`'s module was cleaned up before it accepted every message (R-SEND-5). The first `accepted`
 * of the `total` messages were accepted (each is received or in the cleanup's report); none after
 * them was sent.
 *
 * @category errors
 */
export class SendAllClosed extends Data.TaggedError("SendAllClosed")<{
  readonly module: string
  readonly accepted: number
  readonly total: number
}> {
  override get message(): string {
    return `module "${this.module}" was cleaned up after ${this.accepted} of ${this.total} messages were accepted`
  }
}

/**
 * `sendToGroup` or `sendToGroupSync` to a group without members.
 *
 * @category errors
 */
export class GroupNotFound extends Data.TaggedError("GroupNotFound")<{ readonly group: string }> {
  override get message(): string {
    return `group "${this.group}" has no members`
  }
}

/**
 * The phase a `sendSync` was in when its deadline passed: still waiting for room in the target's
 * mailbox ("enqueue") or waiting for the response ("response").
 *
 * @category models
 */
export type SyncPhase = "enqueue" | "response"

/**
 * `sendSync` reached its deadline without a response.
 *
 * @category errors
 */
export class SyncTimeout extends Data.TaggedError("SyncTimeout")<{
  readonly msgId: string
  readonly module: string
  readonly timeoutMs: number
  readonly phase: SyncPhase
}> {
  override get message(): string {
    return this.phase === "enqueue"
      ? `timeout to send message ${this.msgId} to module "${this.module}" after ${this.timeoutMs} ms`
      : `timeout to get response for message ${this.msgId} from module "${this.module}" after ${this.timeoutMs} ms`
  }
}

/**
 * The target module was cleaned up while a `sendSync`'s request was still in its mailbox; the
 * request is in the cleanup report's `undelivered` list and will never be answered.
 *
 * @category errors
 */
export class RequestDropped extends Data.TaggedError("RequestDropped")<{
  readonly msgId: string
  readonly module: string
}> {
  override get message(): string {
    return `request ${this.msgId} was dropped: module "${this.module}" was cleaned up before receiving it`
  }
}

/**
 * A `sendSync` or `sendToGroupSync` is already waiting for responses to a request with this id;
 * responses are routed by parent id, so two waiters cannot share one.
 *
 * @category errors
 */
export class DuplicateRequestId extends Data.TaggedError("DuplicateRequestId")<{ readonly msgId: string }> {
  override get message(): string {
    return `a synchronous request with id ${this.msgId} is already pending`
  }
}

/**
 * Why a `sendToGroupSync` failed: the deadline passed with members missing ("Timeout"), a response
 * came that nobody asked for ("Uninvited": a second one from a member, or one from a non-member), or
 * a member was cleaned up before answering ("MemberGone").
 *
 * @category models
 */
export type GroupSyncFailure = "Timeout" | "Uninvited" | "MemberGone"

/**
 * `sendToGroupSync` did not get exactly one response from every member.
 *
 * - `missing`: members that did not answer (for "MemberGone", the members that left).
 * - `responded`: members that answered, in the order their answers arrived.
 * - `uninvited`: how many uninvited responses arrived.
 *
 * @category errors
 */
export class GroupSyncError extends Data.TaggedError("GroupSyncError")<{
  readonly reason: GroupSyncFailure
  readonly group: string
  readonly msgId: string
  readonly missing: ReadonlyArray<string>
  readonly responded: ReadonlyArray<string>
  readonly uninvited: number
}> {
  override get message(): string {
    switch (this.reason) {
      case "Timeout":
        return `group "${this.group}" sync ${this.msgId} timed out; missing: ${this.missing.join(", ")}`
      case "Uninvited":
        return `group "${this.group}" sync ${this.msgId} got ${this.uninvited} uninvited response(s)`
      default:
        return `group "${this.group}" sync ${this.msgId}: member(s) ${this.missing.join(", ")} left before answering`
    }
  }
}

/**
 * The context was shut down: the operation cannot start, or a pending synchronous call was cancelled.
 *
 * @category errors
 */
export class BeehiveShutdown extends Data.TaggedError("BeehiveShutdown")<{ readonly operation: string }> {
  override get message(): string {
    return `${this.operation}: the beehive context is shut down`
  }
}

/**
 * `addModule` with a context type this context was not built with (Go exits the process).
 *
 * @category errors
 */
export class UnknownContextType extends Data.TaggedError("UnknownContextType")<{ readonly contextType: string }> {
  override get message(): string {
    return `unsupported context type: ${this.contextType}`
  }
}

/**
 * `decodeJson` got input that is not a beehive message. `path` names the offending place
 * (`header.timestamp`, `route.source`, or "" for the whole input).
 *
 * @category errors
 */
export class MessageDecodeError extends Data.TaggedError("MessageDecodeError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return this.path === "" ? `invalid message: ${this.reason}` : `invalid message at ${this.path}: ${this.reason}`
  }
}

/**
 * `encodeJson` met what JSON, or Go reading it, cannot carry: content holding a function, a symbol, a
 * bigint, a non-finite number or a cycle (Go's encoder fails on the same values, "json: unsupported
 * value"); a timestamp that is no integer within ±(2^53 − 1); a header or route field not of its type.
 * `path` names the place (`content.a[2]`, `header.timestamp`; `""` for the whole message, too large to
 * send), as does the message.
 *
 * @category errors
 */
export class MessageEncodeError extends Data.TaggedError("MessageEncodeError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    const place = this.path === "" ? "" : ` ${this.path.startsWith("content") ? "content " : ""}at ${this.path}`
    return `cannot encode message${place}: ${this.reason}`
  }
}

/**
 * An operation got an argument it cannot use: a module or group name that is not a non-empty string,
 * something that is not a message, a timeout that is not a duration (NaN, a non-number, an unparsable
 * string, infinity), a capacity that is not a positive integer. Nothing was done. (Go would panic, or
 * silently accept it.)
 *
 * @category errors
 */
export class InvalidArgument extends Data.TaggedError("InvalidArgument")<{
  readonly operation: string
  readonly argument: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.operation}: invalid ${this.argument}: ${this.reason}`
  }
}
