"""The headless session engine: source → recorded client → sink, with state any view can read."""
