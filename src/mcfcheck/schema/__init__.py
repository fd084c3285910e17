"""Schemas: loading the bundled XSDs and any the user gives, offline, and the codes of schema findings."""
