"""The web application: FastAPI + Jinja2 + htmx over the same stage functions as the CLI."""
