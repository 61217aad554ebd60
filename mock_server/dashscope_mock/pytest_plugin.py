"""pytest plugin of the mock server (fixtures arrive with the mock server)."""
