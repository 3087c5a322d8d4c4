"""Shared test helpers (fake loopback provider server, ...)."""
