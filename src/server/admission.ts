import { GraphQLError, type ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { principalKey, type Principal } from '../schema/principal.js';
import type { StreamScope } from './stream-scope.js';

/** The transports that stream subscriptions, as metrics and messages name them. */
export type StreamTransport = 'graphql-ws' | 'graphql-sse' | 'yoga-sse';

/** A place in a principal's subscription quota, held while its stream is open. */
export interface Ticket {
  /** Gives the place back; a second call does nothing. */
  release(): void;
}

/**
 * Open subscription streams, per principal across every connection and transport,
 * against `maxSubscriptionsPerToken`; and per transport, for metrics. Every transport
 * asks here at the point where it knows an operation will stream, so a quota cannot be
 * dodged by the spelling of a header or the choice of transport.
 */
export class Admission {
  private readonly held = new Map<string, number>();
  private readonly byTransport: Record<StreamTransport, number> = { 'graphql-ws': 0, 'graphql-sse': 0, 'yoga-sse': 0 };

  constructor(private readonly limit: number) {}

  /** Streams open now, by transport. */
  get open(): Readonly<Record<StreamTransport, number>> {
    return this.byTransport;
  }

  /** Streams the principal holds now. */
  heldBy(principal: Principal): number {
    return this.held.get(principalKey(principal)) ?? 0;
  }

  /**
   * A place for one more stream of `principal`, or the error that refuses it
   * (`TOO_MANY_SUBSCRIPTIONS`, HTTP status 429) when the principal is at its limit.
   */
  admit(principal: Principal, transport: StreamTransport): Ticket | GraphQLError {
    const key = principalKey(principal);
    const count = this.held.get(key) ?? 0;
    if (count >= this.limit) {
      return new GraphQLError(`too many subscriptions for token "${principal.name}" (at most ${this.limit}, MAX_SUBSCRIPTIONS_PER_TOKEN)`, {
        extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', http: { status: 429 } },
      });
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
}

/** What an HTTP transport puts in the context of each operation it runs. */
export interface StreamOwner {
  /** Owns the operation's stream: closing it ends the stream and frees its place. */
  readonly streamScope: StreamScope;
  /** Which transport streams it. */
  readonly transport: StreamTransport;
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
      const ticket = admission.admit(owner.principal, owner.transport);
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
