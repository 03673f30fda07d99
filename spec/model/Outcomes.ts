/**
 * The canonical outcome strings, shared by the model and the test harness that summarises the
 * implementation's results the same way.
 */
export const ok = (value: string): string => `ok:${value}`
export const err = (error: string): string => `err:${error}`

export const message = (entry: string): string => `#${entry}`
export const list = (items: ReadonlyArray<string>): string => `[${items.join(",")}]`

export const cleanupReport = (groups: ReadonlyArray<string>, undelivered: ReadonlyArray<string>): string =>
  ok(`cleanup{groups:${list(groups)},undelivered:${list(undelivered.map(message))}}`)
export const groupSendResult = (delivered: ReadonlyArray<string>, gone: ReadonlyArray<string>): string =>
  ok(`group{delivered:${list(delivered)},gone:${list(gone)}}`)
export const groupSyncResult = (
  answered: ReadonlyArray<readonly [string, string]>,
  anonymous: ReadonlyArray<string>
): string =>
  ok(
    `gsync{responses:${list(answered.map(([m, r]) => `${m}=${message(r)}`))},anonymous:${list(anonymous.map(message))}}`
  )
export const groupSyncError = (
  reason: string,
  missing: ReadonlyArray<string>,
  responded: ReadonlyArray<string>,
  uninvited: number
): string =>
  err(`GroupSyncError(${reason},missing:${list(missing)},responded:${list(responded)},uninvited:${uninvited})`)
export const shutdownReport = (modules: ReadonlyArray<readonly [string, number]>, cancelled: number): string =>
  ok(`shutdown{cleanups:${list(modules.map(([m, n]) => `${m}/${n}`))},cancelled:${cancelled}}`)

export const moduleNotFound = (m: string) => err(`ModuleNotFound(${m})`)
export const moduleAlreadyExists = (m: string) => err(`ModuleAlreadyExists(${m})`)
export const moduleClosed = (m: string) => err(`ModuleClosed(${m})`)
export const groupNotFound = (g: string) => err(`GroupNotFound(${g})`)
export const syncTimeout = (id: string, phase: string, timeoutMs: number) =>
  err(`SyncTimeout(${id},${phase},${timeoutMs})`)
export const requestDropped = (id: string) => err(`RequestDropped(${id})`)
export const duplicateRequestId = (id: string) => err(`DuplicateRequestId(${id})`)
/** R-GLOBAL-3, R-GLOBAL-4: the operation refused, or the call cancelled, after a shutdown, by its name. */
export const shutdownError = (operation: string) => err(`BeehiveShutdown(${operation})`)
export const interrupted = err("Interrupted")
export const voidOk = ok("void")
export const bool = (b: boolean) => ok(String(b))
