"""radguard: cybersecurity readiness for the medical-imaging enterprise."""

__version__ = "0.1.0"
