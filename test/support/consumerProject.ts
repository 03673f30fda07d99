/**
 * A new npm project that depends on the packed package, installable offline: its lockfile is cut from
 * this repository's (the same versions and integrity hashes, all in npm's cache after `npm ci`), so
 * `npm ci --offline` installs it without the registry, as a user's project would be installed.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

interface LockEntry {
  readonly version: string
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>
  readonly optionalDependencies?: Record<string, string>
  readonly [key: string]: unknown
}

/**
 * Writes package.json and package-lock.json of a project in `dir` that depends on the tarball `tarball`
 * (a file name in `dir`) and on `extra` packages of this repository's lockfile, at the locked versions.
 */
export const writeConsumerProject = (root: string, dir: string, tarball: string, extra: ReadonlyArray<string>) => {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>
  }
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))

  const entries: Record<string, LockEntry> = {}
  // Every dependency is hoisted in this repository's lockfile (nested copies are looked up first).
  const add = (name: string, from: string) => {
    const nested = `${from}/node_modules/${name}`
    const path = lock.packages[nested] !== undefined && from !== "" ? nested : `node_modules/${name}`
    if (entries[path] !== undefined) return
    const entry = lock.packages[path]
    if (entry === undefined)
      throw new Error(`${name} (needed by ${from || "the consumer"}) is not in package-lock.json`)
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...kept } = entry as LockEntry & Record<string, unknown>
    // With its address, npm finds a package's tarball in its cache without asking the registry for metadata.
    const tarballName = name.split("/").pop() as string
    entries[path] = {
      ...kept,
      resolved: `https://registry.npmjs.org/${name}/-/${tarballName}-${entry.version}.tgz`
    } as LockEntry
    walk(entry, path)
  }
  const walk = (entry: LockEntry, path: string) => {
    for (const name of Object.keys(entry.dependencies ?? {})) add(name, path)
    for (const name of Object.keys(entry.peerDependencies ?? {})) {
      if (entry.peerDependenciesMeta?.[name]?.optional !== true) add(name, path)
    }
  }
  const rootDependencies: Record<string, string> = { "beehive-effect": `file:${tarball}` }
  for (const name of extra) {
    const entry = lock.packages[`node_modules/${name}`]
    if (entry === undefined) throw new Error(`${name} is not in package-lock.json`)
    rootDependencies[name] = entry.version
    add(name, "")
  }
  entries["node_modules/beehive-effect"] = {
    version: manifest.version,
    resolved: `file:${tarball}`,
    license: manifest.license,
    dependencies: manifest.dependencies,
    peerDependencies: manifest.peerDependencies,
    bin: manifest.bin,
    engines: manifest.engines
  }
  walk(
    { version: manifest.version, dependencies: manifest.dependencies, peerDependencies: manifest.peerDependencies },
    ""
  )

  const project = { name: "consumer", version: "1.0.0", private: true, type: "module", dependencies: rootDependencies }
  writeFileSync(join(dir, "package.json"), JSON.stringify(project, null, 2))
  writeFileSync(
    join(dir, "package-lock.json"),
    JSON.stringify(
      {
        name: "consumer",
        version: "1.0.0",
        lockfileVersion: 3,
        requires: true,
        packages: { "": { name: "consumer", version: "1.0.0", dependencies: rootDependencies }, ...entries }
      },
      null,
      2
    )
  )
}
