"""HTTP API: Segment-compatible ingest and health (FastAPI + uvicorn)."""
