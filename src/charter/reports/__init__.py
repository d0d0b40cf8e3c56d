"""Reports over verdicts: the check report in every format (`render`), the incomplete-contract
report (`gaps`), coverage, and the pipeline dumped after one stage (`dump`)."""
