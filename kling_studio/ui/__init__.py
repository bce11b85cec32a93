"""PySide6 widgets and models: thin adapters over core models and services."""
