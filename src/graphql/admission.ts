import { GraphQLError, type ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { principalKey, type Principal } from './schema/principal.js';
import { OPEN_PRINCIPAL } from './auth.js';
import type { StreamScope } from './stream-scope.js';
import { CODE, graphqlError } from './errors.js';

/** The transports that stream subscriptions, as metrics and messages name them. */
export type StreamTransport = 'graphql-ws' | 'graphql-sse' | 'yoga-sse';

/** A place in a principal's subscription quota, held while its stream is open. */
export interface Ticket {
  /** Gives the place back; a second call does nothing. */
  release(): void;
}

/**
 * The client address a quota is counted by: the remote address of the socket or HTTP
 * request, with an IPv4-mapped IPv6 address written as plain IPv4, so one client reaching
 * a dual-stack listener is one client.
 */
export function clientAddressOf(remoteAddress: string | undefined): string | undefined {
  return remoteAddress?.startsWith('::ffff:') === true && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress;
}

/**
 * Open subscription streams, per principal across every connection and transport,
 * against `maxSubscriptionsPerToken`; and per transport, for metrics. Every transport
 * asks here at the point where it knows an operation will stream, so a quota cannot be
 * dodged by the spelling of a header or the choice of transport.
 *
 * Without tokens every client is the one principal `open`; a quota per principal would
 * then be one quota for the whole server. So the open principal's streams are counted
 * per client address instead (the same limit), and a token's per token, whatever address
 * it comes from.
 */
export class Admission {
  private readonly held = new Map<string, number>();
  private readonly byTransport: Record<StreamTransport, number> = { 'graphql-ws': 0, 'graphql-sse': 0, 'yoga-sse': 0 };

  constructor(private readonly limit: number) {}

  /** Streams open now, by transport. */
  get open(): Readonly<Record<StreamTransport, number>> {
    return this.byTransport;
  }

  /** Streams the principal holds now (from `clientAddress`, for the open principal). */
  heldBy(principal: Principal, clientAddress?: string): number {
    return this.held.get(this.quotaKey(principal, clientAddress)) ?? 0;
  }

  /**
   * A place for one more stream of `principal`, or the error that refuses it
   * (`TOO_MANY_SUBSCRIPTIONS`, HTTP status 429) when its quota is full. `clientAddress`
   * is the remote address of the client's socket or request (see
   * {@link clientAddressOf}): the open principal's quota is kept per address.
   */
  admit(principal: Principal, transport: StreamTransport, clientAddress?: string): Ticket | GraphQLError {
    const key = this.quotaKey(principal, clientAddress);
    const count = this.held.get(key) ?? 0;
    if (count >= this.limit) {
      const whose = isOpen(principal) && clientAddress !== undefined ? `client address ${clientAddress}` : `token "${principal.name}"`;
      const counted = isOpen(principal) && clientAddress !== undefined ? ', per client address in open mode' : '';
      return graphqlError(CODE.TOO_MANY_SUBSCRIPTIONS, `too many subscriptions for ${whose} (at most ${this.limit}, MAX_SUBSCRIPTIONS_PER_TOKEN${counted})`, { httpStatus: true });
    }
    this.held.set(key, count + 1);
    this.byTransport[transport]++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.byTransport[transport]--;
        const left = (this.held.get(key) ?? 1) - 1;
        if (left <= 0) this.held.delete(key);
        else this.held.set(key, left);
      },
    };
  }

  private quotaKey(principal: Principal, clientAddress: string | undefined): string {
    return quotaKeyOf(principal, clientAddress);
  }
}

/**
 * Whose quota a request counts against: its principal (identity and scope), and for the
 * open principal, which every client of a server without tokens shares, its address.
 */
export function quotaKeyOf(principal: Principal, clientAddress: string | undefined): string {
  const key = principalKey(principal);
  return isOpen(principal) && clientAddress !== undefined ? `${key}\u0000${clientAddress}` : key;
}

// A token's id is `name#hash`, so no token can be mistaken for the open principal.
const isOpen = (principal: Principal): boolean => principal.id === OPEN_PRINCIPAL.id;

/** What an HTTP transport puts in the context of each operation it runs. */
export interface StreamOwner {
  /** Owns the operation's stream: closing it ends the stream and frees its place. */
  readonly streamScope: StreamScope;
  /** Which transport streams it. */
  readonly transport: StreamTransport;
  /** The remote address of the request (see {@link clientAddressOf}), for the open principal's quota. */
  readonly clientAddress?: string | undefined;
}

function ownerOf(contextValue: unknown): (StreamOwner & { readonly principal: Principal }) | null {
  const context = contextValue as Partial<StreamOwner> & { readonly principal?: Principal };
  if (context.streamScope === undefined || context.transport === undefined || context.principal === undefined) return null;
  return context as StreamOwner & { readonly principal: Principal };
}

/**
 * The envelop plugin that admits the subscriptions of the HTTP transports (Yoga's SSE
 * and graphql-sse): each takes a place in its principal's quota before anything runs,
 * and its stream belongs to the owner's scope, which closes it (and frees the place)
 * when the response or reservation ends — also when Yoga answers 406 and never reads
 * it. graphql-ws admits in its own `onSubscribe`, where a refusal is an `error` message.
 */
export function useStreamAdmission(admission: Admission): Plugin {
  return {
    onSubscribe({ args }) {
      const owner = ownerOf((args as ExecutionArgs).contextValue);
      if (owner === null) return;
      const ticket = admission.admit(owner.principal, owner.transport, owner.clientAddress);
      // Thrown, so that the request fails with the error's HTTP status (429) rather than
      // streaming a result that says no.
      if (ticket instanceof GraphQLError) throw ticket;
      const release = owner.streamScope.add(() => ticket.release());
      return {
        onSubscribeResult({ result }) {
          if (Symbol.asyncIterator in Object(result)) owner.streamScope.addStream(result as AsyncIterator<unknown>);
          else release();
        },
      };
    },
  };
}
