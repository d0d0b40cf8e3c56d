"""Checking corpora of any size: trace paths, batches, worker processes and progress."""
