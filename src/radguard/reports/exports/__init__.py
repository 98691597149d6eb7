"""Machine-readable exports: OSCAL (Assessment Results, POA&M) and flat CSV/JSON tables."""
