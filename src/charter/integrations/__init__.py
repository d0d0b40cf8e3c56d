"""Charter where people already work: an Inspect AI scorer (`charter[inspect]`), a pytest
plugin, and corpus checking on Dask (`charter[dask]`) and Spark (`charter[spark]`).
Each module imports its engine, so import the one you use: `charter.integrations.dask`.
See docs/integrations.md."""
