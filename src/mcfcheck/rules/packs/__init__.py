"""mcfcheck's own rule packs; each module's ``RULES`` is registered through an entry point."""
