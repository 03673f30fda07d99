import { execFileSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * A test CA and, for each name, a key and a certificate it signed with that name as CN (then the
 * name's `moreCommonNames`, each a CN of its own in the subject; a name in `withoutCommonName` gets a
 * subject with no CN at all, only an organization) and the given subjectAltName (OpenSSL's syntax:
 * `DNS:a,IP:127.0.0.1`); returns their folder (`ca.pem`, `<name>.pem`, `<name>.key`). Certificates
 * are valid for one day.
 */
export const certificates = (
  subjectAltNames: Readonly<Record<string, string>>,
  moreCommonNames: Readonly<Record<string, ReadonlyArray<string>>> = {},
  withoutCommonName: ReadonlySet<string> = new Set()
): string => {
  const dir = mkdtempSync(join(tmpdir(), "bh-certs-"))
  const ssl = (...args: Array<string>) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" })
  const key = (name: string) => ssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`)
  key("ca")
  ssl("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca")
  for (const [name, alt] of Object.entries(subjectAltNames)) {
    key(name)
    writeFileSync(join(dir, `${name}.cnf`), alt === "" ? "" : `subjectAltName=${alt}\n`)
    const subject = withoutCommonName.has(name)
      ? "/O=beehive-test"
      : [name, ...(moreCommonNames[name] ?? [])].map((common) => `/CN=${common}`).join("")
    ssl("req", "-new", "-key", `${name}.key`, "-out", `${name}.csr`, "-subj", subject)
    ssl(
      ...["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"],
      ...["-out", `${name}.pem`, "-days", "1", "-extfile", `${name}.cnf`]
    )
  }
  return dir
}
