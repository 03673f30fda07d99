/**
 * Batches (R-NATS-13): several one-way messages to one remote module in one NATS message, so that
 * what the client and the server spend per message (a `PUB` line, a socket write, a parse, a reply
 * subject) is paid once per batch. A batch's payload is its messages' Go JSON, one per line (the JSON
 * never holds a raw newline: Go's encoder and ours escape it), and its header `Beehive-Batch` says how
 * many there are. A single message is never a batch: it is published as it always was.
 *
 * @since 0.3.0
 * @internal
 */
import type { Msg } from "@nats-io/transport-node"

/** The header of a batch: the number of messages in its payload, one per line (R-NATS-13). @category constants */
export const BatchHeader = "Beehive-Batch"

/** The most messages a batch may hold; a larger count is refused (R-NATS-13). @category constants */
export const MaxBatch = 1024

/** The most messages a publisher puts in one batch (R-NATS-13). @category constants */
export const MaxBatchSent = 64

/**
 * A payload's lines: the messages of a batch whose header says `count`; or, for a batch that is not
 * one (a count that is no integer from 1 to `MaxBatch`, or another number of lines), the reason.
 * An empty payload has no lines. Never throws.
 *
 * @category decoding
 */
export const batchLines = (count: string, text: string): ReadonlyArray<string> | string => {
  const n = validCount(count)
  if (n === undefined) return `bad batch count "${count.slice(0, 32)}"`
  // At most n + 1 pieces are split off: a payload with more lines than its count is found out without
  // splitting all of it.
  const lines = text === "" ? [] : text.split("\n", n + 1)
  if (lines.length === n) return lines
  return `batch count ${n} but ${lines.length > n ? `more than ${n}` : lines.length} messages`
}

/** A batch count: a decimal integer from 1 to `MaxBatch`, no sign, no leading zero; else undefined. */
const validCount = (count: string): number | undefined => {
  if (count.length > 4 || !/^[1-9][0-9]*$/.test(count)) return undefined
  const n = Number(count)
  return n <= MaxBatch ? n : undefined
}

/**
 * The batch count of a message that arrived: its `Beehive-Batch` header, or undefined for a single
 * message (no header, or an empty one).
 *
 * @category decoding
 */
export const batchCount = (msg: Msg): string | undefined => {
  const h = msg.headers?.get(BatchHeader)
  return h === undefined || h === "" ? undefined : h
}

/**
 * How many messages a message that arrived counts for in a served module's inbound queue (R-NATS-8):
 * a batch's count when it is a valid one, else 1 (a single message, or a batch refused as one bad
 * payload at its delivery).
 *
 * @category decoding
 */
export const inboundWeight = (count: string | undefined): number => {
  return count === undefined ? 1 : (validCount(count) ?? 1)
}
