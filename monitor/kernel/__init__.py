"""The kernel under everything in monitor/.

The injected clock, configuration, configured sources, secret redaction and process metrics.
"""
