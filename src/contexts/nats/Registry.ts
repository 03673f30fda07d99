/**
 * The registry (R-NATS-3, R-NATS-4): this process announces the modules it serves on `<prefix>.reg`,
 * and learns from the other processes' announcements which modules they serve. A module some process
 * serves is added to the global context as a "nats" module; once no process serves it (a goodbye, a
 * process silent for `missedHeartbeats` heartbeats, the connection lost) it is cleaned up. Callers of
 * `awaitModule` wait here for a module to be registered. What it holds is bounded (`maxPeers`,
 * `maxPeerModules`): an announcement past either is ignored and reported. Its tables change one change
 * at a time: an announcement, a silence check, a module nobody serves or the connection's loss runs
 * whole before the next starts, so that none of them finds the tables half changed by another.
 *
 * @since 0.3.0
 * @internal
 */
import type { Msg } from "@nats-io/transport-node"
import { Clock, Deferred, type Duration, Effect, Semaphore } from "effect"
import { ModuleNotFound } from "../../model/Errors.ts"
import { type Announcement, makeAnnouncement, parseAnnouncement } from "./Announcement.ts"
import { ContextTypeNats } from "./NatsOptions.ts"
import type { NatsState } from "./NatsState.ts"

/** Another process, as its announcements made it known. */
interface Peer {
  lastSeen: number
  modules: ReadonlySet<string>
  /** Whether its announcements say it takes batches (R-NATS-13). */
  batches: boolean
}

/**
 * The registry of one NATS context; see the module documentation.
 *
 * @category models
 */
export class Registry {
  private readonly state: NatsState
  /** The other processes heard from, by process id. */
  readonly peers = new Map<string, Peer>()
  /** The processes serving each remote module. */
  readonly owners = new Map<string, Set<string>>()
  /** Callers of `awaitModule`, by module. */
  private readonly waiters = new Map<string, Set<Deferred.Deferred<void>>>()
  /** Whether a refused announcement was reported and none went out since. */
  private refusalReported = false
  /** The module listings of the known processes, added up (bounded by `maxPeerModules`). */
  private listed = 0
  /** Announcements ignored since the last `AnnouncementsIgnored`, and the latest of them. */
  private ignored = 0
  private latestIgnored:
    | { readonly process: string; readonly moduleCount: number; readonly reason: string }
    | undefined = undefined
  /** When the last `AnnouncementsIgnored` was reported. */
  private ignoredReportedAt: number | undefined = undefined
  /**
   * Held by each change of the tables for the whole of it. Until a property found it, a process found
   * silent (or lost with the connection) while its announcement was being applied had a module
   * registered here that nobody owned, or kept none for a module it served: the change registering
   * the module and the one cleaning it up each read the owners the other had half changed.
   */
  private readonly changing = Semaphore.makeUnsafe(1)
  /** Whether the connection closed for good (R-NATS-9): announcements read after are ignored. */
  private lost = false

  /** The registry of the context whose state is `state`. */
  constructor(state: NatsState) {
    this.state = state
  }

  /**
   * Announces the modules this process serves; nothing after the goodbye or once the connection is
   * closed. An announcement the client refuses (larger than the payload limit of a server reconnected
   * to, which `serve` could not foresee) is reported `AnnouncementRefused`, once until one goes out
   * again: the other processes will take this one's modules for gone.
   */
  announce(kind: Announcement["kind"]): Effect.Effect<void> {
    return Effect.sync(() => {
      const state = this.state
      if (state.closed || state.nc.isClosed()) return
      const modules = state.serving.modules()
      const json = JSON.stringify(makeAnnouncement(state.processId, kind, modules))
      const refused = state.publish(state.subjects.registry, json)
      if (refused === undefined) {
        this.refusalReported = false
      } else if (!this.refusalReported) {
        this.refusalReported = true
        state.report({
          _tag: "AnnouncementRefused",
          moduleCount: modules.length,
          bytes: Buffer.byteLength(json),
          reason: refused
        })
      }
    })
  }

  /** Handles one message of the registry subject. */
  handle(msg: Msg): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      const a = parseAnnouncement(msg.data)
      if (typeof a === "string") return this.state.report({ _tag: "BadPayload", subject: msg.subject, reason: a })
      const now = yield* Clock.currentTimeMillis
      return yield* this.applyAnnouncement(a, now)
    })
  }

  /** Learns what another process's announcement says, heard at `now`. */
  applyAnnouncement(a: Announcement, now: number): Effect.Effect<void> {
    return this.exclusive(this.learn(a, now))
  }

  private learn(a: Announcement, now: number): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      if (this.lost || a.process === this.state.processId) return
      const known = this.peers.get(a.process)
      if (a.kind === "bye") {
        if (known !== undefined) yield* this.forget(a.process, "Bye")
        return
      }
      const modules = new Set(a.modules)
      const before = known?.modules ?? new Set<string>()
      const { maxPeers, maxPeerModules } = this.state.options
      const room = maxPeerModules - (this.listed - before.size)
      if (known === undefined && this.peers.size >= maxPeers)
        return this.ignore(a.process, modules.size, `${maxPeers} processes known (maxPeers)`, now)
      if (modules.size > room)
        return this.ignore(
          a.process,
          modules.size,
          `${modules.size} modules listed, room for ${room} (maxPeerModules ${maxPeerModules})`,
          now
        )
      this.listed += modules.size - before.size
      this.peers.set(a.process, { lastSeen: now, modules, batches: a.batches === true })
      if (known === undefined) this.state.report({ _tag: "PeerUp", process: a.process, modules: a.modules })
      if (a.kind === "hello") yield* this.announce("beat")
      for (const m of modules) if (!before.has(m)) yield* this.addOwner(m, a.process)
      for (const m of before) if (!modules.has(m)) yield* this.removeOwner(m, a.process)
    })
  }

  /**
   * An announcement past the bounds, ignored: reported at once when no `AnnouncementsIgnored` was for
   * `heartbeatMs`, else counted into the next (at the latest the heartbeat's, `reportIgnored`).
   */
  private ignore(process: string, moduleCount: number, reason: string, now: number): void {
    this.ignored++
    this.latestIgnored = { process, moduleCount, reason }
    const last = this.ignoredReportedAt
    if (last === undefined || now - last >= this.state.options.heartbeatMs) this.reportIgnored(now)
  }

  /** Reports the announcements ignored since the last report, if any (R-NATS-4); the heartbeat calls it. */
  reportIgnored(now: number): void {
    const latest = this.latestIgnored
    if (this.ignored === 0 || latest === undefined) return
    this.state.report({ _tag: "AnnouncementsIgnored", count: this.ignored, ...latest })
    this.ignored = 0
    this.latestIgnored = undefined
    this.ignoredReportedAt = now
  }

  /** `process` serves `module`: it is registered here as a "nats" module unless it is known already. */
  private addOwner(module: string, process: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      let owners = this.owners.get(module)
      if (owners === undefined) {
        owners = new Set()
        this.owners.set(module, owners)
      }
      owners.add(process)
      if (this.state.publisher.endpoints.has(module) || this.state.serving.has(module)) return Effect.void
      return this.state.beehive.addModule(module, { contextType: ContextTypeNats }).pipe(
        // Once registered (not at the endpoint's opening, which comes first): `awaitModule` callers go on.
        Effect.tap(() =>
          Effect.sync(() => {
            const waiting = this.waiters.get(module)
            this.waiters.delete(module)
            for (const d of waiting ?? []) Deferred.doneUnsafe(d, Effect.void)
          })
        ),
        Effect.catch((error) =>
          Effect.sync(() => this.state.report({ _tag: "ModuleSkipped", module, reason: error.message }))
        )
      )
    })
  }

  /**
   * Whether the messages to `module` may go in batches (R-NATS-13): some process serves it, and every
   * process that serves it said it takes batches. A module no announcement named (declared here) never.
   */
  acceptsBatches(module: string): boolean {
    const owners = this.owners.get(module)
    if (owners === undefined || owners.size === 0) return false
    for (const process of owners) if (this.peers.get(process)?.batches !== true) return false
    return true
  }

  /** `process` no longer serves `module`: it is cleaned up here once nobody does. */
  private removeOwner(module: string, process: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      const owners = this.owners.get(module)
      owners?.delete(process)
      if (owners !== undefined && owners.size > 0) return Effect.void
      this.owners.delete(module)
      return this.dropRemote(module)
    })
  }

  /** Nobody serves `module` (a no-responders status, R-NATS-5): forgets its owners and cleans it up. */
  nobodyServes(module: string): Effect.Effect<void> {
    return this.exclusive(
      Effect.suspend(() => {
        this.owners.delete(module)
        return this.dropRemote(module)
      })
    )
  }

  /**
   * Cleans up the "nats" registration of a module nobody serves any longer; a durable module stays
   * registered (R-NATS-12) unless `always` (the connection closed for good, R-NATS-9).
   */
  private dropRemote(module: string, always = false): Effect.Effect<void> {
    return Effect.suspend(() =>
      this.state.publisher.endpoints.has(module) && (always || !this.state.durable.has(module))
        ? Effect.ignore(this.state.beehive.cleanup(module))
        : Effect.void
    )
  }

  /** Another process is gone: the requests it sent are owed to nobody, and its modules lose an owner. */
  private forget(process: string, reason: "Bye" | "Silent" | "Disconnected"): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      const peer = this.peers.get(process)
      if (peer === undefined) return
      this.peers.delete(process)
      this.listed -= peer.modules.size
      this.state.report({ _tag: "PeerGone", process, reason })
      // Its requests are owed to nobody now: the reply subjects name the process that sent them.
      this.state.replies.forgetProcess(process)
      for (const m of peer.modules) yield* this.removeOwner(m, process)
    })
  }

  /** The processes not heard from for `missedHeartbeats` heartbeats by `now` are gone (R-NATS-4). */
  dropSilent(now: number): Effect.Effect<void> {
    return this.exclusive(
      Effect.gen({ self: this }, function* () {
        const limit = this.state.options.heartbeatMs * this.state.options.missedHeartbeats
        for (const [process, peer] of [...this.peers]) {
          if (now - peer.lastSeen > limit) yield* this.forget(process, "Silent")
        }
      })
    )
  }

  /**
   * The connection closed for good (R-NATS-9): every other process is gone, every remote module
   * cleaned up (durable ones too), and the announcements read after it are ignored.
   */
  readonly connectionLost: Effect.Effect<void> = this.exclusive(
    Effect.gen({ self: this }, function* () {
      this.lost = true
      for (const process of [...this.peers.keys()]) yield* this.forget(process, "Disconnected")
      for (const module of [...this.state.publisher.endpoints.keys()]) yield* this.dropRemote(module, true)
    })
  )

  /** `change` with the tables to itself: see `changing`. */
  private exclusive<A, E>(change: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return this.changing.withPermit(change)
  }

  /** `NatsContextService.awaitModule`. */
  readonly awaitModule = (module: string, timeout: Duration.Input): Effect.Effect<void, ModuleNotFound> =>
    // The call joins the waiters before it reads the module table, as a resource whose release always
    // runs: a registration after the join wakes it, one before is in the table. Until a property found
    // it, the call set up its leaving a step after it joined (one interrupted in between stayed among
    // the waiters), and read the table a step before it joined (a registration in between, where
    // Effect's run loop may yield, left it waiting out its timeout for a module registered).
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const deferred = Deferred.makeUnsafe<void>()
        let waiting = this.waiters.get(module)
        if (waiting === undefined) {
          waiting = new Set()
          this.waiters.set(module, waiting)
        }
        waiting.add(deferred)
        return deferred
      }),
      (deferred) =>
        Effect.flatMap(this.state.beehive.snapshot, (snapshot) =>
          snapshot.modules.some((m) => m.name === module && m.contextType === ContextTypeNats)
            ? Effect.void
            : Deferred.await(deferred).pipe(
                Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(new ModuleNotFound({ module })) })
              )
        ),
      (deferred) =>
        Effect.sync(() => {
          const set = this.waiters.get(module)
          set?.delete(deferred)
          if (set?.size === 0) this.waiters.delete(module)
        })
    )

  /** `NatsContextService.remoteModules`. */
  readonly remoteModules = Effect.sync(() =>
    [...this.owners].map(([module, owners]) => ({ module, processes: [...owners] }))
  )
}
