"""Traces: the one internal conversation shape (`model`) and the adapters that read files into it."""
