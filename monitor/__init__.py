"""OKI Viral Monitor application: config, storage, ingest, issues, scheduler, CLI, web, demo."""

__version__ = "0.1.0"
