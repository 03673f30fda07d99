/**
 * Checks of the arguments of the public operations (R-API-3): each returns the value to use or an
 * `InvalidArgument` naming the operation and the argument. They run before anything is done, so a
 * refused call has no effect.
 *
 * @since 0.2.0
 */
import { Duration, Option, Result } from "effect"
import { MessageTimeoutDefault } from "./Constants.ts"
import { InvalidArgument } from "./Errors.ts"
import type { Message } from "./Message.ts"

/** The largest mailbox capacity accepted (an array that large is already beyond an edge device). @category constants */
export const MaxCapacity = 2 ** 24

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined)
    return String(value)
  return typeof value
}

/** Whether `value` is a usable name (no allocation: the operations' fast path). @category validation */
export const isName = (value: unknown): value is string => typeof value === "string" && value.length > 0

/** Whether `value` has a message's shape (no allocation: the operations' fast path). @category validation */
export const isMessage = (value: unknown): value is Message => {
  if (typeof value !== "object" || value === null) return false
  const { header, route } = value as { header?: unknown; route?: unknown }
  return (
    typeof header === "object" &&
    header !== null &&
    typeof (header as { id?: unknown }).id === "string" &&
    typeof route === "object" &&
    route !== null
  )
}

/** Whether `value` is an array of messages (no allocation: the fast path of `sendAll`). @category validation */
export const isMessages = (value: unknown): value is ReadonlyArray<Message> => {
  if (!Array.isArray(value)) return false
  for (let i = 0; i < value.length; i++) if (!isMessage(value[i])) return false
  return true
}

/** Whether `value` is absent or a positive safe integer: a bound such as `receiveAll`'s `max`. @category validation */
export const isBound = (value: unknown): value is number | undefined =>
  value === undefined || (typeof value === "number" && Number.isSafeInteger(value) && value >= 1)

/** An options argument: absent, or an object (not null, not an array). @category validation */
export const checkOptions = <A extends object>(
  operation: string,
  value: A | undefined
): Result.Result<A | undefined, InvalidArgument> =>
  value === undefined || (typeof value === "object" && value !== null && !Array.isArray(value))
    ? Result.succeed(value)
    : Result.fail(
        new InvalidArgument({ operation, argument: "options", reason: `expected an object, got ${describe(value)}` })
      )

/** A module or group name: a non-empty string. @category validation */
export const checkName = (
  operation: string,
  argument: string,
  value: unknown
): Result.Result<string, InvalidArgument> =>
  isName(value)
    ? Result.succeed(value)
    : Result.fail(
        new InvalidArgument({
          operation,
          argument,
          reason: `expected a non-empty string, got ${typeof value === "string" ? "an empty string" : describe(value)}`
        })
      )

/** A message: an object with a `header` (with a string `id`) and a `route`. @category validation */
export const checkMessage = (
  operation: string,
  argument: string,
  value: unknown
): Result.Result<Message, InvalidArgument> => {
  if (isMessage(value)) return Result.succeed(value)
  const { header } = (value ?? {}) as { header?: unknown }
  const reason =
    typeof value !== "object" || value === null
      ? `expected a message, got ${describe(value)}`
      : typeof header !== "object" || header === null
        ? "expected a message with a header"
        : typeof (header as { id?: unknown }).id !== "string"
          ? "expected a message whose header.id is a string"
          : "expected a message with a route"
  return Result.fail(new InvalidArgument({ operation, argument, reason }))
}

/** An array of messages, each checked as `checkMessage` does, named by its index. @category validation */
export const checkMessages = (
  operation: string,
  argument: string,
  value: unknown
): Result.Result<ReadonlyArray<Message>, InvalidArgument> => {
  if (!Array.isArray(value))
    return Result.fail(
      new InvalidArgument({ operation, argument, reason: `expected an array of messages, got ${describe(value)}` })
    )
  for (let i = 0; i < value.length; i++) {
    const checked = checkMessage(operation, `${argument}[${i}]`, value[i])
    if (Result.isFailure(checked)) return Result.fail(checked.failure)
  }
  return Result.succeed(value)
}

/** The milliseconds a `Duration` input stands for; undefined for anything that is not one (NaN too). */
const durationMillis = (value: unknown): number | undefined => {
  // What `Duration` makes of a whole number of ms, without making a duration: a timeout on every call.
  if (Number.isSafeInteger(value)) return value as number
  const input =
    (typeof value === "number" && !Number.isNaN(value)) ||
    typeof value === "bigint" ||
    typeof value === "string" ||
    Duration.isDuration(value) ||
    Array.isArray(value)
  if (!input) return undefined
  const duration = Duration.fromInput(value as Duration.Input)
  if (Option.isNone(duration)) return undefined
  const ms = Duration.toMillis(duration.value)
  return Number.isNaN(ms) ? undefined : ms
}

/**
 * A sync timeout in ms (R-SYNC-1): absent, zero or negative means the 30 s default, as in Go; a number
 * is milliseconds; any other `Duration` input is converted. NaN, infinity, an unparsable string or
 * any other value is refused.
 *
 * @category validation
 */
export const checkTimeout = (operation: string, value: unknown): Result.Result<number, InvalidArgument> => {
  if (value === undefined) return Result.succeed(MessageTimeoutDefault)
  const ms = durationMillis(value)
  if (ms === undefined || ms === Number.POSITIVE_INFINITY) {
    const reason =
      ms === undefined
        ? `expected a duration (ms or e.g. "2 seconds"), got ${describe(value)}`
        : "an infinite timeout never ends the call"
    return Result.fail(new InvalidArgument({ operation, argument: "timeout", reason }))
  }
  return Result.succeed(ms > 0 ? ms : MessageTimeoutDefault)
}

/** An integer from 1 to `max`. */
const checkCount = (
  operation: string,
  argument: string,
  value: unknown,
  max: number
): Result.Result<number, InvalidArgument> =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= max
    ? Result.succeed(value)
    : Result.fail(
        new InvalidArgument({
          operation,
          argument,
          reason: `expected an integer from 1${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}, got ${describe(value)}`
        })
      )

/**
 * A mailbox capacity: an integer from 1 to `MaxCapacity`. With a `fallback`, a capacity left out
 * (`undefined`, never `null`) is the fallback.
 *
 * @category validation
 */
export const checkCapacity = (
  operation: string,
  value: unknown,
  fallback?: number
): Result.Result<number, InvalidArgument> =>
  checkCount(operation, "capacity", value === undefined && fallback !== undefined ? fallback : value, MaxCapacity)

/**
 * A bound that may be left out (`undefined`: no bound, given as `Infinity`) or is a positive integer
 * (`receiveAll`'s `max`).
 *
 * @category validation
 */
export const checkBound = (
  operation: string,
  argument: string,
  value: unknown
): Result.Result<number, InvalidArgument> =>
  value === undefined ? Result.succeed(Number.POSITIVE_INFINITY) : checkPositiveInteger(operation, argument, value)

/** A count that must be a positive integer (a bound of attempts, say). @category validation */
export const checkPositiveInteger = (
  operation: string,
  argument: string,
  value: unknown
): Result.Result<number, InvalidArgument> => checkCount(operation, argument, value, Number.MAX_SAFE_INTEGER)

/** A duration that must be finite and positive, in ms (a bound of time, say). @category validation */
export const checkPositiveDuration = (
  operation: string,
  argument: string,
  value: unknown
): Result.Result<number, InvalidArgument> => {
  const ms = durationMillis(value)
  return ms !== undefined && ms > 0 && ms !== Number.POSITIVE_INFINITY
    ? Result.succeed(ms)
    : Result.fail(
        new InvalidArgument({
          operation,
          argument,
          reason: `expected a positive, finite duration, got ${describe(value)}`
        })
      )
}
