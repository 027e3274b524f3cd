"""The webhook receiver: authenticated alert webhooks in, deduplicated `Incident` objects out.

Layers: `parsing` (pure payload → IncidentSpec functions) ← `store` / `spool`
(the API server and the on-disk fallback) ← `app` (thin Starlette routes).
"""
