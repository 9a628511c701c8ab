"""The dashboard and analyst API (FastAPI, server-rendered pages in Bahasa Indonesia)."""
