/**
 * The receipt exchange on one connection (R-SOCK-21), when both peers agreed to receipts: the one-way
 * messages it writes are numbered and kept until the peer receipts them; those it reads are counted as
 * handled and receipted in its next write. What is still unreceipted when the connection ends is
 * parked in the process's `ReceiptLedger`, for the next handshake with the same peer to settle.
 *
 * - Writing: at most `maxUnreceipted` one-way messages wait for their receipt; then the modules'
 *   messages wait (their senders with them, R-SOCK-17) while responses, receipts and heartbeats still
 *   go out.
 * - Reading: what it handled is receipted after each read, and within a long read every
 *   `receiptEvery` messages, at once, so that a sender whose window is full does not wait for a whole
 *   read of thousands of messages to be handled before it may write again. Once a newer connection of
 *   the same peer has settled the receipts, what this one still reads is dropped, as the peer was told
 *   it was never handled; while the newer one's handshake waits for its answer, it is held.
 *
 * @since 0.2.0
 * @internal
 */
import { Effect } from "effect"
import type { Wake } from "../../effects/Mailbox.ts"
import { ReceiptOperation } from "../../model/Constants.ts"
import type { Message } from "../../model/Message.ts"
import type { ReceiptLedger, Written } from "./Receipts.ts"

const receiptJson = (seq: number): string =>
  JSON.stringify({ header: { msg_id: "receipt", timestamp: 0 }, route: { operation: ReceiptOperation }, content: seq })

/**
 * One-way messages handled within one read after which their receipt is written at once, not after
 * the read: a receiver that is slower than its sender takes reads of thousands of messages.
 *
 * @category constants
 */
export const receiptEvery = 256

/**
 * The most bytes a receipt number adds to a message's JSON: `,"seq":` and up to 2^53 − 1 (R-SOCK-21).
 *
 * @category constants
 */
export const ReceiptNumberBytes = ',"seq":'.length + String(Number.MAX_SAFE_INTEGER).length

/**
 * One connection's side of the receipts; see the module documentation. Without receipts (a Go peer,
 * or either side declined) it numbers nothing and never asks for a receipt.
 *
 * @category models
 */
export class LinkReceipts {
  private readonly ledger: ReceiptLedger
  /** The peer's key in the ledger; undefined: no receipts on this connection. */
  private readonly key: string | undefined
  /** The connection, as the ledger knows which one speaks for the peer. */
  private readonly connection: object
  private readonly peer: string
  private readonly options: { readonly maxUnreceipted: number }
  /** Wakes the writer: a receipt is due, or the modules' messages may go again. */
  private readonly wakeWriter: (wake: Wake) => void
  /**
   * One-way messages written, oldest first; those before `receiptedUpTo` are receipted, and dropped
   * from the front in one go once they are the larger part (a receipt costs no copy of the rest).
   */
  private unreceipted: Array<Written | undefined> = []
  private receiptedUpTo = 0
  private handledSeq = 0
  private receiptedSeq = 0
  /** Numbered messages handled since a receipt was last asked for. */
  private handledSinceAsked = 0

  constructor(
    ledger: ReceiptLedger,
    key: string | undefined,
    connection: object,
    peer: string,
    options: { readonly maxUnreceipted: number },
    wakeWriter: (wake: Wake) => void
  ) {
    this.ledger = ledger
    this.key = key
    this.connection = connection
    this.peer = peer
    this.options = options
    this.wakeWriter = wakeWriter
  }

  /** Whether a newer connection of the same peer has settled the receipts: what this one reads is dropped. */
  superseded(): boolean {
    return this.key !== undefined && !this.ledger.isCurrent(this.key, this.connection)
  }

  /**
   * Whether a newer connection of the same peer claimed the receipts for a handshake not yet
   * answered: what this one reads then waits for its outcome (`awaitSettled`), to be handled if the
   * handshake fails and dropped if it is answered.
   */
  held(): boolean {
    return this.superseded() && this.ledger.isPending(this.key as string)
  }

  /** Waits until the newer connection's claim that holds this one is settled (at once if none does). */
  readonly awaitSettled: Effect.Effect<void> = Effect.callback<void>((resume) => {
    const key = this.key
    if (key === undefined || !this.held()) return resume(Effect.void)
    return Effect.sync(this.ledger.whenSettled(key, () => resume(Effect.void)))
  })

  /**
   * Notes a message read (queued for delivery or taken as a response) as handled, if it was numbered;
   * every `receiptEvery` of them the receipt is written at once.
   */
  handled(message: Message, seq: number | undefined): void {
    const key = this.key
    if (key !== undefined && seq !== undefined && !message.header.sync) {
      this.handledSeq = Math.max(this.handledSeq, seq)
      this.ledger.noteHandled(key, seq)
      if (++this.handledSinceAsked >= receiptEvery) this.askReceipt("now")
    }
  }

  /** Receipts what was handled since the last receipt, in the next write: "later" after this turn, or "now". */
  askReceipt(wake: Wake = "later"): void {
    this.handledSinceAsked = 0
    if (this.receiptDue()) this.wakeWriter(wake)
  }

  /** Whether messages were handled since the last receipt written. */
  receiptDue(): boolean {
    return this.handledSeq > this.receiptedSeq
  }

  /** The receipt of what was handled so far, to write now. */
  takeReceipt(): string {
    this.receiptedSeq = this.handledSeq
    return receiptJson(this.handledSeq)
  }

  /** The peer handled the one-way messages written here up to `seq`: they are no longer in doubt. */
  receipted(seq: unknown): void {
    if (typeof seq !== "number") return
    const blocked = this.awaitingReceipts()
    const written = this.unreceipted
    let done = this.receiptedUpTo
    while (done < written.length && (written[done] as Written).seq <= seq) written[done++] = undefined
    this.receiptedUpTo = done
    if (done === written.length) {
      written.length = 0
      this.receiptedUpTo = 0
    } else if (done > written.length - done) {
      written.splice(0, done)
      this.receiptedUpTo = 0
    }
    if (blocked && !this.awaitingReceipts()) this.wakeWriter("now")
  }

  /** Whether the modules' messages wait for receipts: `maxUnreceipted` are written and unreceipted. */
  awaitingReceipts(): boolean {
    return this.unreceipted.length - this.receiptedUpTo >= this.options.maxUnreceipted
  }

  /** A one-way message's JSON with its number, kept until receipted, when receipts are on. */
  numbered(json: string, message: Message, module: string): string {
    const key = this.key
    if (key === undefined || message.header.sync) return json
    const seq = this.ledger.nextSeq(key)
    this.unreceipted.push({ seq, peer: this.peer, module, message })
    return `${json.slice(0, -1)},"seq":${seq}}`
  }

  /** The connection ended: what was written and not receipted waits in the ledger for the next handshake. */
  park(): void {
    if (this.key !== undefined) this.ledger.park(this.key, this.unreceipted.slice(this.receiptedUpTo) as Array<Written>)
    this.unreceipted = []
    this.receiptedUpTo = 0
  }
}
