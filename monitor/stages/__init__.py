"""The pipeline stages, each re-runnable on stored data: collect, ingest, classify, group, assess, track, retention, retrain."""
