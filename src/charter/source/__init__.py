"""Source text: named texts, spans into them, and diagnostics (errors and warnings as
values with a location), which every later stage returns and the edge renders once."""
