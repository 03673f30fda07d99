/**
 * Beehive's vocabulary, with the values of Go beehive's `pkg/core/model/message.go`,
 * `pkg/common/type.go` and `pkg/core/channel/context_channel.go`.
 *
 * @since 0.1.0
 */

/** Operation "insert" (Go `InsertOperation`). @category constants */
export const InsertOperation = "insert"
/** Operation "delete" (Go `DeleteOperation`). @category constants */
export const DeleteOperation = "delete"
/** Operation "query" (Go `QueryOperation`). @category constants */
export const QueryOperation = "query"
/** Operation "update" (Go `UpdateOperation`). @category constants */
export const UpdateOperation = "update"
/** Operation "patch" (Go `PatchOperation`). @category constants */
export const PatchOperation = "patch"
/** Operation "upload" (Go `UploadOperation`). @category constants */
export const UploadOperation = "upload"
/** Operation of a response built by `newResponse` (Go `ResponseOperation`). @category constants */
export const ResponseOperation = "response"
/** Operation of an error response built by `newErrorResponse` (Go `ResponseErrorOperation`). @category constants */
export const ResponseErrorOperation = "error"
/**
 * Operation of the heartbeat two beehive-effect peers send each other when they agreed on one in the
 * handshake (R-SOCK-20); never sent to a peer that did not ask for it, never delivered to a module.
 * @category constants
 */
export const HeartbeatOperation = "beehive-effect/heartbeat"
/**
 * Operation of a receipt (R-SOCK-21): its content is the highest number of the one-way messages the
 * sender of the receipt has handled; only between peers that agreed on receipts.
 * @category constants
 */
export const ReceiptOperation = "beehive-effect/receipt"
/** Operation "unhold-upgrade" (Go `UnholdUpgradeOperation`). @category constants */
export const UnholdUpgradeOperation = "unhold-upgrade"

/** Resource type "pod". @category constants */
export const ResourceTypePod = "pod"
/** Resource type "event". @category constants */
export const ResourceTypeEvent = "event"
/** Resource type "configmap". @category constants */
export const ResourceTypeConfigmap = "configmap"
/** Resource type "serviceaccounttoken". @category constants */
export const ResourceTypeServiceAccountToken = "serviceaccounttoken"
/** Resource type "secret". @category constants */
export const ResourceTypeSecret = "secret"
/** Resource type "node". @category constants */
export const ResourceTypeNode = "node"
/** Resource type "podlist". @category constants */
export const ResourceTypePodlist = "podlist"
/** Resource type "podstatus". @category constants */
export const ResourceTypePodStatus = "podstatus"
/** Resource type "podpatch". @category constants */
export const ResourceTypePodPatch = "podpatch"
/** Resource type "nodestatus". @category constants */
export const ResourceTypeNodeStatus = "nodestatus"
/** Resource type "nodepatch". @category constants */
export const ResourceTypeNodePatch = "nodepatch"
/** Resource type "rule". @category constants */
export const ResourceTypeRule = "rule"
/** Resource type "ruleendpoint". @category constants */
export const ResourceTypeRuleEndpoint = "ruleendpoint"
/** Resource type "rulestatus". @category constants */
export const ResourceTypeRuleStatus = "rulestatus"
/** Resource type "lease". @category constants */
export const ResourceTypeLease = "lease"
/** Resource type "serviceaccountaccess". @category constants */
export const ResourceTypeSaAccess = "serviceaccountaccess"
/** Resource type "certificatesigningrequest". @category constants */
export const ResourceTypeCSR = "certificatesigningrequest"
/** Resource type "k8s/ca.crt". @category constants */
export const ResourceTypeK8sCA = "k8s/ca.crt"

/** Resource of the socket handshake message (Go `ResourceTypeModule`). @category constants */
export const ResourceTypeModule = "module"
/** Operation of the socket handshake message (Go `OperationTypeModule`). @category constants */
export const OperationTypeModule = "add"

/** Context type of modules served in this process (Go `MsgCtxTypeChannel`). @category constants */
export const ContextTypeChannel = "channel"
/** Context type of modules served in other processes over sockets. @category constants */
export const ContextTypeSocket = "socket"

/** Capacity of a module's mailbox unless configured (Go `ChannelSizeDefault`). @category constants */
export const ChannelSizeDefault = 1024

/** Timeout of `sendSync` and `sendToGroupSync` when none (or one <= 0) is given, in ms (Go `MessageTimeoutDefault`). @category constants */
export const MessageTimeoutDefault = 30_000
