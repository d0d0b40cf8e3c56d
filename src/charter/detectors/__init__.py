"""Detectors: labels computed from message texts when a trace does not carry them.

    model.py     the protocol (`Detector`, `Detection`) and `Doubt`, an unknown detected label
"""
