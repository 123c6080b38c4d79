"""Runnable demos and the `teammind` command line."""
