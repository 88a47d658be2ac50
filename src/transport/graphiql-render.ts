import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

// Only the page's build worker (graphiql-thread-main.ts) imports this module: render-graphiql
// is a 9 MB module whose loading alone took the main thread about 0.3 s at start-up.

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
