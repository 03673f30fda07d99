/**
 * The typed errors of the NATS context (spec/SPEC.md, R-NATS).
 *
 * @since 0.3.0
 */
import { Data } from "effect"

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
