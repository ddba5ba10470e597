// The page imports openapi-fetch as ./openapi-fetch.js (the package's ES
// module, served as /app/openapi-fetch.js); its types are the package's.
export { default } from 'openapi-fetch';
export * from 'openapi-fetch';
