/**
 * The connections a listener has and the accepts waiting for one (R-SOCK-22), shared by the
 * transports: connections are handed over in the order they arrived, one to each accept, to the
 * accepts in the order they began; an accept given up takes nothing with it; closing closes the
 * connections never handed over and fails every accept waiting and to come.
 *
 * @since 0.2.0
 * @internal
 */
import { Effect } from "effect"
import { giveBackHeld, handOff } from "../../effects/HandOff.ts"
import type { ConnectionClosed } from "../../model/SocketErrors.ts"
import type { Connection } from "./Transport.ts"

type Resume = (effect: Effect.Effect<Connection, ConnectionClosed>) => void

/**
 * A listener's queue of connections and accepts; see the module documentation.
 *
 * @category models
 */
export class AcceptQueue {
  private readonly pending: Array<Connection> = []
  /** The accepts waiting, in the order they began (a `Set` keeps insertion order). */
  private readonly acceptors = new Set<Resume>()
  private closed: ConnectionClosed | undefined = undefined

  /** Whether `close` was called. */
  get isClosed(): boolean {
    return this.closed !== undefined
  }

  /** A connection arrived: to the oldest waiting accept, else it waits. False once closed (not kept). */
  arrived(connection: Connection): boolean {
    if (this.closed !== undefined) return false
    const acceptor = this.acceptors.values().next().value
    if (acceptor === undefined) {
      this.pending.push(connection)
      return true
    }
    this.acceptors.delete(acceptor)
    acceptor(Effect.succeed(connection))
    return true
  }

  /** The oldest connection not handed over; waits while there is none. Fails once closed. */
  readonly accept: Effect.Effect<Connection, ConnectionClosed> = Effect.withFiber((fiber) => {
    // Taken in the operation that finds it and handed to the caller through the fiber's hand-off
    // slot: a fiber may yield between any two operations, and a close or another accept that ran
    // then found it still waiting (a preemption between a check and a taking handed the same
    // connection to the close and `undefined` to the accept). One the caller never got, its fiber
    // stopped first, comes back here (`giveBack`).
    giveBackHeld(fiber)
    const connection = this.pending.shift()
    if (connection !== undefined) return handOff(fiber, connection, this.giveBack)
    if (this.closed !== undefined) return Effect.fail(this.closed)
    return this.wait
  })

  // Arrivals and a close between the look above and this wait are seen here: the accept looks again.
  private readonly wait: Effect.Effect<Connection, ConnectionClosed> = Effect.callback((resume) => {
    if (this.pending.length > 0 || this.closed !== undefined) return resume(this.accept)
    this.acceptors.add(resume)
    return Effect.sync(() => {
      this.acceptors.delete(resume)
    })
  })

  // While the listener is open, back at the head of the line, and the oldest waiting accept (one that
  // began while it was taken) looks again: it takes it if no other accept did first, and a wake-up
  // its fiber never runs (stopped meanwhile) leaves it waiting here. Closed once the listener is (its
  // close closed the others it held).
  private readonly giveBack = (connection: Connection): void => {
    if (this.closed !== undefined) {
      Effect.runFork(connection.close)
      return
    }
    this.pending.unshift(connection)
    const acceptor = this.acceptors.values().next().value
    if (acceptor === undefined) return
    this.acceptors.delete(acceptor)
    acceptor(this.accept)
  }

  /** Fails the waiting accepts and every later one with `closed`; returns the connections never handed over. */
  close(closed: ConnectionClosed): ReadonlyArray<Connection> {
    if (this.closed !== undefined) return []
    this.closed = closed
    const acceptors = [...this.acceptors]
    this.acceptors.clear()
    for (const acceptor of acceptors) acceptor(Effect.fail(closed))
    return this.pending.splice(0)
  }
}
