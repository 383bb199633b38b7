"""Keycloak Agent Auth: the agent's half (work in progress)."""
__version__ = "0.1.0.dev0"
