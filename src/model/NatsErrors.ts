/**
 * The typed errors of the NATS context (spec/SPEC.md, R-NATS).
 *
 * @since 0.3.0
 */
import { Data } from "effect"
import type { BeehiveShutdown, InvalidArgument, MessageEncodeError, ModuleClosed, ModuleNotFound } from "./Errors.ts"

/**
 * Connecting to the NATS servers failed (nobody listens, authentication or TLS refused, timeout).
 * `servers` are the URLs tried; `detail` is the client's reason.
 *
 * @category errors
 */
export class NatsConnectFailed extends Data.TaggedError("NatsConnectFailed")<{
  readonly servers: ReadonlyArray<string>
  readonly detail: string
}> {
  override get message(): string {
    return `cannot connect to NATS ${this.servers.join(",")}: ${this.detail}`
  }
}

/**
 * A NATS context configuration (options or YAML) is invalid. `key` names the offending key (`prefix`,
 * `servers[1]`, `tls.ca`), `""` for the whole document.
 *
 * @category errors
 */
export class NatsConfigError extends Data.TaggedError("NatsConfigError")<{
  readonly key: string
  readonly reason: string
}> {
  override get message(): string {
    return this.key === "" ? `nats config: ${this.reason}` : `nats config at ${this.key}: ${this.reason}`
  }
}

/**
 * A durable module's stream refused a message because it is at a limit (`durableMaxMessages` or
 * `durableMaxBytes`, R-NATS-12): nothing was stored. `reason` is JetStream's.
 *
 * @category errors
 */
export class DurableMailboxFull extends Data.TaggedError("DurableMailboxFull")<{
  readonly module: string
  readonly msgId: string
  readonly reason: string
}> {
  override get message(): string {
    return `durable mailbox of "${this.module}" is full, message ${this.msgId} not stored: ${this.reason}`
  }
}

/**
 * A JetStream operation of a durable module failed (R-NATS-12): `operation` names it (`store` for a
 * message, `stream`, `delete`), `detail` is the client's or server's reason. For `store`, a message
 * whose answer was lost (a timeout) may still have been stored.
 *
 * @category errors
 */
export class JetStreamFailed extends Data.TaggedError("JetStreamFailed")<{
  readonly operation: string
  readonly module: string
  readonly detail: string
}> {
  override get message(): string {
    return `JetStream ${this.operation} for "${this.module}" failed: ${this.detail}`
  }
}

/**
 * How `sendDurable` fails (R-NATS-12): the stream's errors above, or as `send` fails.
 *
 * @category errors
 */
export type SendDurableError =
  | DurableMailboxFull
  | JetStreamFailed
  | ModuleNotFound
  | ModuleClosed
  | InvalidArgument
  | MessageEncodeError
  | BeehiveShutdown
