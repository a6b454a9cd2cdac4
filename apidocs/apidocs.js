// Renders the TMF646 API reference on the page served at /docs/tmf646. Written for apphub, not
// vendored. It runs after vendor/redoc.standalone.js, which defines the global Redoc. The swagger
// URL comes from the page (data-spec-url), so this file holds no URL, and the options keep the
// page from requesting anything but this server: system fonts instead of Redoc's default web
// fonts (which it never loads itself, but which its pages usually fetch from a font CDN), the
// download button linking to the local swagger, no hostname (the swagger's host is the
// placeholder "serverRoot"), markdown sanitised.
(function () {
  'use strict';
  var root = document.getElementById('redoc');
  var sans = 'system-ui, -apple-system, "Segoe UI", "Helvetica Neue", Arial, sans-serif';
  var mono = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace';
  Redoc.init(
    root.dataset.specUrl,
    {
      hideHostname: true,
      sanitize: true,
      expandResponses: '200,201',
      downloadFileName: 'TMF646-Appointment-v4.0.0.swagger.json',
      theme: {
        typography: {
          fontFamily: sans,
          headings: { fontFamily: sans },
          code: { fontFamily: mono },
        },
      },
    },
    root
  );
})();
