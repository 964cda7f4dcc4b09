// Where the live page finds Sluice. Empty strings mean "the origin that serves this page"
// (the local stack serves the page, the API and the events at API_URL). When the page is
// deployed to S3 + CloudFront, this file is replaced with the stack's outputs:
//   eventsUrl: the events function URL (output EventsFunctionUrl), without a trailing slash
//   apiUrl:    the HTTP API (output ApiUrl), for links to analyses
window.SLUICE_CONFIG = { eventsUrl: "", apiUrl: "" };
