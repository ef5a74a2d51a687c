// Loads proto/agent.proto at run time with the same options `npm run proto` uses to generate proto/generated/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { ProtoGrpcType } from './generated/agent.js';
import type { AgentClient } from './generated/containerpub/agent/v1/Agent.js';

/** Keep in step with scripts/proto-gen.mjs: the generated types describe objects decoded with these. */
export const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

function protoPath(): string {
  // Beside this file in the source tree; two levels up from dist/proto/ in the build.
  for (const rel of ['./agent.proto', '../../proto/agent.proto']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('proto/agent.proto not found');
}

let cached: ProtoGrpcType | undefined;

export function loadAgentProto(): ProtoGrpcType {
  cached ??= grpc.loadPackageDefinition(protoLoader.loadSync(protoPath(), LOADER_OPTIONS)) as unknown as ProtoGrpcType;
  return cached;
}

let fastService: grpc.ServiceDefinition | undefined;

/**
 * The Agent service definition, for `server.addService`: InvokeStream's replies (and Calls' batches of them) are
 * written with protobufjs's `encode` alone, their two enums (`outcome`, `part`) turned from names into numbers first —
 * proto-loader's serializer runs `fromObject` over the whole reply (headers, logs, timings), which cost the agent more
 * than encoding.
 */
export function agentServiceDefinition(): grpc.ServiceDefinition {
  if (fastService) return fastService;
  const service = loadAgentProto().containerpub.agent.v1.Agent.service;
  const root = agentRoot();
  const reply = root.lookupType('containerpub.agent.v1.InvokeReply');
  const outcome = root.lookupEnum('containerpub.agent.v1.Outcome').values;
  const part = root.lookupEnum('containerpub.agent.v1.ReplyPart').values;
  const number = (values: Record<string, number>, v: unknown) => (typeof v === 'string' ? values[v] : v);
  const encode = encoder(reply);
  const wire = (r: { outcome?: unknown; part?: unknown }) => ({ ...r, outcome: number(outcome, r.outcome), part: number(part, r.part) });
  const responseSerialize = (r: { outcome?: unknown; part?: unknown }) => encode(wire(r));
  const encodeBatch = encoder(root.lookupType('containerpub.agent.v1.ReplyBatch'));
  const batchSerialize = (b: { replies: { outcome?: unknown; part?: unknown }[] }) => encodeBatch({ replies: b.replies.map(wire) });
  fastService = {
    ...service,
    InvokeStream: { ...service.InvokeStream, responseSerialize },
    Calls: { ...service.Calls, responseSerialize: batchSerialize },
  } as grpc.ServiceDefinition;
  return fastService;
}

let root: protobuf.Root | undefined;

/** agent.proto as protobufjs reads it (field names camelCased, as proto-loader's with LOADER_OPTIONS). */
function agentRoot(): protobuf.Root {
  root ??= protobuf.loadSync(protoPath());
  return root;
}

/**
 * The largest message either side takes: a whole answer (16 MiB) with its log (≤ 2 × 256 KiB, base64) and headers,
 * or a call with a whole body (6 MB). gRPC's default (4 MiB) would break the call stream — every call on it — at the
 * first answer over it.
 */
export const MAX_MESSAGE_BYTES = 24 * 2 ** 20;

/**
 * A streamed body's window (agent.proto, InvokeRequest.credit and PART_CREDIT; the shim's CPUB_STREAM_WINDOW): the
 * bytes each hop sends ahead of the credit the next gives back. The same on every hop.
 */
export const STREAM_WINDOW = 2 ** 20;

let fastClient: typeof grpc.Client | undefined;

/**
 * The Agent client class, whose InvokeStream (and Calls) writes each call with protobufjs's `encode` alone. proto-loader's
 * serializer runs `fromObject` first, which converts every field (≈ a third of a call's serialization, on the
 * control plane's hot path); the control plane writes InvokeRequests whose fields already have their wire types
 * (strings, numbers, booleans, Buffers, plain nested objects: the message has no enum or oneof), which `encode` takes
 * as they are. proto/grpc.test.ts checks that the agent, decoding with proto-loader, gets every field back.
 */
function agentClientClass(): typeof grpc.Client {
  if (fastClient) return fastClient;
  const service = loadAgentProto().containerpub.agent.v1.Agent.service;
  const requestSerialize = encoder(agentRoot().lookupType('containerpub.agent.v1.InvokeRequest'));
  const batchSerialize = encoder(agentRoot().lookupType('containerpub.agent.v1.CallBatch'));
  fastClient = grpc.makeGenericClientConstructor(
    { ...service, InvokeStream: { ...service.InvokeStream, requestSerialize }, Calls: { ...service.Calls, requestSerialize: batchSerialize } },
    'Agent',
  );
  return fastClient;
}

/** A message's bytes by protobufjs's `encode` alone (no `fromObject`): its fields must have their wire types. */
function encoder(type: protobuf.Type): (message: object) => Buffer {
  return (message) => {
    const bytes = type.encode(message).finish();
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** A client for the Agent service at `address` (host:port). */
export function createAgentClient(address: string, credentials: grpc.ChannelCredentials, options: grpc.ClientOptions = {}): AgentClient {
  const Client = agentClientClass();
  // Channelz bookkeeping costs every call and nothing here reads it; gRPC's own retries are off (a call is never
  // sent twice: the control plane decides where a call goes next), which also drops their layer from every call.
  return new Client(address, credentials, { 'grpc.enable_channelz': 0, 'grpc.enable_retries': 0, 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, ...options }) as unknown as AgentClient;
}

export type { ProtoGrpcType };
export type { AgentClient };
