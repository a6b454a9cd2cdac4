// Mounts GraphiQL on the page served at /graphql. Written for apphub, not vendored.
// It runs after vendor/react, vendor/react-dom, vendor/graphiql and vendor/graphql-ws, which
// define the globals React, ReactDOM, GraphiQL and graphqlWs. The endpoint comes from the page
// (data-endpoint), so this file holds no URL: queries and mutations go over HTTP, subscriptions
// over a websocket to the same path (graphql-transport-ws).
(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  var endpoint = new URL(root.dataset.endpoint, window.location.href);
  var wsURL = (endpoint.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + endpoint.host + endpoint.pathname;

  // A browser cannot set headers on a websocket: the credential of the headers editor
  // ({"Authorization": "Bearer …"}) goes in connection_init, read when a subscription starts.
  function editorHeaders() {
    try {
      var saved = JSON.parse(window.localStorage.getItem('graphiql:headers') || '{}');
      return typeof saved === 'object' && saved !== null ? saved : {};
    } catch (e) {
      return {};
    }
  }
  var wsClient = graphqlWs.createClient({
    url: wsURL,
    lazy: true,
    retryAttempts: 3,
    connectionParams: function () {
      var h = editorHeaders();
      var auth = h.Authorization || h.authorization;
      return auth ? { Authorization: auth } : {};
    },
  });
  var fetcher = GraphiQL.createFetcher({ url: endpoint.href, wsClient: wsClient });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: '{\n  hub {\n    version\n  }\n}\n',
    })
  );
})();
