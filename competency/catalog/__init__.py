"""Demo learning-resource catalog and staged learning-path templates (data under ``data/``)."""
