/**
 * The receipt exchange on one connection (R-SOCK-21), when both peers agreed to receipts: the one-way
 * messages it writes are numbered and kept until the peer receipts them; those it reads are counted as
 * handled and receipted in its next write. What is still unreceipted when the connection ends is
 * parked in the process's `ReceiptLedger`, for the next handshake with the same peer to settle.
 *
 * - Writing: at most `maxUnreceipted` one-way messages wait for their receipt; then the modules'
 *   messages wait (their senders with them, R-SOCK-17) while responses, receipts and heartbeats still
 *   go out.
 * - Reading: once a newer connection of the same peer has settled the receipts, what this one still
 *   reads is dropped, as the peer was told it was never handled.
 *
 * @since 0.2.0
 * @internal
 */
import type { Wake } from "../../effects/Mailbox.ts"
import { ReceiptOperation } from "../../model/Constants.ts"
import type { Message } from "../../model/Message.ts"
import type { ReceiptLedger, Written } from "./Receipts.ts"

const receiptJson = (seq: number): string =>
  JSON.stringify({ header: { msg_id: "receipt", timestamp: 0 }, route: { operation: ReceiptOperation }, content: seq })

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
  /** One-way messages written and not receipted, oldest first. */
  private unreceipted: Array<Written> = []
  private handledSeq = 0
  private receiptedSeq = 0

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

  /** Notes a message read (queued for delivery or taken as a response) as handled, if it was numbered. */
  handled(message: Message, seq: number | undefined): void {
    const key = this.key
    if (key !== undefined && seq !== undefined && !message.header.sync) {
      this.handledSeq = Math.max(this.handledSeq, seq)
      this.ledger.noteHandled(key, seq)
    }
  }

  /** Receipts what was handled since the last receipt, in the next write. */
  askReceipt(): void {
    if (this.receiptDue()) this.wakeWriter("later")
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
    let done = 0
    while (done < this.unreceipted.length && (this.unreceipted[done] as Written).seq <= seq) done++
    if (done > 0) this.unreceipted.splice(0, done)
    if (blocked && !this.awaitingReceipts()) this.wakeWriter("now")
  }

  /** Whether the modules' messages wait for receipts: `maxUnreceipted` are written and unreceipted. */
  awaitingReceipts(): boolean {
    return this.unreceipted.length >= this.options.maxUnreceipted
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
    if (this.key !== undefined) this.ledger.park(this.key, this.unreceipted)
    this.unreceipted = []
  }
}
