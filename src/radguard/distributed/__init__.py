"""Multi-site operation: a central radguard and enrolled sensors, over Celery with a Redis broker.

Central (``radguard serve`` + ``radguard sensor central-worker``) owns the database and sends jobs
to one Redis queue per site; a sensor (``radguard sensor run``) holds no database credentials,
checks every job against its own local scope file, runs discovery, and sends back a signed
result that central verifies before ingesting it once (keyed by job and endpoint).
"""
