import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
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

/**
 * GraphiQL puts the headers editor on HTTP requests, but over graphql-ws it only sends
 * them inside each `subscribe` message, while the server authenticates the connection
 * at `connection_init` from its connectionParams (which Yoga's options can only give as
 * fixed JSON, written before anyone typed a token). So the page follows the editor
 * (onEditHeaders; at load, what GraphiQL restores from its storage) and hands its
 * Authorization to each new connection as `connectionParams.authorization`.
 */
const TOKEN_BRIDGE = `
function tickwireGraphiQL(root, options) {
  function stored() {
    try {
      var state = JSON.parse(localStorage.getItem('graphiql:tabState') || 'null');
      var tab = state && state.tabs && state.tabs[state.activeTabIndex];
      if (tab && typeof tab.headers === 'string') return tab.headers;
      return localStorage.getItem('graphiql:headers');
    } catch (e) {
      return null;
    }
  }
  var headers = stored() || options.headers || '';
  function authorization() {
    try {
      var parsed = JSON.parse(headers);
      for (var key in parsed) if (key.toLowerCase() === 'authorization' && typeof parsed[key] === 'string') return parsed[key];
    } catch (e) {}
    return null;
  }
  YogaGraphiQL.renderYogaGraphiQL(root, Object.assign({}, options, {
    onEditHeaders: function (value) { headers = value; },
    connectionParams: function () {
      var value = authorization();
      return value === null ? {} : { authorization: value };
    },
  }));
}
`;

const RENDER_CALL = 'YogaGraphiQL.renderYogaGraphiQL(';

/**
 * The GraphiQL page with every script, style and worker inlined
 * (@graphql-yoga/render-graphiql), so it works where the browser cannot reach a CDN,
 * and with the token of its headers editor on graphql-ws too.
 */
export function renderTickwireGraphiQL(options: GraphiQLOptions): string {
  const page = renderGraphiQL(options);
  const call = page.lastIndexOf(RENDER_CALL);
  const head = page.indexOf('</head>');
  // A new render-graphiql that no longer renders this way must fail its tests, not serve a page without tokens.
  if (call < 0 || head < 0 || head > call) throw new Error('@graphql-yoga/render-graphiql changed its page: the graphql-ws token bridge cannot be installed');
  return `${page.slice(0, head)}<script>${TOKEN_BRIDGE}</script>${page.slice(head, call)}tickwireGraphiQL(${page.slice(call + RENDER_CALL.length)}`;
}
