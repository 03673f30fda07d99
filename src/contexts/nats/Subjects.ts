/**
 * The subject scheme of the NATS context (R-NATS-1): the subjects of one prefix, and module names and
 * message ids encoded as single subject tokens.
 *
 * @since 0.3.0
 */
/**
 * A module name as one subject token: percent-encoded (`encodeURIComponent`, and `.` and `*` too), so
 * any name is one token without wildcards.
 *
 * @category encoding
 */
export const subjectToken = (name: string): string =>
  plainToken.test(name) ? name : encodeURIComponent(name).replace(/\./g, "%2E").replace(/\*/g, "%2A")

// What `encodeURIComponent` leaves as it is, less `.` and `*`: every generated message id, and most
// module names, are their own token, and a test is cheaper than the encoding on every message.
const plainToken = /^[A-Za-z0-9_\-!~'()]*$/

/** The inverse of `subjectToken`; undefined for a token it cannot have produced. @category encoding */
export const fromSubjectToken = (token: string): string | undefined => {
  try {
    return decodeURIComponent(token)
  } catch {
    return undefined
  }
}

/**
 * The subjects of one prefix (R-NATS-1).
 *
 * @category models
 */
export interface Subjects {
  /** Messages to `module` (one-way and sync requests). */
  readonly module: (module: string) => string
  /** Registration announcements (every process subscribes). */
  readonly registry: string
  /** This process's reply inbox: responses to requests it sent (and no-responders statuses). */
  readonly replyInbox: (processId: string) => string
  /** The reply subject of one message sent to `module`. */
  readonly replyTo: (processId: string, module: string, msgId: string) => string
  /** The reply subjects of the messages sent to `module`, less the message id's token. */
  readonly replyPrefix: (processId: string, module: string) => string
  /** The subject of a durable module's stream (R-NATS-12). */
  readonly durable: (module: string) => string
}

/** The subjects of `prefix`. @category constructors */
export const subjects = (prefix: string): Subjects => {
  const replyPrefix = (processId: string, module: string) => `${prefix}.resp.${processId}.${subjectToken(module)}.`
  return {
    module: (module) => `${prefix}.mod.${subjectToken(module)}`,
    registry: `${prefix}.reg`,
    replyInbox: (processId) => `${prefix}.resp.${processId}.>`,
    replyTo: (processId, module, msgId) => replyPrefix(processId, module) + subjectToken(msgId),
    replyPrefix,
    durable: (module) => `${prefix}.dur.${subjectToken(module)}`
  }
}

/**
 * The JetStream stream of durable module `module` under `prefix` (R-NATS-12): the prefix with its dots
 * as `~`, then `~`, then the module's token with its `~` as `%7E`. Neither part has a character a
 * stream name refuses, and the last `~` separates them, so no two prefixes and modules share a stream.
 *
 * @category encoding
 */
export const durableStreamName = (prefix: string, module: string): string =>
  `${prefix.replace(/\./g, "~")}~${subjectToken(module).replace(/~/g, "%7E")}`

/** The durable consumer of every durable module's stream (R-NATS-12). @category constants */
export const DurableConsumerName = "mailbox"

/**
 * The longest protocol line a NATS server takes by default (its `max_control_line`): a client that
 * writes a longer one, a publication or a subscription whose subjects are too long, has its connection
 * closed, and whatever was in flight on it is lost.
 *
 * @category constants
 */
export const MaxControlLine = 4096

/** Room on a line for its verb, spaces, sizes and sid: `HPUB <subject> <reply> <header size> <size>\r\n`. */
const lineRoom = 64

/** A generated message id's length (a UUID): what a module served must leave room for in a reply subject. */
const generatedIdLength = 36

/**
 * Whether a protocol line whose subjects take `subjectBytes` together fits (subjects are ASCII:
 * percent-encoded tokens, the prefix's letters, digits, `_` and `-`, a process's UUID).
 *
 * @category predicates
 */
export const fitsControlLine = (subjectBytes: number): boolean => subjectBytes + lineRoom <= MaxControlLine

/**
 * Whether `module` can be served: its subject, and the reply subject of a message with a generated id
 * sent to it, fit on one protocol line together, so that a module served is one every process can send
 * to.
 *
 * @category predicates
 */
export const servable = (subjects: Subjects, processId: string, module: string): boolean =>
  fitsControlLine(subjects.module(module).length + subjects.replyPrefix(processId, module).length + generatedIdLength)
