// The API reference at /docs: wagate's OpenAPI document in Swagger UI, with "Try it out" sending
// requests to this server with the bearer token given under "Authorize". Nothing is fetched elsewhere.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#reference",
    deepLinking: true,
    tryItOutEnabled: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    // Swagger UI would otherwise send the document to an outside validator for its badge.
    validatorUrl: null,
  });
});
