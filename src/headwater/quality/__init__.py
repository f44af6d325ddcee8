"""Data quality checks and quarantine (see the data-quality issue); empty for now."""
