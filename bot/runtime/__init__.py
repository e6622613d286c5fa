"""The process: settings wiring, logging, the Application factory, runners (polling, webhook,
console), the web server and /healthz. It may import every other room."""
