"""A plugin module that fails as it is imported."""

raise ImportError("this example plugin is broken on purpose")
