"""The pipeline stages, each re-runnable on stored data.

collect, ingest (with dedupe), classify, group, assess, track, retention, retrain: one module per stage.
"""
