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
  plainToken.test(name) ? name : percentEncoded(name).replace(/\./g, "%2E").replace(/\*/g, "%2A")

const hexByte = (byte: number) => `%${byte.toString(16).toUpperCase()}`

/**
 * `encodeURIComponent`, with a lone surrogate (which it throws on, and a JavaScript string or a JSON
 * text may hold) written as the three bytes WTF-8 gives it: no UTF-8 text holds them, so no other
 * name has its token. Until a property found it, such a name or id made `serve` and `send` die.
 */
const percentEncoded = (name: string): string => {
  let out = ""
  let start = 0
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i)
    if ((unit & 0xf800) !== 0xd800) continue
    if (unit < 0xdc00 && i + 1 < name.length && (name.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++
      continue
    }
    out += `${encodeURIComponent(name.slice(start, i))}%ED${hexByte(0x80 | ((unit >> 6) & 0x3f))}${hexByte(0x80 | (unit & 0x3f))}`
    start = i + 1
  }
  return out + encodeURIComponent(name.slice(start))
}

/** A lone surrogate as `percentEncoded` writes it. */
const encodedSurrogate = /%ED%([AB][0-9A-F])%([89AB][0-9A-F])/

// What `encodeURIComponent` leaves as it is, less `.` and `*`: every generated message id, and most
// module names, are their own token, and a test is cheaper than the encoding on every message.
const plainToken = /^[A-Za-z0-9_\-!~'()]*$/

/** The inverse of `subjectToken`; undefined for a token it cannot have produced. @category encoding */
export const fromSubjectToken = (token: string): string | undefined => {
  try {
    return decodeURIComponent(token)
  } catch {
    return encodedSurrogate.test(token) ? withSurrogates(token) : undefined
  }
}

/** A token holding lone surrogates read back; undefined unless `subjectToken` writes the result so. */
const withSurrogates = (token: string): string | undefined => {
  const parts = token.split(new RegExp(encodedSurrogate.source, "g"))
  let name = ""
  try {
    // `split` with the pattern's two groups: text, then a surrogate's two last bytes, and so on.
    for (let i = 0; i < parts.length; i += 3) {
      name += decodeURIComponent(parts[i] as string)
      if (i + 2 < parts.length)
        name += String.fromCharCode(
          0xd000 |
            ((Number.parseInt(parts[i + 1] as string, 16) & 0x3f) << 6) |
            (Number.parseInt(parts[i + 2] as string, 16) & 0x3f)
        )
    }
  } catch {
    return undefined
  }
  return subjectToken(name) === token ? name : undefined
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
