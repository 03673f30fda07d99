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
export type { Endpoint, EndpointOptions, ModuleContext } from "./contexts/ModuleContext.ts"
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
export * from "./model/Constants.ts"
export * from "./model/Errors.ts"
export type { Message as MessageType, MessageHeader, MessageInit, MessageRoute } from "./model/Message.ts"
export * as Message from "./model/Message.ts"
export { type MessageIdGenerator, MessageIds, sequentialIds } from "./model/MessageIds.ts"
export * as MessageJson from "./model/MessageJson.ts"
export type { CleanupReport, GroupSendResult, GroupSyncResult, ShutdownReport } from "./model/Reports.ts"
