import { Effect, pipe } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import * as C from "../../src/model/Constants.ts"
import * as Message from "../../src/model/Message.ts"
import { MessageIds, sequentialIds } from "../../src/model/MessageIds.ts"

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const run = <A>(effect: Effect.Effect<A>) => Effect.runSync(effect)

describe("Message", () => {
  it("R-MSG-1 make({}) is Go's NewRawMessage and messages are frozen", () => {
    const raw = Message.make({})
    expect(raw).toEqual({
      header: { id: "", parentId: "", timestamp: 0, resourceVersion: "", sync: false, type: "" },
      route: { source: "", destination: "", group: "", operation: "", resource: "" },
      content: null
    })
    expect(Object.isFrozen(raw)).toBe(true)
    expect(Object.isFrozen(raw.header)).toBe(true)
    expect(Object.isFrozen(raw.route)).toBe(true)
    expect(Message.isEmpty(raw)).toBe(true)
  })

  it("R-MSG-2 newMessage has a fresh UUIDv4 id, the parent id and the clock's time in ms", async () => {
    const program = Effect.gen(function* () {
      yield* TestClock.setTime(1_795_338_145_513)
      return [yield* Message.newMessage("parent"), yield* Message.newMessage()] as const
    }).pipe(Effect.provide(TestClock.layer()))
    const [a, b] = await Effect.runPromise(program)
    expect(a.header.id).toMatch(uuidV4)
    expect(b.header.id).toMatch(uuidV4)
    expect(a.header.id).not.toBe(b.header.id)
    expect(a.header.parentId).toBe("parent")
    expect(a.header.timestamp).toBe(1_795_338_145_513)
    expect(b.header.parentId).toBe("")
    expect(Message.make({ header: a.header })).toEqual(a)
  })

  it("R-MSG-2 newMessage takes ids from the MessageIds reference", () => {
    const ids = run(
      Effect.all([Message.newMessage(), Message.newMessage()]).pipe(
        Effect.provideService(MessageIds, sequentialIds("t-"))
      )
    ).map((m) => m.header.id)
    expect(ids).toEqual(["t-1", "t-2"])
  })

  it("R-MSG-3 builders set exactly Go's fields, data-first and pipeable, without touching the input", () => {
    const base = Message.make({ header: { id: "1", timestamp: 5 } })
    const built = pipe(
      base,
      Message.buildRouter("src", "grp", "res", "op"),
      Message.setDestination("dst"),
      Message.setType("unixpacket"),
      Message.setResourceVersion("7"),
      Message.setSync(true),
      Message.fillBody({ k: 1 })
    )
    expect(built).toEqual({
      header: { id: "1", parentId: "", timestamp: 5, resourceVersion: "7", sync: true, type: "unixpacket" },
      route: { source: "src", destination: "dst", group: "grp", operation: "op", resource: "res" },
      content: { k: 1 }
    })
    expect(base.route.source).toBe("")
    expect(Message.setRoute(base, "s", "g").route).toMatchObject({ source: "s", group: "g", resource: "" })
    expect(Message.setResourceOperation(base, "r", "o").route).toMatchObject({
      resource: "r",
      operation: "o",
      source: ""
    })
    expect(Message.buildHeader(built, "9", "8", 7).header).toMatchObject({
      id: "9",
      parentId: "8",
      timestamp: 7,
      sync: true
    })
    expect(Message.fillBody(built, undefined).content).toBe(null)
    const updated = run(Message.updateId(built))
    expect(updated.header.id).toMatch(uuidV4)
    expect({ ...updated, header: { ...updated.header, id: "1" } }).toEqual(built)
  })

  it("R-MSG-4 newResponse copies source, group, resource and type; parent is the request id", () => {
    const request = Message.make({
      header: {
        id: "req",
        parentId: "grandparent",
        timestamp: 1,
        sync: true,
        type: "unixpacket",
        resourceVersion: "3"
      },
      route: { source: "sourcemodule", destination: "dst", group: "g", resource: "test", operation: "update" },
      content: "how are you"
    })
    const resp = run(Message.newResponse(request, "fine"))
    expect(resp.header.id).toMatch(uuidV4)
    expect(resp.header).toMatchObject({ parentId: "req", sync: false, type: "unixpacket", resourceVersion: "" })
    expect(resp.route).toEqual({
      source: "sourcemodule",
      destination: "",
      group: "g",
      resource: "test",
      operation: C.ResponseOperation
    })
    expect(resp.content).toBe("fine")
  })

  it("R-MSG-5 newErrorResponse: parent is the request id, operation error, resource copied, rest empty", () => {
    const request = Message.make({
      header: { id: "req", parentId: "grandparent", timestamp: 1, type: "unixpacket" },
      route: { source: "s", group: "g", resource: "pod", operation: "query" }
    })
    const err = run(Message.newErrorResponse(request, "not found"))
    expect(err.header).toMatchObject({ parentId: "req", type: "" })
    expect(err.route).toEqual({
      source: "",
      destination: "",
      group: "",
      resource: "pod",
      operation: C.ResponseErrorOperation
    })
    expect(err.content).toBe("not found")
  })

  it("R-MSG-6 clone copies Go's fields and drops destination, resource version, sync and type", () => {
    const m = Message.make({
      header: { id: "1", parentId: "p", timestamp: 9, resourceVersion: "4", sync: true, type: "t" },
      route: { source: "s", destination: "d", group: "g", resource: "r", operation: "o" },
      content: { shared: true }
    })
    const c = run(Message.clone(m))
    expect(c.header.id).toMatch(uuidV4)
    expect(c.header).toMatchObject({ parentId: "p", timestamp: 9, resourceVersion: "", sync: false, type: "" })
    expect(c.route).toEqual({ source: "s", destination: "", group: "g", resource: "r", operation: "o" })
    expect(c.content).toBe(m.content)
  })

  it("R-MSG-7 constants have Go's values; isEmpty and format are Go's", () => {
    expect([C.InsertOperation, C.DeleteOperation, C.QueryOperation, C.UpdateOperation, C.PatchOperation]).toEqual([
      "insert",
      "delete",
      "query",
      "update",
      "patch"
    ])
    expect([C.UploadOperation, C.ResponseOperation, C.ResponseErrorOperation, C.UnholdUpgradeOperation]).toEqual([
      "upload",
      "response",
      "error",
      "unhold-upgrade"
    ])
    expect([
      C.ResourceTypePod,
      C.ResourceTypeEvent,
      C.ResourceTypeConfigmap,
      C.ResourceTypeServiceAccountToken,
      C.ResourceTypeSecret,
      C.ResourceTypeNode,
      C.ResourceTypePodlist,
      C.ResourceTypePodStatus,
      C.ResourceTypePodPatch,
      C.ResourceTypeNodeStatus,
      C.ResourceTypeNodePatch,
      C.ResourceTypeRule,
      C.ResourceTypeRuleEndpoint,
      C.ResourceTypeRuleStatus,
      C.ResourceTypeLease,
      C.ResourceTypeSaAccess,
      C.ResourceTypeCSR,
      C.ResourceTypeK8sCA
    ]).toEqual([
      "pod",
      "event",
      "configmap",
      "serviceaccounttoken",
      "secret",
      "node",
      "podlist",
      "podstatus",
      "podpatch",
      "nodestatus",
      "nodepatch",
      "rule",
      "ruleendpoint",
      "rulestatus",
      "lease",
      "serviceaccountaccess",
      "certificatesigningrequest",
      "k8s/ca.crt"
    ])
    expect([C.ResourceTypeModule, C.OperationTypeModule, C.ContextTypeChannel, C.ContextTypeSocket]).toEqual([
      "module",
      "add",
      "channel",
      "socket"
    ])
    expect([C.ChannelSizeDefault, C.MessageTimeoutDefault]).toEqual([1024, 30000])
    const m = Message.make({
      header: { id: "i", parentId: "p" },
      route: { group: "g", source: "s", destination: "d", resource: "r", operation: "o" }
    })
    expect(Message.format(m)).toBe(
      "MessageID: i ParentID: p Group: g Source: s Destination: d Resource: r Operation: o"
    )
    expect(Message.isEmpty(m)).toBe(false)
    expect(Message.isEmpty(Message.make({ content: 0 }))).toBe(false)
    expect(Message.isEmpty(Message.make({ header: { sync: true } }))).toBe(false)
  })
})
