"""Model golden checks: run a restored model on golden inputs and compare with the recorded outputs."""
