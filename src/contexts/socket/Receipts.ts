/**
 * Receipts between two beehive-effect peers (R-SOCK-21): what this process knows of the one-way
 * messages it wrote to each peer and of those it handled from each, so that a message written just
 * before a connection ended is either known to have arrived or reported, never lost in silence.
 *
 * A peer is known by its incarnation (a random id per socket context, that is per process run) and
 * the client module of the connection: `key`. Every one-way message written to it is numbered; the
 * reader numbers the messages it handled (queued for delivery, or taken as a response) and tells the
 * writer, as a receipt, the highest number so far. What was written and not receipted when the
 * connection ends is parked here, in doubt. The next handshake with the same peer settles it: the
 * peer says what it handled, and the rest is reported unsent. If that peer never comes back (it was
 * restarted: another incarnation connects for the module; or this context closes), what is parked
 * can no longer be settled and is reported in doubt.
 *
 * @since 0.2.0
 * @internal
 */
import { v4 as uuidv4 } from "uuid"
import type { Message } from "../../model/Message.ts"

/** A new incarnation id: one per socket context, so a restarted peer is told apart. @category constructors */
export const newIncarnation = (): string => uuidv4()

/** A one-way message written to a peer and not yet receipted. @category models */
export interface Written {
  readonly seq: number
  /** The connection's peer, for the reports. */
  readonly peer: string
  readonly module: string
  readonly message: Message
}

/** What a handshake says of receipts: the sender's incarnation, and what it handled from the other. @category models */
export interface ReceiptOffer {
  readonly incarnation: string
  /** The incarnation of the peer this one last talked to for the module, if any. */
  readonly peer?: string | undefined
  /** The highest number it handled from that peer for the module. */
  readonly read?: number | undefined
}

const separator = "\u0000"

/** The per-process ledger of receipts. @category models */
export class ReceiptLedger {
  readonly incarnation: string
  private readonly written = new Map<string, number>()
  private readonly handled = new Map<string, number>()
  private readonly parked = new Map<string, Array<Written>>()
  /** Client side: the incarnation of the server each client module last talked to. */
  private readonly lastPeer = new Map<string, string>()
  /** The connection that now speaks for each key: what an earlier one still reads is not handled. */
  private readonly current = new Map<string, object>()
  /**
   * Client side: connections that claimed a key for a handshake not yet answered, each with the one
   * it would give the key back to: the one before it that still can (claims at once chain).
   */
  private readonly pending = new Map<object, object | undefined>()
  /** Client side: what waits for a key's pending claim to be settled, answered or given back. */
  private readonly waiting = new Map<string, Set<() => void>>()

  constructor(incarnation: string) {
    this.incarnation = incarnation
  }

  /** The key of a peer: its incarnation and the connection's client module. */
  key(peerIncarnation: string, module: string): string {
    return `${peerIncarnation}${separator}${module}`
  }

  /** The number of the next one-way message written to `key`. */
  nextSeq(key: string): number {
    const seq = (this.written.get(key) ?? 0) + 1
    this.written.set(key, seq)
    return seq
  }

  /** Notes a message numbered `seq` from `key` as handled. */
  noteHandled(key: string, seq: number): void {
    if (seq > (this.handled.get(key) ?? 0)) this.handled.set(key, seq)
  }

  /** The highest number handled from `key` (0: none). */
  handledFrom(key: string): number {
    return this.handled.get(key) ?? 0
  }

  /** Parks what a connection to `key` wrote and never had receipted. */
  park(key: string, unreceipted: ReadonlyArray<Written>): void {
    if (unreceipted.length === 0) return
    this.parked.set(key, [...(this.parked.get(key) ?? []), ...unreceipted])
  }

  /** Settles what is parked for `key` with the peer's word: returns what it never handled. */
  settle(key: string, read: number): ReadonlyArray<Written> {
    const parked = this.parked.get(key) ?? []
    this.parked.delete(key)
    return parked.filter((w) => w.seq > read)
  }

  /**
   * Takes what is parked for `module` under any key but `keep`, and forgets those keys: their peers
   * (earlier runs of the other process) will never say, and are not kept track of any more.
   */
  abandon(module: string, keep: string | undefined): ReadonlyArray<Written> {
    const out: Array<Written> = []
    const suffix = `${separator}${module}`
    for (const map of [this.parked, this.written, this.handled, this.current] as const) {
      for (const key of [...map.keys()]) {
        if (key === keep || !key.endsWith(suffix)) continue
        if (map === this.parked) out.push(...(this.parked.get(key) ?? []))
        map.delete(key)
      }
    }
    return out
  }

  /** Takes everything parked (the context closes). */
  abandonAll(): ReadonlyArray<Written> {
    const out = [...this.parked.values()].flat()
    this.parked.clear()
    return out
  }

  /**
   * Makes `connection` the one that speaks for `key`, from the handshake whose answer settles what the
   * earlier ones wrote: from then on what they read is dropped unhandled, so the count the handshake
   * gave stays true. A claim made before the handshake is answered (`pending`, a client's) only holds
   * what they read until it is settled (`confirm` or `unclaim`).
   */
  claim(key: string, connection: object, pending = false): void {
    const previous = this.current.get(key)
    this.current.set(key, connection)
    if (pending) this.pending.set(connection, previous)
    else this.wake(key)
  }

  /** `connection`'s pending claim of `key` stands: its handshake was answered. */
  confirm(key: string, connection: object): void {
    if (this.pending.delete(connection)) this.wake(key)
  }

  /**
   * Gives `key` back when `connection`'s pending claim came to nothing (its handshake failed): to the
   * connection before it, or, if a later claim holds the key now, takes `connection` out of that
   * claim's way back, so that no key is ever given back to a claim that failed.
   */
  unclaim(key: string, connection: object): void {
    if (!this.pending.has(connection)) return
    const previous = this.pending.get(connection)
    this.pending.delete(connection)
    if (this.current.get(key) === connection) {
      if (previous === undefined) this.current.delete(key)
      else this.current.set(key, previous)
    } else {
      for (const [later, before] of this.pending) if (before === connection) this.pending.set(later, previous)
    }
    this.wake(key)
  }

  /** Whether `connection` speaks for `key`. */
  isCurrent(key: string, connection: object): boolean {
    return this.current.get(key) === connection
  }

  /** Whether the connection that speaks for `key` claimed it for a handshake not yet answered. */
  isPending(key: string): boolean {
    const holder = this.current.get(key)
    return holder !== undefined && this.pending.has(holder)
  }

  /** Calls `settled` once, when a pending claim of `key` is settled; returns its withdrawal. */
  whenSettled(key: string, settled: () => void): () => void {
    let waiting = this.waiting.get(key)
    if (waiting === undefined) {
      waiting = new Set()
      this.waiting.set(key, waiting)
    }
    waiting.add(settled)
    return () => {
      waiting.delete(settled)
      if (waiting.size === 0 && this.waiting.get(key) === waiting) this.waiting.delete(key)
    }
  }

  private wake(key: string): void {
    const waiting = this.waiting.get(key)
    if (waiting === undefined) return
    this.waiting.delete(key)
    for (const settled of waiting) settled()
  }

  /** Client side: the server incarnation `module` last talked to. */
  peerOf(module: string): string | undefined {
    return this.lastPeer.get(module)
  }

  setPeerOf(module: string, incarnation: string): void {
    this.lastPeer.set(module, incarnation)
  }

  /** What a handshake offers for the connection of `module` (client side) or answers (server side). */
  offer(module: string, peer: string | undefined): ReceiptOffer {
    return peer === undefined
      ? { incarnation: this.incarnation }
      : { incarnation: this.incarnation, peer, read: this.handledFrom(this.key(peer, module)) }
  }
}

/**
 * The receipts part of a handshake's content or exchange, or undefined when it has none (Go's, or
 * malformed: then there are no receipts). Never throws.
 *
 * @category decoding
 */
export const decodeOffer = (value: unknown): ReceiptOffer | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const { incarnation, peer, read } = value as { incarnation?: unknown; peer?: unknown; read?: unknown }
  if (typeof incarnation !== "string" || incarnation === "") return undefined
  return {
    incarnation,
    peer: typeof peer === "string" ? peer : undefined,
    read: typeof read === "number" && Number.isSafeInteger(read) && read >= 0 ? read : undefined
  }
}
