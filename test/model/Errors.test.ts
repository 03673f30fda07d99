import { describe, expect, it } from "vitest"
import * as E from "../../src/model/Errors.ts"

describe("Errors", () => {
  it("R-API-2 every error is a tagged Error with a message that names what went wrong", () => {
    const cases: Array<[Error & { _tag: string }, string, string]> = [
      [new E.ModuleNotFound({ module: "m" }), "ModuleNotFound", 'module "m" is not registered'],
      [new E.ModuleAlreadyExists({ module: "m" }), "ModuleAlreadyExists", 'module "m" already exists'],
      [new E.ModuleClosed({ module: "m" }), "ModuleClosed", 'module "m" was cleaned up'],
      [
        new E.SendAllClosed({ module: "m", accepted: 2, total: 5 }),
        "SendAllClosed",
        'module "m" was cleaned up after 2 of 5 messages were accepted'
      ],
      [new E.GroupNotFound({ group: "g" }), "GroupNotFound", 'group "g" has no members'],
      [
        new E.SyncTimeout({ msgId: "1", module: "m", timeoutMs: 5, phase: "enqueue" }),
        "SyncTimeout",
        'timeout to send message 1 to module "m" after 5 ms'
      ],
      [
        new E.SyncTimeout({ msgId: "1", module: "m", timeoutMs: 5, phase: "response" }),
        "SyncTimeout",
        'timeout to get response for message 1 from module "m" after 5 ms'
      ],
      [new E.RequestDropped({ msgId: "1", module: "m" }), "RequestDropped", "request 1 was dropped"],
      [new E.DuplicateRequestId({ msgId: "1" }), "DuplicateRequestId", "request with id 1 is already pending"],
      [new E.BeehiveShutdown({ operation: "send" }), "BeehiveShutdown", "send: the beehive context is shut down"],
      [new E.UnknownContextType({ contextType: "x" }), "UnknownContextType", "unsupported context type: x"],
      [new E.MessageDecodeError({ path: "a.b", reason: "r" }), "MessageDecodeError", "invalid message at a.b: r"],
      [
        new E.MessageEncodeError({ path: "content", reason: "r" }),
        "MessageEncodeError",
        "message content at content: r"
      ],
      [
        new E.MessageEncodeError({ path: "header.timestamp", reason: "r" }),
        "MessageEncodeError",
        "message at header.timestamp: r"
      ],
      [
        new E.MessageEncodeError({ path: "", reason: "too large" }),
        "MessageEncodeError",
        "cannot encode message: too large"
      ]
    ]
    for (const reason of ["Timeout", "Uninvited", "MemberGone"] as const) {
      const e = new E.GroupSyncError({ reason, group: "g", msgId: "1", missing: ["a"], responded: [], uninvited: 2 })
      cases.push([
        e,
        "GroupSyncError",
        reason === "Uninvited" ? "2 uninvited" : reason === "Timeout" ? "missing: a" : "a left"
      ])
    }
    for (const [error, tag, text] of cases) {
      expect(error).toBeInstanceOf(Error)
      expect(error._tag).toBe(tag)
      expect(error.message).toContain(text)
    }
  })
})
