import type { GraphiQLOptions } from 'graphql-yoga';

/** What GraphiQL's page is set up with. */
export interface GraphiqlSetup {
  /**
   * A runner to name in the default subscription (the first one the engine runs at
   * start); null or absent: a default that needs no runner id.
   */
  readonly suggestedRunnerId?: string | null;
  /** True when the server needs an API token: the headers editor starts with its field. */
  readonly tokens: boolean;
}

/** What a runner id may be (the runner config's rule): anything else is not quoted into the page. */
const RUNNER_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The headers editor's content before a token is typed into it. */
export const TOKEN_HEADERS_PLACEHOLDER = JSON.stringify({ Authorization: 'Bearer <your token>' }, null, 2);

/** The query GraphiQL opens with when the browser has none of its own stored. */
export function defaultGraphiqlQuery(runnerId: string | null | undefined): string {
  if (runnerId != null && RUNNER_ID.test(runnerId)) {
    return `# Ticks of one runner, over graphql-ws. Press the run button (or Ctrl-Enter).
subscription {
  events(runnerIds: ["${runnerId}"]) {
    __typename
    ... on TickReceived { data { close } }
  }
}
`;
  }
  return `# Place the cursor in an operation and press the run button (or Ctrl-Enter).
query Runners {
  runners { id symbol state }
}

# Every runner's events, at most one tick per runner a second.
subscription AllRunners {
  events(throttleMs: 1000) {
    __typename
    ... on Event { runnerId }
    ... on TickReceived { data { close } }
  }
}
`;
}

/** The subscription to suggest on one line (the start-up banner): of `runnerId` when it is one, else of every runner. */
export function suggestedSubscription(runnerId: string | null | undefined): string {
  return runnerId != null && RUNNER_ID.test(runnerId)
    ? `subscription { events(runnerIds: ["${runnerId}"]) { __typename ... on TickReceived { data { close } } } }`
    : 'subscription { events(throttleMs: 1000) { __typename ... on Event { runnerId } ... on TickReceived { data { close } } } }';
}

/** Yoga's GraphiQL options for this server. */
export function graphiqlOptions(setup: GraphiqlSetup): GraphiQLOptions {
  return {
    title: 'tickwire',
    subscriptionsProtocol: 'WS',
    defaultQuery: defaultGraphiqlQuery(setup.suggestedRunnerId),
    ...(setup.tokens ? { headers: TOKEN_HEADERS_PLACEHOLDER } : {}),
  };
}
