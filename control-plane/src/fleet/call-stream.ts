// The calls on one agent: a single long-lived call stream per link (rpc Calls, or InvokeStream for an agent without
// it), each call a message on it (a unary gRPC call costs ≈ 1 ms here) — on Calls, those of one turn in one message.
// Replies are matched to their calls by invocation id; a streamed answer's head resolves its call with a body whose
// chunks and end follow; a large request body is pumped out as the agent grants credit.
// Every call ends — answered, timed out (its deadline plus a grace second), or failed with agent_lost when the
// stream breaks or the agent answers from another epoch: never a hang.
import type * as grpc from '@grpc/grpc-js';
import type { AgentClient } from '../../../proto/loader.js';
import { fromGrpcError } from '../../../proto/errors.js';
import { AGENT_LOST } from '../../../proto/outcomes.js';
import type { InvokeRequest } from '../../../proto/generated/containerpub/agent/v1/InvokeRequest.js';
import type { InvokeReply__Output } from '../../../proto/generated/containerpub/agent/v1/InvokeReply.js';
import type { CallBatch } from '../../../proto/generated/containerpub/agent/v1/CallBatch.js';
import type { ReplyBatch__Output } from '../../../proto/generated/containerpub/agent/v1/ReplyBatch.js';
import { Batcher } from '../../../common/batcher.js';
import { AppError } from '../errors.js';
import { ReplyBody } from './reply-body.js';
import { pumpBody, type BodyPump, type StreamedBody } from './body-pump.js';

/** The agent went away (or stopped answering) while a call was on it: the function may have run. */
export const AgentLost = (detail: string) => new AppError('unavailable', AGENT_LOST.code, detail, { httpStatus: AGENT_LOST.httpStatus });

/** The call never left this control plane (the link was down): safe to place on another node. */
export const NotSent = (detail: string) => new AppError('unavailable', 'agent_unreachable', detail);

/** An agent's reply; a streamed answer's head carries its body, still to come. */
export type LinkReply = InvokeReply__Output & { stream?: ReplyBody };

interface Pending {
  resolve: (r: LinkReply) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  deadlineMs: number;
}

export class CallStream {
  /** Calls on this agent not answered yet (a streamed one until its end). */
  inFlight = 0;
  /** The epoch of the agent the calls went to: a reply from another is refused. */
  private epoch = '';
  private stream: grpc.ClientDuplexStream<CallBatch, ReplyBatch__Output> | grpc.ClientDuplexStream<InvokeRequest, InvokeReply__Output> | undefined;
  /** Writes a message on the open stream. */
  private write: (m: InvokeRequest) => void = () => {};
  private readonly pending = new Map<string, Pending>();
  /** Request bodies streaming out to the agent, by call, until its call ends. */
  private readonly pumps = new Map<string, BodyPump>();
  /** Streamed answers whose head has come, until their end (or the deadline plus a grace second). */
  private readonly bodies = new Map<string, { body: ReplyBody; timer: NodeJS.Timeout }>();

  constructor(private readonly nodeId: string) {}

  /** Fails every call in flight and drops the stream (the link closes or redials). */
  close(why: string): void {
    this.failAll(why);
    this.stream?.cancel();
    this.stream = undefined;
  }

  /**
   * Writes the call on the call stream (opened on first use) of the connected `client`, whose epoch is `epoch`: `Calls`
   * (messages in batches) when the agent serves it (`batches`, from its Info), else InvokeStream.
   */
  send(client: AgentClient, epoch: string, batches: boolean, req: InvokeRequest & { invocationId: string; deadlineMs: number }, body?: StreamedBody): Promise<LinkReply> {
    this.epoch = epoch;
    if (!this.stream) {
      try {
        this.open(client, batches);
      } catch (err) {
        // The channel was shut down under us (the link replaced or closed): nothing was sent.
        return Promise.reject(NotSent(`node ${this.nodeId}: ${(err as Error).message}`));
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(req.invocationId);
        reject(AgentLost(`node ${this.nodeId} did not answer before the deadline`));
      }, Math.max(0, Number(req.deadlineMs) - Date.now()) + 1000);
      this.pending.set(req.invocationId, { resolve, reject, timer, deadlineMs: Number(req.deadlineMs) });
      this.inFlight++;
      const write = this.write;
      write(body ? { ...req, bodyFollows: true } : req);
      // The rest of a large body follows the call, as the agent grants credit for it.
      if (body) this.pumps.set(req.invocationId, pumpBody(body, (m) => write({ invocationId: req.invocationId, ...m })));
    });
  }

  /** Opens the stream: its messages written through `write`, its replies taken by `reply`. */
  private open(client: AgentClient, batches: boolean): void {
    let stream: grpc.ClientDuplexStream<CallBatch, ReplyBatch__Output> | grpc.ClientDuplexStream<InvokeRequest, InvokeReply__Output>;
    if (batches) {
      const calls = client.Calls();
      // A call sent while others are in flight goes with the turn's others at its end, a lone one at once
      // (common/batcher.ts); nothing goes to a stream replaced meanwhile.
      const out = new Batcher<InvokeRequest>((batch) => this.stream === calls && calls.write({ calls: batch }), requestBytes);
      this.write = (m) => out.push(m, this.inFlight <= 1);
      calls.on('data', (b: ReplyBatch__Output) => {
        for (const r of b.replies) this.reply(r);
      });
      stream = calls;
    } else {
      const one = client.InvokeStream();
      this.write = (m) => one.write(m);
      one.on('data', (r: InvokeReply__Output) => this.reply(r));
      stream = one;
    }
    this.stream = stream;
    const broken = (why: string) => {
      if (this.stream === stream) this.stream = undefined;
      this.failAll(why);
    };
    stream.on('error', (err: Error) => broken(`the call stream to node ${this.nodeId} broke: ${fromGrpcError(err).detail}`));
    stream.on('end', () => broken(`node ${this.nodeId} closed the call stream`));
  }

  /** A reply from the agent: a call's answer, its streamed answer's head, chunk or end, or credit for its body. */
  private reply(r: InvokeReply__Output): void {
    if (r.part === 'PART_CREDIT') return void this.pumps.get(r.invocationId)?.grant(r.credit);
    if (r.part === 'PART_CHUNK' || r.part === 'PART_END') return this.streamed(r);
    const p = this.pending.get(r.invocationId);
    if (!p) return;
    // A reply from another epoch than the one dialled is from an agent that restarted: refused.
    if (r.epoch !== this.epoch) {
      this.settle(r.invocationId);
      return p.reject(AgentLost(`node ${this.nodeId} answered from a stale epoch`));
    }
    if (r.part !== 'PART_HEAD') {
      this.settle(r.invocationId);
      return p.resolve(r);
    }
    // The head of a streamed answer: the call stays in flight until its end comes, by the deadline (and a grace second).
    clearTimeout(p.timer);
    this.pending.delete(r.invocationId);
    const body = new ReplyBody(this.bodyLink, r.invocationId);
    // The body's first bytes, when they came with the head.
    if (r.body.length) body.push(r.body);
    const timer = setTimeout(() => this.endBody(r.invocationId, AgentLost(`node ${this.nodeId} did not end a streamed answer before the deadline`)), Math.max(0, p.deadlineMs - Date.now()) + 1000);
    this.bodies.set(r.invocationId, { body, timer });
    p.resolve({ ...r, stream: body });
  }

  /** A chunk or the end of a streamed answer. */
  private streamed(r: InvokeReply__Output): void {
    const b = this.bodies.get(r.invocationId);
    if (!b) return;
    if (r.part === 'PART_CHUNK') return b.body.push(r.body);
    if (r.epoch !== this.epoch) return this.endBody(r.invocationId, AgentLost(`node ${this.nodeId} answered from a stale epoch`));
    this.endBody(r.invocationId, r);
  }

  private endBody(id: string, end: InvokeReply__Output | Error): void {
    const b = this.bodies.get(id);
    if (!b) return;
    clearTimeout(b.timer);
    this.bodies.delete(id);
    this.stopPump(id);
    this.inFlight--;
    if (end instanceof Error) b.body.fail(end);
    else b.body.end(end);
  }

  /** What a streamed body says back to the agent, on the call stream. */
  private readonly bodyLink = {
    credit: (invocationId: string, credit: number) => this.stream && this.write({ invocationId, credit }),
    cancel: (invocationId: string) => this.stream && this.write({ invocationId, cancel: true }),
  };

  private settle(id: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    this.stopPump(id);
    this.inFlight--;
  }

  /** The call is over: the rest of its request body, if any, is not read. */
  private stopPump(id: string): void {
    this.pumps.get(id)?.stop();
    this.pumps.delete(id);
  }

  /** Every call in flight fails with `why`. */
  failAll(why: string): void {
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(AgentLost(why));
    }
    for (const id of [...this.bodies.keys()]) this.endBody(id, AgentLost(why));
  }
}

/** A request's bytes that count against a batch's size: its body, or its streamed body's chunk. */
function requestBytes(m: InvokeRequest): number {
  return (m.request?.body?.length ?? 0) + (m.bodyChunk?.length ?? 0);
}
