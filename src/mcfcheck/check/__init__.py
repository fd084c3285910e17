"""Checking one file: the streaming validation, the places of findings, and their file order."""
