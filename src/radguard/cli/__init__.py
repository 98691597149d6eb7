"""Thin Typer commands that call the stages. No rule is implemented here."""
