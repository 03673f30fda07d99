import { Effect } from "effect"
import type { TransportShape } from "../../src/contexts/socket/Transport.ts"

/**
 * A transport whose accepted connections carry, in order of arrival, the verified certificate names
 * `certificates` gives (undefined: no certificate), as TLS with client certificates would hand them
 * to a server. The array is consumed as connections arrive.
 */
export const certifiedTransport = (
  transport: TransportShape,
  certificates: Array<ReadonlyArray<string> | undefined>
): TransportShape => ({
  listen: (address, tls) =>
    Effect.map(transport.listen(address, tls), (listener) => ({
      ...listener,
      accept: Effect.map(listener.accept, (connection) => ({
        peer: connection.peer,
        read: connection.read,
        write: connection.write,
        close: connection.close,
        certificateNames: certificates.shift()
      }))
    })),
  connect: transport.connect
})
