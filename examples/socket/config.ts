/**
 * Where the socket example finds its configuration: the file named by `SOCKET_MODULE_CONFIG`, else the
 * `socket_module.yaml` next to this example's sources.
 */
import { join } from "node:path"
import { Effect } from "effect"
import { loadSocketConfig, SocketConfigEnv } from "../../src/index.ts"

const bundled = join(import.meta.dirname, "../../../examples/socket/socket_module.yaml")

/** The example's socket configuration; fails with `SocketConfigError`. */
export const exampleConfig = Effect.suspend(() =>
  loadSocketConfig({ ...process.env, [SocketConfigEnv]: process.env[SocketConfigEnv] || bundled })
)
