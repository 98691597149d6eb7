"""The imaging asset inventory: vocabulary, import, export and queries."""
