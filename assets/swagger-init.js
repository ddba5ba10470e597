/*
 * Starts Swagger UI on GET /docs with this server's own description.
 * "Try it out" calls this same server (the description's server is "/");
 * "Authorize" takes the access_token of register, login or refresh.
 */
window.ui = SwaggerUIBundle({
	url: "/openapi.json",
	dom_id: "#swagger-ui",
	deepLinking: true,
	persistAuthorization: true,
	displayOperationId: true,
	validatorUrl: null,
	presets: [SwaggerUIBundle.presets.apis],
	layout: "BaseLayout"
});
