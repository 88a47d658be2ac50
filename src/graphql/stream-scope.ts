/**
 * Whatever owns subscription streams — an HTTP request, a graphql-sse reservation, one
 * operation on it — holds them in a scope, and the scope closes them all when its owner
 * ends, however it ends: the response closed, the client went away, the reservation
 * expired, or the transport refused to send what the operation produced. A stream that
 * no client can read must not outlive the request that opened it.
 */
export class StreamScope {
  private readonly closers = new Set<() => void>();
  private done = false;

  /** True once {@link StreamScope.close} ran: anything added later is closed at once. */
  get closed(): boolean {
    return this.done;
  }

  /** What the scope still holds. */
  get size(): number {
    return this.closers.size;
  }

  /**
   * Runs `close` when the scope closes (at once when it already has). Returns a function
   * that runs it now instead and forgets it; each closer runs at most once.
   */
  add(close: () => void): () => void {
    let ran = false;
    const once = () => {
      if (ran) return;
      ran = true;
      this.closers.delete(once);
      try {
        close();
      } catch {
        // A closer that throws must not keep the others open.
      }
    };
    if (this.done) {
      once();
      return once;
    }
    this.closers.add(once);
    return once;
  }

  /** Ends an async iterator (a subscription's stream) when the scope closes. */
  addStream(stream: AsyncIterator<unknown>): () => void {
    return this.add(() => void stream.return?.()?.catch?.(() => undefined));
  }

  /** Closes everything the scope holds, once. */
  close(): void {
    if (this.done) return;
    this.done = true;
    for (const close of [...this.closers]) close();
  }
}
