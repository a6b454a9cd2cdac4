// Mounts GraphiQL on the page served at /graphql. Written for apphub, not vendored.
// It runs after vendor/react, vendor/react-dom and vendor/graphiql, which define the globals
// React, ReactDOM and GraphiQL. The endpoint comes from the page (data-endpoint), so this file
// holds no URL.
(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  var fetcher = GraphiQL.createFetcher({ url: root.dataset.endpoint });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: '{\n  hub {\n    version\n  }\n}\n',
    })
  );
})();
