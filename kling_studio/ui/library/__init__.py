"""The output library: every downloaded take, grouped by project, searchable, with its review and delivery."""
