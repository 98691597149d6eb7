"""Identity sources and second factors beyond the local password (issue #20)."""
