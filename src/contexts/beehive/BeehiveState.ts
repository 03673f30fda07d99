/**
 * The state of one global context, shared by the files that implement its operations (the module
 * table, delivery, synchronous calls, cleanup): the context types plugged in, the module table, the
 * groups and the pending-reply table. Every operation reads and changes it within single synchronous
 * steps; what those steps must contain is said where each operation is (R-GLOBAL-6).
 *
 * @since 0.3.0
 * @internal
 */
import { Deferred, Effect, Exit } from "effect"
import type { Arm } from "../../effects/Arm.ts"
import type { BeehiveMetrics } from "../../effects/Observability.ts"
import { ReplyTable } from "../../effects/ReplyTable.ts"
import { BeehiveShutdown, ModuleNotFound, type RequestDropped } from "../../model/Errors.ts"
import type { Message } from "../../model/Message.ts"
import type { ShutdownReport } from "../../model/Reports.ts"
import type { Endpoint, ModuleContext } from "../ModuleContext.ts"

/** How a pending synchronous call can end other than with its response. @category models */
export type CallError = RequestDropped | BeehiveShutdown

/**
 * One global context's state; see the module documentation.
 *
 * @category models
 */
export class BeehiveState {
  /** The default mailbox capacity of `addModule`. */
  readonly defaultCapacity: number
  /** Receives messages no one can receive any more (R-RECV-4). */
  readonly onUndeliverable: (module: string, message: Message) => void
  /** The metrics, when they are on (R-OBS-2). */
  readonly metrics: BeehiveMetrics | undefined
  /** The context types plugged in, by name. */
  readonly contexts = new Map<string, ModuleContext>()
  /** Those that forward responses no local call waits for, in the order they were plugged in. */
  readonly forwarders: Array<ModuleContext> = []
  /** The module table: each module's endpoint. */
  readonly modules = new Map<string, Endpoint>()
  /** The groups each module joined. */
  readonly memberships = new Map<string, Set<string>>()
  /** Each group's members, in join order. */
  readonly groups = new Map<string, Set<string>>()
  /** The pending synchronous calls. */
  readonly calls = new ReplyTable<CallError>()
  /** Completed by the first `shutdown`. */
  readonly shutdownReport = Deferred.makeUnsafe<ShutdownReport>()
  /** Set by the first `shutdown`, in its first step. */
  isShutdown = false

  constructor(
    defaultCapacity: number,
    onUndeliverable: (module: string, message: Message) => void,
    metrics: BeehiveMetrics | undefined
  ) {
    this.defaultCapacity = defaultCapacity
    this.onUndeliverable = onUndeliverable
    this.metrics = metrics
  }

  /** `BeehiveShutdown` for `operation`. */
  readonly refused = (operation: string): Effect.Effect<never, BeehiveShutdown> =>
    Effect.fail(new BeehiveShutdown({ operation }))

  /** Why `module` cannot be used by `operation`: the context is shut down, or there is no such module. */
  readonly unavailable = (module: string, operation: string): ModuleNotFound | BeehiveShutdown =>
    this.isShutdown ? new BeehiveShutdown({ operation }) : new ModuleNotFound({ module })

  // Fast paths complete without suspending. A wait looks the module up again inside its own step and
  // joins the line there: the module found and the place taken are one step, so a cleanup or a
  // message that comes between the fast attempt and the wait is seen (R-GLOBAL-6).
  /** Arms `arm` on the endpoint `module` has in the step the wait starts. */
  readonly armed =
    <A, E>(
      module: string,
      operation: string,
      arm: (endpoint: Endpoint) => Arm<A, E>
    ): Arm<A, E | ModuleNotFound | BeehiveShutdown> =>
    (settle) => {
      const endpoint = this.isShutdown ? undefined : this.modules.get(module)
      return endpoint === undefined ? Exit.fail(this.unavailable(module, operation)) : arm(endpoint)(settle)
    }

  /** The endpoints of a group's members, in join order; undefined if there is no such group. */
  readonly membersOf = (group: string): Array<Endpoint> | undefined => {
    const members = this.groups.get(group)
    if (members === undefined) return undefined
    const endpoints: Array<Endpoint> = []
    for (const member of members) endpoints.push(this.modules.get(member) as Endpoint)
    return endpoints
  }
}
