/**
 * beehive-effect: KubeEdge beehive's module messaging on Effect. This file is the whole public
 * surface of the Effect API; the Promise facade is `beehive-effect/promise`.
 *
 * @since 0.1.0
 */

export {
  type AddModuleOptions,
  Beehive,
  type BeehiveOptions,
  type BeehiveService,
  type BeehiveSnapshot,
  type ModuleSnapshot,
  type SendSyncError,
  type SendToGroupSyncError,
  timeoutMillis
} from "./contexts/Beehive.ts"
export { ChannelContext } from "./contexts/ChannelContext.ts"
export { ContextHost, type ContextHostService, type ContextType, ProcessEndingReason } from "./contexts/ContextHost.ts"
export {
  type GracefulShutdownReport,
  type ModuleDefinition,
  type ModuleEnd,
  Registry,
  type RegistryOptions,
  type RegistryService,
  type StartModulesError
} from "./contexts/Registry.ts"
export {
  calculateIntervalTime,
  DefaultIntervalSeconds,
  DefaultRestartIntervalLimitSeconds,
  type RestartPolicy,
  RestartTypeAlways,
  RestartTypeOnFailure
} from "./contexts/RestartPolicy.ts"
export { awaitSignal, ShutdownSignals } from "./contexts/Signals.ts"
export { asModule, CurrentModule } from "./effects/CurrentModule.ts"
export { MetricNames } from "./effects/Observability.ts"
export * from "./model/Constants.ts"
export * from "./model/Errors.ts"
export type { Message as MessageType, MessageHeader, MessageInit, MessageRoute } from "./model/Message.ts"
export * as Message from "./model/Message.ts"
export { type MessageIdGenerator, MessageIds, sequentialIds } from "./model/MessageIds.ts"
export * as MessageJson from "./model/MessageJson.ts"
export type { CleanupReport, GroupSendResult, GroupSyncResult, ShutdownReport } from "./model/Reports.ts"

// --- socket context: modules in other processes over unix-domain and TCP sockets ---

export {
  type BackoffOptions,
  backoffDelayMillis
} from "./contexts/socket/Backoff.ts"
export {
  DefaultMaxFrameBytes,
  encodeFrame,
  FrameDecoder,
  FrameHeaderBytes,
  FrameHeaderPrefix
} from "./contexts/socket/FrameCodec.ts"
export {
  encodeBatch,
  encoderFor,
  type Framing,
  type FramingOption,
  type MessageDecoder,
  makeDecoder,
  type StreamFraming
} from "./contexts/socket/Framing.ts"
export {
  decodeExchange,
  isHandshake,
  type ModuleExchange,
  ModuleExchangeSchema,
  makeHandshake
} from "./contexts/socket/Handshake.ts"
export { encodeLine, LineDecoder } from "./contexts/socket/LineCodec.ts"
export { MemoryNetwork, MemoryTransport } from "./contexts/socket/MemoryTransport.ts"
export { NodeTransport, nodeTransport } from "./contexts/socket/NodeTransport.ts"
export { PacketDecoder } from "./contexts/socket/PacketCodec.ts"
export {
  formatAddress,
  parseAddress,
  type SocketAddress,
  SocketTypes,
  type TlsOptions,
  tcp,
  unix,
  unixPacket
} from "./contexts/socket/SocketAddress.ts"
export type { SocketClient, SocketClientOptions } from "./contexts/socket/SocketClient.ts"
export {
  clientEntry,
  clientModules,
  DefaultSocketConfigPath,
  decodeSocketConfig,
  loadSocketConfig,
  parseSocketConfig,
  type SocketConfig,
  type SocketConfigEntry,
  SocketConfigEnv,
  serverEntries
} from "./contexts/socket/SocketConfig.ts"
export {
  type ConnectionInfo,
  connectConfig,
  makeSocketContext,
  SocketContext,
  type SocketContextService,
  serveConfig
} from "./contexts/socket/SocketContext.ts"
export { formatEvent, type SocketEvent } from "./contexts/socket/SocketEvents.ts"
export type { SocketContextOptions } from "./contexts/socket/SocketOptions.ts"
export {
  DefaultHandshakeTimeout,
  DefaultMaxConnections,
  exchangeOf,
  type SocketServer,
  type SocketServerOptions
} from "./contexts/socket/SocketServer.ts"
export { type Connection, type Listener, Transport, type TransportShape } from "./contexts/socket/Transport.ts"
export * from "./model/SocketErrors.ts"

// --- end socket context ---

// --- NATS context (spec/SPEC.md, R-NATS) ---
export {
  makeNatsContext,
  NatsContext,
  type NatsContextService,
  type RemoteModuleInfo
} from "./contexts/nats/NatsContext.ts"
export {
  ContextTypeNats,
  DefaultNatsPrefix,
  type NatsContextOptions,
  type NatsEvent,
  type NatsTlsOptions,
  parseNatsConfig,
  type ResolvedNatsOptions,
  resolveNatsOptions
} from "./contexts/nats/NatsOptions.ts"
export { fromSubjectToken, MaxControlLine, type Subjects, subjects, subjectToken } from "./contexts/nats/Subjects.ts"
export * from "./model/NatsErrors.ts"
