/**
 * The Promise facade, for code that does not use Effect: `createBeehive()` returns an object whose
 * operations return Promises. Semantics are those of the `Beehive` service (spec/SPEC.md); timeouts
 * are milliseconds; a rejection is the tagged error object itself (`err._tag`, `instanceof` work).
 * The message helpers are synchronous here.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, ManagedRuntime, Result } from "effect"
import {
  type AddModuleOptions,
  Beehive,
  type BeehiveOptions,
  type BeehiveService,
  type BeehiveSnapshot
} from "./contexts/Beehive.ts"
import { checkCapacity, checkOptions } from "./model/Arguments.ts"
import { BeehiveShutdown, ModuleNotFound } from "./model/Errors.ts"
import * as Message from "./model/Message.ts"
import * as MessageJson from "./model/MessageJson.ts"
import type { CleanupReport, GroupSendResult, GroupSyncResult, ShutdownReport } from "./model/Reports.ts"

export type { AddModuleOptions, BeehiveOptions, BeehiveSnapshot, ModuleSnapshot } from "./contexts/Beehive.ts"
export * from "./model/Constants.ts"
export * from "./model/Errors.ts"
export type { Message, MessageHeader, MessageInit, MessageRoute } from "./model/Message.ts"
export {
  buildHeader,
  buildRouter,
  fillBody,
  format as formatMessage,
  isEmpty,
  make as makeMessage,
  setDestination,
  setResourceOperation,
  setResourceVersion,
  setRoute,
  setSync,
  setType
} from "./model/Message.ts"
export type { CleanupReport, GroupSendResult, GroupSyncResult, ShutdownReport } from "./model/Reports.ts"

/**
 * Per-call options of the operations that can suspend.
 *
 * @category models
 */
export interface CallOptions {
  /** Aborting interrupts the operation (a suspended send is withdrawn, a receive takes nothing). */
  readonly signal?: AbortSignal | undefined
}

/**
 * A beehive context driven with Promises. Every method is the `Beehive` operation of the same name.
 *
 * @category models
 */
export interface PromiseBeehive {
  addModule(name: string, options?: AddModuleOptions): Promise<void>
  addModuleGroup(module: string, group: string): Promise<void>
  cleanup(module: string): Promise<CleanupReport>
  send(module: string, message: Message.Message, options?: CallOptions): Promise<void>
  sendAll(module: string, messages: ReadonlyArray<Message.Message>, options?: CallOptions): Promise<number>
  receive(module: string, options?: CallOptions): Promise<Message.Message>
  receiveAll(module: string, max?: number, options?: CallOptions): Promise<Array<Message.Message>>
  sendSync(
    module: string,
    message: Message.Message,
    timeoutMs?: number,
    options?: CallOptions
  ): Promise<Message.Message>
  sendResp(response: Message.Message, from?: string): Promise<boolean>
  sendToGroup(group: string, message: Message.Message, options?: CallOptions): Promise<GroupSendResult>
  sendToGroupSync(
    group: string,
    message: Message.Message,
    timeoutMs?: number,
    options?: CallOptions
  ): Promise<GroupSyncResult>
  snapshot(): Promise<BeehiveSnapshot>
  /**
   * Shuts the context down (R-GLOBAL-3) and releases it. Later calls answer as after `shutdown`
   * (R-GLOBAL-4): `sendResp` resolves `false`, `cleanup` rejects with `ModuleNotFound`, the others
   * (and `snapshot`, whose runtime is gone) reject with `BeehiveShutdown`.
   */
  close(): Promise<ShutdownReport>
}

const abortError = (signal: AbortSignal | undefined): unknown =>
  signal?.reason ?? new DOMException("The operation was aborted", "AbortError")

const settle = <A, E>(exit: Exit.Exit<A, E>, signal: AbortSignal | undefined): Promise<A> => {
  if (Exit.isSuccess(exit)) return Promise.resolve(exit.value)
  const error = Cause.findError(exit.cause)
  if (Result.isSuccess(error)) return Promise.reject(error.success)
  if (Cause.hasInterruptsOnly(exit.cause)) return Promise.reject(abortError(signal))
  return Promise.reject(Cause.squash(exit.cause))
}

/**
 * Creates an independent beehive context (channel context; `options` as `Beehive.layerWith`). Throws
 * `InvalidArgument` for a capacity that is not a positive integer.
 *
 * @category constructors
 */
export const createBeehive = (options: BeehiveOptions = {}): PromiseBeehive => {
  runSyncOrThrow(checkOptions("createBeehive", options as BeehiveOptions | undefined))
  if (options.capacity !== undefined) runSyncOrThrow(checkCapacity("createBeehive", options.capacity))
  const runtime = ManagedRuntime.make(Beehive.layerWith(options))
  let closed: Promise<ShutdownReport> | undefined

  const run = <A, E>(
    operation: string,
    use: (beehive: BeehiveService) => Effect.Effect<A, E>,
    callOptions?: CallOptions,
    afterClose: () => Promise<A> = () => Promise.reject(new BeehiveShutdown({ operation }))
  ): Promise<A> => {
    if (closed !== undefined) return afterClose()
    const signal = callOptions?.signal
    return runtime
      .runPromiseExit(Beehive.use(use), signal === undefined ? undefined : { signal })
      .then((exit) => settle(exit, signal))
  }

  return {
    addModule: (name, addOptions) => run("addModule", (b) => b.addModule(name, addOptions)),
    addModuleGroup: (module, group) => run("addModuleGroup", (b) => b.addModuleGroup(module, group)),
    cleanup: (module) =>
      run(
        "cleanup",
        (b) => b.cleanup(module),
        undefined,
        () => Promise.reject(new ModuleNotFound({ module }))
      ),
    send: (module, message, o) => run("send", (b) => b.send(module, message), o),
    sendAll: (module, messages, o) => run("sendAll", (b) => b.sendAll(module, messages), o),
    receive: (module, o) => run("receive", (b) => b.receive(module), o),
    receiveAll: (module, max, o) => run("receiveAll", (b) => b.receiveAll(module, max), o),
    sendSync: (module, message, timeoutMs, o) => run("sendSync", (b) => b.sendSync(module, message, timeoutMs), o),
    sendResp: (response, from) =>
      run(
        "sendResp",
        (b) => b.sendResp(response, from),
        undefined,
        () => Promise.resolve(false)
      ),
    sendToGroup: (group, message, o) => run("sendToGroup", (b) => b.sendToGroup(group, message), o),
    sendToGroupSync: (group, message, timeoutMs, o) =>
      run("sendToGroupSync", (b) => b.sendToGroupSync(group, message, timeoutMs), o),
    snapshot: () => run("snapshot", (b) => b.snapshot),
    close: () => {
      if (closed === undefined) {
        closed = runtime.runPromise(Beehive.use((b) => b.shutdown)).then(async (report) => {
          await runtime.dispose()
          return report
        })
      }
      return closed
    }
  }
}

const runSyncOrThrow = <A, E>(result: Result.Result<A, E>): A => {
  if (Result.isFailure(result)) throw result.failure
  return result.success
}

/** Go's `NewMessage(parentId)`: fresh UUIDv4 id, current time in ms (R-MSG-2). @category constructors */
export const newMessage = (parentId = ""): Message.Message => Effect.runSync(Message.newMessage(parentId))

/** Go's `NewRespByMessage(request, content)` (R-MSG-4). @category constructors */
export const newResponse = (request: Message.Message, content: unknown): Message.Message =>
  Effect.runSync(Message.newResponse(request, content))

/** Go's `NewErrorMessage(request, text)` (R-MSG-5). @category constructors */
export const newErrorResponse = (request: Message.Message, text: string): Message.Message =>
  Effect.runSync(Message.newErrorResponse(request, text))

/** Go's `Clone(message)` (R-MSG-6). @category constructors */
export const clone = (message: Message.Message): Message.Message => Effect.runSync(Message.clone(message))

/** Go's `UpdateID()`: the same message with a fresh id (R-MSG-3). @category constructors */
export const updateId = (message: Message.Message): Message.Message => Effect.runSync(Message.updateId(message))

/** Go's JSON for the message (R-JSON-1); throws `MessageEncodeError` for content JSON cannot carry. @category encoding */
export const encodeJson = (message: Message.Message): string => runSyncOrThrow(MessageJson.encodeJsonResult(message))

/** Parses Go beehive JSON (R-JSON-4); throws `MessageDecodeError` naming the bad path. @category decoding */
export const decodeJson = (text: string): Message.Message => runSyncOrThrow(MessageJson.decodeJsonResult(text))
