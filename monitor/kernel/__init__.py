"""The kernel under everything in monitor/: the injected clock, configuration, configured sources, secret redaction, process metrics."""
