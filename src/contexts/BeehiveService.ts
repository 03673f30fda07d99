/**
 * The operations of the global context (`Beehive`) and what they take and return: the public face of
 * the service, apart from how it is built (`Beehive.ts`).
 *
 * @since 0.1.0
 */
import type { Duration, Effect, Stream } from "effect"
import type {
  BeehiveShutdown,
  DuplicateRequestId,
  GroupNotFound,
  GroupSyncError,
  InvalidArgument,
  MessageEncodeError,
  ModuleAlreadyExists,
  ModuleClosed,
  ModuleNotFound,
  RequestDropped,
  SendAllClosed,
  SyncTimeout,
  UnknownContextType
} from "../model/Errors.ts"
import type { Message } from "../model/Message.ts"
import type { CleanupReport, GroupSendResult, GroupSyncResult, ShutdownReport } from "../model/Reports.ts"

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
   * them that came from another process is answered with an error response (R-SOCK-10). Never blocks;
   * not interruptible: it does all of this or nothing (R-CLEAN-6).
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
   * Delivers messages to a module, in order, as that many `send`s from one fiber would (R-SEND-5), and
   * returns how many (all). Every message accepted at once is offered in one step; a full mailbox
   * makes it suspend, one message at a time. Fails before offering any with `ModuleNotFound`, or
   * `MessageEncodeError` if the module cannot carry one of them; with `SendAllClosed` (how many were
   * accepted) if the module is cleaned up before it accepted every message: nothing after those was
   * sent. Interruptible: the message waiting is withdrawn, those accepted before stay delivered.
   */
  readonly sendAll: (
    module: string,
    messages: ReadonlyArray<Message>
  ) => Effect.Effect<number, InvalidArgument | MessageEncodeError | ModuleNotFound | SendAllClosed | BeehiveShutdown>
  /**
   * Receives the oldest message of a module's mailbox (R-RECV-*). Suspends while it is empty, behind
   * receivers that started waiting earlier; fails with `ModuleClosed` if the module is cleaned up.
   */
  readonly receive: (
    module: string
  ) => Effect.Effect<Message, InvalidArgument | ModuleNotFound | ModuleClosed | BeehiveShutdown>
  /**
   * Receives every message of a module's mailbox that can be received at once, oldest first, at most
   * `max` (a positive integer; no bound when absent), in one step (R-RECV-5). Suspends while the
   * mailbox is empty, in line with `receive`s; fails with `ModuleClosed` if the module is cleaned up
   * meanwhile. Interrupted, it takes nothing: what it held goes back to the head of the mailbox.
   */
  readonly receiveAll: (
    module: string,
    max?: number | undefined
  ) => Effect.Effect<Array<Message>, InvalidArgument | ModuleNotFound | ModuleClosed | BeehiveShutdown>
  /**
   * The module's messages as a `Stream`, pulled in chunks of `receiveAll(module, max)` (R-RECV-6). It
   * reads the module registered when it starts (failing as `receiveAll` does if there is none) and ends
   * normally when that module is cleaned up; it waits while the mailbox is empty.
   */
  readonly receiveStream: (
    module: string,
    max?: number | undefined
  ) => Stream.Stream<Message, InvalidArgument | ModuleNotFound | BeehiveShutdown>
  /**
   * Sends a request with `sync = true` and waits for the response, all within one deadline
   * (R-SYNC-*). A response delivered before the deadline is always returned. Fails at once with
   * `MessageEncodeError` if the module is in another process and the request cannot be written for it
   * so that its answer comes back: content JSON cannot carry, too large, or an id holding a lone
   * surrogate (R-SOCK-2, R-JSON-2).
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
   * Completes the moment the last member answers. Fails at once with `MessageEncodeError`, offering no
   * copy, if a member is in another process and the request cannot be written for it, as `sendSync`.
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
