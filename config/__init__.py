"""Bundled defaults: example config, reply templates, FAQ (installed as socialcare.bundled)."""
