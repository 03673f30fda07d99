/**
 * The check both configurations (socket and NATS) make of a TLS file they are given: that it can be
 * read and is a file, so that a bad path is a configuration error naming its key, not a failure later
 * when a connection first needs it.
 *
 * @since 0.3.0
 * @internal
 */
import * as fs from "node:fs"

/**
 * Why `file` cannot be used as a TLS file, or undefined if it can be read. Never throws.
 *
 * @category utils
 */
export const unreadableFile = (file: string): string | undefined => {
  try {
    fs.accessSync(file, fs.constants.R_OK)
    return fs.statSync(file).isFile() ? undefined : `${file} is not a file`
  } catch (e) {
    return `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`
  }
}
