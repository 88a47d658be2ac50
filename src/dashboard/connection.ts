import { createEventsClient, type ConnectionStatus, type EventsClient } from '../client/client.js';

const TOKEN_KEY = 'tickwire.token';

/** The API token this browser keeps for the server, if any. */
export function storedToken(): string | undefined {
  return localStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** Keeps (or, with null, forgets) the API token for the next visits. */
export function storeToken(token: string | null): void {
  if (token === null) localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, token);
}

/**
 * The graphql-ws URL of the server that served this page: `graphql` next to the page, so
 * that a proxy mounting the server under a path (…/tickwire/) works unchanged.
 */
export function graphqlUrl(): string {
  const url = new URL('graphql', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.href;
}

/** True when the server refused the token (close code 4403 Forbidden). */
export function isTokenRefused(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 4403;
}

/**
 * One graphql-ws connection for the whole page: every stream of the page shares it, and
 * each resumes after the last id it saw when the connection comes back. A dashboard
 * never gives up, so there is no retry limit; waits grow to 5 s.
 */
export function connect(token: string | undefined, onConnection: (status: ConnectionStatus) => void): EventsClient {
  return createEventsClient({ url: graphqlUrl(), ...(token !== undefined ? { token } : {}), retryAttempts: Infinity, onConnection, persistedDocuments: sendsHashes() });
}

/**
 * False when the server that served this page says it takes no hashes
 * (`<meta name="tickwire-trusted-documents" content="off">`): the page then sends its
 * documents' text from the start. Without the fact (another server), hashes first.
 */
function sendsHashes(): boolean {
  return document.querySelector('meta[name="tickwire-trusted-documents"]')?.getAttribute('content') !== 'off';
}
