"""Checked policies kept between runs (`programs.py`)."""
