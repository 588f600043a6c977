"""Locust files, one per profile; ``load.runner.PROFILES`` maps the CLI names to them."""
