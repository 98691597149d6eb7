"""`radguard demo`: a simulated imaging enterprise on loopback, run end to end."""
