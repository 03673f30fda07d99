/**
 * Batched receiving in the global context: `receiveAll` and `receiveStream` (R-RECV-5, R-RECV-6).
 * Built on the endpoint's `takeNow` and `armTake`, so they work for every context type; a batch is
 * handed to the caller as one value, so an interruption gives all of it back, in order (`handOff`).
 *
 * @since 0.3.0
 * @internal
 */
import { Cause, Effect, type Fiber, Stream } from "effect"
import { awaitArm } from "../../effects/Deadline.ts"
import { giveBackHeld, handOff } from "../../effects/HandOff.ts"
import { countReceived, observe, observeWith, operation } from "../../effects/Observability.ts"
import { checkBound, checkName, isBound, isName } from "../../model/Arguments.ts"
import { type BeehiveShutdown, type InvalidArgument, ModuleClosed, type ModuleNotFound } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import type { BeehiveService } from "../BeehiveService.ts"
import type { Endpoint } from "../ModuleContext.ts"
import type { BeehiveState } from "./BeehiveState.ts"
import { ignore, invalidOf } from "./Checks.ts"
import { moduleAttributes } from "./SpanAttributes.ts"

/** A stream's pull: a non-empty batch, or the end (`Cause.Done`) once its module is gone. */
type Pull = Effect.Effect<[Message, ...Array<Message>], Cause.Done>

type ReceiveAllError = InvalidArgument | ModuleNotFound | ModuleClosed | BeehiveShutdown

/** `first`, then what `endpoint` hands out at once, up to `max` in all, handed to the caller. */
const takeBatch = (
  state: BeehiveState,
  fiber: Fiber.Fiber<unknown, unknown>,
  endpoint: Endpoint,
  first: Message,
  max: number
): Effect.Effect<Array<Message>> => {
  // Sized once for what is queued (an array grown a push at a time was copied about log2(n) times);
  // more can come in while taking (senders admitted as room frees up), and less (a remote endpoint
  // counts its unwritten messages): the length is set to what was taken.
  const batch = new Array<Message>(Math.min(max, 1 + endpoint.queued))
  batch[0] = first
  let taken = 1
  while (taken < max) {
    const next = endpoint.takeNow()
    if (next === undefined) break
    batch[taken++] = next
  }
  batch.length = taken
  const metrics = state.metrics
  // Counted as it reaches the caller: a batch given back was not received (R-OBS-2, R-RECV-5).
  return handOff(
    fiber,
    batch,
    endpoint.giveBackAll ?? ignore,
    metrics === undefined ? undefined : countReceived(fiber, metrics, batch.length)
  )
}

/**
 * A batch from the module's endpoint, waiting for its first message if none is there. With `only`, the
 * endpoint must be that one (a stream's): another one of the name, or none, is its module closed.
 */
const receiveBatch = (
  state: BeehiveState,
  fiber: Fiber.Fiber<unknown, unknown>,
  module: string,
  max: number,
  only: Endpoint | undefined
): Effect.Effect<Array<Message>, ModuleNotFound | ModuleClosed | BeehiveShutdown> => {
  const endpoint = state.isShutdown ? undefined : state.modules.get(module)
  if (only !== undefined && endpoint !== only) return Effect.fail(new ModuleClosed({ module }))
  if (endpoint === undefined) return Effect.fail(state.unavailable(module, "receiveAll"))
  giveBackHeld(fiber)
  const first = endpoint.takeNow()
  if (first !== undefined) return takeBatch(state, fiber, endpoint, first, max)
  // A stream waits on its own endpoint: once its module is gone (cleaned up, registered again, or the
  // context shut down) the wait fails with `ModuleClosed`, as a pull that starts then does (R-RECV-6;
  // until a property found it, a wait that began after a cleanup or a shutdown failed with
  // `ModuleNotFound` or `BeehiveShutdown`, which the pull's span showed).
  return awaitBatch(state, fiber, module, max, only, endpoint)
}

const awaitBatch = (
  state: BeehiveState,
  fiber: Fiber.Fiber<unknown, unknown>,
  module: string,
  max: number,
  only: Endpoint | undefined,
  found: Endpoint
): Effect.Effect<Array<Message>, ModuleNotFound | ModuleClosed | BeehiveShutdown> => {
  if (only !== undefined)
    return Effect.flatMap(awaitArm(only.armTake()), (message) => takeBatch(state, fiber, only, message, max))
  // The endpoint the wait joins is found again in the wait's own step (R-GLOBAL-6); the rest of the
  // batch comes from that one.
  let waitedOn = found
  const waited = awaitArm(
    state.armed(module, "receiveAll", (e) => {
      waitedOn = e
      return e.armTake()
    })
  )
  return Effect.flatMap(waited, (message) => takeBatch(state, fiber, waitedOn, message, max))
}

/**
 * `receiveAll` (R-RECV-5).
 *
 * @category constructors
 */
export const makeReceiveAll = (state: BeehiveState): BeehiveService["receiveAll"] => {
  // Made once, as `receive`'s: a receiver that keeps up takes batches of one.
  const body = (
    fiber: Fiber.Fiber<unknown, unknown>,
    module: string,
    max: number | undefined
  ): Effect.Effect<Array<Message>, ReceiveAllError> =>
    isName(module) && isBound(max)
      ? receiveBatch(state, fiber, module, max ?? Number.POSITIVE_INFINITY, undefined)
      : invalidOf(checkName("receiveAll", "module name", module), checkBound("receiveAll", "max", max))
  const receiveAll = operation("beehive.receiveAll", moduleAttributes, body)
  return (module, max) => observeWith(receiveAll, module, max, undefined)
}

/**
 * `receiveStream` (R-RECV-6): the endpoint is found when the stream starts, and each pull is a
 * `receiveAll` on that endpoint; the module gone (closed, unregistered, shut down) ends the stream.
 *
 * @category constructors
 */
export const makeReceiveStream =
  (state: BeehiveState): BeehiveService["receiveStream"] =>
  (module, max) =>
    Stream.fromPull(
      Effect.suspend((): Effect.Effect<Pull, InvalidArgument | ModuleNotFound | BeehiveShutdown> => {
        if (!(isName(module) && isBound(max)))
          return invalidOf(checkName("receiveStream", "module name", module), checkBound("receiveStream", "max", max))
        const endpoint = state.isShutdown ? undefined : state.modules.get(module)
        if (endpoint === undefined) return Effect.fail(state.unavailable(module, "receiveStream"))
        const bound = max ?? Number.POSITIVE_INFINITY
        const pull = observe(
          "beehive.receiveAll",
          () => ({ "beehive.module": module }),
          (fiber) => receiveBatch(state, fiber, module, bound, endpoint)
        )
        return Effect.succeed(
          Effect.catch(
            pull as Effect.Effect<[Message, ...Array<Message>], ModuleNotFound | ModuleClosed | BeehiveShutdown>,
            () => Cause.done()
          )
        )
      })
    )
